"""Core value types shared by every pipeline stage: statuses, severities, results and findings."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Outcome of one rule at one place."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"
    WAIVED = "waived"


class Severity(StrEnum):
    """How much a failure matters; ordered from most to least severe."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe (critical=4 ... info=0)."""
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        """True when this severity is as severe as ``other`` or more."""
        return self.rank >= other.rank


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


@dataclass(frozen=True, order=True)
class Location:
    """A repository-relative POSIX path and, where it applies, a 1-based line span."""

    path: str
    line: int | None = None
    end_line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Result:
    """What a rule implementation returns: one outcome at one place.

    ``evidence`` must be JSON-serialisable and must never hold a secret value.
    ``key`` identifies the outcome within its rule and path for a fingerprint that survives line shifts;
    it defaults to the message. ``fix`` is this outcome's own remediation (naming what was found), used instead
    of the catalog's generic fix when set.
    """

    status: Status
    message: str
    location: Location | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    key: str = ""
    fix: str | None = None


@dataclass(frozen=True)
class Finding:
    """One outcome of one rule at one place, as it appears in every report."""

    rule: str
    status: Status
    severity: Severity
    message: str
    location: Location | None
    controls: tuple[str, ...]
    policies: tuple[str, ...]
    introduced: bool | None
    fingerprint: str
    evidence: Mapping[str, Any]
    remediation: str
    fix: str | None = None
    """The finding's own fix text (``Result.fix``); ``None``: the rule's catalog fix applies."""


def fingerprint(rule: str, location: Location | None, key: str) -> str:
    """A stable identity for a finding: rule, path and key, never the line number."""
    path = location.path if location else ""
    digest = hashlib.sha256(f"{rule}\0{path}\0{key}".encode("utf-8", "surrogateescape")).hexdigest()
    return digest[:32]
