"""``annexa org-scan``: arguments, the progress bar and the history records of an organisation scan."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from annexa.errors import AnnexaError

TOKEN_VARIABLES = ("ANNEXA_GITHUB_TOKEN", "GITHUB_TOKEN")
GITLAB_TOKEN_VARIABLES = ("ANNEXA_GITLAB_TOKEN", "GITLAB_TOKEN")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``annexa org-scan``."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--github-org", help="the GitHub organisation to scan")
    where.add_argument("--gitlab-group", help="the GitLab group to scan (its subgroups too)")
    parser.add_argument("--shard", default="1/1", help="K/N: scan the K-th of N deterministic shards (CI matrix)")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted scan of this org and shard")
    parser.add_argument("--full", action="store_true", help="rescan repositories that did not change")
    parser.add_argument("--topic", action="append", default=[], help="only repositories with this topic")
    parser.add_argument("--visibility", action="append", default=[], choices=("public", "private", "internal"),
                        help="only repositories of this visibility (repeat for several)")
    parser.add_argument("--name", action="append", default=[], help="only repositories matching this glob")
    parser.add_argument("--repos", type=Path, help="file listing owner/name (GitLab: group/sub/project) per line: "
                        "only these repositories")
    parser.add_argument("--state", type=Path, help="state file (default: .annexa/org-scan-ORG-K-of-N.json, "
                        ".annexa/org-scan-gitlab-GROUP-K-of-N.json for a GitLab group)")
    parser.add_argument("--history", help="history store URL (default: $ANNEXA_HISTORY_URL or the local store)")
    parser.add_argument("--api-url", default=os.environ.get("GITHUB_API_URL", "https://api.github.com"),
                        help="GitHub API root (default: $GITHUB_API_URL or https://api.github.com)")
    parser.add_argument("--gitlab-url", default=os.environ.get("CI_SERVER_URL") or "https://gitlab.com",
                        help="GitLab server (default: $CI_SERVER_URL or https://gitlab.com)")
    parser.add_argument("--workers", type=int, default=4, help="repositories read at once (default 4)")
    parser.add_argument("--max-wait", type=float, default=3600.0,
                        help="GitHub: wait at most this many seconds for a spent rate limit to reset, else stop "
                             "(resume with --resume); default 3600")


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` with 1 <= K <= N."""
    match = re.fullmatch(r"(\d{1,4})/(\d{1,4})", text.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise AnnexaError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/8")
    return int(match.group(1)), int(match.group(2))


def _tell(message: str) -> None:
    sys.stderr.write(f"annexa: {message}\n")
    sys.stderr.flush()


def run(args: argparse.Namespace, progress: Any) -> list[str]:
    """Scan; ``progress`` is a callback ``(repository, done, total, rate_remaining)``. Returns summary lines."""
    from annexa.history import DEFAULT_URL, HistoryStore
    from annexa.orgscan.github import OrgScanClient, RateLimited
    from annexa.orgscan.run import Filters, State, scan_group, scan_org, with_meta
    from annexa.platforms.gitlab.client import GitLabClient

    shard = parse_shard(args.shard)
    if not 1 <= args.workers <= 32:
        raise AnnexaError(f"--workers {args.workers}: expected 1 to 32")
    names = GITLAB_TOKEN_VARIABLES if args.gitlab_group else TOKEN_VARIABLES
    token = next((os.environ[v] for v in names if os.environ.get(v)), None)
    if not token:
        what = "read_api on the group" if args.gitlab_group else "read access to the org"
        raise AnnexaError(f"org-scan needs a token in {' or '.join(names)} ({what})")
    only = None
    if args.repos:
        try:
            lines = args.repos.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise AnnexaError(f"--repos {args.repos}: {exc.strerror or exc}") from None
        only = frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))
    filters = Filters(tuple(args.name), tuple(args.topic), tuple(args.visibility), only)
    org = args.gitlab_group.strip("/") if args.gitlab_group else args.github_org
    label = org.replace("/", "_")
    kind = "gitlab-" if args.gitlab_group else ""
    state_path = args.state or Path(".annexa") / f"org-scan-{kind}{label}-{shard[0]}-of-{shard[1]}.json"
    state = State.load(state_path)
    store = HistoryStore(args.history or os.environ.get("ANNEXA_HISTORY_URL") or DEFAULT_URL)

    def record(report: Any, meta: Any) -> None:
        store.record(with_meta(report, meta))

    try:
        if args.gitlab_group:
            outcome = scan_group(GitLabClient(args.gitlab_url, token), org, state, filters=filters, shard=shard,
                                 resume=args.resume, full=args.full, record=record, progress=progress,
                                 workers=args.workers)
        else:
            client = OrgScanClient(token, args.api_url, max_wait=args.max_wait, notify=_tell)
            outcome = scan_org(client, org, state, filters=filters, shard=shard,
                               resume=args.resume, full=args.full, record=record, progress=progress,
                               workers=args.workers)
    except LookupError as exc:
        raise AnnexaError(str(exc)) from None
    except RateLimited as exc:
        raise AnnexaError(f"{org}: {exc.reason}; the state is in {state_path}") from None
    failing = sum(1 for r in outcome.scanned if r.verdict == "fail")
    lines = [f"annexa: {org} shard {shard[0]}/{shard[1]}: {len(outcome.scanned)} scanned ({failing} failing), "
             f"{len(outcome.unchanged)} unchanged since the last scan, {len(outcome.failed)} could not be scanned; "
             f"state in {state_path}"]
    lines += [f"annexa: {name}: not scanned: {why}" for name, why in sorted(outcome.failed.items())]
    return lines
