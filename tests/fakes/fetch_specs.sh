#!/usr/bin/env bash
# Fetch GitHub's official API descriptions and webhook examples (MIT, from npm) into tests/.cache/octokit/.
# Idempotent: a package already unpacked is skipped. Used by the fake GitHub's contract tests.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${ANNEXA_OCTOKIT_CACHE:-$here/../.cache/octokit}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"

packages=(
  "openapi:@octokit/openapi@23.0.2"
  "graphql-schema:@octokit/graphql-schema@15.26.1"
  "webhooks-examples:@octokit/webhooks-examples@7.6.1"
)

for entry in "${packages[@]}"; do
  dir="${entry%%:*}"
  spec="${entry#*:}"
  want="${spec##*@}"
  if [[ -f "$cache/$dir/package.json" ]] &&
     [[ "$(node -p "require('$cache/$dir/package.json').version")" == "$want" ]]; then
    echo "fetch_specs: $spec already in $cache/$dir"
    continue
  fi
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp"/*.tgz -C "$tmp/unpacked"
  rm -rf "${cache:?}/$dir"
  mv "$tmp/unpacked/package" "$cache/$dir"
  rm -rf "$tmp"
  echo "fetch_specs: $spec -> $cache/$dir"
done
