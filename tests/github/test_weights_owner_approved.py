"""weights-owner-approved: a model owner (user or team member) approved the PR's weight changes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from annexa.config import Config
from annexa.facts import ChangeSet, FileChange, PullRequest, RepoSettings, Review, Setting
from annexa.model import Location, Status
from annexa.protection import unknown_branch
from tests.support import run_rule

HEAD = "h" * 40
OLD = "o" * 40
TEAM = "@acme/ml-model-owners"
OWNERS = Config(owners={"models": ("@alice", TEAM)})
WEIGHTS = ChangeSet("base", {
    "models/llm.safetensors": FileChange("models/llm.safetensors", "modified"),
    "src/train.py": FileChange("src/train.py", "modified", frozenset({3})),
})
CODE_ONLY = ChangeSet("base", {"src/train.py": FileChange("src/train.py", "modified", frozenset({3}))})
WEIGHT_FILE = Location("models/llm.safetensors")


def pr(*reviews: tuple[str, str, str], author: str = "erin", **extra: Any) -> PullRequest:
    return PullRequest(
        number=7, author=author, head_sha=HEAD, base_ref="main", head_ref="feature",
        reviews=tuple(Review(user, state, commit) for user, state, commit in reviews),
        team_members=extra.pop("team_members", {TEAM: ("bob", "dora")}), **extra,
    )


@pytest.mark.parametrize(("pull", "params", "status", "message", "evidence"), [
    (pr(("alice", "APPROVED", HEAD)), {}, Status.PASS,
     "Model owner @alice (@alice) approved the weight changes of PR #7", {"approver": "alice", "via": "@alice"}),
    (pr(("bob", "APPROVED", HEAD)), {}, Status.PASS,
     "Model owner @bob (member of @acme/ml-model-owners) approved the weight changes of PR #7",
     {"approver": "bob", "via": f"member of {TEAM}"}),
    (pr(("BOB", "COMMENTED", HEAD), ("bob", "APPROVED", HEAD), ("bob", "COMMENTED", HEAD)), {}, Status.PASS,
     "Model owner @bob (member of @acme/ml-model-owners) approved the weight changes of PR #7", {"approver": "bob"}),
    (pr(("carol", "APPROVED", HEAD)), {}, Status.FAIL,
     "PR #7 changes 1 model weight file(s) with approvals only from non-owners @carol",
     {"approvers": ["carol"], "stale_approvals": []}),
    (pr(("bob", "APPROVED", HEAD), ("bob", "DISMISSED", HEAD)), {}, Status.FAIL,
     "PR #7 changes 1 model weight file(s) with no approval", {"approvers": []}),
    (pr(("bob", "APPROVED", HEAD), ("bob", "CHANGES_REQUESTED", HEAD)), {}, Status.FAIL,
     "PR #7 changes 1 model weight file(s) with no approval", {"approvers": []}),
    (pr(("bob", "APPROVED", OLD)), {"require_current_approval": True}, Status.FAIL,
     "PR #7 changes 1 model weight file(s) with no approval; approvals before the last push do not count: @bob",
     {"stale_approvals": ["bob"]}),
    (pr(("bob", "APPROVED", OLD)), {"require_current_approval": False}, Status.PASS,
     "Model owner @bob (member of @acme/ml-model-owners) approved the weight changes of PR #7", {"commit": OLD}),
    (pr(("alice", "APPROVED", HEAD), author="alice"), {}, Status.FAIL,
     "PR #7 changes 1 model weight file(s) with no approval", {"approvers": []}),
    (pr(("carol", "APPROVED", HEAD), team_members={},
        team_reasons={TEAM: "GitHub token permission members:read (organisation) to read team members"}),
     {}, Status.UNKNOWN, "PR #7: could not tell whether approver(s) @carol belong to @acme/ml-model-owners",
     {"needs": "GitHub token permission members:read (organisation) to read team members", "approvers": ["carol"]}),
    (pr(team_members={}, team_reasons={TEAM: "members:read"}), {}, Status.FAIL,
     "PR #7 changes 1 model weight file(s) with no approval", {"weight_files": ["models/llm.safetensors"]}),
])
def test_weight_changes_need_an_owner_approval(pull: PullRequest, params: dict[str, Any], status: Status,
                                               message: str, evidence: dict[str, Any]) -> None:
    [result] = run_rule("weights-owner-approved", config=OWNERS, params=params, change=WEIGHTS, pull_request=pull)
    assert (result.status, result.message, result.location) == (status, message, WEIGHT_FILE)
    assert {k: result.evidence[k] for k in evidence} == evidence


@pytest.mark.parametrize(("dismissed", "status"), [
    (Setting(True, "org ruleset 'guard'"), Status.PASS),  # the platform dismisses stale approvals itself
    (Setting(False, "classic branch protection"), Status.FAIL),
    (Setting.unknown("administration:read"), Status.FAIL),
    (None, Status.FAIL),  # no settings at all: only the head counts
])
def test_an_approval_of_an_older_commit_counts_only_when_the_platform_dismisses_stale_ones(
    dismissed: Setting[bool] | None, status: Status
) -> None:
    settings = None
    if dismissed is not None:
        main = unknown_branch("main", "not read")
        settings = RepoSettings("github", "acme/models", "main", Setting("private"), Setting(True), Setting(True),
                                (replace(main, stale_approvals_dismissed=dismissed),))
    stale = pr(("bob", "APPROVED", OLD))
    [result] = run_rule("weights-owner-approved", config=OWNERS, change=WEIGHTS, pull_request=stale,
                        settings=settings)
    assert (result.status, result.evidence["current_head_only"]) == (status, status is Status.FAIL)
    if status is Status.FAIL:
        assert result.evidence["stale_approvals"] == ["bob"]


@pytest.mark.parametrize("change", [
    ChangeSet("base", {"weights.txt": FileChange("weights.txt", "renamed", previous_path="models/llm.safetensors")}),
    ChangeSet("base", {"old/llm.safetensors": FileChange("new/llm.safetensors", "renamed",
                                                         previous_path="models/llm.safetensors")}),
])
def test_a_renamed_or_moved_weight_file_still_needs_an_owner(change: ChangeSet) -> None:
    [result] = run_rule("weights-owner-approved", config=OWNERS, change=change, pull_request=pr(("carol",
                        "APPROVED", HEAD)))
    assert result.status is Status.FAIL


def test_the_owner_role_comes_from_the_parameters() -> None:
    config = Config(owners={"models": ("@alice",), "weights": ("@carol",)})
    approved = pr(("carol", "APPROVED", HEAD))
    [ok] = run_rule("weights-owner-approved", config=config, change=WEIGHTS, pull_request=approved,
                    params={"owners_role": "weights"})
    assert (ok.status, ok.evidence["owners"]) == (Status.PASS, ["@carol"])
    [default] = run_rule("weights-owner-approved", config=config, change=WEIGHTS, pull_request=approved)
    assert default.status is Status.FAIL


@pytest.mark.parametrize(("change", "pull", "config", "status", "message", "needs"), [
    (None, None, OWNERS, Status.UNKNOWN,
     "Whether a model owner approved the weight changes needs a pull or merge request",
     "no pull request context: run in a pull request (annexa ci)"),
    (CODE_ONLY, pr(), OWNERS, Status.NOT_APPLICABLE, "PR #7 changes no model weight files", None),
    (ChangeSet("base", CODE_ONLY.files, truncated=True), pr(), OWNERS, Status.UNKNOWN,
     "GitHub lists only the first 1 changed files of PR #7; weight files may be among the rest",
     "a pull request small enough for GitHub to list every file (at most 3,000)"),
    (WEIGHTS, pr(("bob", "APPROVED", HEAD)), Config(), Status.UNKNOWN,
     "PR #7 changes 1 weight file(s) but no models owners are configured",
     "owners.models in .annexa.yml (users like @alice or teams like @org/ml-model-owners)"),
    (ChangeSet("base", {"weights/v2.bin": FileChange("weights/v2.bin", "renamed", previous_path="weights/v1.bin")}),
     pr(("alice", "APPROVED", HEAD)), OWNERS, Status.PASS,
     "Model owner @alice (@alice) approved the weight changes of PR #7", None),
])
def test_outcomes_without_a_decision(change: ChangeSet | None, pull: PullRequest | None, config: Config,
                                     status: Status, message: str, needs: str | None) -> None:
    [result] = run_rule("weights-owner-approved", config=config, change=change, pull_request=pull)
    assert (result.status, result.message, result.evidence.get("needs")) == (status, message, needs)
