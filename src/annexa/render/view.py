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

from annexa.model import Finding, Severity, Status
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


@dataclass(frozen=True)
class Filter:
    """What ``annexa check --rule/--min-severity`` narrows the human-readable findings to (empty: everything).

    Only what is shown changes: the verdict, counts and exit code follow the full run, and the output says how
    many findings (and blocking failures) the filter hides.
    """

    rules: frozenset[str] = frozenset()
    min_severity: Severity | None = None

    @property
    def active(self) -> bool:
        """True when the filter hides anything at all."""
        return bool(self.rules) or self.min_severity is not None

    def keeps(self, f: Finding) -> bool:
        """True when ``f`` is shown."""
        if self.rules and f.rule not in self.rules:
            return False
        return self.min_severity is None or f.severity.at_least(self.min_severity)

    def describe(self) -> str:
        """The filter as the options that set it."""
        parts = [f"--rule {rule}" for rule in sorted(self.rules)]
        if self.min_severity is not None:
            parts.append(f"--min-severity {self.min_severity.value}")
        return " ".join(parts)


NO_FILTER = Filter()


def groups(report: Report, only: Filter = NO_FILTER) -> list[Group]:
    """The detail sections, top to bottom: failures (split by introduced when diff-aware), unknowns, waivers."""
    shown = [f for f in report.findings if only.keeps(f)]
    fails = sorted((f for f in shown if f.status is Status.FAIL), key=finding_order)
    out: list[Group] = []
    if diff_aware(report):
        out.append(Group("introduced", "Introduced by this change",
                         tuple(f for f in fails if f.introduced is True)))
        out.append(Group("existing", "Already in the repository",
                         tuple(f for f in fails if f.introduced is not True)))
    else:
        out.append(Group("failures", "Failures", tuple(fails)))
    out.append(Group("unknown", "Unknown — what is needed to know", _sorted(shown, Status.UNKNOWN)))
    out.append(Group("waived", "Waived", _sorted(shown, Status.WAIVED)))
    return [g for g in out if g.findings]


def _sorted(findings: Iterable[Finding], status: Status) -> tuple[Finding, ...]:
    return tuple(sorted((f for f in findings if f.status is status), key=finding_order))


def filter_line(report: Report, only: Filter) -> str | None:
    """What an active filter hides (``None`` when no filter is set); blocking failures hidden are always named."""
    if not only.active:
        return None
    listed = [f for f in report.findings if f.status in _LISTED]
    shown = sum(1 for f in listed if only.keeps(f))
    hidden_blocking = sum(1 for f in report.blocking if not only.keeps(f))
    line = f"filtered ({only.describe()}): showing {shown} of {len(listed)} failed, unknown and waived findings"
    if hidden_blocking:
        noun = "failure is" if hidden_blocking == 1 else "failures are"
        line += f"; {hidden_blocking} blocking {noun} hidden by the filter (the verdict and exit code count them)"
    return line


_LISTED = (Status.FAIL, Status.UNKNOWN, Status.WAIVED)

MAX_LOCATIONS = 5
"""How many places of one rule a grouped report lists before saying how many more there are."""


@dataclass(frozen=True)
class RuleGroup:
    """The findings of one rule within a group, most severe first; ``shown`` are listed, the rest counted."""

    rule: str
    severity: Severity
    findings: tuple[Finding, ...]

    @property
    def shown(self) -> tuple[Finding, ...]:
        return self.findings[:MAX_LOCATIONS]

    @property
    def more(self) -> int:
        return max(len(self.findings) - MAX_LOCATIONS, 0)


def by_rule(findings: Iterable[Finding]) -> list[RuleGroup]:
    """Findings grouped per rule, groups in the order of their first (most severe) finding."""
    grouped: dict[str, list[Finding]] = {}
    for f in findings:
        grouped.setdefault(f.rule, []).append(f)
    return [RuleGroup(rule, max((f.severity for f in fs), key=lambda s: s.rank), tuple(fs))
            for rule, fs in grouped.items()]


def distinct(values: Iterable[str]) -> list[str]:
    """``values`` without repeats, first occurrence order."""
    return list(dict.fromkeys(values))


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
    unknown = report.summary[Status.UNKNOWN.value]
    # unknowns do not block, but they are not passes: the line says so, so that no one reads PASS as conformant
    open_ = f"; {unknown} unknown, not checked (see what is needed)" if unknown else ""
    if fails:
        return f"PASS: no failure at or above {report.fail_on.value} ({fails} below it){open_}"
    return f"PASS: no failures{open_}"


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
        parts.append(f"MR !{run.pull_request}" if run.platform == "gitlab" else f"PR #{run.pull_request}")
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


def fix_text(report: Report, f: Finding) -> str:
    """The finding's own fix when it has one, else its rule's catalog fix (else the finding's remediation)."""
    if f.fix:
        return f.fix
    spec = report.rules.get(f.rule)
    return spec.fix if spec else f.remediation


def short_fix(report: Report, f: Finding) -> str:
    """``fix_text`` shortened by ``shorten``; when anything is left out, it points to ``annexa explain RULE``."""
    short, cut = shorten(fix_text(report, f), _SHORT_FIX)
    return f"{short} More: `annexa explain {f.rule}`." if cut else short


def shorten(text: str, limit: int) -> tuple[str, bool]:
    """Whole sentences of the first paragraph (before any fenced block) up to ``limit`` characters, on one line.

    Never cuts inside a code span or a fenced block: the first sentence is kept whole even when longer than
    ``limit``, and sentence ends inside a code span are not sentence ends. Returns the text and whether anything
    was left out.
    """
    body = text.strip()
    fence = _FENCE.search(body)
    cut = False
    if fence:
        body, cut = body[: fence.start()].rstrip(), True
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    if not paragraphs:
        return "", cut
    cut = cut or len(paragraphs) > 1
    sentences = sentences_of(one_line(paragraphs[0]))
    short = sentences[0]
    for sentence in sentences[1:]:
        if len(short) + 1 + len(sentence) > limit:
            return short, True
        short += " " + sentence
    return short, cut


def sentences_of(text: str) -> list[str]:
    """``text`` split after ``.``, ``!`` or ``?`` followed by a capital, never inside a code span."""
    spans = [m.span() for m in _CODE_SPAN.finditer(text)]
    out: list[str] = []
    start = 0
    for end in _SENTENCE_END.finditer(text):
        if any(a < end.start() < b for a, b in spans):
            continue
        out.append(text[start : end.start()])
        start = end.end()
    out.append(text[start:])
    return [s for s in out if s] or [text]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"])")
_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.MULTILINE)
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")


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
