"""Plain terminal output rendered with rich: verdict, policies table, then findings grouped by status.

Without ``color`` the console records no ANSI codes, so the output is the same in every CI log; with it (a TTY
without NO_COLOR) severities, verdict and fixes are coloured. Everything goes through ``rich.text.Text`` (brackets
are never read as rich markup); findings are wrapped with ``textwrap`` after ``view.one_line`` has neutralised
control characters, so output fits ``width`` columns.
"""

from __future__ import annotations

import io
import textwrap

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from annexa.model import Severity, Status
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


def render(report: Report, width: int = 100, color: bool = False, only: view.Filter = view.NO_FILTER) -> str:
    """The report as text, ``width`` columns wide (80 works); ANSI colour with ``color`` (a TTY, no NO_COLOR).

    Findings are grouped per rule: the count, the first ``view.MAX_LOCATIONS`` places and one fix. ``only``
    narrows the findings listed; the header still tells the verdict of the full run and what the filter hides.
    """
    console = Console(
        file=io.StringIO(), record=True, width=width, force_terminal=color, force_jupyter=False,
        force_interactive=False, color_system="standard" if color else None, highlight=False, emoji=False,
        soft_wrap=False,
    )
    verdict_style = "bold red" if report.verdict == "fail" else "bold green"
    console.print(Text(f"annexa  {view.verdict_line(report)}", style=verdict_style))
    console.print(Text(view.run_line(report)))
    console.print(Text(view.counts_line(report)))
    shown, more = view.blocking(report)
    if shown:
        named = ", ".join(f"{f.rule} at {view.where(f)}" for f in shown)
        console.print(Text(view.one_line(f"blocking: {named}" + (f" and {more} more" if more else ""))))
    note = view.filter_line(report, only)
    if note:
        console.print(Text(view.one_line(note), style="yellow"))
    if report.rules_from:
        console.print(Text(f"judged by: {report.rules_from}"))
    for pending in report.pending_changes:
        console.print(Text(f"not applied until merged (security owners' review): {pending.message}"))
    if report.policies:
        console.print()
        console.print(_policies(report))
    body: list[tuple[str, str]] = []
    for group in view.groups(report, only):
        rules = len({f.rule for f in group.findings})
        title = (f"{_GROUP_TITLE[group.key]} ({_count(len(group.findings), 'finding')}"
                 f"{', ' + _count(rules, 'rule') if rules > 1 else ''})")
        body += [("", ""), (title, "bold"), *_group(report, group, width)]
    if color:  # one rich Text for the whole body: a print per line costs about a millisecond
        styled = Text()
        for line, style in body:
            styled.append(line, style=style or None)
            styled.append("\n")
        console.print(styled, no_wrap=True, overflow="ignore", crop=False, end="")
        body = []
    lines = [line.rstrip() for line in console.export_text(styles=color).splitlines()]
    return "\n".join([*lines, *(line.rstrip() for line, _ in body)]) + "\n"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


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


_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "",
}


def _group(report: Report, group: view.Group, width: int) -> list[tuple[str, str]]:
    """A group as (line, style) pairs, per rule: severity, rule and count, then the first places, one fix.

    Lines are wrapped with ``textwrap`` (hanging indent) after ``view.one_line`` neutralised control characters.
    """
    lead = " " * _INDENT
    indent = " " * (_INDENT + _SEVERITY_WIDTH + 1)
    deeper = indent + "  "
    lines: list[tuple[str, str]] = []
    for rg in view.by_rule(group.findings):
        severity = f"{_SEVERITY[rg.severity]:<{_SEVERITY_WIDTH}} "
        single = len(rg.findings) == 1
        head = f"{rg.rule}  {view.where(rg.findings[0])}" if single else f"{rg.rule}  {len(rg.findings)} findings"
        style = _STYLE[rg.severity]
        lines += [(line, style) for line in _wrap(head, width, lead + severity, indent)]
        for f in rg.shown:
            text = f.message if single else f"{view.where(f)}  {f.message}"
            lines += [(line, "") for line in _wrap(text, width, indent, indent if single else deeper)]
            if group.key == "waived":
                w = view.waiver(f)
                detail = (f"waiver {w['ticket']}, approved by {w['approved_by']}, expires {w['expires']}; "
                          f"justification: {w['justification']}")
                sub = indent if single else deeper
                lines += [(line, "dim") for line in _wrap(detail, width, sub, sub)]
        if rg.more:
            lines += [(line, "dim") for line in _wrap(
                f"and {rg.more} more (all of them: --rule {rg.rule} --format json)", width, indent, indent)]
        if group.key == "waived":
            continue
        label = "needed" if group.key == "unknown" else "fix"
        values = view.distinct(view.needs(f) if group.key == "unknown" else view.short_fix(report, f)
                               for f in rg.findings)
        for value in values[:_MAX_FIXES]:
            lines += [(line, "green") for line in _wrap(f"{label}: {value}", width, indent, indent + "     ")]
        if len(values) > _MAX_FIXES:
            lines += [(line, "dim") for line in _wrap(
                f"and {len(values) - _MAX_FIXES} other {label} texts (--format json)", width, indent, indent)]
    return lines


_INDENT = 2
_SEVERITY_WIDTH = 8
_MAX_FIXES = 3


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    """``text`` made safe to print (see ``view.one_line``) and wrapped, long words folded."""
    safe = "  ".join(view.one_line(part) for part in text.split("  "))
    return textwrap.wrap(safe, width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=True, break_on_hyphens=False, drop_whitespace=True) or [first.rstrip()]
