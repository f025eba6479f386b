"""Waivers: which are valid, and applying the valid ones to findings."""

from __future__ import annotations

import datetime as dt

from annexa.config import Waiver
from annexa.model import Location
from annexa.paths import match_any

REQUIRED_FIELDS = ("justification", "risk", "requested_by", "approved_by", "ticket", "expires")


def waiver_problems(waiver: Waiver, today: dt.date, max_days: int) -> list[str]:
    """Why a waiver cannot be honoured; empty when it is valid."""
    problems = [f"missing {name}" for name in REQUIRED_FIELDS if not getattr(waiver, name)]
    if waiver.requested_by and waiver.approved_by and _who(waiver.requested_by) == _who(waiver.approved_by):
        problems.append(f"self-approved: requested and approved by {waiver.approved_by}")
    if waiver.expires is not None:
        if waiver.expires < today:
            problems.append(f"expired on {waiver.expires.isoformat()}")
        elif (waiver.expires - today).days > max_days:
            problems.append(f"expires on {waiver.expires.isoformat()}, more than {max_days} days ahead")
    return problems


def covers(waiver: Waiver, rule: str, location: Location | None) -> bool:
    """True when ``waiver`` applies to a finding of ``rule`` at ``location``."""
    if waiver.rule != rule:
        return False
    if not waiver.paths:
        return True
    return location is not None and match_any(waiver.paths, location.path)


def _who(handle: str) -> str:
    return handle.strip().lstrip("@").lower()
