"""Rules of the pull request family: what the pull request itself must carry (owner approvals)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from annexa.codeowners import LOCATIONS, MAX_BYTES, CodeOwners, OwnerMatch, find_file, parse
from annexa.errors import CollectError, UnreadableFile
from annexa.facts import ChangeSet, PullRequest, Review
from annexa.model import Location, Result, Status
from annexa.rules.base import RuleContext, RuleFn, failed, not_applicable, passed, unknown

T = TypeVar("T")

_DECIDING = ("approved", "changes_requested", "dismissed")
"""Neutral review states that decide (GitHub's upper-case words compare equal once lower-cased)."""


def latest_reviews(reviews: Iterable[Review]) -> dict[str, Review]:
    """The latest deciding review per reviewer (chronological input); comments do not override a decision and
    dismissed reviews are dropped."""
    latest: dict[str, Review] = {}
    for review in reviews:
        if review.state.lower() in _DECIDING:
            latest[review.user.lower()] = review
    return {user: review for user, review in latest.items() if review.state.lower() != "dismissed"}


def _owner_via(login: str, owners: Iterable[str], pr: PullRequest) -> str | None:
    """How ``login`` is a model owner ("@alice", "member of @acme/ml-model-owners"), or None."""
    for owner in owners:
        name = owner.lstrip("@")
        if "/" not in name:
            if name.lower() == login.lower():
                return owner
            continue
        members = _lookup(pr.team_members, owner)
        if members is not None and login.lower() in {m.lower() for m in members}:
            return f"member of {owner}"
    return None


def _lookup(mapping: Mapping[str, T], key: str) -> T | None:
    wanted = key.lstrip("@").lower()
    for name, value in mapping.items():
        if name.lstrip("@").lower() == wanted:
            return value
    return None


def owner_roles(params: Mapping[str, object]) -> str:
    """The ``owners:`` role whose users and teams may approve weight changes (the ``owners_role`` parameter)."""
    return str(params.get("owners_role") or "models")


def weight_paths(change: ChangeSet, in_weights: Callable[[str], bool]) -> list[str]:
    """Changed paths that are, or were before a rename or move, model weight files."""
    return sorted(
        path for path, fc in change.files.items()
        if in_weights(path) or (fc.previous_path is not None and in_weights(fc.previous_path))
    )


def _require_current(ctx: RuleContext, pr: PullRequest) -> tuple[bool, str]:
    """Whether only approvals of the head commit count, and why: always when the parameter says so; otherwise
    unless the platform itself dismisses approvals on new pushes to the base branch (then none survive)."""
    setting = ctx.params.get("require_current_approval")
    if setting is not None:
        return bool(setting), "the require_current_approval parameter"
    settings = ctx.facts.settings
    base = next((b for b in settings.branches if b.branch == pr.base_ref), None) if settings else None
    if base is not None and base.stale_approvals_dismissed.value is True:
        return False, f"{pr.base_ref} dismisses stale approvals ({base.stale_approvals_dismissed.source})"
    return True, f"{pr.base_ref} is not known to dismiss approvals on new pushes"


def check_weights_owner_approved(ctx: RuleContext) -> Iterable[Result]:
    """Weight changes in a pull request need a model owner's approval of its current head."""
    pr = ctx.facts.pull_request
    change = ctx.facts.change
    if pr is None or change is None:
        yield unknown(
            "Whether a model owner approved the weight changes needs a pull or merge request",
            ctx.facts.pull_request_reason,
        )
        return
    weights = weight_paths(change, lambda path: ctx.in_class(path, "weights"))
    if not weights:
        if change.truncated:
            yield unknown(
                f"GitHub lists only the first {len(change.files)} changed files of {pr.name}; "
                "weight files may be among the rest",
                "a pull request small enough for GitHub to list every file (at most 3,000)",
            )
            return
        yield not_applicable(f"{pr.name} changes no model weight files")
        return
    role = owner_roles(ctx.params)
    owners = ctx.config.owners_of(role)
    location = Location(weights[0])
    evidence = {"pull_request": pr.number, "weight_files": weights[:20], "owners": list(owners)}
    sections = _by_code_owner_sections(ctx, pr, weights)
    if sections is not None and (sections.status is Status.FAIL or not owners):
        yield sections
        return
    by_config = next(iter(_by_config_owners(ctx, pr, weights, role, owners, location, evidence)))
    if sections is not None and by_config.status is Status.PASS and sections.status is Status.UNKNOWN:
        yield sections
        return
    if sections is not None:
        by_config = replace(by_config, evidence={**by_config.evidence, "code_owner_sections": sections.message})
    yield by_config


def _by_config_owners(ctx: RuleContext, pr: PullRequest, weights: list[str], role: str, owners: tuple[str, ...],
                      location: Location, evidence: dict[str, Any]) -> Iterable[Result]:
    """The owners of ``owners.<role>`` in the config: one of them (or a member of their team) approved."""
    if not owners:
        yield unknown(
            f"{pr.name} changes {len(weights)} weight file(s) but no {role} owners are configured",
            f"owners.{role} in .annexa.yml (users like @alice or teams like @org/ml-model-owners)",
            location,
            **evidence,
        )
        return
    current_only, why_current = _require_current(ctx, pr)
    evidence["current_head_only"] = current_only
    evidence["current_head_reason"] = why_current
    approvals = [
        r for r in latest_reviews(pr.reviews).values()
        if r.state.lower() == "approved" and r.user.lower() != pr.author.lower()
    ]
    stale = [r.user for r in approvals if current_only and r.commit_id != pr.head_sha]
    counted = [r for r in approvals if r.user not in stale]
    for review in counted:
        via = _owner_via(review.user, owners, pr)
        if via is not None:
            yield passed(
                f"Model owner @{review.user} ({via}) approved the weight changes of {pr.name}",
                location,
                approver=review.user,
                via=via,
                commit=review.commit_id,
                **evidence,
            )
            return
    others = [r.user for r in counted]
    unreadable = {
        team: _lookup(pr.team_reasons, team) or f"the members of {team} (not collected)"
        for team in owners
        if "/" in team and _lookup(pr.team_members, team) is None
    }
    if others and unreadable:
        team, reason = next(iter(unreadable.items()))
        yield unknown(
            f"{pr.name}: could not tell whether approver(s) {', '.join('@' + u for u in others)} "
            f"belong to {team}",
            reason,
            location,
            approvers=others,
            **evidence,
        )
        return
    detail = "no approval"
    if others:
        detail = "approvals only from non-owners " + ", ".join("@" + u for u in others)
    if stale:
        detail += "; approvals before the last push do not count: " + ", ".join("@" + u for u in stale)
    yield failed(
        f"{pr.name} changes {len(weights)} model weight file(s) with {detail}",
        location,
        key=f"pr-{pr.number}",
        approvers=others,
        stale_approvals=stale,
        **evidence,
    )


def _section_name(section: str | None) -> str:
    return f"[{section}]" if section else "the default section"


def _codeowners(ctx: RuleContext) -> tuple[CodeOwners | None, str]:
    """The CODEOWNERS the platform enforces on the change: the base revision's (the target branch's, which is what
    GitLab evaluates), else the checkout's; and where it was read."""
    platform = ctx.facts.platform
    base = ctx.facts.base
    if base is not None:
        for path in LOCATIONS.get(platform, LOCATIONS["gitlab"]):
            try:
                text = base.read_text(path, MAX_BYTES)
            except (UnreadableFile, CollectError):
                continue
            if text is not None:
                return parse(text, platform), f"{path} of the base revision {base.label}"
    checkout = ctx.checkout
    if checkout is None:
        return None, ""
    located = find_file(checkout, platform)
    if located.path is None:
        return None, ""
    try:
        return parse(checkout.read_text(located.path, MAX_BYTES), located.platform), located.path
    except UnreadableFile:
        return None, ""


def _by_code_owner_sections(ctx: RuleContext, pr: PullRequest, weights: list[str]) -> Result | None:
    """Every required CODEOWNERS section owning a weight file has its approvals, by the platform's own approval
    state; ``None`` when the platform evaluates no code-owner sections or none requires approval of the weights.

    A section's requirement is its ``[N]`` (one approval when not given); an optional ``^[Section]`` never
    requires one; an entry without owners takes its section's default owners (the parser resolves them)."""
    if pr.owner_approvals is None and pr.owner_approvals_reason is None:
        return None
    owners, source = _codeowners(ctx)
    if owners is None:
        return None
    required: list[tuple[str, OwnerMatch]] = []
    optional: list[str] = []
    for path in weights:
        for match in owners.owners_of(path):
            if not match.owners:
                continue
            if match.optional:
                optional.append(f"{path} {_section_name(match.section)}")
            else:
                required.append((path, match))
    if not required:
        return None
    location = Location(required[0][0])
    evidence: dict[str, Any] = {"pull_request": pr.number, "codeowners": source, "optional_sections": optional[:20]}
    first_path, first = required[0]
    if pr.owner_approvals is None:
        return unknown(
            f"{pr.name}: CODEOWNERS {_section_name(first.section)} requires code-owner approval of "
            f"{first_path}, but the change's approval state could not be read",
            str(pr.owner_approvals_reason), location, **evidence,
        )
    author = pr.author.lower()
    missing: list[tuple[str, OwnerMatch]] = []
    short: list[tuple[str, OwnerMatch, int, list[str]]] = []
    approved: list[str] = []
    for path, match in required:
        wanted = (match.section or "").casefold()
        rule = next((r for r in pr.owner_approvals
                     if (r.section or "").casefold() == wanted and r.pattern == match.pattern), None)
        if rule is None:
            missing.append((path, match))
            continue
        needed = max(match.approvals, 1)
        by = [u for u in rule.approved_by if u.lower() != author]
        if len(by) < needed:
            short.append((path, match, needed, by))
        else:
            approved += [u for u in by if u not in approved]
    if short:
        path, match, needed, by = short[0]
        has = ("approvals only from " + ", ".join("@" + u for u in by)) if by else "no approval"
        return failed(
            f"{pr.name} changes weight file {path}: CODEOWNERS {_section_name(match.section)} "
            f"(`{match.pattern}`, owners {' '.join(match.owners)}) requires {needed} code-owner approval(s), "
            f"{has}",
            Location(path), key=f"pr-{pr.number}-section-{match.section or ''}",
            unapproved=[f"{p} {_section_name(m.section)}" for p, m, _n, _b in short][:20], **evidence,
        )
    if missing:
        path, match = missing[0]
        return unknown(
            f"{pr.name}: the approval state lists no code-owner rule for {_section_name(match.section)} "
            f"`{match.pattern}`, which owns weight file {path}",
            "code-owner approval rules on the target branch (CODEOWNERS there, and the branch protected)",
            Location(path), **evidence,
        )
    names = sorted({_section_name(m.section) for _p, m in required})
    return passed(
        f"CODEOWNERS {', '.join(names)} approved the weight changes of {pr.name} "
        f"({', '.join('@' + u for u in approved)})",
        location, approvers=approved, **evidence,
    )


RULES: dict[str, RuleFn] = {"weights-owner-approved": check_weights_owner_approved}
