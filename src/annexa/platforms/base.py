"""The platform seam: what a code-hosting platform (GitHub, GitLab) implements for ``annexa ci``.

A platform gives four things, each behind a small protocol:

- a **CI context** read from the job's environment (and event file): repository, commit, change number, URLs;
- a **settings collector** that reads repository settings into ``facts.RepoSettings``;
- a **change collector** that reads the pull or merge request (files, diff, reviews or approvals, team or group
  members) into ``facts.PullRequest`` and ``facts.ChangeSet``;
- a **publisher** that writes the report back (one comment or note updated in place, annotations or a Code
  Quality report, a summary, artifacts).

Rules only ever see the neutral facts: review states are ``ReviewState`` values, not one platform's words.
``annexa.platforms.run`` is the platform-neutral orchestrator over this interface.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from annexa.collect.base_revision import BaseFiles
from annexa.collect.checkout import Checkout
from annexa.facts import ChangeSet, PullRequest, RepoSettings
from annexa.report import Report


class ReviewState(StrEnum):
    """The neutral review states rules see (``facts.Review.state`` holds the value)."""

    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    COMMENTED = "commented"
    DISMISSED = "dismissed"


def neutral_review_state(state: str) -> str:
    """A platform's review state as a ``ReviewState`` value (GitHub ``APPROVED`` -> ``approved``)."""
    value = state.strip().lower()
    aliases = {"requested_changes": "changes_requested", "reviewed": "commented"}
    return aliases.get(value, value)


@dataclass(frozen=True)
class CiContext:
    """What the CI job's environment says about this run, in neutral words."""

    platform: str
    """``github`` or ``gitlab``."""
    repository: str
    """``owner/name`` or the GitLab project path ``group/sub/project``."""
    commit: str | None
    """The commit under check (a pull request's head, never a merge commit)."""
    ref: str | None
    change_number: int | None
    """The pull request number or merge request IID; ``None`` on a branch pipeline."""
    event: str
    """What started the job (``pull_request``, ``merge_request_event``, ``push`` ...)."""
    api_url: str
    server_url: str
    job_url: str | None
    workspace: Path
    """Where the checkout is."""
    output_dir: Path
    """Where report files go by default."""
    token: str | None = field(default=None, repr=False)
    """The API token (never printed: ``repr`` hides it)."""
    token_kind: str = "none"
    """``private`` (personal, project or group access token), ``job`` (CI_JOB_TOKEN) or ``none``."""
    no_change_reason: str = ""
    """Why there is no change to check (a branch pipeline), for the report."""


@dataclass(frozen=True)
class SettingsRead:
    """Repository settings, or why there are none; ``archived`` and ``empty`` as the API said."""

    settings: RepoSettings | None
    reason: str | None = None
    archived: bool = False
    empty: bool = False


@dataclass(frozen=True)
class ChangeRead:
    """The pull or merge request and its change set, or why they could not be read.

    ``state`` is ``open``, ``closed``, ``merged``, ``missing`` (deleted or no access), ``unreadable`` or ``none``
    (no change in this run).
    """

    pull_request: PullRequest | None
    change: ChangeSet | None
    reason: str | None = None
    state: str = "open"
    fork: bool = False


@dataclass
class Published:
    """What the publisher wrote, and why anything was not written (one line each)."""

    comment_url: str | None = None
    comment_action: str = "skipped"
    comment_kind: str = "merge request note"
    """How the job log names the comment (``PR comment``, ``merge request note``)."""
    artifacts: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    """What else was posted, one line each for the job log (a check run, a SARIF upload)."""
    extra: dict[str, str] = field(default_factory=dict)
    """Platform outputs (``check-run-url``) for ``Platform.finish``."""


class SettingsCollector(Protocol):
    """Reads repository settings (platform API) into neutral facts."""

    def collect(self, branch_patterns: Sequence[str] = (), base_branches: Sequence[str] = ()) -> SettingsRead:
        """Settings of the default branch, the change's base branches and every branch matching a pattern."""
        ...


class ChangeCollector(Protocol):
    """Reads one pull or merge request into neutral facts."""

    def collect(self, number: int) -> ChangeRead:
        """Files, added lines, reviews or approvals of change ``number``."""
        ...

    def members(self, teams: Sequence[str]) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
        """Members of each team or group (``@org/team``), and for each unreadable one what reading it needs."""
        ...


class Publisher(Protocol):
    """Writes one run's report back to the platform and the job."""

    def publish(self, report: Report, rendered: Mapping[str, str], out_dir: Path, comment: bool, post: bool = True,
                options: argparse.Namespace | None = None) -> Published:
        """Write artifacts; post or update the comment or note (``comment``) and, unless ``post`` is false,
        anything else the platform posts (``options`` are the command's flags); refusals become ``notes``."""
        ...


class Platform(Protocol):
    """One platform: its CI context and its three collectors / publishers."""

    name: str
    artifact_formats: tuple[str, ...]
    """Report formats the publisher writes as artifacts (rendered once by the orchestrator)."""

    def context(self) -> CiContext:
        """The CI context of this job."""
        ...

    def settings_collector(self) -> SettingsCollector | None:
        """``None`` when there is no token to read settings with."""
        ...

    def change_collector(self) -> ChangeCollector | None:
        """``None`` when there is no token to read the change with."""
        ...

    def publisher(self) -> Publisher:
        """The publisher (it writes local artifacts even without a token)."""
        ...

    def change_and_base(self, checkout: Checkout, read: ChangeRead,
                        notes: list[str]) -> tuple[ChangeSet | None, BaseFiles | None]:
        """The change set to judge and the base revision whose config, policies and baseline judge it."""
        ...

    def no_token_reason(self) -> str:
        """Why settings and the change were not read (no token, or one that cannot read them)."""
        ...

    def why_not_post(self, settings: SettingsRead, change: ChangeRead) -> str | None:
        """Why nothing may be posted on this run (archived, fork with a read-only token ...), or ``None``."""
        ...

    def finish(self, report: Report, files: Mapping[str, Path], published: Published, notes: Sequence[str]) -> None:
        """The job's own outputs after publishing (a job summary, step outputs), if the CI has any."""
        ...


class PlatformError(Exception):
    """A platform call that cannot succeed; ``reason`` names what is needed, never the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def change_state_note(label: str, state: str, unseen: str = "") -> str | None:
    """Why nothing is posted to a change that is gone or closed (``label``: ``Pull request #7``,
    ``Merge request !7``; ``unseen`` says what else a missing change can mean), else ``None``."""
    if state == "missing":
        return f"{label} no longer exists{unseen}, so nothing was posted to it."
    if state in ("closed", "merged"):
        return f"{label} is {state}, so the report was not posted to it."
    return None


def detect(env: Mapping[str, str]) -> str | None:
    """Which CI the job runs in: ``github`` (GITHUB_ACTIONS=true), ``gitlab`` (GITLAB_CI=true) or ``None``."""
    if env.get("GITLAB_CI", "").lower() == "true":
        return "gitlab"
    if env.get("GITHUB_ACTIONS", "").lower() == "true":
        return "github"
    return None
