"""Plain terminal output rendered with rich: verdict, policies table, then findings grouped by status.

The console records without colour or ANSI codes so the output is the same on every terminal and in CI logs;
the header and policies table go through ``rich.text.Text`` (brackets are never read as rich markup) and
findings are wrapped with ``textwrap`` after ``view.one_line`` has neutralised control characters.
"""

from __future__ import annotations

import io
import textwrap

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from annexa.model import Finding, Severity, Status
from annexa.render import view
from annexa.report import Report

_SEVERITY = {
    Severity.CRITICAL: "CRITICAL",
    Severity.HIGH: "HIGH",
    Severity.MEDIUM: "MEDIUM",
    Severity.LOW: "LOW",
    Severity.INFO: "INFO",
}

_STATUS = {
    Status.PASS: "pass",
    Status.FAIL: "FAIL",
    Status.UNKNOWN: "unknown",
    Status.WAIVED: "waived",
    Status.NOT_APPLICABLE: "n/a",
}

_GROUP_TITLE = {
    "introduced": "FAIL — introduced by this change",
    "existing": "FAIL — already in the repository",
    "failures": "FAIL",
    "unknown": "UNKNOWN — what is needed to know",
    "waived": "WAIVED",
}


def render(report: Report, width: int = 100) -> str:
    """The report as plain text, ``width`` columns wide."""
    console = Console(
        file=io.StringIO(), record=True, width=width, force_terminal=False, force_jupyter=False,
        force_interactive=False, color_system=None, highlight=False, emoji=False, soft_wrap=False,
    )
    console.print(Text(f"annexa  {view.verdict_line(report)}"))
    console.print(Text(view.run_line(report)))
    console.print(Text(view.counts_line(report)))
    shown, more = view.blocking(report)
    if shown:
        named = ", ".join(f"{f.rule} at {view.where(f)}" for f in shown)
        console.print(Text(view.one_line(f"blocking: {named}" + (f" and {more} more" if more else ""))))
    if report.rules_from:
        console.print(Text(f"judged by: {report.rules_from}"))
    for pending in report.pending_changes:
        console.print(Text(f"not applied until merged (security owners' review): {pending.message}"))
    if report.policies:
        console.print()
        console.print(_policies(report))
    lines = [line.rstrip() for line in console.export_text(styles=False).splitlines()]
    for group in view.groups(report):
        lines += ["", f"{_GROUP_TITLE[group.key]} ({len(group.findings)})", *_group(report, group, width)]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _policies(report: Report) -> Table:
    table = Table(title=None, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    table.add_column("Policy", overflow="fold")
    table.add_column("Version")
    table.add_column("ISO 27001:2022 controls", overflow="fold")
    table.add_column("Status")
    for p in report.policies:
        table.add_row(
            Text(f"{p.title} ({p.id})"),
            Text(p.version),
            Text(", ".join(view.policy_controls(p)) or "-"),
            Text(_STATUS[p.status]),
        )
    return table


def _group(report: Report, group: view.Group, width: int) -> list[str]:
    """A group as hanging-indented lines: severity, rule and place, then the finding's details.

    Plain ``textwrap`` lines: rich costs about a millisecond per finding, too slow for reports with thousands.
    """
    lead = " " * _INDENT
    indent = " " * (_INDENT + _SEVERITY_WIDTH + 1)
    lines: list[str] = []
    for f in group.findings:
        severity = f"{_SEVERITY[f.severity]:<{_SEVERITY_WIDTH}} "
        lines += _wrap(f"{f.rule}  {view.where(f)}", width, lead + severity, indent)
        for detail in _details(report, group.key, f):
            lines += _wrap(detail, width, indent, indent)
    return lines


_INDENT = 2
_SEVERITY_WIDTH = 8


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    """``text`` made safe to print (see ``view.one_line``) and wrapped, long words folded."""
    safe = "  ".join(view.one_line(part) for part in text.split("  "))
    return textwrap.wrap(safe, width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=True, break_on_hyphens=False, drop_whitespace=True) or [first.rstrip()]


def _details(report: Report, key: str, f: Finding) -> list[str]:
    if key == "unknown":
        return [f.message, f"needed: {view.needs(f)}"]
    if key == "waived":
        w = view.waiver(f)
        return [f.message, f"waiver {w['ticket']}, approved by {w['approved_by']}, expires {w['expires']}",
                f"justification: {w['justification']}"]
    return [f.message, f"fix: {view.short_fix(report, f)}"]
