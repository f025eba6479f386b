"""The report in the ``annexa.report/v1`` JSON format of DESIGN.md (evidence redacted by ``Report.to_json``)."""

from __future__ import annotations

import json

from annexa.report import Report


def render(report: Report) -> str:
    """``report.to_json()`` indented by two spaces, ending in a newline."""
    return json.dumps(report.to_json(), indent=2, sort_keys=False) + "\n"
