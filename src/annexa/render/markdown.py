"""The pull/merge request comment: verdict first, policies, failures (introduced vs existing), unknowns, waivers.

The first line is always ``MARKER`` so a publisher can find and update its own comment. With ``max_chars``
(GitHub allows 65,536 characters per comment) detail sections are dropped from the bottom up, then list items
and policy rows, and the comment ends with how many findings were left out and where to read them all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from annexa.model import Severity, Status
from annexa.render import view
from annexa.report import Report

MARKER = "<!-- annexa:report -->"

_BADGE = {
    Status.PASS: "✅ pass",
    Status.FAIL: "❌ fail",
    Status.UNKNOWN: "❔ unknown",
    Status.WAIVED: "⏸️ waived",
    Status.NOT_APPLICABLE: "⚪ n/a",
}

_SEVERITY = {
    Severity.CRITICAL: "🟥 critical",
    Severity.HIGH: "🟧 high",
    Severity.MEDIUM: "🟨 medium",
    Severity.LOW: "🟦 low",
    Severity.INFO: "⬜ info",
}

_ESCAPED = "\\`*_[]|~#"


def escape(text: str) -> str:
    """Inline-safe markdown: one line, HTML neutralised, markdown punctuation backslash-escaped, and
    ``@user`` / ``@org/team`` handles put in code spans so the comment never notifies anyone."""
    parts = _HANDLE.split(view.one_line(text))
    return "".join(code(part) if i % 2 else _escape_plain(part) for i, part in enumerate(parts))


_HANDLE = re.compile(r"(?<![\w`@])(@[A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9][\w.-]*)?)")


def _escape_plain(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join("\\" + ch if ch in _ESCAPED else ch for ch in text)


def code(text: str) -> str:
    """A code span that survives backticks in ``text``; newlines collapsed, pipes escaped for tables."""
    text = view.one_line(text).replace("|", "\\|")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@dataclass
class _Section:
    """A heading, its rows (droppable one by one from the end) and how many findings each row stands for."""

    heading: list[str]
    rows: list[str]
    findings_per_row: list[int]
    row_chars: int = 0

    def __post_init__(self) -> None:
        self.row_chars = sum(len(row) + 1 for row in self.rows)

    def lines(self) -> list[str]:
        return [*self.heading, *self.rows, ""] if self.rows else []

    def size(self) -> int:
        """Characters this section adds to the comment, newlines included."""
        return sum(len(line) + 1 for line in self.heading) + self.row_chars + 1 if self.rows else 0

    def pop(self) -> int:
        """Drop the last row; returns how many findings it stood for."""
        self.row_chars -= len(self.rows.pop()) + 1
        return self.findings_per_row.pop()


def render(report: Report, max_chars: int | None = None, full_report_url: str | None = None,
           only: view.Filter = view.NO_FILTER) -> str:
    """The comment body; never longer than ``max_chars`` when given.

    Inside each section (introduced / already there / unknown / waived) findings are grouped per rule: the count,
    the first ``view.MAX_LOCATIONS`` places and one fix. ``only`` narrows the findings listed (see ``view.Filter``).
    """
    head = _head(report, only)
    sections = [_policies(report), *(_group(report, g) for g in view.groups(report, only))]
    unlisted = sum(rg.more for g in view.groups(report, only) for rg in view.by_rule(g.findings))
    footer = None
    if unlisted and full_report_url:
        footer = (f"_{unlisted} finding{'s' if unlisted != 1 else ''} not listed one by one; "
                  f"see the full report: {full_report_url}._")
    full = _join(head, sections, footer)
    if max_chars is None or len(full) <= max_chars:
        return full
    return _truncate(head, sections, max_chars, full_report_url)


def _head(report: Report, only: view.Filter) -> list[str]:
    icon = "❌" if report.verdict == "fail" else "✅"
    lines = [MARKER, f"## {icon} annexa: {escape(view.verdict_line(report))}", ""]
    lines.append(f"{escape(view.counts_line(report))}  ")
    lines.append(escape(view.run_line(report)))
    lines.append("")
    shown, more = view.blocking(report)
    if shown:
        lines.append("**Blocking:** " + ", ".join(
            f"{code(f.rule)} ({f.severity.value}) at {code(view.where(f))}" for f in shown
        ) + (f" and {more} more" if more else ""))
        lines.append("")
    note = view.filter_line(report, only)
    if note:
        lines += [f"_{escape(note)}_", ""]
    return lines + _pending(report)


def _pending(report: Report) -> list[str]:
    """PR mode: where the rules came from, and the change's own edits to them that apply only after merge."""
    lines = [f"_Judged by: {escape(report.rules_from)}._", ""] if report.rules_from else []
    if report.pending_changes:
        lines.append("**Not applied to this run (take effect only after merge, after the security owners' review):**")
        lines += [f"- {escape(c.message)}" for c in report.pending_changes]
        lines.append("")
    return lines


def _policies(report: Report) -> _Section:
    rows = [
        f"| {escape(p.title)} ({code(p.id)}) | {escape(p.version)} | "
        f"{escape(', '.join(view.policy_controls(p))) or '—'} | {_BADGE[p.status]} |"
        for p in report.policies
    ]
    return _Section(
        heading=["### Policies", "", "| Policy | Version | ISO 27001:2022 controls | Status |", "|---|---|---|---|"],
        rows=rows,
        findings_per_row=[0] * len(rows),
    )


def _group(report: Report, group: view.Group) -> _Section:
    groups = view.by_rule(group.findings)
    return _Section(
        heading=[f"### {group.title} ({len(group.findings)})", ""],
        rows=[_rule_item(report, group.key, rg) for rg in groups],
        findings_per_row=[len(rg.findings) for rg in groups],
    )


def _rule_item(report: Report, key: str, rg: view.RuleGroup) -> str:
    """One rule's findings in a section: a bullet with its count, the first places, then one fix (or need)."""
    first = rg.findings[0]
    if len(rg.findings) == 1:
        lines = [f"- {_SEVERITY[rg.severity]} · {code(rg.rule)} · {code(view.where(first))}: {escape(first.message)}  "]
    else:
        lines = [f"- {_SEVERITY[rg.severity]} · {code(rg.rule)} · {len(rg.findings)} findings"]
        lines += [f"  - {code(view.where(f))}: {escape(f.message)}" for f in rg.shown]
    for f in rg.shown if key == "waived" else ():
        if key == "waived":
            w = view.waiver(f)
            lines.append(f"  **Waiver** {code(w['ticket'])}, approved by {code(w['approved_by'])}, "
                         f"expires {escape(w['expires'])}: {escape(w['justification'])}")
    if rg.more:
        lines.append(f"  - …and {rg.more} more (`annexa check --rule {rg.rule} --format json` lists all)")
    if key == "unknown":
        lines += [f"  **Needed:** {escape(need)}" for need in view.distinct(view.needs(f) for f in rg.findings)]
    elif key != "waived":
        fixes = view.distinct(view.short_fix(report, f) for f in rg.findings)
        lines += [f"  **Fix:** {_trusted(fix)}" for fix in fixes[:_MAX_FIXES]]
        if len(fixes) > _MAX_FIXES:
            lines.append(f"  _…and {len(fixes) - _MAX_FIXES} other fixes (see the JSON report)_")
    return "\n".join(lines)


_MAX_FIXES = 3


def _trusted(text: str) -> str:
    """Catalog text (authored markdown, shipped with annexa): kept as markdown, raw HTML outside code spans
    neutralised (inside a code span an entity would show literally)."""
    parts = _CODE_SPAN.split(text)
    return "".join(
        part if i % 2 else part.replace("<", "&lt;").replace(">", "&gt;") for i, part in enumerate(parts)
    )


_CODE_SPAN = re.compile(r"((?<!`)`+(?!`).*?(?<!`)`+(?!`))")


def _join(head: list[str], sections: Sequence[_Section], footer: str | None) -> str:
    lines = list(head)
    for section in sections:
        lines.extend(section.lines())
    if footer:
        lines.append(footer)
    return "\n".join(lines).rstrip("\n") + "\n"


def _footer(omitted_findings: int, omitted_policies: int, url: str | None) -> str:
    parts = []
    if omitted_findings:
        parts.append(f"{omitted_findings} finding{'s' if omitted_findings != 1 else ''}")
    if omitted_policies:
        parts.append(f"{omitted_policies} polic{'ies' if omitted_policies != 1 else 'y'}")
    left_out = " and ".join(parts) or "some details"
    where = f"the full report: {url}" if url else "the job summary or the SARIF results (code scanning) for all of them"
    return f"_{left_out} left out to fit the comment size limit; see {where}._"


def _truncate(head: list[str], sections: list[_Section], max_chars: int, url: str | None) -> str:
    """Drop whole detail sections bottom-up, then rows bottom-up (policy rows last); hard-cut as a last resort.

    Sizes are kept as running sums, so this is linear in the number of rows.
    """
    sections = [_Section(list(s.heading), list(s.rows), list(s.findings_per_row)) for s in sections]
    head_size = sum(len(line) + 1 for line in head)
    body = sum(s.size() for s in sections)
    omitted = [0, 0]

    def fits() -> bool:
        return head_size + body + len(_footer(omitted[0], omitted[1], url)) + 1 <= max_chars

    while len(sections) > 2 and not fits():
        dropped = sections.pop()
        body -= dropped.size()
        omitted[0] += sum(dropped.findings_per_row)
    for section in reversed(sections):
        while section.rows and not fits():
            body -= section.size()
            weight = section.pop()
            body += section.size()
            omitted[0 if weight else 1] += weight or 1
    footer = _footer(omitted[0], omitted[1], url)
    text = _join(head, sections, footer)
    if len(text) <= max_chars:
        return text
    budget = max_chars - len(footer) - 1
    kept = _join(head, [], None)[: max(budget, 0)]
    kept = kept[: kept.rfind("\n") + 1] if "\n" in kept else kept
    return (kept + footer + "\n")[:max_chars]
