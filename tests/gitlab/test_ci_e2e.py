"""End to end: ``annexa ci`` with GitLab CI variables against the fake GitLab, through ``cli.main``."""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from annexa.ci import add_arguments
from annexa.model import Status
from annexa.platforms.run import RunOutcome, run_ci
from annexa.render.markdown import MARKER
from tests.fakes.gitlab import FakeGitLab, diff_for
from tests.gitlab.conftest import PROJECT, READ_TOKEN, ci_env, shallow_checkout

POLICY = """\
id: POL-GL
title: Model change control
version: "1"
owner: Head of ML
approved_by: CISO
approved_on: 2026-06-01
review_interval_months: 12
statement: Weights and the branches they ship from are protected, and model owners approve weight changes.
controls: [A.8.4, A.8.32]
requirements:
  - {rule: branch-protected, severity: high, controls: [A.8.4]}
  - {rule: approvals-required, severity: high, controls: [A.8.32], params: {min: 2}}
  - {rule: stale-approvals-dismissed, severity: medium, controls: [A.8.32]}
  - {rule: code-owner-review-required, severity: medium, controls: [A.8.32]}
  - {rule: author-approval-blocked, severity: medium, controls: [A.8.32]}
  - {rule: signed-commits-required, severity: low, controls: [A.8.4]}
  - {rule: pull-request-required, severity: high, controls: [A.8.4]}
  - {rule: weights-owner-approved, severity: high, controls: [A.8.32]}
  - {rule: secret-scanning-enabled, severity: medium, controls: [A.8.12]}
  - {rule: secret-push-protection-enabled, severity: medium, controls: [A.8.12]}
  - {rule: workflow-permissions-scoped, severity: medium, controls: [A.8.25]}
"""
CONFIG = """\
policies: [policy]
owners:
  models: ["@acme/ml-model-owners"]
"""
WEIGHT = "models/llm.safetensors"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return shallow_checkout(tmp_path, {".annexa.yml": CONFIG, "policy/pol.yml": POLICY, WEIGHT: "stub\n",
                                       "src/app.py": "print('hi')\n"})


def _mr(fake: FakeGitLab, approver: str | None = "olivia") -> None:
    fake.add_mr(PROJECT, 7, author="dev", diffs=[diff_for(WEIGHT, ["stub"], new=True),
                                                 diff_for("src/app.py", ["print('hi')"], start=1)])
    if approver:
        fake.approve(PROJECT, 7, approver)


def _args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(extra))


def _run(env: dict[str, str], *extra: str) -> RunOutcome:
    outcome = run_ci(_args(*extra), env)
    assert outcome is not None
    return outcome


def _status(outcome: RunOutcome) -> dict[str, tuple[Status, str]]:
    return {f.rule: (f.status, f.message) for f in outcome.report.findings}


def test_merge_request_pipeline_twice_keeps_one_note(fake: FakeGitLab, workspace: Path) -> None:
    _mr(fake)
    env = ci_env(fake, workspace)
    first = _run(env)
    found = _status(first)
    assert found["branch-protected"][0] is Status.PASS
    assert found["approvals-required"] == (Status.PASS, "Branch main requires at least 2 approving review(s) "
                                           "(approval rule 'Two reviewers')")
    assert found["stale-approvals-dismissed"][0] is Status.PASS
    assert found["code-owner-review-required"][0] is Status.PASS
    assert found["author-approval-blocked"][0] is Status.PASS
    assert found["pull-request-required"][0] is Status.PASS
    assert found["signed-commits-required"] == (Status.FAIL, "Unsigned commits are accepted on main")
    assert found["weights-owner-approved"] == (
        Status.PASS, "Model owner @olivia (member of @acme/ml-model-owners) approved the weight changes of MR !7")
    assert found["secret-scanning-enabled"] == (
        Status.NOT_APPLICABLE, "secret-scanning-enabled cannot be answered on GitLab: it applies to GitHub")
    assert found["workflow-permissions-scoped"][0] is Status.NOT_APPLICABLE
    assert found["secret-push-protection-enabled"] == (Status.FAIL, "Pushes containing secrets are not blocked")
    notes = fake.notes(PROJECT, 7)
    assert len(notes) == 1 and notes[0]["body"].startswith(MARKER) and notes[0]["author"] == "annexa-bot"
    assert any("merge request note created" in m for m in first.messages)
    assert first.exit_code == 0  # signed commits is low, below fail_on high
    fake.approve(PROJECT, 7, "omar")
    second = _run(env)
    notes = fake.notes(PROJECT, 7)
    assert len(notes) == 1
    assert any("merge request note updated" in m or "merge request note unchanged" in m for m in second.messages)
    posts = [r for r in fake.requests if r.method == "POST"]
    assert len(posts) == 1


def test_artifacts_codequality_and_junit(fake: FakeGitLab, workspace: Path) -> None:
    _mr(fake, approver=None)
    out = workspace / "out"
    outcome = _run(ci_env(fake, workspace), "--output-dir", str(out))
    assert outcome.exit_code == 1
    raw = (out / "gl-code-quality-report.json").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    issues: list[dict[str, Any]] = json.loads(raw)
    weights = [i for i in issues if i["check_name"] == "weights-owner-approved"]
    assert [(i["severity"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in weights] == [
        ("critical", WEIGHT, 1)]
    tree = ET.parse(out / "annexa-junit.xml")
    cases = {c.get("classname"): c for c in tree.iter("testcase")}
    failure = cases["weights-owner-approved"].find("failure")
    assert failure is not None and failure.get("type") == "blocking"
    assert cases["secret-scanning-enabled"].find("skipped") is not None
    assert cases["branch-protected"].find("failure") is None and cases["branch-protected"].find("error") is None


def test_cli_main_prints_terminal_report_and_gates(fake: FakeGitLab, workspace: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from annexa.cli import main

    _mr(fake, approver=None)
    for key, value in ci_env(fake, workspace).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = main(["ci", "--output-dir", str(workspace / "out")])
    printed = capsys.readouterr().out
    assert code == 1
    assert "weights-owner-approved" in printed and "glpat" not in printed


def test_branch_pipeline_has_no_merge_request(fake: FakeGitLab, workspace: Path) -> None:
    outcome = _run(ci_env(fake, workspace, iid=None))
    found = _status(outcome)
    assert found["weights-owner-approved"][0] is Status.UNKNOWN
    assert any("no merge request: this push pipeline checks the default branch main" in m.lower()
               for m in outcome.messages)
    assert not [r for r in fake.requests if r.method == "POST"]


def test_job_token_only_reads_nothing_and_says_which_token(fake: FakeGitLab, workspace: Path) -> None:
    _mr(fake)
    outcome = _run(ci_env(fake, workspace, token=None))
    found = _status(outcome)
    assert found["branch-protected"][0] is Status.UNKNOWN
    finding = next(f for f in outcome.report.findings if f.rule == "branch-protected")
    assert "CI_JOB_TOKEN cannot read" in finding.evidence["needs"]
    assert fake.notes(PROJECT, 7) == []
    assert any("No merge request note was posted" in m for m in outcome.messages)


def test_read_only_token_on_a_fork_mr_reports_why(fake: FakeGitLab, workspace: Path) -> None:
    fake.add_mr(PROJECT, 7, diffs=[diff_for("src/app.py", ["x = 1"])], fork=True)
    outcome = _run(ci_env(fake, workspace, token=READ_TOKEN))
    assert fake.notes(PROJECT, 7) == []
    assert any("insufficient_scope" in m and "api scope" in m for m in outcome.messages)
    assert all(READ_TOKEN not in m for m in outcome.messages)


def test_archived_project_posts_nothing(fake: FakeGitLab, workspace: Path) -> None:
    fake.set_project(PROJECT, archived=True)
    _mr(fake)
    outcome = _run(ci_env(fake, workspace))
    assert fake.notes(PROJECT, 7) == []
    assert any("archived" in m for m in outcome.messages)


def test_empty_project(fake: FakeGitLab, workspace: Path) -> None:
    fake.set_project(PROJECT, default_branch=None, empty=True)
    outcome = _run(ci_env(fake, workspace, iid=None))
    finding = next(f for f in outcome.report.findings if f.rule == "branch-protected")
    assert (finding.status, finding.message) == (Status.UNKNOWN, "The default branch is not known")
    assert any("is empty" in m for m in outcome.messages)


def test_missing_merge_request(fake: FakeGitLab, workspace: Path) -> None:
    outcome = _run(ci_env(fake, workspace, iid=99))
    assert any("Merge request !99 no longer exists" in m for m in outcome.messages)
    assert _status(outcome)["weights-owner-approved"][0] is Status.UNKNOWN


def test_cli_main_without_output_dir_keeps_the_run_record_with_the_artifacts(
        fake: FakeGitLab, workspace: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The run record goes to the platform's artifact folder ($CI_PROJECT_DIR/annexa-report), not to a
    `.annexa/annexa` folder of the working directory that no `artifacts: paths:` keeps."""
    from annexa.cli import main

    _mr(fake)
    for key, value in ci_env(fake, workspace).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("RUNNER_TEMP", raising=False)
    monkeypatch.chdir(workspace)
    code = main(["ci"])
    printed = capsys.readouterr().out
    out = workspace / "annexa-report"
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "annexa-junit.xml", "annexa-record.json", "gl-code-quality-report.json", "report.json", "report.md"]
    assert f"annexa: run record written to {out / 'annexa-record.json'}" in printed
    assert not (workspace / ".annexa").exists()


def test_ci_help_names_both_platforms(capsys: pytest.CaptureFixture[str]) -> None:
    from annexa.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    printed = " ".join(capsys.readouterr().out.split())
    assert "ci inside GitHub Actions or GitLab CI: check the pull or merge request and publish the report" in printed


def test_settings_messages_on_gitlab_do_not_speak_of_pull_requests_only(fake: FakeGitLab, workspace: Path) -> None:
    _mr(fake)
    found = _status(_run(ci_env(fake, workspace), "--output-dir", str(workspace / "out")))
    assert found["pull-request-required"] == (
        Status.PASS, "Changes to main require a pull or merge request (protected branch 'main' push_access_levels)")
    assert found["stale-approvals-dismissed"] == (
        Status.PASS, "New pushes to a pull or merge request into main dismiss earlier approvals "
        "(project approval setting reset_approvals_on_push)")


def test_the_merge_request_note_does_not_speak_of_a_pull_request(fake: FakeGitLab, workspace: Path) -> None:
    _mr(fake, approver=None)
    _run(ci_env(fake, workspace), "--output-dir", str(workspace / "out"))
    [note] = fake.notes(PROJECT, 7)
    body = note["body"]
    assert "weights-owner-approved" in body and "approve the pull or merge request after its last push" in body
    assert "pull request" not in body.replace("pull or merge request", "")
