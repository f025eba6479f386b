"""``weights-owner-approved`` on GitLab: CODEOWNERS sections (``[Section][N]``, optional ``^[Section]``, section
default owners) judged by the merge request's approval state, end to end against the fake GitLab."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from annexa.ci import add_arguments
from annexa.model import Location, Status
from annexa.platforms.gitlab.mr import GitLabChangeCollector
from annexa.platforms.run import RunOutcome, run_ci
from tests.fakes.gitlab import FakeGitLab, diff_for
from tests.gitlab.conftest import BASE, PROJECT, ci_env, client_for, seed, shallow_checkout

POLICY = """\
id: POL-CO
title: Model change control
version: "1"
owner: Head of ML
approved_by: CISO
approved_on: 2026-06-01
review_interval_months: 12
statement: Model owners approve weight changes.
controls: [A.8.32]
requirements:
  - {rule: weights-owner-approved, severity: high, controls: [A.8.32]}
"""
WEIGHT = "models/llm.safetensors"
CODEOWNERS = """\
[Models][2] @olivia @omar
models/

^[Review] @rita
*.safetensors

[Security]
models/*.safetensors @sam
"""
FREE_NEEDS = "GitLab Premium (the project's tier answers 403 for this API)"


def _workspace(tmp_path: Path, codeowners: str = CODEOWNERS, owners: str = "") -> Path:
    config = "policies: [policy]\n" + (f"owners:\n  models: [{owners}]\n" if owners else "")
    return shallow_checkout(tmp_path, {".annexa.yml": config, "policy/pol.yml": POLICY, "CODEOWNERS": codeowners,
                                       WEIGHT: "stub\n"})


def _mr(fake: FakeGitLab, approvers: tuple[str, ...]) -> None:
    fake.add_mr(PROJECT, 7, author="dev", diffs=[diff_for(WEIGHT, ["stub"], new=True)])
    fake.add_code_owner_rule(PROJECT, 7, "models/", ["olivia", "omar"], section="Models", approvals_required=2)
    fake.add_code_owner_rule(PROJECT, 7, "*.safetensors", ["rita"], section="Review", approvals_required=0)
    fake.add_code_owner_rule(PROJECT, 7, "models/*.safetensors", ["sam"], section="Security", approvals_required=1)
    for user in approvers:
        fake.approve(PROJECT, 7, user)


def _run(fake: FakeGitLab, workspace: Path) -> RunOutcome:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run_ci(parser.parse_args(["--no-comment", "--output-dir", str(workspace / "out")]),
                  ci_env(fake, workspace))


def _finding(outcome: RunOutcome) -> tuple[Status, str, Location | None, dict[str, Any]]:
    [found] = [f for f in outcome.report.findings if f.rule == "weights-owner-approved"]
    return found.status, found.message, found.location, dict(found.evidence)


@pytest.mark.parametrize(("approvers", "status", "message"), [
    (("olivia", "omar", "sam"), Status.PASS,
     "CODEOWNERS [Models], [Security] approved the weight changes of MR !7 (@olivia, @omar, @sam)"),
    (("olivia", "sam"), Status.FAIL,
     "MR !7 changes weight file models/llm.safetensors: CODEOWNERS [Models] (`models/`, owners @olivia @omar) "
     "requires 2 code-owner approval(s), approvals only from @olivia"),
    (("olivia", "omar"), Status.FAIL,
     "MR !7 changes weight file models/llm.safetensors: CODEOWNERS [Security] (`models/*.safetensors`, owners "
     "@sam) requires 1 code-owner approval(s), no approval"),
])
def test_required_sections_decide(fake: FakeGitLab, tmp_path: Path, approvers: tuple[str, ...], status: Status,
                                  message: str) -> None:
    """[Models][2] takes its default owners and needs two; [Security] one; the optional [Review] none."""
    _mr(fake, approvers)
    found = _finding(_run(fake, _workspace(tmp_path)))
    assert found[:3] == (status, message, Location(WEIGHT))
    assert found[3]["optional_sections"] == [f"{WEIGHT} [Review]"]
    assert found[3]["codeowners"] == "CODEOWNERS of the base revision ba5e11111111 (read through the GitLab API)"


def test_the_change_cannot_unown_its_own_weights(fake: FakeGitLab, tmp_path: Path) -> None:
    """The MR's CODEOWNERS gives everything to @dev; GitLab (and annexa) go by the target branch's."""
    _mr(fake, ("olivia", "sam"))
    workspace = _workspace(tmp_path, "* @dev\n")
    env = ci_env(fake, workspace)
    fake.add_files(PROJECT, BASE, {"CODEOWNERS": CODEOWNERS})
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    outcome = run_ci(parser.parse_args(["--no-comment", "--output-dir", str(workspace / "out")]), env)
    status, message, _location, _evidence = _finding(outcome)
    assert (status, message.split(":")[1].strip()) == (Status.FAIL, "CODEOWNERS [Models] (`models/`, owners @olivia "
                                                                    "@omar) requires 2 code-owner approval(s), "
                                                                    "approvals only from @olivia")
    assert outcome.report.rules_from == ("config, waivers and secrets baseline from the base revision ba5e11111111 "
                                         "(read through the GitLab API)")


def test_optional_section_never_fails_the_rule(fake: FakeGitLab, tmp_path: Path) -> None:
    """Only ^[Review] owns the weights and Rita did not approve: the configured model owners decide."""
    _mr(fake, ("olivia",))
    workspace = _workspace(tmp_path, "^[Review] @rita\n*.safetensors\n", owners='"@acme/ml-model-owners"')
    found = _finding(_run(fake, workspace))
    assert found[:3] == (Status.PASS, "Model owner @olivia (member of @acme/ml-model-owners) approved the weight "
                                      "changes of MR !7", Location(WEIGHT))


def test_sections_fail_even_when_a_configured_owner_approved(fake: FakeGitLab, tmp_path: Path) -> None:
    _mr(fake, ("olivia", "omar"))
    found = _finding(_run(fake, _workspace(tmp_path, owners='"@acme/ml-model-owners"')))
    assert found[0] is Status.FAIL and "CODEOWNERS [Security]" in found[1]


def test_free_tier_approval_state_is_unknown_naming_the_tier(tmp_path: Path) -> None:
    with FakeGitLab(tier="free") as fake:
        seed(fake)
        _mr(fake, ("olivia", "omar", "sam"))
        found = _finding(_run(fake, _workspace(tmp_path)))
        assert found[:3] == (
            Status.UNKNOWN, "MR !7: CODEOWNERS [Models] requires code-owner approval of models/llm.safetensors, but "
                            "the change's approval state could not be read", Location(WEIGHT))
        assert found[3]["needs"] == FREE_NEEDS
        # the tier is detected once (project approvals), the approval state is never asked for
        assert not [r for r in fake.requests if r.path.endswith("/approval_state")]


@pytest.mark.parametrize(("tier", "reason"), [
    ("free", FREE_NEEDS), ("ce", "GitLab Premium (GitLab CE does not have this API: 404)")])
def test_collector_reads_the_approval_state_or_names_the_tier(tier: str, reason: str) -> None:
    with FakeGitLab(tier=tier) as fake:
        seed(fake)
        _mr(fake, ("olivia",))
        read = GitLabChangeCollector(client_for(fake), PROJECT).collect(7)
        assert read.pull_request is not None
        assert (read.pull_request.owner_approvals, read.pull_request.owner_approvals_reason) == (None, reason)


def test_collector_code_owner_rules_are_neutral_facts(fake: FakeGitLab) -> None:
    _mr(fake, ("olivia", "rita"))
    fake.add_code_owner_rule(PROJECT, 7, "*", ["dora"], approvals_required=1)  # the default section
    read = GitLabChangeCollector(client_for(fake), PROJECT).collect(7)
    assert read.pull_request is not None and read.pull_request.owner_approvals is not None
    assert [(r.section, r.pattern, r.approvals_required, r.approved_by, r.approved)
            for r in read.pull_request.owner_approvals] == [
        ("Models", "models/", 2, ("olivia",), False), ("Review", "*.safetensors", 0, ("rita",), True),
        ("Security", "models/*.safetensors", 1, (), False), (None, "*", 1, (), False)]
