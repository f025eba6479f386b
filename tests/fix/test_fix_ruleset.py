"""``annexa fix ruleset``: the ruleset that would conform, and ``--apply`` against the fake GitHub."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from annexa import fix
from annexa.cli import main
from annexa.engine import load_inputs
from tests.fakes.github import FakeGitHub
from tests.fakes.test_github_fake import contract_problems
from tests.support import make_checkout

CONFIG = """\
params:
  approvals-required: {min: 3, branches: ["release/*"]}
  status-checks-required: {checks: ["ci/test", "annexa"]}
"""


def test_ruleset_follows_the_policies_and_config(tmp_path: Path) -> None:
    make_checkout(tmp_path, {".annexa.yml": CONFIG})
    want = fix.desired(load_inputs(tmp_path))
    assert (want.approvals, want.checks, want.branches) == (3, ("ci/test", "annexa"), ("release/*",))
    ruleset = fix.github_ruleset(want)
    assert ruleset["bypass_actors"] == []
    assert ruleset["conditions"]["ref_name"]["include"] == ["~DEFAULT_BRANCH", "refs/heads/release/*"]
    assert [r["type"] for r in ruleset["rules"]] == [
        "deletion", "non_fast_forward", "pull_request", "required_status_checks", "required_signatures"]
    assert ruleset["rules"][2]["parameters"] == {
        "required_approving_review_count": 3, "dismiss_stale_reviews_on_push": True,
        "require_code_owner_review": True, "require_last_push_approval": True,
        "required_review_thread_resolution": False}
    assert ruleset["rules"][3]["parameters"]["required_status_checks"] == [{"context": "ci/test"},
                                                                             {"context": "annexa"}]
    assert fix.notes(want) == []


def test_gitlab_payload_has_the_same_effect(tmp_path: Path) -> None:
    make_checkout(tmp_path, {".annexa.yml": CONFIG})
    payload = fix.gitlab_payload(fix.desired(load_inputs(tmp_path)), "trunk")
    [trunk, release] = payload["POST /projects/:id/protected_branches"]
    assert (trunk["name"], trunk["push_access_level"], trunk["allow_force_push"],
            trunk["code_owner_approval_required"]) == ("trunk", 0, False, True)
    assert release["name"] == "release/*"
    assert payload["POST /projects/:id/approval_rules"]["approvals_required"] == 3
    assert payload["POST /projects/:id/approvals"]["merge_requests_author_approval"] is False
    assert payload["PUT /projects/:id/push_rule"] == {"reject_unsigned_commits": True}


def test_without_apply_nothing_is_sent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_checkout(tmp_path / "repo", {".annexa.yml": CONFIG})
    out = tmp_path / "ruleset.json"
    assert main(["fix", "ruleset", "--repo", "acme/x", "--path", str(tmp_path / "repo"), "--out", str(out)]) == 0
    assert "nothing was applied" in capsys.readouterr().out
    assert json.loads(out.read_text())["name"] == fix.RULESET_NAME


def test_apply_shows_the_diff_then_creates_then_updates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    make_checkout(repo, {".annexa.yml": CONFIG})
    with FakeGitHub() as server:
        server.add_token("tok-admin", kind="admin")
        server.add_token("tok-read", kind="read")
        server.add_repo("acme/x")
        args = ["fix", "ruleset", "--repo", "acme/x", "--path", str(repo), "--apply", "--api-url", server.base_url]
        monkeypatch.setenv("ANNEXA_GITHUB_TOKEN", "tok-read")
        assert main(args) == 2
        assert "administration permission" in capsys.readouterr().err
        monkeypatch.setenv("ANNEXA_GITHUB_TOKEN", "tok-admin")
        assert main(args) == 0
        out = capsys.readouterr().out
        assert re.search(r'^\+\s+"enforcement": "active",$', out, re.M) and "ruleset created on acme/x" in out
        assert main(args) == 0
        assert "ruleset unchanged on acme/x" in capsys.readouterr().out
        (repo / ".annexa.yml").write_text(CONFIG.replace("min: 3", "min: 4"))
        assert main(args) == 0
        out = capsys.readouterr().out
        assert re.search(r'^-\s+"required_approving_review_count": 3,$', out, re.M)
        assert re.search(r'^\+\s+"required_approving_review_count": 4,$', out, re.M) and "ruleset updated" in out
        assert "tok-admin" not in out
        assert contract_problems(server) == []


def test_a_path_that_is_not_a_checkout_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    assert main(["fix", "ruleset", "--repo", "acme/models", "--path", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"error: --path {missing}: not a directory (the checkout whose .annexa.yml and "
                            "policies apply)\n")
