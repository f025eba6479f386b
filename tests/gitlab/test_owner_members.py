"""Owners' group members are read because the rule declares it (catalog ``needs.owner_members``), for the role its
``owners_role`` parameter names, and only when the change touches weights."""

from __future__ import annotations

import argparse
from pathlib import Path

from annexa.ci import add_arguments
from annexa.model import Status
from annexa.platforms.run import RunOutcome, run_ci
from tests.fakes.gitlab import FakeGitLab, diff_for
from tests.gitlab.conftest import PROJECT, ci_env, shallow_checkout
from tests.gitlab.test_codeowner_sections import POLICY

LEADS_POLICY = POLICY.replace("{rule: weights-owner-approved, severity: high, controls: [A.8.32]}",
                              "{rule: weights-owner-approved, severity: high, controls: [A.8.32], "
                              "params: {owners_role: ml-leads}}")
CONFIG = 'policies: [policy]\nowners:\n  ml-leads: ["@acme/ml-model-owners"]\n'


def _run(fake: FakeGitLab, tmp_path: Path, changed: str) -> RunOutcome:
    workspace = shallow_checkout(tmp_path, {".annexa.yml": CONFIG, "policy/pol.yml": LEADS_POLICY,
                                            "models/llm.safetensors": "stub\n"})
    fake.add_mr(PROJECT, 7, diffs=[diff_for(changed, ["x"], new=True)])
    fake.approve(PROJECT, 7, "olivia")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run_ci(parser.parse_args(["--no-comment", "--output-dir", str(tmp_path / "out")]),
                  ci_env(fake, workspace))


def test_members_of_the_declared_role_are_read(fake: FakeGitLab, tmp_path: Path) -> None:
    outcome = _run(fake, tmp_path, "models/llm.safetensors")
    [found] = [f for f in outcome.report.findings if f.rule == "weights-owner-approved"]
    assert (found.status, found.message) == (
        Status.PASS, "Model owner @olivia (member of @acme/ml-model-owners) approved the weight changes of MR !7")
    assert [r.path for r in fake.requests if r.path.startswith("/groups/")] == [
        "/groups/acme%2Fml-model-owners/members/all"]


def test_no_member_lookup_without_a_weight_change(fake: FakeGitLab, tmp_path: Path) -> None:
    outcome = _run(fake, tmp_path, "src/app.py")
    [found] = [f for f in outcome.report.findings if f.rule == "weights-owner-approved"]
    assert (found.status, found.message) == (Status.NOT_APPLICABLE, "MR !7 changes no model weight files")
    assert not [r for r in fake.requests if r.path.startswith("/groups/")]
