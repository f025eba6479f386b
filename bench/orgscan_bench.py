"""Cost of `annexa org-scan` on a fake GitHub organisation and a fake GitLab group: requests, wall time, rate limit.

    python bench/orgscan_bench.py [--repos 1000] [--projects 300] [--latency 0.05] [--workers 4] [--only github|gitlab]

The fakes (tests/fakes/github.py and tests/fakes/gitlab_group.py: real HTTP on 127.0.0.1, PyGithub and
python-gitlab as the clients) answer every request after ``--latency`` seconds. Each GitHub repository has classic
protection on main (one in three none), a workflow, a CODEOWNERS and a few files; each GitLab project (Premium, in
four subgroups) has a protected main, an approval rule, a ``.gitlab-ci.yml``, a CODEOWNERS and a few files.
The first scan reads everything; the second, with nothing changed, shows what an incremental scan costs; then
one repository in ten changes (new protection on GitHub, a push on GitLab) and the third scan rescans only those.

"Settings" requests are the ones only the settings rules need: on GitHub every REST request but the tree (the
GraphQL listing pages are shared by settings and files and counted apart); on GitLab the settings collector's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fakes.github import FakeGitHub  # noqa: E402
from tests.fakes.gitlab_group import FakeGitLabGroup  # noqa: E402

from annexa.collect.github import RetryPolicy  # noqa: E402
from annexa.orgscan.github import OrgScanClient  # noqa: E402
from annexa.orgscan.run import Outcome, State, scan_group, scan_org  # noqa: E402
from annexa.platforms.gitlab.client import GitLabClient  # noqa: E402
from annexa.platforms.gitlab.client import RetryPolicy as GitLabRetry  # noqa: E402

WORKFLOW = b"on: [pull_request]\npermissions: {contents: read}\njobs:\n  t:\n    runs-on: ubuntu-latest\n" \
           b"    steps:\n      - uses: actions/checkout@v4\n"
GITLAB_CI = b"stages: [test]\ntest:\n  script: [pytest]\n"
PROTECTION = {"required_pull_request_reviews": {"required_approving_review_count": 1},
              "enforce_admins": True, "allow_force_pushes": False, "allow_deletions": False}
GITLAB_SETTINGS = ("GET /projects/:id", "GET /projects/:id/protected_branches", "GET /projects/:id/approvals",
                   "GET /projects/:id/approval_rules", "GET /projects/:id/push_rule")


def graphql_points(query: str, variables: dict[str, int]) -> int:
    """GitHub's documented GraphQL cost of a query: every connection needs as many requests as the product of the
    ``first`` of the connections around it; the sum divided by 100, rounded, is the cost (at least 1)."""
    import graphql

    total = 0

    def walk(selections: graphql.SelectionSetNode | None, outer: int) -> None:
        nonlocal total
        for node in selections.selections if selections else ():
            inner = outer
            if isinstance(node, graphql.FieldNode):
                first = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
                if first is not None:
                    total += outer
                    size = (variables[first.name.value] if isinstance(first, graphql.VariableNode)
                            else int(first.value))  # type: ignore[attr-defined]
                    inner = outer * size
            walk(node.selection_set, inner)  # type: ignore[union-attr]

    for definition in graphql.parse(query).definitions:
        walk(definition.selection_set, 1)  # type: ignore[attr-defined]
    return max(1, round(total / 100))


def timed(run: Callable[[], Outcome]) -> tuple[float, Outcome]:
    start = time.perf_counter()
    outcome = run()
    return time.perf_counter() - start, outcome


def github(args: argparse.Namespace) -> None:
    with FakeGitHub(latency=args.latency) as server, tempfile.TemporaryDirectory() as tmp:
        server.add_token("tok", kind="admin")
        for i in range(args.repos):
            name = f"acme/repo-{i:05d}"
            server.add_repo(name, security_and_analysis={"secret_scanning": "enabled",
                                                         "secret_scanning_push_protection": "enabled"})
            server.add_branch(name, "main", sha=f"{i:040x}")
            server.set_classic_protection(name, "main", PROTECTION if i % 3 else None)
            server.set_file(name, ".github/workflows/ci.yml", WORKFLOW)
            server.set_file(name, ".github/CODEOWNERS", b"* @acme/dev\n")
            server.set_file(name, "src/app.py", b"print('hi')\n")
        state = Path(tmp) / "state.json"
        print(f"GitHub: fake org of {args.repos} repositories, {args.latency * 1000:.0f} ms per request, "
              f"{args.workers} workers")

        def scan(label: str) -> None:
            server.clear_requests()
            client = OrgScanClient("tok", server.base_url, RetryPolicy(attempts=2, backoff=0))
            wall, outcome = timed(lambda: scan_org(client, "acme", State.load(state), workers=args.workers))
            reqs = server.requests
            listing = sum(1 for r in reqs if r.route == "POST /graphql" and "organization" in str(r.body))
            graphql = sum(1 for r in reqs if r.route == "POST /graphql") - listing
            tree = sum(1 for r in reqs if r.route.endswith("/git/trees/{tree_sha}"))
            settings = [r for r in reqs if r.route != "POST /graphql" and not r.route.endswith("/git/trees/{tree_sha}")]
            primary = sum(1 for r in reqs if r.route != "POST /graphql" and r.status != 304)
            not_modified = sum(1 for r in reqs if r.status == 304)
            print(f"  {label:11} wall {wall:6.1f} s  scanned {len(outcome.scanned):5}  unchanged "
                  f"{len(outcome.unchanged):5}  requests {len(reqs):5} ({len(reqs) / args.repos:.3f}/repo)  "
                  f"settings {len(settings):4} ({len(settings) / args.repos:.3f}/repo)  listing GraphQL {listing}  "
                  f"files: tree {tree}, GraphQL {graphql}  REST 304 {not_modified}  "
                  f"primary REST points {primary}, GraphQL points {listing + graphql}")

        from annexa.orgscan.github import LISTING, PAGE

        print(f"  listing query: {PAGE} repositories a page, GitHub's documented cost "
              f"{graphql_points(LISTING, {'first': PAGE})} points a page (the fake charges 1)")
        scan("first scan")
        scan("unchanged")
        for i in range(0, args.repos, 10):
            server.set_classic_protection(f"acme/repo-{i:05d}", "main", {**PROTECTION, "enforce_admins": False})
        scan("10% edited")


def gitlab(args: argparse.Namespace) -> None:
    with FakeGitLabGroup(latency=args.latency) as server, tempfile.TemporaryDirectory() as tmp:
        server.add_token("tok", "read_api")
        for i in range(args.projects):
            name = f"acme/team-{i % 4}/project-{i:04d}"
            server.add_project(name)
            server.protect(name, "main", push=0 if i % 3 else 30)
            server.add_approval_rule(name, "any", 1, rule_type="any_approver")
            server.set_file(name, ".gitlab-ci.yml", GITLAB_CI)
            server.set_file(name, "CODEOWNERS", b"* @acme/dev\n")
            server.set_file(name, "src/app.py", b"print('hi')\n")
        state = Path(tmp) / "state.json"
        print(f"GitLab: fake group of {args.projects} projects in 4 subgroups, {args.latency * 1000:.0f} ms per "
              f"request, {args.workers} workers")

        def scan(label: str) -> None:
            server.clear_requests()
            client = GitLabClient(server.url, "tok", retry=GitLabRetry(attempts=2, backoff=0))
            wall, outcome = timed(lambda: scan_group(client, "acme", State.load(state), workers=args.workers))
            reqs = server.requests
            routes = Counter(r.route for r in reqs)
            settings = sum(routes[r] for r in GITLAB_SETTINGS)
            files = routes["GET /projects/:id/repository/tree"] + routes[
                "GET /projects/:id/repository/files/:file_path/raw"]
            print(f"  {label:11} wall {wall:6.1f} s  scanned {len(outcome.scanned):5}  unchanged "
                  f"{len(outcome.unchanged):5}  requests {len(reqs):5} ({len(reqs) / args.projects:.2f}/project)  "
                  f"settings {settings:4} ({settings / args.projects:.2f}/project)  listing "
                  f"{routes['GET /groups/:id/projects']}  files {files} ({files / args.projects:.2f}/project)")

        scan("first scan")
        scan("unchanged")
        for i in range(0, args.projects, 10):
            server.touch(f"acme/team-{i % 4}/project-{i:04d}", "2026-11-26T10:00:00.000Z")
        scan("10% pushed")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--only", choices=("github", "gitlab"))
    args = parser.parse_args()
    if args.only in (None, "github"):
        github(args)
    if args.only in (None, "gitlab"):
        gitlab(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
