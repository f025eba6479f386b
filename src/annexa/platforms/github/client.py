"""GitHub facts: effective branch protection, repository settings and the pull request under check.

Collected with PyGithub, and with its requester for what PyGithub lacks (rulesets, rules for a branch,
CODEOWNERS errors, GraphQL). Classic protection, repository and organisation rulesets and the read-only views
(the branch's ``protected``, ``GET /rules/branches/{b}``, GraphQL ``refUpdateRule``) are merged into one
``Setting`` per field, with its source and bypass actors. What the token cannot read is ``unknown`` with the
permission named, never ``False``. 5xx answers and timeouts are retried with backoff; secondary rate limits are
waited out; a 4xx that will not change is never retried. The token never appears in any message.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from github import Auth, Github, GithubException
from github.Repository import Repository

from annexa.collect.patch import added_lines
from annexa.facts import (
    ADMIN_ROLE,
    BranchProtection,
    BypassActor,
    ChangeSet,
    FileChange,
    PullRequest,
    RepoSettings,
    Review,
    Setting,
)
from annexa.paths import match_any
from annexa.platforms.retry import Retryable, call_with_retries, transient
from annexa.platforms.retry import RetryPolicy as BaseRetryPolicy
from annexa.protection import FIELDS as _FIELDS
from annexa.protection import BranchInput, Source, Unread, merge, nothing, unknown_branch

T = TypeVar("T")

CLASSIC_NEEDS = "GitHub token permission administration:read (fine-grained) or admin access (classic PAT)"
"""What reading classic branch protection needs; the Actions GITHUB_TOKEN never has it."""
SECURITY_NEEDS = (
    "admin access or the security manager role (GitHub hides security_and_analysis from this token)"
)
TEAM_NEEDS = "GitHub token permission members:read (organisation) to read team members"
PR_FILE_LIMIT = 3000
"""GitHub lists at most this many files of a pull request."""

_PR_FIELDS = (
    "pull_request_required", "required_approvals", "code_owner_review_required", "stale_approvals_dismissed",
    "author_approval_blocked",
)  # fmt: skip
_RULE_FIELDS: dict[str, tuple[str, ...]] = {
    "non_fast_forward": ("force_push_blocked",),
    "deletion": ("deletion_blocked",),
    "pull_request": _PR_FIELDS,
    "required_status_checks": ("required_status_checks",),
    "required_signatures": ("signed_commits_required",),
}
"""Which effective settings each ruleset rule type sets."""
CLASSIC_SOURCE = "classic branch protection"
BYPASS_NEEDS = "write access to the repository (GitHub shows a ruleset's bypass_actors only then)"
BRANCHES_NEEDS = "listing the repository's branches"

GRAPHQL_REF_RULES = """\
query($owner: String!, $name: String!, $ref: String!) {
  repository(owner: $owner, name: $name) {
    ref(qualifiedName: $ref) {
      name
      refUpdateRule {
        requiredApprovingReviewCount
        requiresCodeOwnerReviews
        requiredStatusCheckContexts
        requiresSignatures
        allowsForcePushes
        allowsDeletions
      }
    }
  }
}
"""
"""The read-only view of classic protection that any token with read access may query (one per branch)."""


class Unavailable(Exception):
    """A fact could not be read; ``reason`` says why (a permission, an outage), never the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RetryPolicy(BaseRetryPolicy):
    """How hard to try on GitHub: secondary rate limits may ask for up to two minutes."""

    max_wait: float = 120.0


class GitHubClient:
    """A PyGithub client with annexa's retry, pagination and error policy."""

    def __init__(
        self,
        token: str,
        base_url: str = "https://api.github.com",
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = retry or RetryPolicy()
        self.gh = Github(
            base_url=base_url.rstrip("/"),
            auth=Auth.Token(token),
            per_page=100,
            timeout=int(self.policy.timeout),
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        self._sleep = sleep

    def call(self, fn: Callable[[], T]) -> T:
        """Run one API call with retries; raises ``Unavailable`` once it cannot succeed."""
        return call_with_retries(fn, _retryable, self.policy, Unavailable, self._sleep)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET one REST resource through PyGithub's requester."""
        _, data = self.call(lambda: self.gh.requester.requestJsonAndCheck("GET", path, dict(params or {})))
        return data

    def get_all(self, path: str, params: Mapping[str, Any] | None = None, limit: int | None = None) -> list[Any]:
        """GET every page of a REST list (Link header ``next``), 100 per page, up to ``limit`` items."""
        items: list[Any] = []
        url: str | None = path
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        while url is not None and (limit is None or len(items) < limit):
            headers, data = self.call(functools.partial(self.gh.requester.requestJsonAndCheck, "GET", url, query))
            items.extend(data if isinstance(data, list) else [])
            url, query = _next_link(headers), None
        return items if limit is None else items[:limit]

    def graphql(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Run one GraphQL query; returns its ``data``."""
        _, data = self.call(lambda: self.gh.requester.graphql_query(query, dict(variables)))
        result: dict[str, Any] = data.get("data") or {}
        return result

    def repo(self, full_name: str) -> Repository:
        """The repository (one request)."""
        return self.call(lambda: self.gh.get_repo(full_name))


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _secondary_wait(exc: GithubException) -> float | None:
    """Seconds to wait for a secondary rate limit (403/429 with Retry-After or GitHub's message), else None."""
    if exc.status not in (403, 429):
        return None
    message = str((exc.data or {}).get("message", "")) if isinstance(exc.data, dict) else ""
    retry_after = _header(exc.headers, "retry-after")
    if retry_after is not None and retry_after.strip().isdigit():
        return float(retry_after)
    if "secondary rate limit" in message.lower() or exc.status == 429:
        return 60.0
    return None


def _retryable(exc: Exception) -> Retryable | None:
    """Secondary rate limits (their own budget of waits), 5xx and network errors; any other error is final."""
    if isinstance(exc, GithubException):
        wait = _secondary_wait(exc)
        if wait is not None:
            reason = f"GitHub secondary rate limit (asked to wait {wait:.0f}s)"
            return Retryable(lambda _n: reason, wait=wait, too_long=reason, own_budget=True)
        return transient("GitHub", exc, exc.status)
    return transient("GitHub", exc)


def _next_link(headers: Mapping[str, Any]) -> str | None:
    link = _header(headers, "link")
    if not link:
        return None
    match = re.search(r'<([^>]+)>;\s*rel="next"', link)
    return match.group(1) if match else None


def describe_error(exc: GithubException, what: str) -> str:
    """A one-line reason for an API refusal (never containing the token)."""
    message = exc.data.get("message") if isinstance(exc.data, dict) else None
    if exc.status == 403 and message == "Resource not accessible by integration":
        return f"{what}: the token is not allowed (Resource not accessible by integration)"
    if exc.status == 403 and message and message.lower().startswith("api rate limit exceeded"):
        reset = _header(exc.headers, "x-ratelimit-reset")
        return f"{what}: GitHub API rate limit exhausted" + (f" until {reset} (epoch seconds)" if reset else "")
    if exc.status == 401:
        return f"{what}: GitHub rejected the token (401 Bad credentials)"
    return f"{what}: HTTP {exc.status} {message or ''}".rstrip()


# ---------------------------------------------------------------------------------------------- protection


@dataclass
class _Ruleset:
    id: int
    name: str
    source_type: str
    enforcement: str
    target: str
    detail: dict[str, Any] | None = None
    detail_reason: str | None = None

    @property
    def label(self) -> str:
        kind = "org" if self.source_type == "Organization" else "repository"
        return f"{kind} ruleset '{self.name}'"


def _classic_view(data: Mapping[str, Any]) -> Source:
    """Classic branch protection JSON (admin view) as a source."""

    def enabled(key: str) -> bool:
        value = data.get(key)
        return bool(value.get("enabled")) if isinstance(value, dict) else bool(value)

    reviews = data.get("required_pull_request_reviews")
    checks = data.get("required_status_checks")
    contexts: tuple[str, ...] = ()
    if isinstance(checks, dict):
        names = [c.get("context") for c in checks.get("checks") or []] or list(checks.get("contexts") or [])
        contexts = tuple(sorted({str(n) for n in names if n}))
    admins_bound = enabled("enforce_admins")
    bypass: tuple[BypassActor, ...] = () if admins_bound else (
        BypassActor("RepositoryRole", ADMIN_ROLE, "always", "repository administrators (enforce_admins is off)"),
    )
    values: dict[str, Any] = {
        "protected": True,
        "force_push_blocked": not enabled("allow_force_pushes"),
        "deletion_blocked": not enabled("allow_deletions"),
        "pull_request_required": isinstance(reviews, dict),
        "required_approvals": int(reviews.get("required_approving_review_count") or 0)
        if isinstance(reviews, dict) else 0,
        "code_owner_review_required": bool(isinstance(reviews, dict) and reviews.get("require_code_owner_reviews")),
        "stale_approvals_dismissed": bool(isinstance(reviews, dict) and reviews.get("dismiss_stale_reviews")),
        "author_approval_blocked": bool(isinstance(reviews, dict) and reviews.get("require_last_push_approval")),
        "required_status_checks": contexts,
        "signed_commits_required": enabled("required_signatures"),
    }
    if isinstance(reviews, dict):
        allowances = reviews.get("bypass_pull_request_allowances") or {}
        extra = [BypassActor("User", u.get("id"), "pull_request", f"user {u.get('login')}")
                 for u in allowances.get("users") or []]
        extra += [BypassActor("Team", t.get("id"), "pull_request", f"team {t.get('slug')}")
                  for t in allowances.get("teams") or []]
        extra += [BypassActor("Integration", a.get("id"), "pull_request", f"app {a.get('slug')}")
                  for a in allowances.get("apps") or []]
        bypass = (*bypass, *extra)
    return Source(CLASSIC_SOURCE, values, bypass, admins_bound=admins_bound)


def _ref_update_view(rule: Mapping[str, Any]) -> Source:
    """GraphQL ``refUpdateRule``: the non-admin view of classic protection (it omits stale dismissal,
    last-push approval and admin enforcement, which stay unknown)."""
    count = rule.get("requiredApprovingReviewCount")
    values: dict[str, Any] = {
        "protected": True,
        "force_push_blocked": not rule.get("allowsForcePushes", True),
        "deletion_blocked": not rule.get("allowsDeletions", True),
        "pull_request_required": count is not None,
        "required_approvals": int(count or 0),
        "code_owner_review_required": bool(rule.get("requiresCodeOwnerReviews")),
        "required_status_checks": tuple(sorted(rule.get("requiredStatusCheckContexts") or ())),
        "signed_commits_required": bool(rule.get("requiresSignatures")),
    }
    return Source(f"{CLASSIC_SOURCE} (read-only view: GraphQL refUpdateRule)", values, None,
                  bypass_reason=CLASSIC_NEEDS)


def bypass_actors(detail: Mapping[str, Any] | None) -> tuple[BypassActor, ...] | None:
    """Who may bypass a ruleset; None when the token cannot see its bypass list (it needs write access)."""
    if detail is None or "bypass_actors" not in detail:
        return None
    actors = []
    for actor in detail.get("bypass_actors") or []:
        ident = actor.get("actor_id")
        actors.append(BypassActor(
            kind=str(actor.get("actor_type") or "Unspecified"),
            id=int(ident) if isinstance(ident, int) else None,
            mode=str(actor.get("bypass_mode") or "always"),
        ))
    return tuple(actors)


def _ruleset_view(ruleset: _Ruleset, rules: Iterable[Mapping[str, Any]]) -> Source:
    """What one active ruleset enforces on a branch (``rules`` from ``/rules/branches/{b}`` or its detail)."""
    values: dict[str, Any] = {"protected": True}
    for rule in rules:
        kind = rule.get("type")
        params = rule.get("parameters") or {}
        if kind in ("non_fast_forward", "deletion", "required_signatures"):
            values[_RULE_FIELDS[str(kind)][0]] = True
        elif kind == "pull_request":
            values["pull_request_required"] = True
            values["required_approvals"] = max(
                int(values.get("required_approvals", 0)), int(params.get("required_approving_review_count") or 0)
            )
            for key, name in (
                ("code_owner_review_required", "require_code_owner_review"),
                ("stale_approvals_dismissed", "dismiss_stale_reviews_on_push"),
                ("author_approval_blocked", "require_last_push_approval"),
            ):
                values[key] = bool(values.get(key)) or bool(params.get(name))
        elif kind == "required_status_checks":
            found = {str(c.get("context")) for c in params.get("required_status_checks") or [] if c.get("context")}
            values["required_status_checks"] = tuple(sorted(set(values.get("required_status_checks", ())) | found))
    bypass = bypass_actors(ruleset.detail)
    reason = None
    if bypass is None:
        reason = f"the bypass list of {ruleset.label} ({ruleset.detail_reason or BYPASS_NEEDS})"
    return Source(ruleset.label, values, bypass, bypass_reason=reason)


def _ref_matches(conditions: Mapping[str, Any] | None, branch: str, default_branch: str | None) -> bool:
    """Whether a ruleset's ``ref_name`` condition covers ``branch``."""
    ref_name = (conditions or {}).get("ref_name") or {}
    ref = f"refs/heads/{branch}"

    def hit(patterns: Iterable[str]) -> bool:
        for pattern in patterns:
            if pattern == "~ALL" or (pattern == "~DEFAULT_BRANCH" and branch == default_branch):
                return True
            full = pattern if pattern.startswith("refs/") else f"refs/heads/{pattern}"
            if match_any([full], ref):
                return True
        return False

    return hit(ref_name.get("include") or []) and not hit(ref_name.get("exclude") or [])


@dataclass
class _BranchRead:
    """Everything read about one branch before merging."""

    name: str
    exists: bool = True
    protected: bool | None = None
    views: list[Source] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)
    failure: str | None = None
    """Why nothing about the branch could be read."""
    active_ids: set[int] = field(default_factory=set)


class SettingsCollector:
    """Reads a repository's settings and the effective protection of its default and chosen branches."""

    def __init__(self, client: GitHubClient, full_name: str) -> None:
        self.client = client
        self.full_name = full_name
        self.archived = False
        """Set by ``collect``: the repository is archived (read-only)."""

    def collect(
        self, branch_patterns: Sequence[str] = (), extra_branches: Sequence[str] = (), ref: str | None = None
    ) -> RepoSettings:
        """Settings for the default branch, ``extra_branches`` and every branch matching ``branch_patterns``.

        ``ref`` is the commit (or branch) that is checked out, whose CODEOWNERS errors are read; by default the
        default branch."""
        try:
            repo = self.client.repo(self.full_name)
        except GithubException as exc:
            return self._nothing(describe_error(exc, f"repository {self.full_name}"))
        except Unavailable as exc:
            return self._nothing(exc.reason)
        raw: dict[str, Any] = repo.raw_data
        self.archived = bool(raw.get("archived"))
        default = raw.get("default_branch")
        names = [default] if default else []
        names += [b for b in extra_branches if b and b not in names]
        listing: list[BranchProtection] = []
        if branch_patterns:
            listed = self._branch_names()
            if isinstance(listed, str):
                # the matching branches cannot be named: each pattern stands for them, unknown
                listing = [unknown_branch(p, f"{BRANCHES_NEEDS} ({listed})") for p in branch_patterns
                           if p not in names]
            else:
                names += [b for b in listed if match_any(list(branch_patterns), b) and b not in names]
        rulesets = self._rulesets()
        reads = [self._read_branch(name, default, rulesets) for name in names]
        if any(u.reason == CLASSIC_NEEDS for r in reads for u in r.unread):
            self._fill_from_graphql(reads)
        branches = (*(self._merge_branch(r, default, rulesets) for r in reads), *listing)
        visibility_value = raw.get("visibility") or ("private" if raw.get("private") else "public")
        return RepoSettings(
            platform="github",
            repository=str(raw.get("full_name") or self.full_name),
            default_branch=default,
            visibility=Setting(str(visibility_value), "repository metadata"),
            secret_scanning=self._security(raw, "secret_scanning"),
            secret_push_protection=self._security(raw, "secret_scanning_push_protection"),
            branches=branches,
            codeowners_errors=self._codeowners_errors(ref or default),
        )

    def _nothing(self, reason: str) -> RepoSettings:
        return RepoSettings(
            platform="github",
            repository=self.full_name,
            default_branch=None,
            visibility=Setting.unknown(reason),
            secret_scanning=Setting.unknown(reason),
            secret_push_protection=Setting.unknown(reason),
            branches=(),
            codeowners_errors=Setting.unknown(reason),
        )

    @staticmethod
    def _security(raw: Mapping[str, Any], key: str) -> Setting[bool]:
        block = raw.get("security_and_analysis")
        if not isinstance(block, dict):
            return Setting.unknown(SECURITY_NEEDS)
        entry = block.get(key)
        if not isinstance(entry, dict) or "status" not in entry:
            return Setting.unknown(f"GitHub did not report {key} for this repository")
        return Setting(entry["status"] == "enabled", f"repository security_and_analysis.{key}")

    def _branch_names(self) -> list[str] | str:
        """The repository's branch names, or why they could not be listed."""
        try:
            items = self.client.get_all(f"/repos/{self.full_name}/branches")
        except GithubException as exc:
            return describe_error(exc, "branches")
        except Unavailable as exc:
            return exc.reason
        return [str(b.get("name")) for b in items if b.get("name")]

    def _rulesets(self) -> list[_Ruleset] | str:
        """Branch rulesets that apply to the repository (own and inherited), or the reason they are unreadable."""
        try:
            listed = self.client.get_all(f"/repos/{self.full_name}/rulesets", {"includes_parents": "true"})
        except GithubException as exc:
            return describe_error(exc, "rulesets")
        except Unavailable as exc:
            return exc.reason
        found = [
            _Ruleset(
                id=int(r["id"]),
                name=str(r.get("name")),
                source_type=str(r.get("source_type", "Repository")),
                enforcement=str(r.get("enforcement")),
                target=str(r.get("target") or "branch"),
            )
            for r in listed
        ]
        for ruleset in found:
            if ruleset.target != "branch" or ruleset.enforcement == "disabled":
                continue
            try:
                ruleset.detail = self.client.get_json(f"/repos/{self.full_name}/rulesets/{ruleset.id}")
            except GithubException as exc:
                ruleset.detail_reason = describe_error(exc, ruleset.label)
            except Unavailable as exc:
                ruleset.detail_reason = exc.reason
        return found

    def _read_branch(self, name: str, default: str | None, rulesets: list[_Ruleset] | str) -> _BranchRead:
        read = _BranchRead(name)
        try:
            branch = self.client.get_json(f"/repos/{self.full_name}/branches/{name}")
        except GithubException as exc:
            if exc.status == 404:
                read.exists = False
                reason = f"branch {name!r} does not exist (empty repository or missing default branch)"
            else:
                reason = describe_error(exc, f"branch {name}")
            read.failure = reason
            return read
        except Unavailable as exc:
            read.failure = exc.reason
            return read
        read.protected = bool(branch.get("protected"))
        if read.protected is False:
            read.views.append(nothing("branch is not protected (no classic protection, no active ruleset)"))
            return read
        self._read_active_rules(read, rulesets)
        try:
            classic = self.client.get_json(f"/repos/{self.full_name}/branches/{name}/protection")
            read.views.append(_classic_view(classic))
        except GithubException as exc:
            message = exc.data.get("message") if isinstance(exc.data, dict) else None
            if exc.status == 404 and message == "Branch not protected":
                read.views.append(nothing("no classic branch protection"))
            else:
                reason = CLASSIC_NEEDS if exc.status in (403, 404) else describe_error(exc, "classic protection")
                read.unread.append(Unread(CLASSIC_SOURCE, reason))
        except Unavailable as exc:
            read.unread.append(Unread(CLASSIC_SOURCE, exc.reason))
        return read

    def _read_active_rules(self, read: _BranchRead, rulesets: list[_Ruleset] | str) -> None:
        """Active ruleset rules for the branch, grouped into one view per ruleset."""
        try:
            items = self.client.get_all(f"/repos/{self.full_name}/rules/branches/{read.name}")
        except (GithubException, Unavailable) as exc:
            reason = exc.reason if isinstance(exc, Unavailable) else describe_error(exc, "rules for the branch")
            read.unread.append(Unread("rulesets", reason))
            return
        by_id: dict[int, list[Mapping[str, Any]]] = {}
        for item in items:
            by_id.setdefault(int(item.get("ruleset_id", 0)), []).append(item)
        known = {r.id: r for r in rulesets} if isinstance(rulesets, list) else {}
        for ruleset_id, rules in by_id.items():
            first = rules[0]
            ruleset = known.get(ruleset_id) or _Ruleset(
                ruleset_id,
                f"#{ruleset_id} from {first.get('ruleset_source')}",
                str(first.get("ruleset_source_type", "Repository")),
                "active",
                "branch",
            )
            read.active_ids.add(ruleset_id)
            read.views.append(_ruleset_view(ruleset, rules))

    def _fill_from_graphql(self, reads: Sequence[_BranchRead]) -> None:
        """Narrow "classic protection unreadable" to what the read-only ``refUpdateRule`` view leaves out."""
        owner, name = self.full_name.split("/", 1)
        for read in reads:
            hidden = [u for u in read.unread if u.label == CLASSIC_SOURCE and u.reason == CLASSIC_NEEDS]
            if not read.exists or not hidden:
                continue
            try:
                data = self.client.graphql(
                    GRAPHQL_REF_RULES, {"owner": owner, "name": name, "ref": f"refs/heads/{read.name}"}
                )
            except (GithubException, Unavailable):
                continue
            ref = (data.get("repository") or {}).get("ref")
            if ref is None:
                continue
            rule = ref.get("refUpdateRule")
            if rule is None:
                view = nothing("no classic branch protection (GraphQL refUpdateRule is empty)")
                left: tuple[str, ...] = ()
            else:
                view = _ref_update_view(rule)
                left = tuple(f for f in _FIELDS if f not in view.values)
            read.unread = [u for u in read.unread if u not in hidden]
            if left:
                read.unread.append(Unread(CLASSIC_SOURCE, CLASSIC_NEEDS, left, partial=True))
            read.views.append(view)

    def _merge_branch(
        self, read: _BranchRead, default: str | None, rulesets: list[_Ruleset] | str
    ) -> BranchProtection:
        """One ``BranchProtection`` from every view of the branch."""
        if read.failure is not None:
            return unknown_branch(read.name, read.failure)
        evaluate = [
            r for r in (rulesets if isinstance(rulesets, list) else [])
            if r.enforcement == "evaluate" and r.detail is not None
            and _ref_matches(r.detail.get("conditions"), read.name, default)
        ]
        would_set = {
            r.label: {
                f for rule in (r.detail or {}).get("rules") or [] for f in _RULE_FIELDS.get(str(rule.get("type")), ())
            }
            for r in evaluate
        }
        not_enforced = {
            name: tuple(
                f"{label} (evaluate mode, not enforced)"
                for label, fields in would_set.items()
                if name == "protected" or name in fields
            )
            for name in _FIELDS
        }
        unread = list(read.unread)
        if not isinstance(rulesets, list) and read.active_ids:
            unread.append(Unread("rulesets", f"the bypass lists of the branch's rulesets ({rulesets})",
                                 ("admins_cannot_bypass",)))
        return merge(BranchInput(read.name, tuple(read.views), tuple(unread), not_enforced, read.protected))

    def _codeowners_errors(self, ref: str | None) -> Setting[tuple[Mapping[str, object], ...]]:
        params = {"ref": ref} if ref else {}
        try:
            data = self.client.get_json(f"/repos/{self.full_name}/codeowners/errors", params)
        except GithubException as exc:
            if exc.status == 404:
                return Setting((), f"GitHub CODEOWNERS errors API: no CODEOWNERS file on {ref}")
            return Setting.unknown(describe_error(exc, "CODEOWNERS errors"))
        except Unavailable as exc:
            return Setting.unknown(exc.reason)
        errors = tuple(
            {k: e.get(k) for k in ("path", "line", "column", "kind", "message", "suggestion")}
            for e in data.get("errors") or []
        )
        return Setting(errors, f"GitHub CODEOWNERS errors API on {ref}")


# ---------------------------------------------------------------------------------------------- pull request


@dataclass(frozen=True)
class PullFacts:
    """The pull request and its change set, or why they could not be read."""

    pull_request: PullRequest | None
    change: ChangeSet | None
    reason: str | None = None
    fork: bool = False
    state: str = "open"


def _file_change(item: Mapping[str, Any]) -> FileChange:
    status = str(item.get("status", "modified"))
    patch = item.get("patch")
    lines = None if status == "added" or not isinstance(patch, str) else added_lines(patch)
    return FileChange(
        path=str(item["filename"]),
        status=status,
        added_lines=lines,
        previous_path=item.get("previous_filename"),
    )


class PullCollector:
    """Reads one pull request: its head, changed files (up to GitHub's 3,000) and reviews."""

    def __init__(self, client: GitHubClient, full_name: str) -> None:
        self.client = client
        self.full_name = full_name

    def collect(self, number: int) -> PullFacts:
        """The pull request's facts (team members are read separately, only when needed)."""
        try:
            raw: dict[str, Any] = self.client.get_json(f"/repos/{self.full_name}/pulls/{number}")
        except GithubException as exc:
            if exc.status == 404:
                return PullFacts(None, None, f"pull request #{number} was not found (deleted, or no access)",
                                 state="missing")
            return PullFacts(None, None, describe_error(exc, f"pull request #{number}"), state="unreadable")
        except Unavailable as exc:
            return PullFacts(None, None, exc.reason, state="unreadable")
        head = raw.get("head") or {}
        base = raw.get("base") or {}
        head_repo = (head.get("repo") or {}).get("full_name")
        fork = head_repo is not None and head_repo.lower() != self.full_name.lower()
        state = "merged" if raw.get("merged") else str(raw.get("state", "open"))
        try:
            files = self.client.get_all(
                f"/repos/{self.full_name}/pulls/{number}/files", limit=PR_FILE_LIMIT
            )
            reviews_raw = self.client.get_all(f"/repos/{self.full_name}/pulls/{number}/reviews")
        except GithubException as exc:
            return PullFacts(None, None, describe_error(exc, f"pull request #{number} files and reviews"),
                             fork=fork, state=state)
        except Unavailable as exc:
            return PullFacts(None, None, exc.reason, fork=fork, state=state)
        total = int(raw.get("changed_files") or len(files))
        truncated = total > len(files)
        reviews = tuple(
            Review(
                user=str((r.get("user") or {}).get("login", "")),
                state=str(r.get("state")),
                commit_id=r.get("commit_id"),
                submitted_at=r.get("submitted_at"),
            )
            for r in reviews_raw
            if r.get("state") != "PENDING" and r.get("user")
        )
        pr = PullRequest(
            number=number,
            author=str((raw.get("user") or {}).get("login", "")),
            head_sha=str(head.get("sha", "")),
            base_ref=str(base.get("ref", "")),
            head_ref=str(head.get("ref", "")),
            reviews=reviews,
            files_truncated=truncated,
            state=state,
            fork=fork,
            changed_files=total,
        )
        change = ChangeSet(
            base=str(base.get("sha") or base.get("ref", "")),
            files={c.path: c for c in (_file_change(f) for f in files)},
            truncated=truncated,
        )
        return PullFacts(pr, change, fork=fork, state=state)

    def team_members(self, teams: Sequence[str]) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
        """Members of each team ("@org/slug"), and for each unreadable team what reading it needs."""
        members: dict[str, tuple[str, ...]] = {}
        reasons: dict[str, str] = {}
        for team in teams:
            org, _, slug = team.lstrip("@").partition("/")
            if not slug:
                continue
            try:
                found = self.client.get_all(f"/orgs/{org}/teams/{slug}/members")
            except GithubException as exc:
                reasons[team] = TEAM_NEEDS if exc.status in (403, 404) else describe_error(exc, team)
                continue
            except Unavailable as exc:
                reasons[team] = exc.reason
                continue
            members[team] = tuple(str(m.get("login")) for m in found if m.get("login"))
        return members, reasons

