"""Plain terminal output rendered with rich: verdict, policies table, then findings grouped by status.

The console records without colour or ANSI codes so the output is the same on every terminal and in CI logs;
all report text goes through ``rich.text.Text`` so brackets in messages are never read as rich markup.
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.padding import Padding
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
    if report.policies:
        console.print()
        console.print(_policies(report))
    for group in view.groups(report):
        console.print()
        console.print(Text(f"{_GROUP_TITLE[group.key]} ({len(group.findings)})"))
        for f in group.findings:
            console.print(Padding(_finding(report, group.key, f), (0, 0, 0, 2)))
    return "\n".join(line.rstrip() for line in console.export_text(styles=False).splitlines()) + "\n"


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


def _finding(report: Report, key: str, f: Finding) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, min_width=8)
    grid.add_column(overflow="fold")
    grid.add_row(Text(_SEVERITY[f.severity]), Text(f"{f.rule}  {view.where(f)}"))
    grid.add_row(Text(""), Text(view.one_line(f.message)))
    if key == "unknown":
        grid.add_row(Text(""), Text(f"needed: {view.one_line(view.needs(f))}"))
    elif key == "waived":
        w = view.waiver(f)
        grid.add_row(Text(""), Text(f"waiver {w['ticket']}, approved by {w['approved_by']}, expires {w['expires']}"))
        grid.add_row(Text(""), Text(f"justification: {view.one_line(w['justification'])}"))
    else:
        grid.add_row(Text(""), Text(f"fix: {view.short_fix(report, f)}"))
    return grid
