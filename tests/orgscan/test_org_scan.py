"""``annexa org-scan`` against a fake GitHub organisation: same rules as ``check``, incremental, sharded, resumable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from annexa.cli import main
from annexa.collect.github import GitHubClient, RetryPolicy
from annexa.orgscan.run import Filters, State, in_shard, scan_org
from annexa.report import Report
from tests.fakes.github import FakeGitHub
from tests.fakes.test_github_fake import contract_problems

POINTER = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 123456789\n"
WORKFLOW = b"""\
name: ci
on: [pull_request]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
"""
PROTECTION = {"required_pull_request_reviews": {"required_approving_review_count": 1},
              "enforce_admins": True, "allow_force_pushes": False, "allow_deletions": False}


@pytest.fixture
def org() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        server.add_token("tok", kind="admin")
        server.add_repo("acme/models")
        server.add_branch("acme/models", "main", sha="1" * 40)
        server.set_classic_protection("acme/models", "main", PROTECTION)
        for path, data in {".github/CODEOWNERS": b"* @acme/dev\n/models/ @acme/ml\n",
                           ".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
                           "models/a.safetensors": POINTER, "models/raw.bin": b"\x80\x04" + b"\x00x" * 999,
                           ".github/workflows/ci.yml": WORKFLOW, "train.py": b"import torch\n"}.items():
            server.set_file("acme/models", path, data)
        server.set_repo_meta("acme/models", topics=["ml"])
        server.add_repo("acme/web", visibility="public")
        server.add_branch("acme/web", "main", sha="2" * 40)
        server.set_file("acme/web", "README.md", b"# web\n")
        server.set_repo_meta("acme/web", topics=["web"])
        server.add_repo("acme/old", archived=True)
        server.add_branch("acme/old", "main", sha="3" * 40)
        yield server


def client(server: FakeGitHub) -> GitHubClient:
    return GitHubClient("tok", server.base_url, RetryPolicy(attempts=2, backoff=0))


def findings(report: Report, rule: str) -> list[tuple[str, str | None, int | None]]:
    return [(f.status.value, f.location.path if f.location else None, f.location.line if f.location else None)
            for f in report.findings if f.rule == rule]


def test_every_repository_is_checked_by_the_same_rules(org: FakeGitHub, tmp_path: Path) -> None:
    recorded: list[tuple[Report, Any]] = []
    outcome = scan_org(client(org), "acme", State(tmp_path / "s.json"), record=lambda r, m: recorded.append((r, m)))
    assert [r.run.repository for r in outcome.scanned] == ["acme/models", "acme/web"]
    assert (outcome.total, outcome.failed) == (2, {})
    models, web = outcome.scanned
    assert findings(models, "weights-in-lfs") == [("fail", "models/raw.bin", None),
                                                  ("pass", "models/a.safetensors", None)]
    assert findings(models, "actions-pinned") == [("fail", ".github/workflows/ci.yml", 9)]
    assert findings(models, "force-push-blocked") == [("pass", None, None)]
    assert findings(models, "no-secrets-in-change") == [("unknown", None, None)]
    [secrets] = [f for f in models.findings if f.rule == "no-secrets-in-change"]
    assert secrets.evidence["needs"].startswith("a checkout")
    assert findings(models, "weights-owner-approved") == [("not_applicable", None, None)]
    assert findings(web, "branch-protected") == [("fail", None, None)]
    assert findings(web, "repository-not-public") == [("fail", None, None)]
    assert [m for _, m in recorded] == [{"team": "@acme/dev", "topics": ["ml"], "visibility": "private"},
                                        {"team": "", "topics": ["web"], "visibility": "public"}]
    assert contract_problems(org) == []


def test_an_unchanged_repository_costs_no_rest_request(org: FakeGitHub, tmp_path: Path) -> None:
    state = State(tmp_path / "s.json")
    scan_org(client(org), "acme", state)
    core_left = [r.headers["X-RateLimit-Remaining"] for r in org.requests if r.route != "POST /graphql"][-1]
    org.clear_requests()
    again = scan_org(client(org), "acme", State.load(tmp_path / "s.json"))
    assert (again.scanned, again.unchanged) == ([], ["acme/models", "acme/web"])
    # the org's repository page (secret scanning settings) is asked for with its ETag: 304, no rate limit point
    assert [(r.route, r.status) for r in org.requests] == [("GET /orgs/{org}/repos", 304), ("POST /graphql", 200)]
    assert org.requests[0].headers["X-RateLimit-Remaining"] == core_left
    org.set_classic_protection("acme/web", "main", PROTECTION)
    third = scan_org(client(org), "acme", State.load(tmp_path / "s.json"))
    assert ([r.run.repository for r in third.scanned], third.unchanged) == (["acme/web"], ["acme/models"])


def test_filters_and_shards(org: FakeGitHub, tmp_path: Path) -> None:
    only_ml = scan_org(client(org), "acme", State(tmp_path / "a.json"), filters=Filters(topics=("ml",)))
    assert [r.run.repository for r in only_ml.scanned] == ["acme/models"]
    public = scan_org(client(org), "acme", State(tmp_path / "b.json"), filters=Filters(visibility=("public",)))
    assert [r.run.repository for r in public.scanned] == ["acme/web"]
    names = ["acme/models", "acme/web", *(f"acme/r{i}" for i in range(200))]
    shards = [{n for n in names if in_shard(n, (k, 4))} for k in range(1, 5)]
    assert sum(len(s) for s in shards) == len(names) and set().union(*shards) == set(names)
    assert all(len(s) > 20 for s in shards)


def test_an_interrupted_scan_resumes_where_it_stopped(org: FakeGitHub, tmp_path: Path) -> None:
    def stop_after_first(name: str, done: int, total: int, rate: int | None) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        scan_org(client(org), "acme", State(tmp_path / "s.json"), progress=stop_after_first)
    resumed = scan_org(client(org), "acme", State.load(tmp_path / "s.json"), resume=True)
    assert [r.run.repository for r in resumed.scanned] == ["acme/web"]
    assert State.load(tmp_path / "s.json").scan["finished"] is True  # type: ignore[index]


def test_cli_records_every_repository_for_the_dashboard(org: FakeGitHub, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ANNEXA_GITHUB_TOKEN", "tok")
    url = f"sqlite:///{tmp_path / 'h.db'}"
    assert main(["org-scan", "--github-org", "acme", "--api-url", org.base_url, "--history", url,
                 "--state", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "acme shard 1/1: 2 scanned (2 failing), 0 unchanged since the last scan, 0 could not be scanned" in out
    assert main(["dashboard", "--out", str(tmp_path / "d"), "--history", url]) == 0
    page = (tmp_path / "d" / "index.html").read_text()
    assert '"name":"acme/models"' in page and '"topics":["ml"]' in page and '"team":"@acme/dev"' in page
    assert main(["org-scan", "--github-org", "acme", "--shard", "3/2", "--api-url", org.base_url]) == 2
    assert "expected K/N" in capsys.readouterr().err


def _branch_values(settings: Any) -> list[Any]:
    """What the rules read of settings: every value, whether it is known, and who may bypass it."""
    out: list[Any] = [settings.default_branch, settings.visibility.value, settings.secret_scanning.value,
                      settings.secret_push_protection.value, settings.codeowners_errors.value]
    for branch in settings.branches:
        for name in ("protected", "force_push_blocked", "deletion_blocked", "pull_request_required",
                     "required_approvals", "code_owner_review_required", "stale_approvals_dismissed",
                     "author_approval_blocked", "admins_cannot_bypass", "required_status_checks",
                     "signed_commits_required"):
            value = getattr(branch, name)
            out.append((name, value.value, sorted(a.label for a in value.bypass), bool(value.not_enforced)))
    return out


@pytest.mark.parametrize("kind", ["admin", "read"])
def test_settings_from_the_listing_equal_what_the_rest_collector_reads(kind: str, tmp_path: Path) -> None:
    from annexa.collect.github import SettingsCollector
    from annexa.orgscan import github as gh

    with FakeGitHub() as server:
        server.add_token("tok", kind=kind)
        server.add_repo("acme/classic", security_and_analysis={"secret_scanning": "enabled",
                                                               "secret_scanning_push_protection": "disabled"})
        server.add_branch("acme/classic", "main", sha="1" * 40)
        allow = {"users": [{"id": 9, "login": "boss"}]}
        server.set_classic_protection("acme/classic", "main", {
            "required_pull_request_reviews": {"required_approving_review_count": 2, "dismiss_stale_reviews": True,
                                              "bypass_pull_request_allowances": allow},
            "required_status_checks": {"strict": True, "contexts": ["ci"]},
            "enforce_admins": False, "allow_force_pushes": True, "allow_deletions": False})
        server.add_repo("acme/ruled")
        server.add_branch("acme/ruled", "main", sha="2" * 40)
        server.add_ruleset("acme/ruled", {"name": "protect", "rules": [
            {"type": "deletion"}, {"type": "non_fast_forward"},
            {"type": "pull_request", "parameters": {"required_approving_review_count": 1,
                                                    "dismiss_stale_reviews_on_push": False,
                                                    "require_code_owner_review": True,
                                                    "require_last_push_approval": True,
                                                    "required_review_thread_resolution": False}}],
            "bypass_actors": [{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}]})
        server.add_ruleset("acme", {"name": "org checks", "enforcement": "evaluate",
                                    "rules": [{"type": "required_signatures"}]}, org=True)
        server.add_repo("acme/open")
        server.add_branch("acme/open", "main", sha="3" * 40)
        server.set_codeowners_errors("acme/open", [{"line": 1, "column": 3, "kind": "Unknown owner",
                                                   "source": "* @nobody\n", "suggestion": None,
                                                   "message": "Unknown owner on line 1", "path": "CODEOWNERS"}])
        api = client(server)
        security = gh.org_security(api, "acme", {})
        for _cursor, page in gh.list_pages(api, "acme"):
            for listing in page.repos:
                listing.security = None if isinstance(security, str) else security.get(listing.full_name.lower())
                cheap = gh.settings_from_listing(api, listing)
                server.clear_requests()
                full = SettingsCollector(api, listing.full_name).collect()
                assert cheap is not None
                assert _branch_values(cheap) == _branch_values(full), listing.full_name
        assert contract_problems(server) == []


def test_the_settings_part_costs_no_request_per_repository(tmp_path: Path) -> None:
    with FakeGitHub() as server:
        server.add_token("tok", kind="admin")
        for i in range(30):
            server.add_repo(f"acme/r{i:02d}")
            server.add_branch(f"acme/r{i:02d}", "main", sha=f"{i:040x}")
            server.set_classic_protection(f"acme/r{i:02d}", "main", PROTECTION)
        outcome = scan_org(client(server), "acme", State(tmp_path / "s.json"))
        assert (len(outcome.scanned), outcome.failed) == (30, {})
        routes = [r.route for r in server.requests]
        # per repository only its tree (no file to fetch beyond the listing); settings from the listings
        assert routes.count("POST /graphql") == 2
        assert routes.count("GET /orgs/{org}/repos") == 1
        assert sorted(set(routes) - {"POST /graphql", "GET /orgs/{org}/repos"}) == [
            "GET /repos/{owner}/{repo}/git/trees/{tree_sha}"]
        [first] = [r for r in outcome.scanned if r.run.repository == "acme/r00"]
        assert findings(first, "branch-protected") == [("pass", None, None)]
        assert findings(first, "admins-cannot-bypass") == [("pass", None, None)]


def test_listing_settings_defer_to_rest_when_the_listing_cannot_tell() -> None:
    from annexa.orgscan import github as gh

    rule = {"type": "DELETION", "parameters": None, "repositoryRuleset": {"databaseId": 7, "name": "r"}}
    base = {"nameWithOwner": "acme/x", "visibility": "PRIVATE", "isEmpty": False, "pushedAt": None,
            "defaultBranchRef": {"name": "main", "target": {"oid": "1" * 40}, "refUpdateRule": None,
                                 "branchProtectionRule": None, "rules": {"nodes": [rule]}}}
    api = GitHubClient("tok", "http://127.0.0.1:9", RetryPolicy(attempts=1, backoff=0))
    # an App installation token shows no viewerPermission: who may bypass the ruleset is not known from GraphQL
    assert gh.settings_from_listing(api, gh.parse_repo({**base, "viewerPermission": None})) is None
    # an empty repository has no default branch ref to read protection from
    assert gh.settings_from_listing(api, gh.parse_repo({**base, "defaultBranchRef": None})) is None
    read = gh.settings_from_listing(api, gh.parse_repo({**base, "viewerPermission": "READ"}))
    assert read is not None
    [main] = read.branches
    assert (main.protected.value, main.deletion_blocked.value, main.admins_cannot_bypass.value) == (True, True, None)
    assert "write access to the repository" in str(main.admins_cannot_bypass.reason)


def test_a_spent_rate_limit_is_waited_out_or_stops_the_scan_for_resume(org: FakeGitHub, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from annexa.orgscan.github import OrgScanClient

    told: list[str] = []
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        org.set_rate_limit_remaining("tok", 5000)  # the hour turns

    org.set_rate_limit_remaining("tok", 0)
    waiting = OrgScanClient("tok", org.base_url, RetryPolicy(attempts=2, backoff=0), sleep=sleep,
                            max_wait=7200, notify=told.append)
    outcome = scan_org(waiting, "acme", State(tmp_path / "a.json"))
    assert ([r.run.repository for r in outcome.scanned], outcome.failed) == (["acme/models", "acme/web"], {})
    assert len(slept) == 1 and 0 < slept[0] <= 3601
    [message] = told
    assert message.startswith("GitHub API rate limit spent: waiting until ") and " UTC (" in message
    # too long a wait: the CLI stops with the reset time, exit 2, and --resume continues later
    org.set_rate_limit_remaining("tok", 1)
    monkeypatch.setenv("ANNEXA_GITHUB_TOKEN", "tok")
    argv = ["org-scan", "--github-org", "acme", "--api-url", org.base_url, "--state", str(tmp_path / "b.json"),
            "--history", f"sqlite:///{tmp_path / 'h.db'}", "--max-wait", "5"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "GitHub API rate limit spent until " in err and "run again with --resume after it" in err
    assert "Traceback" not in err
    org.set_rate_limit_remaining("tok", 5000)
    assert main([*argv, "--resume"]) == 0
    assert "2 scanned" in capsys.readouterr().out


def test_concurrent_workers_each_read_their_own_repository(tmp_path: Path) -> None:
    from annexa.orgscan.github import OrgScanClient

    with FakeGitHub(latency=0.01) as server:
        server.add_token("tok", kind="admin")
        for i in range(24):
            name = f"acme/r{i:02d}"
            server.add_repo(name)
            server.add_branch(name, "main", sha=f"{i + 1:040x}")
            server.set_file(name, f"models/only-r{i:02d}.bin", b"\x80\x04" + b"\x00x" * 999)
        api = OrgScanClient("tok", server.base_url, RetryPolicy(attempts=2, backoff=0))
        outcome = scan_org(api, "acme", State(tmp_path / "s.json"), workers=8)
        assert outcome.failed == {}
        for report in outcome.scanned:
            short = report.run.repository.split("/")[1]
            assert findings(report, "weights-in-lfs") == [("fail", f"models/only-{short}.bin", None)]
