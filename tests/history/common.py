"""Reports with real findings (controls, waivers) for the history tests, built in code."""

from __future__ import annotations

from annexa.model import Finding, Location, Severity, Status, fingerprint
from annexa.report import Report, RunInfo, control_statuses


def finding(rule: str, status: Status, path: str, line: int | None, controls: tuple[str, ...],
            waiver: dict[str, str] | None = None, message: str = "") -> Finding:
    location = Location(path, line)
    evidence: dict[str, object] = {"waiver": waiver} if waiver else {}
    return Finding(rule, status, Severity.HIGH, message or f"{rule} {status.value} at {path}", location, controls,
                   ("information-security",), None, fingerprint(rule, location, rule), evidence, "fix it")


WAIVER = {"ticket": "SEC-1", "expires": "2027-03-31", "approved_by": "@alice", "requested_by": "@bob",
          "risk": "low", "justification": "vendor action"}


def report(run_id: str, repository: str = "acme/models", started_at: str = "2026-11-27T10:00:00+00:00",
           secret_fixed: bool = False, extra: tuple[Finding, ...] = ()) -> Report:
    """A run of acme/models: a failing secret (A.8.4) unless fixed, a passing branch rule, a waived pin."""
    findings = (
        finding("no-secrets-in-change", Status.PASS if secret_fixed else Status.FAIL, "train.py", 12, ("A.8.4",)),
        finding("branch-protected", Status.PASS, "main", None, ("A.8.4", "A.8.32")),
        finding("actions-pinned", Status.WAIVED, ".github/workflows/legacy.yml", 3, ("A.8.28",), WAIVER),
        finding("security-checks-in-ci", Status.UNKNOWN, ".github/workflows/ci.yml", None, ("A.8.29",)),
        *extra,
    )
    run = RunInfo(run_id, started_at, "local", repository, "main", "a" * 40, None)
    return Report(run, Severity.HIGH, findings, (), control_statuses(findings), {})
