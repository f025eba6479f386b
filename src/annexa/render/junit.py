"""JUnit XML: one test case per finding, so a CI test tab (GitLab's pipeline Tests tab) lists every rule.

- ``fail`` is a ``<failure>``: type ``blocking`` at or above ``fail_on``, else ``non-blocking``;
- ``unknown`` is an ``<error type="unknown">`` naming what would decide it (unknown is never a pass);
- ``waived`` and ``not_applicable`` are ``<skipped>`` with the reason; ``pass`` is a plain test case.

The suite is named after the repository; test cases are ``classname`` = rule id, ``name`` = rule and place.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from annexa.model import Finding, Status
from annexa.render import view
from annexa.report import Report


def render(report: Report) -> str:
    """The JUnit XML document, UTF-8, ending in a newline."""
    blocking = {id(f) for f in report.blocking}
    counts = report.summary
    suites = ET.Element("testsuites", name="annexa", tests=str(len(report.findings)))
    suite = ET.SubElement(
        suites, "testsuite", name=f"annexa {report.run.repository}", tests=str(len(report.findings)),
        failures=str(counts["fail"]), errors=str(counts["unknown"]),
        skipped=str(counts["waived"] + counts["not_applicable"]), timestamp=report.run.started_at,
    )
    for finding in report.findings:
        _case(suite, finding, id(finding) in blocking)
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _case(suite: ET.Element, f: Finding, blocking: bool) -> None:
    place = f": {view.where(f)}" if f.location is not None else ""
    case = ET.SubElement(suite, "testcase", classname=f.rule, name=f"{f.rule}{place}", time="0")
    message = view.one_line(f.message)
    if f.status is Status.FAIL:
        kind = "blocking" if blocking else "non-blocking"
        node = ET.SubElement(case, "failure", message=message, type=kind)
        node.text = f"{f.severity.value}: {f.message}" + (f"\nfix: {f.remediation}" if f.remediation else "")
    elif f.status is Status.UNKNOWN:
        node = ET.SubElement(case, "error", message=message, type="unknown")
        node.text = f"could not be decided; needed: {view.needs(f)}"
    elif f.status in (Status.WAIVED, Status.NOT_APPLICABLE):
        ET.SubElement(case, "skipped", message=f"{f.status.value}: {message}")
    else:
        ET.SubElement(case, "system-out").text = message
