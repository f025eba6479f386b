"""``annexa fix ruleset --platform gitlab --apply`` against the fake GitLab: the diff first, then the writes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from annexa.cli import main
from annexa.platforms.gitlab.client import GitLabClient
from annexa.platforms.gitlab.settings import GitLabSettingsCollector
from tests.fakes.gitlab_group import FakeGitLabGroup
from tests.support import make_checkout

CONFIG = """\
params:
  approvals-required: {min: 3, branches: ["release/*"]}
  status-checks-required: {checks: ["ci/test"]}
"""


@pytest.fixture
def server() -> Iterator[FakeGitLabGroup]:
    with FakeGitLabGroup() as fake:
        fake.add_token("tok", "api")
        fake.add_token("ro", "read_api")
        fake.add_project("acme/app", default_branch="trunk")
        fake.protect("acme/app", "trunk", push=30, allow_force_push=True)
        yield fake


def args(repo: Path, url: str) -> list[str]:
    return ["fix", "ruleset", "--platform", "gitlab", "--repo", "acme/app", "--path", str(repo), "--apply",
            "--gitlab-url", url]


def test_apply_shows_the_diff_then_makes_the_project_conform(server: FakeGitLabGroup, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    make_checkout(tmp_path / "repo", {".annexa.yml": CONFIG})
    monkeypatch.setenv("ANNEXA_GITLAB_TOKEN", "tok")
    assert main(args(tmp_path / "repo", server.url)) == 0
    out = capsys.readouterr().out
    assert re.search(r'^-\s+"push_access_level": 30,$', out, re.M)
    assert re.search(r'^\+\s+"push_access_level": 0,$', out, re.M)
    assert re.search(r'^-\s+"allow_force_push": true,$', out, re.M)
    lines = [line.removeprefix("annexa: acme/app: ") for line in out.splitlines() if line.startswith("annexa:")]
    assert lines == ["PATCH protected branch trunk", "POST protected branch release/*", "POST approval settings",
                     "POST approval rule 'annexa: required approvals'", "POST push rule", "PUT project settings"]
    assert out.index("+++ acme/app (annexa)") < out.index("annexa: acme/app: PATCH")
    writes = [(r.method, r.route) for r in server.requests if r.method != "GET"]
    assert writes == [("PATCH", "PATCH /projects/:id/protected_branches/:name"),
                      ("POST", "POST /projects/:id/protected_branches"), ("POST", "POST /projects/:id/approvals"),
                      ("POST", "POST /projects/:id/approval_rules"), ("POST", "POST /projects/:id/push_rule"),
                      ("PUT", "PUT /projects/:id")]
    assert "tok" not in out.replace("token", "")
    # what annexa ci would now read of the default branch: every protection rule's setting holds
    raw = GitLabSettingsCollector(GitLabClient(server.url, "tok"), "acme/app").collect(["release/*"])
    assert raw.settings is not None
    trunk = raw.settings.branches[0]
    assert (trunk.branch, trunk.pull_request_required.value, trunk.force_push_blocked.value,
            trunk.required_approvals.value, trunk.code_owner_review_required.value,
            trunk.stale_approvals_dismissed.value, trunk.author_approval_blocked.value,
            trunk.signed_commits_required.value, trunk.required_status_checks.value) == (
        "trunk", True, True, 3, True, True, True, True, ("pipeline",))
    server.clear_requests()
    assert main(args(tmp_path / "repo", server.url)) == 0
    out = capsys.readouterr().out
    assert "settings unchanged (already as the policies require)" in out and "+++" not in out
    assert [r.method for r in server.requests if r.method != "GET"] == []


def test_a_read_only_token_changes_nothing(server: FakeGitLabGroup, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    make_checkout(tmp_path / "repo", {".annexa.yml": CONFIG})
    monkeypatch.setenv("ANNEXA_GITLAB_TOKEN", "ro")
    assert main(args(tmp_path / "repo", server.url)) == 2
    err = capsys.readouterr().err
    assert "protected branch trunk: HTTP 403 insufficient_scope; applied before it: nothing" in err
    assert [r.status for r in server.requests if r.method != "GET"] == [403]
    monkeypatch.delenv("ANNEXA_GITLAB_TOKEN")
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    assert main(args(tmp_path / "repo", server.url)) == 2
    assert "needs a GitLab token with api scope" in capsys.readouterr().err


def test_free_tier_premium_settings_are_reported_not_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    make_checkout(tmp_path / "repo", {".annexa.yml": CONFIG})
    monkeypatch.setenv("ANNEXA_GITLAB_TOKEN", "tok")
    with FakeGitLabGroup(tier="free") as fake:
        fake.add_token("tok", "api")
        fake.add_project("acme/app", default_branch="trunk")
        assert main(args(tmp_path / "repo", fake.url)) == 0
        out = capsys.readouterr().out
        assert "annexa: acme/app: POST protected branch trunk" in out
        assert ("annexa: acme/app: not applied: approval settings: needs GitLab Premium (the API answered 403)"
                in out)
        assert "not applied: push rule: needs GitLab Premium" in out
        assert [r.route for r in fake.requests if r.method != "GET"] == [
            "POST /projects/:id/protected_branches", "POST /projects/:id/protected_branches", "PUT /projects/:id"]
