"""GitLab Code Quality report: a JSON array of issues for the merge request widget.

- ``fail`` findings become issues with the finding's fingerprint, so GitLab's head/base comparison matches them
  across runs exactly as SARIF does.
- ``unknown`` findings become ``info`` issues ("could not be decided ...; needed: ..."), with a fingerprint derived
  from the finding's and its status, so a check that later fails shows up as a new issue rather than an old one.
- ``waived``, ``pass`` and ``not_applicable`` findings are not issues (they are in the JSON report).
- Repository-level findings (no file) are placed at ``REPO_FILE`` (``.annexa.yml``) line 1; a finding on a file
  without a line is placed at line 1 of that file.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from annexa.model import Finding, Severity, Status
from annexa.render import view
from annexa.report import Report

REPO_FILE = ".annexa.yml"

_SEVERITY = {
    Severity.CRITICAL: "blocker",
    Severity.HIGH: "critical",
    Severity.MEDIUM: "major",
    Severity.LOW: "minor",
    Severity.INFO: "info",
}


def render(report: Report) -> str:
    """The Code Quality array as indented JSON ending in a newline."""
    issues = [_issue(f) for f in report.findings if f.status in (Status.FAIL, Status.UNKNOWN)]
    return json.dumps(issues, indent=2) + "\n"


def _issue(f: Finding) -> dict[str, Any]:
    description = f"{f.rule}: {view.one_line(f.message)}"
    severity = _SEVERITY[f.severity]
    fingerprint = f.fingerprint
    if f.status is Status.UNKNOWN:
        description = (f"{f.rule} could not be decided: {view.one_line(f.message)}; "
                       f"needed: {view.one_line(view.needs(f))}")
        severity = "info"
        fingerprint = hashlib.sha256(f"unknown\0{f.fingerprint}".encode()).hexdigest()[:32]
    path = REPO_FILE
    line = 1
    if f.location is not None:
        path = f.location.path.removeprefix("./").lstrip("/")
        line = f.location.line or 1
    return {
        "type": "issue",
        "check_name": f.rule,
        "description": description,
        "categories": ["Security"],
        "severity": severity,
        "fingerprint": fingerprint,
        "location": {"path": path, "lines": {"begin": line}},
    }
