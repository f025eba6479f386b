"""GitHub Actions behind the platform seam, wrapping the existing code without moving it.

``annexa.ci.ActionsContext``, ``annexa.collect.github`` and ``annexa.publish.github`` stay where they are this round;
this adapter gives them the ``annexa.platforms.base`` interface (and neutral review states), so ``annexa ci`` on
GitHub can be switched onto ``annexa.platforms.run`` after the merge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from github import GithubException

from annexa.ci import ActionsContext
from annexa.collect.github import GitHubClient, PullCollector, RetryPolicy, SettingsCollector, Unavailable
from annexa.facts import PullRequest
from annexa.platforms.base import ChangeRead, CiContext, Published, SettingsRead, neutral_review_state
from annexa.publish.github import COMMENT_LIMIT, GitHubPublisher, refusal
from annexa.render.markdown import MARKER
from annexa.report import Report


def neutral(pr: PullRequest) -> PullRequest:
    """The pull request with GitHub's review states (``APPROVED`` ...) as neutral values (``approved`` ...)."""
    return replace(pr, reviews=tuple(replace(r, state=neutral_review_state(r.state)) for r in pr.reviews))


class GitHubSettings:
    """``SettingsCollector`` over ``annexa.collect.github.SettingsCollector``."""

    def __init__(self, client: GitHubClient, repository: str) -> None:
        self.inner = SettingsCollector(client, repository)

    def collect(self, branch_patterns: Sequence[str] = ()) -> SettingsRead:
        """Settings of the default branch and the branches matching ``branch_patterns``."""
        settings = self.inner.collect(branch_patterns)
        return SettingsRead(settings, archived=self.inner.archived)


class GitHubChanges:
    """``ChangeCollector`` over ``annexa.collect.github.PullCollector``."""

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
    """``Publisher``: the PR comment (created once, updated in place); SARIF and check runs stay in ``annexa.ci``."""

    def __init__(self, client: GitHubClient | None, repository: str, number: int | None) -> None:
        self.client = client
        self.repository = repository
        self.number = number

    def publish(self, report: Report, rendered: Mapping[str, str], out_dir: Path, comment: bool) -> Published:
        """Write the SARIF artifact; post or update the PR comment."""
        published = Published()
        if "sarif" in rendered:
            path = out_dir / "annexa.sarif"
            path.write_text(rendered["sarif"], encoding="utf-8")
            published.artifacts["sarif"] = path
        body = rendered.get("markdown", MARKER)[:COMMENT_LIMIT]
        if comment and self.client is not None and self.number is not None:
            try:
                action, url = GitHubPublisher(self.client, self.repository).upsert_comment(self.number, body)
                published.comment_action, published.comment_url = action, url
            except (GithubException, Unavailable) as exc:
                published.notes.append(refusal(exc, "PR comment not posted", "pull-requests: write"))
        return published


class GitHubPlatform:
    """GitHub Actions, one repository, one workflow run."""

    name = "github"

    def __init__(self, env: Mapping[str, str], retry: RetryPolicy | None = None) -> None:
        self.actions = ActionsContext.from_env(env)
        workspace = Path(env.get("GITHUB_WORKSPACE") or ".")
        self.ctx = CiContext(
            platform="github", repository=self.actions.repository, commit=self.actions.head_sha,
            ref=self.actions.ref, change_number=self.actions.pull_number, event=self.actions.event_name,
            api_url=self.actions.api_url, server_url=self.actions.server_url, job_url=self.actions.run_url,
            workspace=workspace, output_dir=Path(env.get("RUNNER_TEMP") or ".annexa") / "annexa",
            token=self.actions.token, token_kind="private" if self.actions.token else "none",
            no_change_reason="" if self.actions.pull_number is not None else
            f"no pull request: this run is for a {self.actions.event_name or 'non-PR'} event",
        )
        self.client = GitHubClient(self.actions.token, self.actions.api_url, retry) if self.actions.token else None

    def context(self) -> CiContext:
        """The CI context of this job."""
        return self.ctx

    def settings_collector(self) -> GitHubSettings | None:
        """``None`` without a token."""
        return GitHubSettings(self.client, self.ctx.repository) if self.client else None

    def change_collector(self) -> GitHubChanges | None:
        """``None`` without a token."""
        return GitHubChanges(self.client, self.ctx.repository) if self.client else None

    def publisher(self) -> GitHubNotes:
        """Posts the PR comment."""
        return GitHubNotes(self.client, self.ctx.repository, self.ctx.change_number)

    def no_token_reason(self) -> str:
        """Why settings and the pull request were not read."""
        return "no GitHub token: pass inputs.token (or set ANNEXA_GITHUB_TOKEN) to read repository settings"

    def why_not_post(self, settings: SettingsRead, change: ChangeRead) -> str | None:
        """Why nothing may be posted on this run, or ``None``."""
        number = self.ctx.change_number
        if settings.archived:
            return "The repository is archived (read-only), so no comment was posted."
        if number is None:
            return None
        if change.state == "missing":
            return f"Pull request #{number} no longer exists, so nothing was posted to it."
        if change.state in ("closed", "merged"):
            return f"Pull request #{number} is {change.state}, so the report was not posted to it."
        if change.fork and self.ctx.event in ("pull_request", "pull_request_review"):
            return (f"Pull request #{number} comes from a fork: GitHub gives its workflow a read-only token, so no "
                    "comment was posted.")
        return None
