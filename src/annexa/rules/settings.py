"""Repository settings rules: effective branch protection, secret scanning, visibility."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from annexa.facts import BranchProtection, RepoSettings, Setting
from annexa.model import Result
from annexa.paths import match_any
from annexa.rules.base import RuleContext, RuleFn, failed, not_applicable, passed, setting_result, unknown


def _branches(ctx: RuleContext, settings: RepoSettings) -> list[BranchProtection] | Result:
    """The default branch, the pull request's base branch and every known branch matching ``branches``."""
    patterns: list[str] = list(ctx.params.get("branches") or [])
    pr = ctx.facts.pull_request
    base = pr.base_ref if pr is not None and pr.base_ref else None
    chosen = [
        b for b in settings.branches
        if b.branch in (settings.default_branch, base) or match_any(patterns, b.branch)
    ]
    if settings.default_branch is None:
        return unknown("The default branch is not known", "the repository's default branch")
    if not any(b.branch == settings.default_branch for b in chosen):
        return unknown(
            f"No protection data for the default branch {settings.default_branch!r}",
            "branch protection of the default branch (API access or a --settings snapshot that lists it)",
            branch=settings.default_branch,
        )
    if base is not None and not any(b.branch == base for b in chosen):
        return unknown(
            f"No protection data for the base branch {base!r} of the pull or merge request",
            "branch protection of the base branch (annexa ci reads it; a --settings snapshot must list it)",
            branch=base,
        )
    return chosen


def _no_settings(ctx: RuleContext) -> Result:
    """The ``unknown`` result of a settings rule when the run has no repository settings at all."""
    return unknown(ctx.rule.title + ": repository settings are not available", ctx.facts.settings_reason)


def _branch_rule(
    field: str,
    ok: Callable[[Any, RuleContext], bool],
    good: str,
    bad: str,
) -> RuleFn:
    """A rule judging one effective protection setting on every branch in scope."""

    def check(ctx: RuleContext) -> Iterable[Result]:
        settings = ctx.facts.settings
        if settings is None:
            yield _no_settings(ctx)
            return
        branches = _branches(ctx, settings)
        if isinstance(branches, Result):
            yield branches
            return
        for branch in branches:
            setting: Setting[Any] = getattr(branch, field)
            if field != "protected" and branch.protected.value is False and setting.value is None:
                setting = replace(setting, value=_UNPROTECTED[field], source="branch is not protected")
            params = {k: v for k, v in ctx.params.items() if k != "branches"}
            result = setting_result(
                setting,
                lambda value: ok(value, ctx),
                good.format(branch=branch.branch, **params),
                bad.format(branch=branch.branch, value=setting.value, **params),
                f"Could not read whether {ctx.rule.id} holds on {branch.branch}",
                branch=branch.branch,
            )
            yield replace(result, key=branch.branch)

    return check


_UNPROTECTED: dict[str, Any] = {
    "force_push_blocked": False,
    "deletion_blocked": False,
    "pull_request_required": False,
    "required_approvals": 0,
    "code_owner_review_required": False,
    "stale_approvals_dismissed": False,
    "author_approval_blocked": False,
    "admins_cannot_bypass": False,
    "required_status_checks": (),
    "signed_commits_required": False,
}
"""What an unprotected branch enforces: nothing. Used only when the branch is known to be unprotected."""


def _is_true(value: Any, ctx: RuleContext) -> bool:
    return value is True


def _enough_approvals(value: Any, ctx: RuleContext) -> bool:
    return isinstance(value, int) and value >= int(ctx.params.get("min", 1))


def _has_checks(value: Any, ctx: RuleContext) -> bool:
    wanted = set(ctx.params.get("checks") or [])
    return bool(value) and wanted.issubset(set(value))


def _repo_setting(
    name: str, ok: Callable[[Any], bool], good: str, bad: str
) -> RuleFn:
    """A rule judging one repository-level setting."""

    def check(ctx: RuleContext) -> Iterable[Result]:
        settings = ctx.facts.settings
        if settings is None:
            yield _no_settings(ctx)
            return
        setting: Setting[Any] = getattr(settings, name)
        undecided = f"Could not read the setting behind {ctx.rule.id}"
        yield setting_result(setting, ok, good, bad.format(value=setting.value), undecided)

    return check


def check_weights_not_public(ctx: RuleContext) -> Iterable[Result]:
    """Weight files must not sit in a public repository."""
    weights = ctx.files_in("weights")
    if not weights:
        yield not_applicable("No model weight files in the repository")
        return
    settings = ctx.facts.settings
    if settings is None:
        yield unknown("Repository visibility is not available", ctx.facts.settings_reason, weight_files=len(weights))
        return
    visibility = settings.visibility
    if visibility.value is None:
        yield unknown("Repository visibility could not be read", visibility.reason or "repository metadata")
    elif visibility.value == "public":
        yield failed(
            f"{len(weights)} model weight file(s) are in a public repository",
            weight_files=weights[:20],
            visibility="public",
        )
    else:
        yield passed(f"Model weight files are in a {visibility.value} repository", visibility=visibility.value)


RULES: dict[str, RuleFn] = {
    "branch-protected": _branch_rule(
        "protected", _is_true, "Branch {branch} is protected", "Branch {branch} has no protection"
    ),
    "force-push-blocked": _branch_rule(
        "force_push_blocked", _is_true, "Force pushes to {branch} are blocked", "Force pushes to {branch} are allowed"
    ),
    "deletion-blocked": _branch_rule(
        "deletion_blocked", _is_true, "Branch {branch} cannot be deleted", "Branch {branch} can be deleted"
    ),
    "pull-request-required": _branch_rule(
        "pull_request_required",
        _is_true,
        "Changes to {branch} require a pull or merge request",
        "Changes can be pushed to {branch} without a pull or merge request",
    ),
    "approvals-required": _branch_rule(
        "required_approvals",
        _enough_approvals,
        "Branch {branch} requires at least {min} approving review(s)",
        "Branch {branch} requires {value} approving review(s); the policy requires {min}",
    ),
    "code-owner-review-required": _branch_rule(
        "code_owner_review_required",
        _is_true,
        "Code owners must approve changes to their files on {branch}",
        "Code owner review is not required on {branch}",
    ),
    "stale-approvals-dismissed": _branch_rule(
        "stale_approvals_dismissed",
        _is_true,
        "New pushes to a pull or merge request into {branch} dismiss earlier approvals",
        "Approvals on pull or merge requests into {branch} survive new pushes",
    ),
    "author-approval-blocked": _branch_rule(
        "author_approval_blocked",
        _is_true,
        "The author or last pusher cannot approve their own change to {branch}",
        "The last pusher may approve their own change to {branch}",
    ),
    "admins-cannot-bypass": _branch_rule(
        "admins_cannot_bypass",
        _is_true,
        "Administrators are held to {branch}'s protection",
        "Administrators can bypass {branch}'s protection",
    ),
    "status-checks-required": _branch_rule(
        "required_status_checks",
        _has_checks,
        "Required status checks must pass before merging into {branch}",
        "Branch {branch} does not require the status checks the policy names (requires: {value})",
    ),
    "signed-commits-required": _branch_rule(
        "signed_commits_required",
        _is_true,
        "Commits to {branch} must be signed",
        "Unsigned commits are accepted on {branch}",
    ),
    "repository-not-public": _repo_setting(
        "visibility", lambda v: v != "public", "The repository is not public", "The repository is {value}"
    ),
    "secret-scanning-enabled": _repo_setting(
        "secret_scanning", lambda v: v is True, "Secret scanning is enabled", "Secret scanning is disabled"
    ),
    "secret-push-protection-enabled": _repo_setting(
        "secret_push_protection",
        lambda v: v is True,
        "Secret push protection is enabled",
        "Pushes containing secrets are not blocked",
    ),
    "weights-not-public": check_weights_not_public,
}
