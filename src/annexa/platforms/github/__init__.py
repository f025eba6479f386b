"""GitHub Actions behind the platform seam.

``context`` reads the Actions environment and event file, ``client`` collects settings and the pull request
(PyGithub), ``publish`` writes the PR comment, the check run, the job summary, step outputs and SARIF. This
module puts them behind ``annexa.platforms.base``: review states become neutral values here, so rules never see
GitHub's words; ``annexa.platforms.run`` is the one orchestrator of ``annexa ci``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from github import GithubException

from annexa.collect.base_revision import BaseFiles
from annexa.collect.checkout import Checkout
from annexa.errors import AnnexaError
from annexa.facts import ChangeSet, PullRequest
from annexa.platforms.base import (
    ChangeRead,
    CiContext,
    Published,
    SettingsRead,
    change_state_note,
    neutral_review_state,
)
from annexa.platforms.github.client import GitHubClient, PullCollector, RetryPolicy, SettingsCollector, Unavailable
from annexa.platforms.github.context import PULL_REQUEST_TARGET_REFUSAL, ActionsContext, change_and_base
from annexa.platforms.github.publish import (
    COMMENT_LIMIT,
    SUMMARY_LIMIT,
    GitHubPublisher,
    refusal,
    write_outputs,
    write_summary,
)
from annexa.report import Report

NO_TOKEN = "no GitHub token: pass inputs.token (or set ANNEXA_GITHUB_TOKEN) to read repository settings"


def neutral(pr: PullRequest) -> PullRequest:
    """The pull request with GitHub's review states (``APPROVED`` ...) as neutral values (``approved`` ...)."""
    return replace(pr, reviews=tuple(replace(r, state=neutral_review_state(r.state)) for r in pr.reviews))


class GitHubSettings:
    """``SettingsCollector`` over ``annexa.platforms.github.client.SettingsCollector``."""

    def __init__(self, client: GitHubClient, repository: str, ref: str | None = None) -> None:
        self.inner = SettingsCollector(client, repository)
        self.ref = ref
        """The checked-out commit whose CODEOWNERS errors are read."""

    def collect(self, branch_patterns: Sequence[str] = (), base_branches: Sequence[str] = ()) -> SettingsRead:
        """Settings of the default branch, the pull request's base branch and the branches matching a pattern."""
        settings = self.inner.collect(branch_patterns, base_branches, ref=self.ref)
        return SettingsRead(settings, archived=self.inner.archived)


class GitHubChanges:
    """``ChangeCollector`` over ``annexa.platforms.github.client.PullCollector``."""

    def __init__(self, client: GitHubClient, repository: str) -> None:
        self.inner = PullCollector(client, repository)

    def collect(self, number: int) -> ChangeRead:
        """The pull request with neutral review states."""
        pull = self.inner.collect(number)
        pr = neutral(pull.pull_request) if pull.pull_request else None
        return ChangeRead(pr, pull.change, pull.reason, state=pull.state, fork=pull.fork)

    def members(self, teams: Sequence[str]) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
        """Members of each ``@org/team``."""
        return self.inner.team_members(teams)


class GitHubNotes:
    """``Publisher``: the SARIF file, the PR comment (created once, updated in place), the check run with
    annotations and, with ``--upload-sarif``, the code-scanning upload."""

    def __init__(self, client: GitHubClient | None, ctx: CiContext, actions: ActionsContext) -> None:
        self.client = client
        self.ctx = ctx
        self.actions = actions

    def publish(self, report: Report, rendered: Mapping[str, str], out_dir: Path, comment: bool, post: bool = True,
                options: argparse.Namespace | None = None) -> Published:
        """Write the SARIF artifact; unless ``post`` is false, post the comment, the check run and SARIF."""
        from annexa.render import render

        published = Published(comment_kind="PR comment")
        sarif = rendered.get("sarif") or render(report, "sarif")
        path = out_dir / "annexa.sarif"
        path.write_text(sarif, encoding="utf-8")
        published.artifacts["sarif"] = path
        if self.client is None or not post:
            return published
        publisher = GitHubPublisher(self.client, self.ctx.repository)
        number, head = self.ctx.change_number, self.actions.head_sha
        if comment and number is not None:
            body = render(report, "markdown", max_chars=COMMENT_LIMIT, full_report_url=self.ctx.job_url)
            try:
                published.comment_action, published.comment_url = publisher.upsert_comment(number, body)
            except (GithubException, Unavailable) as exc:
                published.notes.append(refusal(exc, "PR comment not posted", "pull-requests: write"))
        if getattr(options, "check_run", True) and head:
            summary = render(report, "markdown", max_chars=60_000, full_report_url=self.ctx.job_url)
            try:
                run = publisher.check_run(report, head, summary, self.ctx.job_url)
                published.extra["check-run-url"] = run.check_run_url or ""
                extra = f", {run.annotations_omitted} more in the report" if run.annotations_omitted else ""
                published.lines.append(f"check run: {run.check_run_url} ({run.annotations} annotations{extra})")
            except (GithubException, Unavailable) as exc:
                published.notes.append(refusal(exc, "check run not created", "checks: write"))
        if getattr(options, "upload_sarif", False) and head:
            try:
                sarif_id = publisher.upload_sarif(sarif, head, self.ctx.ref or self.actions.ref or "")
                published.lines.append(f"SARIF uploaded to code scanning (id {sarif_id})")
            except (GithubException, Unavailable) as exc:
                published.notes.append(refusal(exc, "SARIF not uploaded to code scanning", "security-events: write"))
        return published


class GitHubPlatform:
    """GitHub Actions, one repository, one workflow run."""

    name = "github"
    artifact_formats: tuple[str, ...] = ("sarif",)

    def __init__(self, env: Mapping[str, str], retry: RetryPolicy | None = None) -> None:
        self.env = env
        self.actions = ActionsContext.from_env(env)
        if self.actions.event_name == "pull_request_target":
            raise AnnexaError(PULL_REQUEST_TARGET_REFUSAL)
        number = self.actions.pull_number
        self.ctx = CiContext(
            platform="github", repository=self.actions.repository, commit=self.actions.head_sha,
            ref=f"refs/pull/{number}/head" if number is not None else self.actions.ref, change_number=number,
            event=self.actions.event_name, api_url=self.actions.api_url, server_url=self.actions.server_url,
            job_url=self.actions.run_url, workspace=Path(env.get("GITHUB_WORKSPACE") or "."),
            output_dir=Path(env.get("RUNNER_TEMP") or ".annexa") / "annexa",
            token=self.actions.token, token_kind="private" if self.actions.token else "none",
            no_change_reason="" if number is not None else
            f"no pull request: this run is for a {self.actions.event_name or 'non-PR'} event",
        )
        self.client = (GitHubClient(self.actions.token, self.actions.api_url, retry or RetryPolicy())
                       if self.actions.token else None)

    def context(self) -> CiContext:
        """The CI context of this job."""
        return self.ctx

    def settings_collector(self) -> GitHubSettings | None:
        """``None`` without a token."""
        if self.client is None:
            return None
        return GitHubSettings(self.client, self.ctx.repository, self.actions.sha or self.actions.head_sha)

    def change_collector(self) -> GitHubChanges | None:
        """``None`` without a token."""
        return GitHubChanges(self.client, self.ctx.repository) if self.client else None

    def change_and_base(self, checkout: Checkout, read: ChangeRead,
                        notes: list[str]) -> tuple[ChangeSet | None, BaseFiles | None]:
        """The merge commit's own diff and first parent, else the API's change and the PR's base commit."""
        return change_and_base(checkout, self.actions, self.client, read, notes)

    def publisher(self) -> GitHubNotes:
        """Posts the PR comment and the check run, writes and uploads SARIF."""
        return GitHubNotes(self.client, self.ctx, self.actions)

    def no_token_reason(self) -> str:
        """Why settings and the pull request were not read."""
        return NO_TOKEN

    def why_not_post(self, settings: SettingsRead, change: ChangeRead) -> str | None:
        """Why nothing may be posted on this run, or ``None``."""
        number = self.ctx.change_number
        if self.client is None:
            return "No GitHub token was given, so settings were not read and nothing was posted."
        if settings.archived:
            return "The repository is archived (read-only), so no comment or check run was posted."
        if number is None:
            return None
        gone = change_state_note(f"Pull request #{number}", change.state)
        if gone:
            return gone
        if change.fork and self.ctx.event in ("pull_request", "pull_request_review"):
            return (f"Pull request #{number} comes from a fork: GitHub gives its workflow a read-only token, so no "
                    "comment and no check run were posted. The full report is in this summary and the SARIF file.")
        return None

    def finish(self, report: Report, files: Mapping[str, Path], published: Published, notes: Sequence[str]) -> None:
        """The job summary (notes first) and the step outputs."""
        from annexa.render import render

        summary_path = self.env.get("GITHUB_STEP_SUMMARY")
        if summary_path:
            write_summary(Path(summary_path), notes, render(report, "markdown", max_chars=SUMMARY_LIMIT,
                                                           full_report_url=self.ctx.job_url))
        output_path = self.env.get("GITHUB_OUTPUT")
        if output_path:
            outputs = {"verdict": report.verdict, **{k: str(v) for k, v in report.summary.items()}}
            outputs.update({name: str(path) for name, path in files.items()})
            outputs["comment-url"] = published.comment_url or ""
            outputs["check-run-url"] = published.extra.get("check-run-url", "")
            write_outputs(Path(output_path), outputs)
