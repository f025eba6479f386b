"""Facts: frozen, platform-neutral data that rules are pure functions of.

A fact that could not be read is ``None`` together with a reason (for a setting, the permission needed),
never ``False``: rules turn it into ``unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from annexa.model import Location

if TYPE_CHECKING:
    from annexa.catalog import Policy
    from annexa.collect.base_revision import BaseFiles
    from annexa.collect.checkout import Checkout

T = TypeVar("T")

BYPASS_KINDS = (
    "RepositoryRole", "Team", "Integration", "OrganizationAdmin", "DeployKey", "EnterpriseOwner", "User", "Unspecified",
)  # fmt: skip
"""Bypass actor kinds, named as GitHub names ruleset bypass actors; ``Unspecified`` is a free-text actor
(for example from a settings snapshot). Other platforms map their roles onto these."""
BYPASS_MODES = ("always", "pull_request", "exempt")
"""``always``: may bypass at any time; ``pull_request``: only when merging a pull request; ``exempt``: the rules
are not even run for the actor."""
ROLE_NAMES = {2: "maintain", 4: "write", 5: "admin"}
"""Built-in repository role ids as GitHub's ruleset bypass actors use them (``actor_type: RepositoryRole``);
other ids are custom roles."""
ADMIN_ROLE = 5


@dataclass(frozen=True)
class BypassActor:
    """Who may bypass a protection source: ``kind`` (see ``BYPASS_KINDS``), the platform's id, ``mode`` (see
    ``BYPASS_MODES``) and a display name when one is known."""

    kind: str
    id: int | None = None
    mode: str = "always"
    name: str | None = None

    @property
    def is_admin(self) -> bool:
        """True for repository administrators, organisation administrators and enterprise owners."""
        return self.kind in ("OrganizationAdmin", "EnterpriseOwner") or (
            self.kind == "RepositoryRole" and self.id == ADMIN_ROLE
        )

    @property
    def label(self) -> str:
        """A readable label for reports ("repository role admin", "team 12 (pull_request)")."""
        if self.name:
            base = self.name
        elif self.kind == "RepositoryRole":
            base = f"repository role {ROLE_NAMES.get(self.id or 0, f'#{self.id}')}"
        elif self.kind == "OrganizationAdmin":
            base = "organisation administrators"
        elif self.kind == "EnterpriseOwner":
            base = "enterprise owners"
        elif self.kind == "DeployKey":
            base = "deploy keys"
        else:
            base = f"{self.kind} {self.id}"
        return base if self.mode == "always" else f"{base} ({self.mode})"

    def same_actor(self, other: BypassActor) -> bool:
        """True when both name the same actor (whatever the display name)."""
        same = (self.kind, self.id) == (other.kind, other.id)
        return same and (self.kind != "Unspecified" or self.name == other.name)


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One effective repository setting: its value, where it comes from, and who may bypass it.

    ``value`` is ``None`` when the setting could not be read; ``reason`` then says what is needed
    (for example "GitHub token permission administration:read").
    """

    value: T | None
    source: str | None = None
    reason: str | None = None
    bypass: tuple[BypassActor, ...] = ()
    not_enforced: tuple[str, ...] = ()

    @property
    def bypass_labels(self) -> list[str]:
        """Who may bypass the setting, as display labels (the report JSON shape)."""
        return [actor.label for actor in self.bypass]

    @property
    def known(self) -> bool:
        """True when the value was read."""
        return self.value is not None

    @classmethod
    def unknown(cls, reason: str) -> Setting[T]:
        """A setting that could not be read, with what would be needed to read it."""
        return cls(value=None, reason=reason)


@dataclass(frozen=True)
class BranchProtection:
    """The effective protection of one branch, merged from every source the platform has."""

    branch: str
    protected: Setting[bool]
    force_push_blocked: Setting[bool]
    deletion_blocked: Setting[bool]
    pull_request_required: Setting[bool]
    required_approvals: Setting[int]
    code_owner_review_required: Setting[bool]
    stale_approvals_dismissed: Setting[bool]
    author_approval_blocked: Setting[bool]
    admins_cannot_bypass: Setting[bool]
    required_status_checks: Setting[tuple[str, ...]]
    signed_commits_required: Setting[bool]


@dataclass(frozen=True)
class RepoSettings:
    """Repository-level settings. ``branches`` lists the default branch first."""

    platform: str
    repository: str
    default_branch: str | None
    visibility: Setting[str]
    secret_scanning: Setting[bool]
    secret_push_protection: Setting[bool]
    branches: tuple[BranchProtection, ...]
    codeowners_errors: Setting[tuple[Mapping[str, object], ...]] = field(
        default_factory=lambda: Setting.unknown("CODEOWNERS errors are only known from the platform API")
    )


@dataclass(frozen=True)
class Review:
    """One submitted review of a pull request (``PullRequest.reviews`` holds them in order)."""

    user: str
    state: str
    commit_id: str | None = None
    submitted_at: str | None = None


@dataclass(frozen=True)
class OwnerApproval:
    """One code-owner approval rule as the platform evaluates it on this change (GitLab's approval state: one
    rule per CODEOWNERS section and pattern that the change touches)."""

    section: str | None
    """The CODEOWNERS section; ``None`` for lines before any section header."""
    pattern: str
    """The CODEOWNERS pattern as written."""
    approvals_required: int
    """What the platform itself requires (0 where it does not enforce code-owner approval)."""
    approved_by: tuple[str, ...] = ()
    approved: bool = False


@dataclass(frozen=True)
class PullRequest:
    """A pull or merge request under check."""

    number: int
    author: str
    head_sha: str
    base_ref: str
    head_ref: str
    reviews: tuple[Review, ...] = ()
    files_truncated: bool = False
    team_members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    state: str = "open"
    """open, closed or merged."""
    fork: bool = False
    """True when the head branch lives in another repository (a fork)."""
    changed_files: int | None = None
    """How many files the pull request changes (GitHub lists at most 3,000 of them)."""
    team_reasons: Mapping[str, str] = field(default_factory=dict)
    """Teams ("@org/slug") whose members could not be read, with what reading them needs."""
    owner_approvals: tuple[OwnerApproval, ...] | None = None
    """The platform's code-owner approval rules for this change; ``None`` when not read (see the reason)."""
    owner_approvals_reason: str | None = None
    """Why ``owner_approvals`` could not be read (a tier, a token), or ``None`` when the platform has none."""
    label: str = ""
    """How the platform names the change (``MR !7``); empty: ``PR #<number>``."""

    @property
    def name(self) -> str:
        """The change as messages name it: the platform's ``label``, else ``PR #<number>``."""
        return self.label or f"PR #{self.number}"


@dataclass(frozen=True)
class FileChange:
    """One file the change touches. ``added_lines`` is ``None`` when the whole file counts (binary, new)."""

    path: str
    status: str
    added_lines: frozenset[int] | None = None
    previous_path: str | None = None


@dataclass(frozen=True)
class ChangeSet:
    """What a pull request (or ``--base REF``) changes; rules use it to scan only what is added."""

    base: str
    files: Mapping[str, FileChange]
    truncated: bool = False

    def touches(self, path: str) -> bool:
        """True when the change adds or modifies ``path``."""
        change = self.files.get(path)
        return change is not None and change.status != "removed"

    def added_lines(self, path: str) -> frozenset[int] | None:
        """Lines the change adds to ``path``; ``None`` means every line (new or binary file)."""
        change = self.files.get(path)
        return None if change is None else change.added_lines

    def introduces(self, location: Location) -> bool:
        """True when ``location`` is on a file or line that the change adds."""
        change = self.files.get(location.path)
        if change is None or change.status == "removed":
            return False
        if change.added_lines is None or location.line is None:
            return True
        return location.line in change.added_lines


@dataclass(frozen=True)
class Facts:
    """Everything the rules may look at for one run."""

    platform: str
    checkout: Checkout | None
    change: ChangeSet | None = None
    settings: RepoSettings | None = None
    settings_reason: str = "no repository settings: pass --settings FILE or run with a platform API token"
    pull_request: PullRequest | None = None
    pull_request_reason: str = "no pull request context: run in a pull request (annexa ci)"
    policies: tuple[Policy, ...] = ()
    base: BaseFiles | None = None
    """PR mode: the base revision, which the change is judged by (its secrets baseline, its allow-pragmas)."""
