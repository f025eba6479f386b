"""GitLab CI: the platform seam implemented with python-gitlab.

Token: ``ANNEXA_GITLAB_TOKEN`` (a project access token: ``api`` to post the note, ``read_api`` to read only), else
``GITLAB_TOKEN``, else ``CI_JOB_TOKEN``, which cannot read merge requests, approvals or protected branches
(annexa then reports those as ``unknown`` naming the token it needs, and posts nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from annexa.collect.base_revision import BaseFiles, BaseRevision
from annexa.collect.checkout import Checkout
from annexa.errors import AnnexaError, CollectError
from annexa.facts import ChangeSet
from annexa.platforms.base import ChangeRead, CiContext, Published, SettingsRead, change_state_note
from annexa.platforms.change import merge_commit_change
from annexa.platforms.gitlab.base_files import GitLabBaseFiles
from annexa.platforms.gitlab.client import GitLabClient, RetryPolicy
from annexa.platforms.gitlab.mr import GitLabChangeCollector
from annexa.platforms.gitlab.publish import GitLabPublisher
from annexa.platforms.gitlab.settings import GitLabSettingsCollector
from annexa.report import Report

TOKEN_VARIABLES = ("ANNEXA_GITLAB_TOKEN", "GITLAB_TOKEN")
JOB_TOKEN_NEEDS = ("a project access token with read_api (ANNEXA_GITLAB_TOKEN): CI_JOB_TOKEN cannot read "
                   "merge requests, approvals or protected branches")


def context_from_env(env: Mapping[str, str]) -> CiContext:
    """The GitLab CI context; a job without CI_PROJECT_PATH or CI_API_V4_URL is a usage error."""
    project = env.get("CI_PROJECT_PATH")
    api = env.get("CI_API_V4_URL")
    if not project or not api:
        raise AnnexaError("annexa ci runs inside GitLab CI: CI_PROJECT_PATH and CI_API_V4_URL must be set")
    token = next((env[v] for v in TOKEN_VARIABLES if env.get(v)), None)
    kind = "private" if token else "none"
    if token is None and env.get("CI_JOB_TOKEN"):
        token, kind = env["CI_JOB_TOKEN"], "job"
    iid = env.get("CI_MERGE_REQUEST_IID", "")
    source = env.get("CI_PIPELINE_SOURCE", "")
    workspace = Path(env.get("CI_PROJECT_DIR") or ".")
    branch = env.get("CI_COMMIT_BRANCH")
    if iid.isdigit():
        reason = ""
    elif branch and branch == env.get("CI_DEFAULT_BRANCH"):
        # the component runs here on purpose (rules: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH): no advice to move
        reason = (f"no merge request: this {source or 'branch'} pipeline checks the default branch {branch} (its "
                  "settings and content); the merge request rules are checked in merge request pipelines")
    else:
        reason = (f"no merge request: this is a {source or 'branch'} pipeline; run annexa in merge request "
                  "pipelines (rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\") to check the change")
    ref = env.get("CI_MERGE_REQUEST_REF_PATH") or (f"refs/heads/{env['CI_COMMIT_BRANCH']}"
                                                   if env.get("CI_COMMIT_BRANCH") else env.get("CI_COMMIT_REF_NAME"))
    return CiContext(
        platform="gitlab",
        repository=project,
        commit=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or env.get("CI_COMMIT_SHA"),
        ref=ref,
        change_number=int(iid) if iid.isdigit() else None,
        event=source,
        api_url=api,
        server_url=env.get("CI_SERVER_URL") or api.removesuffix("/api/v4"),
        job_url=env.get("CI_JOB_URL"),
        workspace=workspace,
        output_dir=workspace / "annexa-report",
        token=token,
        token_kind=kind,
        no_change_reason=reason,
    )


class GitLabPlatform:
    """GitLab CI, one project, one pipeline."""

    name = "gitlab"
    artifact_formats: tuple[str, ...] = ("codequality", "junit")

    def __init__(self, env: Mapping[str, str], retry: RetryPolicy | None = None) -> None:
        self.ctx = context_from_env(env)
        self.client = (GitLabClient(self.ctx.server_url, self.ctx.token, self.ctx.token_kind, retry)
                       if self.ctx.token else None)
        self._settings: GitLabSettingsCollector | None = None
        self._fork = False

    def context(self) -> CiContext:
        """The CI context of this job."""
        return self.ctx

    def settings_collector(self) -> GitLabSettingsCollector | None:
        """``None`` without a token, or with CI_JOB_TOKEN (which cannot read project settings); one collector
        per run, so the project is read once however often it is asked for."""
        if self.client is None or self.ctx.token_kind == "job":
            return None
        if self._settings is None:
            self._settings = GitLabSettingsCollector(self.client, self.ctx.repository)
        return self._settings

    def change_collector(self) -> GitLabChangeCollector | None:
        """``None`` without a token that can read merge requests. The project's approval settings are read
        first: with ``reset_approvals_on_push`` every approval left is of the current head."""
        settings = self.settings_collector()
        if self.client is None or settings is None:
            return None
        raw = settings.read()
        approvals = raw.approvals if not isinstance(raw, str) else None
        reset = approvals.get("reset_approvals_on_push") if isinstance(approvals, dict) else None
        return GitLabChangeCollector(self.client, self.ctx.repository, reset if isinstance(reset, bool) else None,
                                     tier=settings.tier)

    def change_and_base(self, checkout: Checkout, read: ChangeRead,
                        notes: list[str]) -> tuple[ChangeSet | None, BaseFiles | None]:
        """The MR's diffs, judged by its base commit (``diff_refs.base_sha``): from the clone when it has it, else
        through the repository files API (a runner's shallow clone, ``GIT_DEPTH``, usually lacks it). A merged
        results pipeline checks out a merge commit with the MR head as second parent: then the change is that
        merge's own diff and the base its first parent."""
        change = read.change
        pr = read.pull_request
        merged = merge_commit_change(checkout, pr.head_sha if pr else None, change) if pr else None
        if merged is not None:
            return merged
        base_sha = change.base if change is not None else None
        if not base_sha or len(base_sha) < 40:
            return change, None
        if checkout.is_git:
            try:
                return change, BaseRevision.open(checkout.root, base_sha)
            except CollectError:
                pass
        if self.client is not None and self.ctx.token_kind == "private":
            return change, GitLabBaseFiles(self.client, self.ctx.repository, base_sha)
        return change, None

    def finish(self, report: Report, files: Mapping[str, Path], published: Published, notes: Sequence[str]) -> None:
        """Nothing more: the job log and the artifacts are the job's outputs."""

    def publisher(self) -> GitLabPublisher:
        """Writes the artifacts; posts the note only with a token that may."""
        client = self.client if self.ctx.token_kind == "private" else None
        return GitLabPublisher(client, self.ctx.repository, self.ctx.change_number, fork=self._fork)

    def no_token_reason(self) -> str:
        """Why settings and the MR were not read."""
        if self.ctx.token_kind == "job":
            return JOB_TOKEN_NEEDS
        return "no GitLab token: set ANNEXA_GITLAB_TOKEN (a project access token with read_api, or api to post)"

    def why_not_post(self, settings: SettingsRead, change: ChangeRead) -> str | None:
        """Why no note may be posted on this run, or ``None``."""
        iid = self.ctx.change_number
        if self.ctx.token_kind != "private":
            return ("No merge request note was posted: " + self.no_token_reason() + ". The Code Quality and JUnit "
                    "reports are in the job artifacts.")
        if settings.archived:
            return "The project is archived (read-only), so no merge request note was posted."
        self._fork = change.fork
        if iid is None:
            return None
        if change.state == "unreadable" and change.reason:  # e.g. a revoked token: say why the MR has no note
            return f"No merge request note was posted: {change.reason}."
        return change_state_note(f"Merge request !{iid}", change.state, " (or the token cannot see it)")
