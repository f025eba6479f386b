"""``annexa org-scan --gitlab-group`` against a fake GitLab group (real HTTP, python-gitlab as the client)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from annexa.cli import main
from annexa.orgscan.run import Filters, State, in_shard, scan_group
from annexa.platforms.gitlab.client import GitLabClient, RetryPolicy
from annexa.report import Report
from tests.fakes.gitlab_group import FakeGitLabGroup

POINTER = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 123456789\n"
RAW = b"\x80\x04" + b"\x00x" * 99_999
CI = b"include:\n  - remote: https://example.com/ci.yml\nsast:\n  script: [semgrep]\n"


def seed(fake: FakeGitLabGroup) -> None:
    fake.add_token("tok", "read_api")
    fake.add_project("acme/models", topics=["ml"])
    fake.protect("acme/models", "main", push=0)
    for path, data in {"CODEOWNERS": b"* @acme/dev\n/models/ @acme/ml\n",
                       ".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
                       "models/a.safetensors": POINTER, "models/raw.bin": RAW, ".gitlab-ci.yml": CI,
                       "train.py": b"import torch\n"}.items():
        fake.set_file("acme/models", path, data)
    fake.add_project("acme/apps/web", visibility="public", topics=["web"])
    fake.set_file("acme/apps/web", "README.md", b"# web\n")
    fake.add_project("acme/old", archived=True)
    fake.add_project("other/elsewhere")


@pytest.fixture
def group() -> Iterator[FakeGitLabGroup]:
    with FakeGitLabGroup() as fake:
        seed(fake)
        yield fake


def client(fake: FakeGitLabGroup, sleeps: list[float] | None = None) -> GitLabClient:
    return GitLabClient(fake.url, "tok", retry=RetryPolicy(attempts=3, backoff=0),
                        sleep=(sleeps.append if sleeps is not None else lambda _s: None))


def findings(report: Report, rule: str) -> list[tuple[str, str | None, int | None]]:
    return [(f.status.value, f.location.path if f.location else None, f.location.line if f.location else None)
            for f in report.findings if f.rule == rule]


def names(reports: list[Report]) -> list[str]:
    return [r.run.repository for r in reports]


def test_every_project_of_the_group_and_its_subgroups_is_checked_by_the_same_rules(
        group: FakeGitLabGroup, tmp_path: Path) -> None:
    recorded: list[tuple[Report, Any]] = []
    outcome = scan_group(client(group), "acme", State(tmp_path / "s.json"),
                         record=lambda r, m: recorded.append((r, m)))
    assert names(outcome.scanned) == ["acme/apps/web", "acme/models"]
    assert (outcome.total, outcome.failed) == (2, {})
    web, models = outcome.scanned
    assert (models.run.platform, models.run.ref) == ("gitlab", "refs/heads/main")
    assert findings(models, "weights-in-lfs") == [("fail", "models/raw.bin", None),
                                                  ("pass", "models/a.safetensors", None)]
    [raw] = [f for f in models.findings if f.rule == "weights-in-lfs" and f.status.value == "fail"]
    assert "200,000 raw bytes" in raw.message
    assert findings(models, "weights-lfs-attributes") == [("fail", "models/raw.bin", None),
                                                          ("pass", "models/a.safetensors", None)]
    assert findings(models, "actions-pinned") == [("fail", ".gitlab-ci.yml", 2)]
    assert findings(models, "codeowners-valid") == [("pass", "CODEOWNERS", None)]
    assert findings(models, "branch-protected") == [("pass", None, None)]
    assert findings(models, "pull-request-required") == [("pass", None, None)]
    assert findings(models, "no-secrets-in-change") == [("unknown", None, None)]
    assert findings(models, "weights-owner-approved") == [("not_applicable", None, None)]
    assert findings(web, "branch-protected") == [("fail", None, None)]
    assert findings(web, "repository-not-public") == [("fail", None, None)]
    assert findings(web, "codeowners-valid") == [("fail", None, None)]
    assert [m for _, m in recorded] == [{"team": "", "topics": ["web"], "visibility": "public"},
                                        {"team": "@acme/dev", "topics": ["ml"], "visibility": "private"}]
    routes = Counter(r.route for r in group.requests)
    # only the files the rules read: not README.md, not train.py
    assert routes["GET /projects/:id/repository/files/:file_path/raw"] == 5
    assert routes["GET /groups/:id/projects"] == 1
    listing = next(r for r in group.requests if r.route == "GET /groups/:id/projects")
    assert (listing.query["include_subgroups"], listing.query["archived"]) == (["true"], ["false"])


def test_an_unchanged_rescan_lists_the_group_and_reads_no_project(group: FakeGitLabGroup, tmp_path: Path) -> None:
    scan_group(client(group), "acme", State(tmp_path / "s.json"))
    group.clear_requests()
    again = scan_group(client(group), "acme", State.load(tmp_path / "s.json"))
    assert (again.scanned, again.unchanged) == ([], ["acme/apps/web", "acme/models"])
    assert [r.route for r in group.requests] == ["GET /groups/:id/projects"]
    group.touch("acme/models", "2026-11-26T10:00:00.000Z")
    third = scan_group(client(group), "acme", State.load(tmp_path / "s.json"))
    assert (names(third.scanned), third.unchanged) == (["acme/models"], ["acme/apps/web"])
    forced = scan_group(client(group), "acme", State.load(tmp_path / "s.json"), full=True)
    assert (names(forced.scanned), forced.unchanged) == (["acme/apps/web", "acme/models"], [])


def test_pages_of_projects_and_of_the_tree_are_followed(tmp_path: Path) -> None:
    with FakeGitLabGroup() as fake:
        fake.add_token("tok", "read_api")
        for i in range(100):
            fake.add_project(f"big/p{i:03d}", default_branch=None, empty=True)
        fake.add_project("big/sub/wide")
        for i in range(150):
            fake.set_file("big/sub/wide", f"src/f{i:03d}.py", b"x = 1\n")
        fake.set_file("big/sub/wide", "zz/CODEOWNERS", b"* @x\n")
        outcome = scan_group(client(fake), "big", State(tmp_path / "s.json"))
        assert (outcome.total, len(outcome.scanned), outcome.failed) == (101, 101, {})
        pages = [r.query.get("page", ["1"])[0] for r in fake.requests if r.route == "GET /groups/:id/projects"]
        assert pages == ["1", "2"]
        trees = [r for r in fake.requests if r.route == "GET /projects/:id/repository/tree"]
        assert [r.query.get("page", ["1"])[0] for r in trees] == ["1", "2"]
        [wide] = [r for r in outcome.scanned if r.run.repository == "big/sub/wide"]
        # a CODEOWNERS outside the three places GitLab reads is still listed: the rule sees the whole tree
        assert findings(wide, "codeowners-valid") == [("fail", None, None)]
        empty = next(r for r in outcome.scanned if r.run.repository == "big/p000")
        assert findings(empty, "weights-in-lfs") == [("not_applicable", None, None)]


def test_429_is_waited_out_with_retry_after(group: FakeGitLabGroup, tmp_path: Path) -> None:
    group.rate_limit_next(1, retry_after=7, path_contains="/groups/")
    group.rate_limit_next(1, retry_after=3, path_contains="/repository/tree")
    sleeps: list[float] = []
    outcome = scan_group(client(group, sleeps), "acme", State(tmp_path / "s.json"), workers=1)
    assert (names(outcome.scanned), outcome.failed) == (["acme/apps/web", "acme/models"], {})
    assert sleeps == [7.0, 3.0]
    assert [r.status for r in group.requests if r.path == "/groups/acme/projects"] == [429, 200]


def test_a_project_that_keeps_failing_is_reported_not_passed(group: FakeGitLabGroup, tmp_path: Path) -> None:
    group.fail_next(6, 503, path_contains="/repository/tree")
    outcome = scan_group(client(group), "acme", State(tmp_path / "s.json"), workers=1)
    assert names(outcome.scanned) == []
    assert outcome.failed == {
        "acme/apps/web": "repository tree of acme/apps/web: GitLab API unavailable (HTTP 503 after 3 attempts)",
        "acme/models": "repository tree of acme/models: GitLab API unavailable (HTTP 503 after 3 attempts)"}
    again = scan_group(client(group), "acme", State.load(tmp_path / "s.json"))
    assert names(again.scanned) == ["acme/apps/web", "acme/models"]


def test_filters_and_a_deterministic_shard_split(group: FakeGitLabGroup, tmp_path: Path) -> None:
    def scanned(**kw: Any) -> list[str]:
        return names(scan_group(client(group), "acme", State(tmp_path / f"{len(kw)}{sorted(kw)}.json"),
                                **kw).scanned)

    assert scanned(filters=Filters(topics=("ml",))) == ["acme/models"]
    assert scanned(filters=Filters(visibility=("public",))) == ["acme/apps/web"]
    assert scanned(filters=Filters(names=("web",))) == ["acme/apps/web"]
    assert scanned(filters=Filters(names=("acme/mod*",))) == ["acme/models"]
    assert scanned(filters=Filters(only=frozenset({"acme/models"}))) == ["acme/models"]
    split = {k: scanned(shard=(k, 2), filters=Filters()) for k in (1, 2)}
    assert sorted(split[1] + split[2]) == ["acme/apps/web", "acme/models"]
    assert split == {k: [n for n in ("acme/apps/web", "acme/models") if in_shard(n, (k, 2))] for k in (1, 2)}


def test_an_interrupted_group_scan_resumes_where_it_stopped(group: FakeGitLabGroup, tmp_path: Path) -> None:
    def stop(name: str, done: int, total: int, rate: int | None) -> None:
        assert rate is not None and rate > 0  # RateLimit-Remaining reaches the progress bar
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        scan_group(client(group), "acme", State(tmp_path / "s.json"), progress=stop, workers=1)
    group.clear_requests()
    resumed = scan_group(client(group), "acme", State.load(tmp_path / "s.json"), resume=True)
    assert names(resumed.scanned) == ["acme/models"]
    assert {r.path.split("/")[2] for r in group.requests if r.path.startswith("/projects/")} == {"acme%2Fmodels"}
    assert State.load(tmp_path / "s.json").scan["finished"] is True  # type: ignore[index]


def test_free_tier_settings_are_unknown_and_the_tier_is_probed_once(tmp_path: Path) -> None:
    with FakeGitLabGroup(tier="free") as fake:
        seed(fake)
        outcome = scan_group(client(fake), "acme", State(tmp_path / "s.json"), workers=1)
        _web, models = outcome.scanned
        assert findings(models, "approvals-required") == [("unknown", None, None)]
        [approvals] = [f for f in models.findings if f.rule == "approvals-required"]
        assert "GitLab Premium" in approvals.message + str(approvals.evidence)
        routes = Counter(r.route for r in fake.requests)
        assert routes["GET /projects/:id/approvals"] == 1
        assert routes["GET /projects/:id/approval_rules"] + routes["GET /projects/:id/push_rule"] == 0


def test_cli_scans_the_group_into_the_history(group: FakeGitLabGroup, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    monkeypatch.delenv("ANNEXA_GITLAB_TOKEN", raising=False)
    url = f"sqlite:///{tmp_path / 'h.db'}"
    argv = ["org-scan", "--gitlab-group", "acme", "--gitlab-url", group.url, "--history", url,
            "--state", str(tmp_path / "s.json"), "--workers", "2"]
    assert main(argv) == 2
    assert "ANNEXA_GITLAB_TOKEN or GITLAB_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("ANNEXA_GITLAB_TOKEN", "tok")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "acme shard 1/1: 2 scanned (2 failing), 0 unchanged since the last scan, 0 could not be scanned" in out
    assert main(["dashboard", "--out", str(tmp_path / "d"), "--history", url]) == 0
    page = (tmp_path / "d" / "index.html").read_text()
    assert '"name":"acme/models"' in page and '"topics":["ml"]' in page
    assert main([*argv[:2], "nope", *argv[3:]]) == 2
    assert "GitLab group 'nope' not found" in capsys.readouterr().err


def test_weight_files_past_the_read_limit_are_unknown_not_passed(group: FakeGitLabGroup, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from annexa.orgscan import gitlab as gl

    monkeypatch.setattr(gl, "WEIGHT_READS", 1)
    outcome = scan_group(client(group), "acme", State(tmp_path / "s.json"), filters=Filters(topics=("ml",)))
    [models] = outcome.scanned
    assert findings(models, "weights-in-lfs") == [("unknown", "models/raw.bin", None),
                                                  ("pass", "models/a.safetensors", None)]
    [gap] = [f for f in models.findings if f.rule == "weights-in-lfs" and f.status.value == "unknown"]
    assert "content not read by the org scan" in gap.message


def test_a_listing_with_every_project_field_saves_the_project_request(tmp_path: Path) -> None:
    with FakeGitLabGroup(list_push_protection=True) as fake:
        seed(fake)
        fake.set_project("acme/models", secret_push_protection_enabled=True)
        outcome = scan_group(client(fake), "acme", State(tmp_path / "s.json"))
        web, models = outcome.scanned
        assert findings(models, "secret-push-protection-enabled") == [("pass", None, None)]
        assert findings(web, "secret-push-protection-enabled") == [("fail", None, None)]
        assert Counter(r.route for r in fake.requests)["GET /projects/:id"] == 0


def test_the_default_state_file_is_the_one_the_help_names(group: FakeGitLabGroup, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ANNEXA_GITLAB_TOKEN", "tok")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(["org-scan", "--help"])
    helptext = " ".join(capsys.readouterr().out.split())
    assert ("state file (default: .annexa/org-scan-ORG-K-of-N.json, .annexa/org-scan-gitlab-GROUP-K-of-N.json "
            "for a GitLab group)") in helptext
    assert "--api-url API_URL GitHub API root (default: $GITHUB_API_URL or https://api.github.com)" in helptext
    assert "file listing owner/name (GitLab: group/sub/project) per line" in helptext
    assert main(["org-scan", "--gitlab-group", "acme", "--gitlab-url", group.url, "--shard", "1/1",
                 "--history", f"sqlite:///{tmp_path / 'h.db'}"]) == 0
    assert "state in .annexa/org-scan-gitlab-acme-1-of-1.json" in capsys.readouterr().out
    assert [p.name for p in (tmp_path / ".annexa").iterdir()] == ["org-scan-gitlab-acme-1-of-1.json"]


def test_the_team_is_the_codeowners_default_owner_and_reaches_the_dashboard(
        group: FakeGitLabGroup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard's team filter is fed: a project's team is the owners of its CODEOWNERS catch-all line."""
    monkeypatch.setenv("ANNEXA_GITLAB_TOKEN", "tok")
    url = f"sqlite:///{tmp_path / 'h.db'}"
    assert main(["org-scan", "--gitlab-group", "acme", "--gitlab-url", group.url, "--history", url,
                 "--state", str(tmp_path / "s.json")]) == 0
    assert main(["dashboard", "--out", str(tmp_path / "d"), "--history", url]) == 0
    page = (tmp_path / "d" / "index.html").read_text()
    assert '"name":"acme/models"' in page and '"team":"@acme/dev"' in page
    assert '"name":"acme/apps/web"' in page and '"team":""' in page  # no CODEOWNERS: no team


@pytest.mark.parametrize(("platform", "text", "team"), [
    ("github", "* @acme/dev\n/models/ @acme/ml\n*.md @acme/docs\n", "@acme/dev"),
    ("github", "* @acme/old\n* @acme/dev @alice\n", "@acme/dev @alice"),
    ("github", "/models/ @acme/ml\n", ""),
    ("gitlab", "[Models][2]\n/models/ @acme/ml\n[Dev]\n* @acme/dev\n[Docs]\n* @acme/docs\n", "@acme/dev"),
])
def test_team_of(platform: str, text: str, team: str) -> None:
    from annexa.orgscan.run import team_of
    from annexa.tree import ApiTree

    data = text.encode()
    tree = ApiTree({"CODEOWNERS": len(data), "README.md": 3}, {"CODEOWNERS": data, "README.md": b"# x"})
    try:
        assert team_of(tree, platform) == team
    finally:
        tree.close()
    empty = ApiTree({"README.md": 3}, {"README.md": b"# x"})
    try:
        assert team_of(empty, platform) == ""
    finally:
        empty.close()
