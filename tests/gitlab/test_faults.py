"""Faults on GitLab, each with its exact outcome: a branch pipeline (no MR), a deleted MR, an empty project, an
archived project, a fork MR with a read-only token; and no token in anything annexa writes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from annexa.ci import add_arguments
from annexa.model import Status
from annexa.platforms.gitlab import GitLabPlatform
from annexa.platforms.run import RunOutcome, run_ci
from tests.fakes.gitlab import FakeGitLab, diff_for
from tests.gitlab.conftest import JOB_TOKEN, PROJECT, READ_TOKEN, TOKEN, ci_env, shallow_checkout
from tests.gitlab.test_ci_e2e import CONFIG, POLICY, WEIGHT

BRANCH_PIPELINE = ("no merge request: this is a push pipeline; run annexa in merge request pipelines (rules: - if: "
                   "$CI_PIPELINE_SOURCE == \"merge_request_event\") to check the change")
DEFAULT_BRANCH_PIPELINE = ("no merge request: this push pipeline checks the default branch main (its settings and "
                           "content); the merge request rules are checked in merge request pipelines")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return shallow_checkout(tmp_path, {".annexa.yml": CONFIG, "policy/pol.yml": POLICY, WEIGHT: "stub\n"})


def _run(env: dict[str, str], out: Path) -> RunOutcome:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run_ci(parser.parse_args(["--output-dir", str(out)]), env)


def _found(outcome: RunOutcome, rule: str) -> tuple[Status, str, str | None]:
    [f] = [f for f in outcome.report.findings if f.rule == rule]
    return f.status, f.message, f.evidence.get("needs")


def _writes(fake: FakeGitLab) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method != "GET"]


def test_branch_pipeline_checks_the_branch_without_a_merge_request(fake: FakeGitLab, workspace: Path) -> None:
    """On the default branch (where the component runs on purpose) the log does not tell the user to move the job;
    on another branch it says to run in merge request pipelines."""
    env = {**ci_env(fake, workspace, iid=None), "CI_COMMIT_BRANCH": "feature"}
    other = _run(env, workspace / "out-feature")
    assert "annexa: " + BRANCH_PIPELINE[0].upper() + BRANCH_PIPELINE[1:] + "." in other.messages
    fake.clear_requests()
    outcome = _run(ci_env(fake, workspace, iid=None), workspace / "out")
    assert "annexa: " + DEFAULT_BRANCH_PIPELINE[0].upper() + DEFAULT_BRANCH_PIPELINE[1:] + "." in outcome.messages
    assert not [m for m in outcome.messages if "run annexa in merge request pipelines" in m]
    assert _found(outcome, "branch-protected")[0] is Status.PASS  # the branch's settings are still checked
    assert _found(outcome, "weights-owner-approved") == (
        Status.UNKNOWN, "Weight changes are approved by a model owner: needs a pull or merge request",
        DEFAULT_BRANCH_PIPELINE)
    assert outcome.report.run.pull_request is None and outcome.report.run.ref == "refs/heads/main"
    assert not [r for r in fake.requests if "/merge_requests" in r.path] and _writes(fake) == []


def test_deleted_merge_request(fake: FakeGitLab, workspace: Path) -> None:
    outcome = _run(ci_env(fake, workspace, iid=99), workspace / "out")
    assert ("annexa: Merge request !99 no longer exists (or the token cannot see it), so nothing was posted to it."
            in outcome.messages)
    assert _found(outcome, "weights-owner-approved")[2] == "merge request !99 was not found (deleted, or no access)"
    assert _writes(fake) == []


def test_empty_project(fake: FakeGitLab, workspace: Path) -> None:
    fake.set_project(PROJECT, default_branch=None, empty=True)
    outcome = _run(ci_env(fake, workspace, iid=None), workspace / "out")
    assert "annexa: acme/ml/models is empty (no commits on any branch): branch rules are unknown." in outcome.messages
    assert _found(outcome, "branch-protected")[:2] == (Status.UNKNOWN, "The default branch is not known")


def test_archived_project_posts_nothing(fake: FakeGitLab, workspace: Path) -> None:
    fake.set_project(PROJECT, archived=True)
    fake.add_mr(PROJECT, 7, diffs=[diff_for(WEIGHT, ["stub"], new=True)])
    outcome = _run(ci_env(fake, workspace), workspace / "out")
    assert "annexa: The project is archived (read-only), so no merge request note was posted." in outcome.messages
    assert _writes(fake) == [] and fake.notes(PROJECT, 7) == []
    assert (workspace / "out" / "annexa-junit.xml").is_file()  # the artifacts are still written


def test_fork_merge_request_with_a_read_only_token(fake: FakeGitLab, workspace: Path) -> None:
    fake.add_mr(PROJECT, 7, diffs=[diff_for("src/app.py", ["x = 1"])], fork=True)
    outcome = _run(ci_env(fake, workspace, token=READ_TOKEN), workspace / "out")
    assert fake.notes(PROJECT, 7) == []
    assert (
        "annexa: Merge request !7 comes from a fork and this pipeline's token cannot write to it (merge request note "
        "not posted: HTTP 403 insufficient_scope), so no note was posted; the report is in the job log and the Code "
        "Quality and JUnit artifacts. To post, run fork MR pipelines in the parent project, with a project access "
        "token that has the api scope.") in outcome.messages
    assert outcome.report.run.pull_request == 7


@pytest.mark.parametrize("token", [TOKEN, READ_TOKEN, None])
def test_no_token_in_anything_written(fake: FakeGitLab, workspace: Path, token: str | None) -> None:
    fake.add_mr(PROJECT, 7, diffs=[diff_for(WEIGHT, ["stub"], new=True)], fork=token == READ_TOKEN)
    fake.fail_next(1, status=502)
    env = ci_env(fake, workspace, token=token)
    out = workspace / "out"
    outcome = _run(env, out)
    written = [*outcome.messages, json.dumps(outcome.report.to_json()), repr(GitLabPlatform(env).context())]
    written += [p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file()]
    written += [n["body"] for n in fake.notes(PROJECT, 7)]
    text = "\n".join(written)
    for secret in (TOKEN, READ_TOKEN, JOB_TOKEN):
        assert secret not in text


def test_a_rejected_token_says_why_no_note_was_posted(fake: FakeGitLab, workspace: Path) -> None:
    """A revoked ANNEXA_GITLAB_TOKEN (401): the job log says the token is invalid (not that CI_JOB_TOKEN cannot
    read), and nothing is written."""
    fake.add_mr(PROJECT, 7, diffs=[diff_for(WEIGHT, ["stub"], new=True)])
    outcome = _run(ci_env(fake, workspace, token="glpat-revoked"), workspace / "out")
    why = ("merge request !7: GitLab rejected the token (401 Unauthorized): ANNEXA_GITLAB_TOKEN (or GITLAB_TOKEN) "
           "is invalid, expired or revoked; give annexa a valid project access token with read_api")
    assert f"annexa: No merge request note was posted: {why}." in outcome.messages
    assert _found(outcome, "weights-owner-approved")[0] is Status.UNKNOWN
    assert not [m for m in outcome.messages if "CI_JOB_TOKEN" in m]
    assert _writes(fake) == []
