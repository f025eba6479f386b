"""Shared set-up for the GitLab tests: a seeded fake GitLab, a CI environment and a runner-like checkout."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from annexa.platforms.gitlab.client import GitLabClient, RetryPolicy
from tests.fakes.gitlab import FakeGitLab
from tests.support import git_commit_all

PROJECT = "acme/ml/models"
HEAD = "c0ffee" + "0" * 34
BASE = "ba5e" + "1" * 36
TOKEN, READ_TOKEN, JOB_TOKEN, REPORTER_TOKEN = "glpat-api", "glpat-read", "job-tok", "glpat-reporter"


def seed(fake: FakeGitLab) -> int:
    """acme/ml/models: main protected (no one pushes, Maintainers merge), 2 approvals, reset on push."""
    fake.add_token(TOKEN, "api", "annexa-bot")
    fake.add_token(READ_TOKEN, "read_api", "annexa-reader")
    fake.add_token(JOB_TOKEN, "job", "runner")
    fake.add_token(REPORTER_TOKEN, "reporter", "annexa-reporter")
    ident = fake.add_project(PROJECT, only_allow_merge_if_pipeline_succeeds=True)
    fake.protect(PROJECT, "main", push=0, merge=40, code_owner_approval_required=True)
    fake.set_approvals(PROJECT, reset_approvals_on_push=True, merge_requests_author_approval=False,
                       merge_requests_disable_committers_approval=True,
                       disable_overriding_approvers_per_merge_request=True)
    fake.add_approval_rule(PROJECT, "Two reviewers", 2, rule_type="any_approver")
    fake.add_group("acme/ml-model-owners", ["olivia", "omar"])
    return ident


@pytest.fixture
def fake() -> Iterator[FakeGitLab]:
    with FakeGitLab(tier="premium") as server:
        seed(server)
        yield server


class Sleeps:
    """A stand-in for ``time.sleep`` that records the waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client_for(fake: FakeGitLab, token: str = TOKEN, sleeps: Any = None, attempts: int = 3,
               kind: str = "private") -> GitLabClient:
    return GitLabClient(fake.url, token, kind, RetryPolicy(attempts=attempts, backoff=0.5, max_wait=30, timeout=5),
                        sleep=sleeps or (lambda _s: None))


def serve_base(fake: FakeGitLab, workspace: Path) -> None:
    """Serve the base commit of a ``shallow_checkout`` (its origin's first commit) as the MR's base, ``BASE``, through
    the fake's repository files API: what annexa reads the config and policies from when the clone lacks it."""
    origin = workspace.parent / "origin"
    if not (origin / ".git").is_dir():
        return
    git = ["git", "-C", str(origin)]
    names = subprocess.run([*git, "ls-tree", "-r", "--name-only", "-z", "HEAD~1"], check=True,
                           capture_output=True).stdout.decode().split("\0")
    files = {n: subprocess.run([*git, "show", f"HEAD~1:{n}"], check=True, capture_output=True).stdout
             for n in names if n}
    fake.add_files(PROJECT, BASE, files)


def ci_env(fake: FakeGitLab, workspace: Path, iid: int | None = 7, token: str | None = TOKEN,
           project_id: int = 1000) -> dict[str, str]:
    """The variables GitLab sets in a merge request pipeline (branch pipeline when ``iid`` is None); the fake
    serves the checkout's base commit as the MR's base."""
    serve_base(fake, workspace)
    env = {
        "GITLAB_CI": "true", "CI": "true", "CI_SERVER_URL": fake.url, "CI_API_V4_URL": f"{fake.url}/api/v4",
        "CI_PROJECT_ID": str(project_id), "CI_PROJECT_PATH": PROJECT, "CI_PROJECT_DIR": str(workspace),
        "CI_COMMIT_SHA": HEAD, "CI_DEFAULT_BRANCH": "main", "CI_JOB_TOKEN": JOB_TOKEN,
        "CI_JOB_URL": f"{fake.url}/{PROJECT}/-/jobs/42", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main",
    }
    if iid is not None:
        env.update({"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": str(iid),
                    "CI_MERGE_REQUEST_PROJECT_ID": str(project_id), "CI_MERGE_REQUEST_DIFF_BASE_SHA": BASE,
                    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
                    "CI_MERGE_REQUEST_REF_PATH": f"refs/merge-requests/{iid}/head"})
        del env["CI_COMMIT_BRANCH"]
    if token:
        env["ANNEXA_GITLAB_TOKEN"] = token
    return env


def shallow_checkout(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """Like a GitLab runner: a depth-1 clone in detached HEAD (the base commit is not there)."""
    origin = tmp_path / "origin"
    origin.mkdir()
    for name, content in files.items():
        target = origin / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    git_commit_all(origin, "base")
    (origin / "CHANGELOG").write_text("next\n")
    sha = git_commit_all(origin, "head")
    work = tmp_path / "builds"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "checkout", "-q", "--detach", sha], check=True)
    return work
