"""GitLab reviewer states become neutral review states; rules never see GitLab's words."""

from __future__ import annotations

import argparse
from pathlib import Path

from annexa.ci import add_arguments
from annexa.model import Location, Status
from annexa.platforms.gitlab.mr import GitLabChangeCollector
from annexa.platforms.run import run_ci
from tests.fakes.gitlab import FakeGitLab, diff_for
from tests.gitlab.conftest import HEAD, PROJECT, ci_env, client_for, shallow_checkout
from tests.gitlab.test_codeowner_sections import POLICY

WEIGHT = "models/llm.safetensors"


def _mr(fake: FakeGitLab) -> None:
    fake.add_mr(PROJECT, 7, author="dev", diffs=[diff_for(WEIGHT, ["stub"], new=True)])
    fake.approve(PROJECT, 7, "olivia")
    fake.set_reviewer(PROJECT, 7, "olivia", "requested_changes")
    fake.set_reviewer(PROJECT, 7, "omar", "reviewed")
    fake.set_reviewer(PROJECT, 7, "rita", "unreviewed")


def test_reviewer_states_are_neutral_and_come_after_the_approvals(fake: FakeGitLab) -> None:
    _mr(fake)
    read = GitLabChangeCollector(client_for(fake), PROJECT, reset_on_push=True).collect(7)
    assert read.pull_request is not None
    assert [(r.user, r.state, r.commit_id) for r in read.pull_request.reviews] == [
        ("olivia", "approved", HEAD), ("olivia", "changes_requested", None), ("omar", "commented", None)]


def test_an_owner_who_requested_changes_has_not_approved(fake: FakeGitLab, tmp_path: Path) -> None:
    workspace = shallow_checkout(tmp_path, {
        ".annexa.yml": 'policies: [policy]\nowners:\n  models: ["@acme/ml-model-owners"]\n',
        "policy/pol.yml": POLICY, WEIGHT: "stub\n"})
    _mr(fake)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    outcome = run_ci(parser.parse_args(["--no-comment", "--output-dir", str(tmp_path / "out")]),
                     ci_env(fake, workspace))
    [found] = [f for f in outcome.report.findings if f.rule == "weights-owner-approved"]
    assert (found.status, found.message, found.location) == (
        Status.FAIL, "MR !7 changes 1 model weight file(s) with no approval", Location(WEIGHT))
    words = " ".join(f.message for f in outcome.report.findings)
    assert "requested_changes" not in words and "unreviewed" not in words
