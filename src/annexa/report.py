"""The report of one run: findings rolled up per requirement, policy and ISO control, and its JSON form."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from annexa import __version__
from annexa.catalog import RuleSpec
from annexa.controls import control_title
from annexa.model import Finding, Severity, Status

REPORT_SCHEMA = "annexa.report/v1"
REDACTED = "[redacted]"

_SECRET_KEY = re.compile(
    r"(^|[_\-.])(password|passwd|passphrase|secret|secret[_\-]?value|token|api[_\-]?key|apikey|private[_\-]?key"
    r"|access[_\-]?key|client[_\-]?secret|credentials?|authorization|cookie)$",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """True when an evidence key looks like it names a secret (``api_token``, ``password``, ``private-key``)."""
    return bool(_SECRET_KEY.search(key))


def redact(value: Any) -> Any:
    """A copy of ``value`` with every value under a secret-looking key replaced, at any depth.

    Rules never put a secret in evidence; every serialised report (renderers, run records) still passes here.
    """
    if isinstance(value, Mapping):
        return {k: REDACTED if is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value

_ROLLUP_ORDER = (Status.FAIL, Status.UNKNOWN, Status.WAIVED, Status.PASS, Status.NOT_APPLICABLE)


def rollup(statuses: Iterable[Status]) -> Status:
    """The status of a group: any fail fails, then unknown, waived, pass; nothing at all is not applicable."""
    present = set(statuses)
    for status in _ROLLUP_ORDER:
        if status in present:
            return status
    return Status.NOT_APPLICABLE


@dataclass(frozen=True)
class RunInfo:
    """Where and when a run happened."""

    id: str
    started_at: str
    platform: str
    repository: str
    ref: str | None
    commit: str | None
    pull_request: int | None
    base: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    """What the platform lists about the repository (topics, visibility, team), for dashboards; may be empty."""


@dataclass(frozen=True)
class RequirementStatus:
    """One requirement of a policy and how it fared."""

    rule: str
    severity: Severity
    controls: tuple[str, ...]
    status: Status
    text: str


@dataclass(frozen=True)
class PolicyStatus:
    """One policy, its document control fields and its rolled-up status."""

    id: str
    title: str
    version: str
    digest: str
    owner: str
    status: Status
    requirements: tuple[RequirementStatus, ...]


@dataclass(frozen=True)
class ControlStatus:
    """One ISO 27001:2022 control and the rules that evidence it."""

    id: str
    title: str
    status: Status
    rules: tuple[str, ...]


@dataclass(frozen=True)
class PendingChange:
    """An edit the change makes to what judges it (config, policies, secrets baseline, allow-pragmas): this run
    did not apply it; it takes effect only after merge and needs the security owners' review."""

    path: str
    kind: str
    """``config``, ``policy``, ``secrets-baseline`` or ``allowlist-pragma``."""
    message: str
    line: int | None = None


@dataclass(frozen=True)
class Report:
    """Everything a renderer needs; ``rules`` holds the catalog entries of the rules that ran."""

    run: RunInfo
    fail_on: Severity
    findings: tuple[Finding, ...]
    policies: tuple[PolicyStatus, ...]
    controls: tuple[ControlStatus, ...]
    rules: Mapping[str, RuleSpec]
    pending_changes: tuple[PendingChange, ...] = ()
    """The change's own edits to its rules, which this run did not apply (PR mode)."""
    rules_from: str | None = None
    """Where config, policies, waivers and baselines were taken from (PR mode), in words."""

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """Failures at or above the ``fail_on`` severity."""
        return tuple(f for f in self.findings if f.status is Status.FAIL and f.severity.at_least(self.fail_on))

    @property
    def verdict(self) -> str:
        """``fail`` when anything blocks, else ``pass``."""
        return "fail" if self.blocking else "pass"

    @property
    def summary(self) -> dict[str, int]:
        """Count of findings per status (every status present, zero included)."""
        counts = Counter(f.status for f in self.findings)
        return {status.value: counts.get(status, 0) for status in Status}

    def to_json(self) -> dict[str, Any]:
        """The report in the ``annexa.report/v1`` format of DESIGN.md."""
        run = self.run
        return {
            "schema": REPORT_SCHEMA,
            "tool": {"name": "annexa", "version": __version__},
            "run": {
                "id": run.id,
                "started_at": run.started_at,
                "platform": run.platform,
                "repository": run.repository,
                "ref": run.ref,
                "commit": run.commit,
                "pull_request": run.pull_request,
                "base": run.base,
                **({"meta": dict(run.meta)} if run.meta else {}),
            },
            "verdict": self.verdict,
            "fail_on": self.fail_on.value,
            "summary": self.summary,
            "policies": [
                {
                    "id": p.id,
                    "title": p.title,
                    "version": p.version,
                    "digest": p.digest,
                    "owner": p.owner,
                    "status": p.status.value,
                    "requirements": [
                        {
                            "rule": r.rule,
                            "severity": r.severity.value,
                            "controls": list(r.controls),
                            "status": r.status.value,
                            "text": r.text,
                        }
                        for r in p.requirements
                    ],
                }
                for p in self.policies
            ],
            "controls": [
                {"id": c.id, "title": c.title, "status": c.status.value, "rules": list(c.rules)} for c in self.controls
            ],
            "findings": [finding_json(f) for f in self.findings],
            "rules_from": self.rules_from,
            "pending_changes": [
                {"path": c.path, "line": c.line, "kind": c.kind, "message": c.message} for c in self.pending_changes
            ],
        }


def finding_json(f: Finding) -> dict[str, Any]:
    """One finding in the report format."""
    location = None
    if f.location is not None:
        location = {"path": f.location.path, "line": f.location.line}
        if f.location.end_line is not None:
            location["end_line"] = f.location.end_line
    return {
        "rule": f.rule,
        "status": f.status.value,
        "severity": f.severity.value,
        "message": f.message,
        "location": location,
        "controls": list(f.controls),
        "policies": list(f.policies),
        "introduced": f.introduced,
        "fingerprint": f.fingerprint,
        "evidence": redact(f.evidence),
        "remediation": f.remediation,
    }


def control_statuses(findings: Iterable[Finding]) -> tuple[ControlStatus, ...]:
    """Roll findings up per ISO control, sorted by control id in Annex A order."""
    by_control: dict[str, list[Finding]] = {}
    for f in findings:
        for control in f.controls:
            by_control.setdefault(control, []).append(f)
    return tuple(
        ControlStatus(
            id=control,
            title=control_title(control),
            status=rollup(f.status for f in items),
            rules=tuple(sorted({f.rule for f in items})),
        )
        for control, items in sorted(by_control.items(), key=lambda kv: _control_key(kv[0]))
    )


def _control_key(control: str) -> tuple[Any, ...]:
    parts = control.replace("A.", "").split(".")
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)
