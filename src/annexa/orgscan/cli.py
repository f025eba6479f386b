"""``annexa org-scan``: arguments, the progress bar and the history records of an organisation scan."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from annexa.errors import AnnexaError

TOKEN_VARIABLES = ("ANNEXA_GITHUB_TOKEN", "GITHUB_TOKEN")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``annexa org-scan``."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--github-org", help="the GitHub organisation to scan")
    where.add_argument("--gitlab-group", help="the GitLab group to scan (not available yet)")
    parser.add_argument("--shard", default="1/1", help="K/N: scan the K-th of N deterministic shards (CI matrix)")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted scan of this org and shard")
    parser.add_argument("--full", action="store_true", help="rescan repositories that did not change")
    parser.add_argument("--topic", action="append", default=[], help="only repositories with this topic")
    parser.add_argument("--visibility", action="append", default=[], choices=("public", "private", "internal"))
    parser.add_argument("--name", action="append", default=[], help="only repositories matching this glob")
    parser.add_argument("--repos", type=Path, help="file listing owner/name per line: only these repositories")
    parser.add_argument("--state", type=Path, help="state file (default: .annexa/org-scan-ORG-K-of-N.json)")
    parser.add_argument("--history", help="history store URL (default: $ANNEXA_HISTORY_URL or the local store)")
    parser.add_argument("--api-url", default=os.environ.get("GITHUB_API_URL", "https://api.github.com"))


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` with 1 <= K <= N."""
    match = re.fullmatch(r"(\d{1,4})/(\d{1,4})", text.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise AnnexaError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/8")
    return int(match.group(1)), int(match.group(2))


def run(args: argparse.Namespace, progress: Any) -> list[str]:
    """Scan; ``progress`` is a callback ``(repository, done, total, rate_remaining)``. Returns summary lines."""
    from annexa.collect.github import GitHubClient
    from annexa.history import DEFAULT_URL, HistoryStore
    from annexa.orgscan.run import Filters, State, scan_org, with_meta

    if args.gitlab_group:
        raise AnnexaError("--gitlab-group is not available yet; scan GitLab projects one by one with annexa ci")
    shard = parse_shard(args.shard)
    token = next((os.environ[v] for v in TOKEN_VARIABLES if os.environ.get(v)), None)
    if not token:
        raise AnnexaError("org-scan needs a token in ANNEXA_GITHUB_TOKEN or GITHUB_TOKEN (read access to the org)")
    only = None
    if args.repos:
        try:
            lines = args.repos.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise AnnexaError(f"--repos {args.repos}: {exc.strerror or exc}") from None
        only = frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))
    filters = Filters(tuple(args.name), tuple(args.topic), tuple(args.visibility), only)
    org = args.github_org
    state_path = args.state or Path(".annexa") / f"org-scan-{org}-{shard[0]}-of-{shard[1]}.json"
    state = State.load(state_path)
    store = HistoryStore(args.history or os.environ.get("ANNEXA_HISTORY_URL") or DEFAULT_URL)

    def record(report: Any, meta: Any) -> None:
        store.record(with_meta(report, meta))

    client = GitHubClient(token, args.api_url)
    try:
        outcome = scan_org(client, org, state, filters=filters, shard=shard, resume=args.resume, full=args.full,
                           record=record, progress=progress)
    except LookupError as exc:
        raise AnnexaError(str(exc)) from None
    failing = sum(1 for r in outcome.scanned if r.verdict == "fail")
    lines = [f"annexa: {org} shard {shard[0]}/{shard[1]}: {len(outcome.scanned)} scanned ({failing} failing), "
             f"{len(outcome.unchanged)} unchanged since the last scan, {len(outcome.failed)} could not be scanned; "
             f"state in {state_path}"]
    lines += [f"annexa: {name}: not scanned: {why}" for name, why in sorted(outcome.failed.items())]
    return lines
