"""A merged results pipeline checks out a merge commit (target tip + MR head): the change is that merge's own diff
and the config and policies come from its first parent, as on GitHub's ``pull_request`` checkout."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from annexa.ci import add_arguments
from annexa.model import Location, Status
from annexa.platforms.run import run_ci
from tests.fakes.gitlab import FakeGitLab, diff_for
from tests.gitlab.conftest import PROJECT, ci_env
from tests.gitlab.test_codeowner_sections import POLICY
from tests.support import git_commit_all

GIT = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]


def test_merge_commit_checkout_is_judged_by_its_first_parent(fake: FakeGitLab, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "policy").mkdir(parents=True)
    (ws / "policy" / "pol.yml").write_text(POLICY)
    (ws / ".annexa.yml").write_text('policies: [policy]\nowners:\n  models: ["@acme/ml-model-owners"]\n')
    base = git_commit_all(ws, "base")
    subprocess.run(["git", "checkout", "-q", "-b", "feature"], cwd=ws, check=True)
    (ws / "models").mkdir()
    (ws / "models" / "llm.safetensors").write_text("stub\n")
    head = git_commit_all(ws, "weights")
    subprocess.run(["git", "checkout", "-q", "main"], cwd=ws, check=True)
    (ws / "README.md").write_text("hi\n")
    target = git_commit_all(ws, "target moves on")
    subprocess.run(["git", *GIT, "merge", "-q", "--no-ff", "-m", "merged result", "feature"], cwd=ws, check=True)
    # the API's diffs do not list the weight file: only the merge commit's own diff shows it
    fake.add_mr(PROJECT, 7, head_sha=head, base_sha=base, diffs=[diff_for("src/app.py", ["x"])])
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    outcome = run_ci(parser.parse_args(["--no-comment", "--output-dir", str(tmp_path / "out")]), ci_env(fake, ws))
    [found] = [f for f in outcome.report.findings if f.rule == "weights-owner-approved"]
    assert (found.status, found.message, found.location) == (
        Status.FAIL, "MR !7 changes 1 model weight file(s) with no approval", Location("models/llm.safetensors"))
    assert outcome.report.rules_from == (f"config, waivers and secrets baseline from the base revision {target[:12]} "
                                         "(the merge commit's first parent)")
