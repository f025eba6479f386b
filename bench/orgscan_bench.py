"""Cost of `annexa org-scan` on a fake GitHub organisation: requests per repository, wall time, rate limit.

    python bench/orgscan_bench.py [--repos 1000] [--latency 0.05] [--workers 4]

The fake (tests/fakes/github.py: real HTTP on 127.0.0.1, PyGithub as the client) answers every request after
``--latency`` seconds. Each repository has classic protection on main, a workflow, a CODEOWNERS and a few files.
The first scan reads everything; the second, with nothing changed, shows what an incremental scan costs; then
one repository in ten gets new protection and the third scan rescans only those.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.github import FakeGitHub  # noqa: E402

from annexa.collect.github import GitHubClient, RetryPolicy  # noqa: E402
from annexa.orgscan.run import State, scan_org  # noqa: E402

WORKFLOW = b"on: [pull_request]\npermissions: {contents: read}\njobs:\n  t:\n    runs-on: ubuntu-latest\n" \
           b"    steps:\n      - uses: actions/checkout@v4\n"
PROTECTION = {"required_pull_request_reviews": {"required_approving_review_count": 1},
              "enforce_admins": True, "allow_force_pushes": False, "allow_deletions": False}


def scan(server: FakeGitHub, state: Path, workers: int) -> tuple[float, Counter[str], int, int]:
    server.clear_requests()
    start = time.perf_counter()
    outcome = scan_org(GitHubClient("tok", server.base_url, RetryPolicy(attempts=2, backoff=0)), "acme",
                       State.load(state), workers=workers)
    wall = time.perf_counter() - start
    kinds = Counter("graphql" if r.route == "POST /graphql" else "rest-304" if r.status == 304 else "rest"
                    for r in server.requests)
    return wall, kinds, len(outcome.scanned), len(outcome.unchanged)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with FakeGitHub(latency=args.latency) as server, tempfile.TemporaryDirectory() as tmp:
        server.add_token("tok", kind="admin")
        for i in range(args.repos):
            name = f"acme/repo-{i:05d}"
            server.add_repo(name)
            server.add_branch(name, "main", sha=f"{i:040x}")
            server.set_classic_protection(name, "main", PROTECTION if i % 3 else None)
            server.set_file(name, ".github/workflows/ci.yml", WORKFLOW)
            server.set_file(name, ".github/CODEOWNERS", b"* @acme/dev\n")
            server.set_file(name, "src/app.py", b"print('hi')\n")
        state = Path(tmp) / "state.json"
        print(f"fake org of {args.repos} repositories, {args.latency * 1000:.0f} ms per request, "
              f"{args.workers} workers")
        for label in ("first scan", "unchanged"):
            wall, kinds, scanned, unchanged = scan(server, state, args.workers)
            total = sum(kinds.values())
            print(f"{label:10}  wall {wall:7.1f} s  scanned {scanned:5}  unchanged {unchanged:5}  "
                  f"requests {total:6} ({total / args.repos:.2f}/repo: graphql {kinds['graphql']}, "
                  f"rest {kinds['rest']}, rest 304 {kinds['rest-304']}); primary points {kinds['rest']}")
        for i in range(0, args.repos, 10):
            server.set_classic_protection(f"acme/repo-{i:05d}", "main", {**PROTECTION, "enforce_admins": False})
        wall, kinds, scanned, unchanged = scan(server, state, args.workers)
        total = sum(kinds.values())
        print(f"{'10% edited':10}  wall {wall:7.1f} s  scanned {scanned:5}  unchanged {unchanged:5}  "
              f"requests {total:6} ({total / args.repos:.2f}/repo: graphql {kinds['graphql']}, rest {kinds['rest']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
