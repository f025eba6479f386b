"""SARIF 2.1.0 for GitHub code scanning and any SARIF viewer.

One ``reportingDescriptor`` per rule in the report, with the catalog text as help. Results are emitted for
``fail`` (level from the finding's severity), ``unknown`` (level ``note``, "could not be decided") and
``waived`` (with an ``external`` suppression carrying the waiver). Passing and not-applicable findings are not
results: they are evidence for auditors, kept in the JSON report.

Repository-level findings (settings, no file) get the physical location ``REPO_FILE`` (``.annexa.yml``, line 1),
because GitHub only displays results that have a file and a start line, plus a logical location naming the
repository and ``properties.repositoryLevel = true``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from annexa import __version__
from annexa.catalog import RuleSpec
from annexa.model import Finding, Severity, Status
from annexa.render import view
from annexa.report import Report

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://annexa.dev"
RULE_HELP_URI = "https://annexa.dev/rules/{}"
FINGERPRINT_KEY = "annexa/v1"
REPO_FILE = ".annexa.yml"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}

# GitHub code scanning reads ``security-severity`` (a CVSS-like score) to label alerts critical/high/medium/low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
}

_RESULT_STATUSES = (Status.FAIL, Status.UNKNOWN, Status.WAIVED)


def render(report: Report) -> str:
    """The SARIF log as indented JSON ending in a newline."""
    rule_ids = sorted({*report.rules, *(f.rule for f in report.findings if f.status in _RESULT_STATUSES)})
    index = {rule: i for i, rule in enumerate(rule_ids)}
    controls = _rule_controls(report)
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "annexa",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [
                            _descriptor(rule, report.rules.get(rule), controls.get(rule, [])) for rule in rule_ids
                        ],
                    }
                },
                "results": [
                    _result(report, f, index[f.rule]) for f in report.findings if f.status in _RESULT_STATUSES
                ],
                "columnKind": "unicodeCodePoints",
                "properties": {
                    "verdict": report.verdict,
                    "failOn": report.fail_on.value,
                    "summary": report.summary,
                },
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def _rule_controls(report: Report) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for policy in report.policies:
        for req in policy.requirements:
            found.setdefault(req.rule, set()).update(req.controls)
    for f in report.findings:
        found.setdefault(f.rule, set()).update(f.controls)
    return {rule: sorted(cs, key=view.control_key) for rule, cs in found.items()}


def _descriptor(rule: str, spec: RuleSpec | None, controls: list[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {"tags": ["security", "compliance", "iso27001", *controls]}
    if spec is None:
        return {"id": rule, "name": _name(rule), "helpUri": RULE_HELP_URI.format(rule), "properties": properties}
    properties["tags"].insert(2, spec.family)
    if spec.severity in _SECURITY_SEVERITY:
        properties["security-severity"] = _SECURITY_SEVERITY[spec.severity]
    refs = "".join(f"\n- {ref}" for ref in spec.references)
    markdown = f"**Why.** {spec.why}\n\n**Fix.** {spec.fix}"
    if refs:
        markdown += f"\n\n**References**{refs}"
    return {
        "id": rule,
        "name": _name(rule),
        "shortDescription": {"text": spec.title},
        "fullDescription": {"text": spec.question},
        "help": {"text": f"{spec.why}\n\nFix: {spec.fix}", "markdown": markdown},
        "helpUri": RULE_HELP_URI.format(rule),
        "defaultConfiguration": {"level": _LEVEL[spec.severity]},
        "properties": properties,
    }


def _name(rule: str) -> str:
    """``weights-in-lfs`` -> ``WeightsInLfs`` (SARIF names are identifier-like)."""
    return "".join(part.capitalize() for part in rule.split("-"))


def _result(report: Report, f: Finding, rule_index: int) -> dict[str, Any]:
    message = view.one_line(f.message)
    level = _LEVEL[f.severity]
    if f.status is Status.UNKNOWN:
        level = "note"
        message = f"could not be decided: {message} (needed: {view.one_line(view.needs(f))})"
    properties: dict[str, Any] = {
        "status": f.status.value,
        "severity": f.severity.value,
        "policies": list(f.policies),
        "controls": list(f.controls),
        "introduced": f.introduced,
    }
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level,
        "message": {"text": message},
        "locations": [_location(report, f)],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": properties,
    }
    if f.location is None:
        properties["repositoryLevel"] = True
    if f.status is Status.WAIVED:
        w = view.waiver(f)
        result["suppressions"] = [{
            "kind": "external",
            "status": "accepted",
            "justification": (f"{view.one_line(w['justification'])} (waiver {w['ticket']}, "
                              f"approved by {w['approved_by']}, expires {w['expires']})"),
        }]
    return result


def _location(report: Report, f: Finding) -> dict[str, Any]:
    if f.location is None:
        return {
            "physicalLocation": {"artifactLocation": {"uri": REPO_FILE}, "region": {"startLine": 1}},
            "logicalLocations": [{"fullyQualifiedName": report.run.repository, "kind": "resource"}],
        }
    region: dict[str, int] = {"startLine": f.location.line or 1}
    if f.location.line and f.location.end_line and f.location.end_line > f.location.line:
        region["endLine"] = f.location.end_line
    uri = quote(f.location.path.removeprefix("./"), safe="/-._~")
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}
