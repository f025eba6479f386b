"""What the human-readable renderers (text, markdown) show: one selection and ordering of a report.

Renderers never dump evidence wholesale: of a finding's evidence only ``needs`` (unknowns) and the ``waiver``
fields listed in ``WAIVER_FIELDS`` are ever shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from annexa.model import Finding, Status
from annexa.report import PolicyStatus, Report

REPO_LEVEL = "repository"
"""How a finding without a location is placed in human-readable output."""

WAIVER_FIELDS = ("ticket", "expires", "approved_by", "justification")

_SHORT_FIX = 200


@dataclass(frozen=True)
class Group:
    """One titled list of findings of a single status."""

    key: str
    title: str
    findings: tuple[Finding, ...]


def diff_aware(report: Report) -> bool:
    """True when the run compared against a base (a pull request or ``--base``)."""
    return report.run.base is not None or report.run.pull_request is not None


def finding_order(f: Finding) -> tuple[Any, ...]:
    """Most severe first, then rule, path and line; deterministic."""
    loc = f.location
    return (-f.severity.rank, f.rule, loc.path if loc else "", (loc.line or 0) if loc else 0, f.fingerprint)


def groups(report: Report) -> list[Group]:
    """The detail sections, top to bottom: failures (split by introduced when diff-aware), unknowns, waivers."""
    fails = sorted((f for f in report.findings if f.status is Status.FAIL), key=finding_order)
    out: list[Group] = []
    if diff_aware(report):
        out.append(Group("introduced", "Introduced by this change",
                         tuple(f for f in fails if f.introduced is True)))
        out.append(Group("existing", "Already in the repository",
                         tuple(f for f in fails if f.introduced is not True)))
    else:
        out.append(Group("failures", "Failures", tuple(fails)))
    out.append(Group("unknown", "Unknown — what is needed to know", _sorted(report.findings, Status.UNKNOWN)))
    out.append(Group("waived", "Waived", _sorted(report.findings, Status.WAIVED)))
    return [g for g in out if g.findings]


def _sorted(findings: Iterable[Finding], status: Status) -> tuple[Finding, ...]:
    return tuple(sorted((f for f in findings if f.status is status), key=finding_order))


def where(f: Finding) -> str:
    """``path:line``, ``path`` or ``repository`` for repository-level findings."""
    return str(f.location) if f.location else REPO_LEVEL


def verdict_line(report: Report) -> str:
    """One sentence: the verdict and what blocks."""
    blocking = len(report.blocking)
    if blocking:
        noun = "failure" if blocking == 1 else "failures"
        return f"FAIL: {blocking} blocking {noun} at or above {report.fail_on.value}"
    fails = report.summary[Status.FAIL.value]
    if fails:
        return f"PASS: no failure at or above {report.fail_on.value} ({fails} below it)"
    return "PASS: no failures"


def blocking(report: Report) -> tuple[list[Finding], int]:
    """The blocking failures to name (most severe first, at most ``MAX_BLOCKING``) and how many more there are."""
    ordered = sorted(report.blocking, key=finding_order)
    return ordered[:MAX_BLOCKING], max(len(ordered) - MAX_BLOCKING, 0)


MAX_BLOCKING = 10


def counts_line(report: Report) -> str:
    """Count per status, in a fixed order, zeros left out."""
    summary = report.summary
    parts = [f"{summary[s.value]} {label}" for s, label in _COUNT_LABELS if summary[s.value]]
    return " · ".join(parts) if parts else "no findings"


_COUNT_LABELS = (
    (Status.FAIL, "failed"),
    (Status.UNKNOWN, "unknown"),
    (Status.WAIVED, "waived"),
    (Status.PASS, "passed"),
    (Status.NOT_APPLICABLE, "not applicable"),
)


def run_line(report: Report) -> str:
    """Repository, pull request, commit and base of the run."""
    run = report.run
    parts = [run.repository]
    if run.pull_request is not None:
        parts.append(f"PR #{run.pull_request}")
    if run.commit:
        parts.append(f"commit {run.commit[:12]}")
    if run.base:
        parts.append(f"base {run.base}")
    return " · ".join(parts)


def policy_controls(policy: PolicyStatus) -> list[str]:
    """The ISO controls a policy's requirements evidence, in Annex A order."""
    seen = {c for r in policy.requirements for c in r.controls}
    return sorted(seen, key=control_key)


def control_key(control: str) -> tuple[Any, ...]:
    """Sort key putting clauses before Annex A and ``A.5.2`` before ``A.5.10``."""
    annex = control.startswith("A.")
    parts = control.removeprefix("A.").removeprefix("clause ").split(".")
    return (annex, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts))


def short_fix(report: Report, f: Finding) -> str:
    """The rule's fix (falling back to the finding's remediation): whole sentences of its first paragraph
    up to 200 characters, or the first sentence cut with an ellipsis."""
    spec = report.rules.get(f.rule)
    text = spec.fix if spec else f.remediation
    paragraph = one_line(text.strip().split("\n\n", 1)[0])
    sentences = _SENTENCE_END.split(paragraph)
    short = sentences[0]
    for sentence in sentences[1:]:
        if len(short) + 1 + len(sentence) > _SHORT_FIX:
            break
        short += " " + sentence
    if len(short) > _SHORT_FIX:
        short = short[: _SHORT_FIX - 1].rstrip() + "…"
    return short


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"])")


def needs(f: Finding) -> str:
    """What would decide an unknown finding (its ``needs`` evidence)."""
    value = f.evidence.get("needs")
    return str(value) if value else "not stated by the rule"


def waiver(f: Finding) -> dict[str, str]:
    """The displayable fields of a waived finding's waiver, always all of ``WAIVER_FIELDS``."""
    raw = f.evidence.get("waiver")
    detail = raw if isinstance(raw, dict) else {}
    return {name: str(detail.get(name) or "—") for name in WAIVER_FIELDS}


def one_line(text: str) -> str:
    """Collapse whitespace (newlines included) to single spaces and show control and format characters
    (ANSI escapes, bidi overrides) as ``\\uXXXX`` so they can't act on a terminal or hide text."""
    return "".join(
        f"\\u{ord(ch):04x}" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in " ".join(text.split())
    )
