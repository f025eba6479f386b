"""Policy governance rules: document approval, yearly review, valid waivers."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable

from annexa.model import Location, Result
from annexa.rules.base import RuleContext, RuleFn, failed, not_applicable, passed
from annexa.waivers import waiver_problems


def check_policy_approved(ctx: RuleContext) -> Iterable[Result]:
    """Every policy names who approved it and when, and was not approved by its own owner."""
    if not ctx.facts.policies:
        yield not_applicable("No policies were loaded")
    for policy in ctx.facts.policies:
        where = policy.location("approved_by")
        if not policy.approved_by or policy.approved_on is None:
            fields = (("approved_by", policy.approved_by), ("approved_on", policy.approved_on))
            missing = [name for name, value in fields if not value]
            yield failed(f"Policy {policy.id} v{policy.version} has no record of approval ({', '.join(missing)})",
                         where, key=policy.id, policy=policy.id, missing=missing)
        elif policy.approved_on > ctx.today:
            yield failed(f"Policy {policy.id} is dated as approved in the future ({policy.approved_on})",
                         where, key=policy.id, policy=policy.id)
        elif ctx.params.get("forbid_owner_approval", True) and policy.approved_by.strip() == policy.owner.strip():
            yield failed(f"Policy {policy.id} was approved by its own owner ({policy.owner})",
                         where, key=policy.id, policy=policy.id, owner=policy.owner)
        else:
            yield passed(f"Policy {policy.id} v{policy.version} approved by {policy.approved_by} "
                         f"on {policy.approved_on.isoformat()}", where,
                         policy=policy.id, approved_by=policy.approved_by, approved_on=policy.approved_on.isoformat())


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole calendar months, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def check_policy_reviewed(ctx: RuleContext) -> Iterable[Result]:
    """Every policy was approved within its review interval."""
    if not ctx.facts.policies:
        yield not_applicable("No policies were loaded")
    for policy in ctx.facts.policies:
        where = policy.location("approved_on")
        if policy.approved_on is None:
            yield failed(f"Policy {policy.id} has no approval date, so its review cannot be shown",
                         where, key=policy.id, policy=policy.id)
            continue
        due = add_months(policy.approved_on, policy.review_interval_months)
        evidence = {"policy": policy.id, "approved_on": policy.approved_on.isoformat(), "review_due": due.isoformat(),
                    "review_interval_months": policy.review_interval_months}
        if due < ctx.today:
            yield failed(f"Policy {policy.id} review is overdue: due {due.isoformat()} "
                         f"({policy.review_interval_months} months after approval)", where, key=policy.id, **evidence)
        else:
            yield passed(f"Policy {policy.id} is within its review interval (next review due {due.isoformat()})",
                         where, **evidence)


def check_waivers_valid(ctx: RuleContext) -> Iterable[Result]:
    """Every waiver is complete, approved by someone other than its requester, and unexpired."""
    waivers = ctx.config.waivers
    if not waivers:
        yield not_applicable("No waivers are configured")
        return
    source = ctx.config.source or ".annexa.yml"
    max_days = int(ctx.params.get("max_days", 365))
    for waiver in waivers:
        where = Location(source, waiver.line)
        label = f"Waiver #{waiver.index + 1} for {waiver.rule}" + (f" ({waiver.ticket})" if waiver.ticket else "")
        problems = waiver_problems(waiver, ctx.today, max_days)
        evidence = {"waiver": waiver.index + 1, "waived_rule": waiver.rule, "ticket": waiver.ticket,
                    "expires": waiver.expires.isoformat() if waiver.expires else None}
        if problems:
            yield failed(f"{label} is not valid and waives nothing: {'; '.join(problems)}", where,
                         key=f"{waiver.rule}#{waiver.index}", problems=problems, **evidence)
        else:
            yield passed(f"{label} is valid until {evidence['expires']}", where, **evidence)


RULES: dict[str, RuleFn] = {
    "policy-approved": check_policy_approved,
    "policy-reviewed": check_policy_reviewed,
    "waivers-valid": check_waivers_valid,
}
