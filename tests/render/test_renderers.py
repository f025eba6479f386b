"""Every renderer rendered from the one canonical report: golden files, SARIF schema, truncation, no secrets."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from annexa.model import Location, Status
from annexa.render import FORMATS, render
from annexa.render.markdown import MARKER
from annexa.report import Report
from tests.render.conftest import GOLDEN, HOSTILE, SECRET, canonical_report

GOLDEN_FILES = {
    "text": "report.txt",
    "json": "report.json",
    "markdown": "report.md",
    "sarif": "report.sarif",
    "codequality": "report.codequality.json",
    "junit": "report.junit.xml",
}

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"

LISTED = sum(1 for f in canonical_report().findings if f.status in (Status.FAIL, Status.UNKNOWN, Status.WAIVED))


@pytest.mark.parametrize("fmt", FORMATS)
def test_matches_golden(report: Report, fmt: str, update_golden: bool) -> None:
    out = render(report, fmt)
    path = GOLDEN / GOLDEN_FILES[fmt]
    if update_golden:
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8"), f"{fmt} differs from {path.name}; run pytest --update-golden"


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_from_evidence_in_output(report: Report, fmt: str) -> None:
    assert SECRET not in render(report, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_is_deterministic(fmt: str) -> None:
    assert render(canonical_report(), fmt) == render(canonical_report(), fmt)


def test_unknown_format_and_option_are_rejected(report: Report) -> None:
    with pytest.raises(ValueError, match="unknown format 'html'"):
        render(report, "html")
    with pytest.raises(ValueError, match="does not take max_chars"):
        render(report, "sarif", max_chars=10)


# --- json ---------------------------------------------------------------------------------------------------


def test_json_is_the_report_format_with_secret_keys_redacted(report: Report) -> None:
    data = json.loads(render(report, "json"))
    assert data == report.to_json()
    evidence = data["findings"][0]["evidence"]
    assert (evidence["api_token"], evidence["nested"], evidence["detector"]) == (
        "[redacted]", {"password": "[redacted]"}, "GitHubTokenDetector",
    )
    assert data["findings"][7]["evidence"] == {"needs": "a readable file", "token": "[redacted]"}


# --- sarif ----------------------------------------------------------------------------------------------------


def test_sarif_is_valid_against_the_oasis_schema(report: Report) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"].endswith("sarif-schema-2.1.0.json")
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(json.loads(render(report, "sarif"))), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_schema_validation_catches_a_broken_log(report: Report) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    log = json.loads(render(report, "sarif"))
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert not jsonschema.Draft7Validator(schema).is_valid(log)


def _sarif(report: Report) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render(report, "sarif"))
    return data


@pytest.mark.parametrize(
    ("index", "rule", "level", "uri", "line", "suppressed"),
    [
        (0, "no-secrets-in-change", "error", "src/train.py", 12, False),
        (1, "weights-in-lfs", "error", "models/classifier.safetensors", 1, False),
        (2, "branch-protected", "error", ".annexa.yml", 1, False),
        (3, "actions-pinned", "warning", ".github/workflows/ci.yml", 14, False),
        (4, "dataset-card-present", "note", "datasets/faces/data.csv", 1, False),
        (5, "model-revision-pinned", "note", "src/load.py", 3, False),
        (6, "secret-scanning-enabled", "note", ".annexa.yml", 1, False),
        (7, "codeowners-valid", "note", ".github/CODEOWNERS", 1, False),
        (8, "actions-pinned", "warning", ".github/workflows/legacy.yml", 7, True),
    ],
)
def test_sarif_results(
    report: Report, index: int, rule: str, level: str, uri: str, line: int, suppressed: bool
) -> None:
    run = _sarif(report)["runs"][0]
    result = run["results"][index]
    finding = report.findings[index]
    assert result["ruleId"] == rule
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == rule
    assert result["level"] == level
    physical = result["locations"][0]["physicalLocation"]
    assert (physical["artifactLocation"]["uri"], physical["region"]["startLine"]) == (uri, line)
    assert result["partialFingerprints"] == {"annexa/v1": finding.fingerprint}
    assert result["properties"]["policies"] == list(finding.policies)
    assert ("suppressions" in result) is suppressed


def test_sarif_lists_only_fail_unknown_and_waived(report: Report) -> None:
    results = _sarif(report)["runs"][0]["results"]
    assert [r["properties"]["status"] for r in results] == ["fail"] * 6 + ["unknown"] * 2 + ["waived"]


def test_sarif_unknown_says_what_is_needed(report: Report) -> None:
    result = _sarif(report)["runs"][0]["results"][6]
    assert result["message"]["text"] == (
        "could not be decided: Secret scanning status could not be read (needed: a token of a repository admin "
        "or security manager (security_and_analysis is hidden))"
    )
    assert result["locations"][0]["logicalLocations"] == [{"fullyQualifiedName": "acme/model-zoo", "kind": "resource"}]


def test_sarif_waiver_is_an_external_suppression(report: Report) -> None:
    result = _sarif(report)["runs"][0]["results"][8]
    assert result["suppressions"] == [{
        "kind": "external",
        "status": "accepted",
        "justification": "vendor action has no releases; reviewed manually "
                         "(waiver SEC-123, approved by @alice, expires 2027-03-31)",
    }]


def test_sarif_rule_descriptor_carries_catalog_text_and_controls(report: Report) -> None:
    rules = {r["id"]: r for r in _sarif(report)["runs"][0]["tool"]["driver"]["rules"]}
    assert sorted(rules) == sorted(report.rules)
    rule = rules["weights-in-lfs"]
    spec = report.rules["weights-in-lfs"]
    assert rule["shortDescription"] == {"text": spec.title}
    assert rule["fullDescription"] == {"text": spec.question}
    assert rule["help"]["text"] == f"{spec.why}\n\nFix: {spec.fix}"
    assert rule["helpUri"] == "https://annexa.dev/rules/weights-in-lfs"
    assert rule["defaultConfiguration"] == {"level": "error"}
    assert rule["properties"]["tags"] == ["security", "compliance", "lfs", "iso27001", "A.5.15", "A.8.3"]
    assert rule["properties"]["security-severity"] == "8.0"


# --- code quality ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "check", "severity", "path", "line"),
    [
        (0, "no-secrets-in-change", "blocker", "src/train.py", 12),
        (1, "weights-in-lfs", "critical", "models/classifier.safetensors", 1),
        (2, "branch-protected", "critical", ".annexa.yml", 1),
        (3, "actions-pinned", "major", ".github/workflows/ci.yml", 14),
        (4, "dataset-card-present", "minor", "datasets/faces/data.csv", 1),
        (5, "model-revision-pinned", "info", "src/load.py", 3),
        (6, "secret-scanning-enabled", "info", ".annexa.yml", 1),
        (7, "codeowners-valid", "info", ".github/CODEOWNERS", 1),
    ],
)
def test_codequality_issues(report: Report, index: int, check: str, severity: str, path: str, line: int) -> None:
    issues = json.loads(render(report, "codequality"))
    assert len(issues) == 8  # 6 fail + 2 unknown; the waived, passing and n/a findings are not issues
    issue = issues[index]
    assert (issue["check_name"], issue["severity"]) == (check, severity)
    assert issue["location"] == {"path": path, "lines": {"begin": line}}
    finding = report.findings[index]
    if finding.status is Status.FAIL:
        assert issue["fingerprint"] == finding.fingerprint
    else:
        assert issue["fingerprint"] != finding.fingerprint
        assert "could not be decided" in issue["description"]
        assert str(finding.evidence["needs"]) in issue["description"]


def test_codequality_paths_drop_leading_dot_slash(report: Report) -> None:
    moved = replace(report.findings[0], location=Location("./src/train.py", 12))
    issues = json.loads(render(replace(report, findings=(moved,)), "codequality"))
    assert issues[0]["location"] == {"path": "src/train.py", "lines": {"begin": 12}}


# --- markdown ------------------------------------------------------------------------------------------------


def test_markdown_marker_is_first_line_and_sections_are_in_order(report: Report) -> None:
    md = render(report, "markdown")
    assert md.splitlines()[0] == MARKER
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert headings == [
        "## ❌ annexa: FAIL: 3 blocking failures at or above high",
        "### Policies",
        "### Introduced by this change (3)",
        "### Already in the repository (3)",
        "### Unknown — what is needed to know (2)",
        "### Waived (1)",
    ]


def test_markdown_escapes_html_and_pipes(report: Report) -> None:
    md = render(report, "markdown")
    assert "<script>" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert r"evil/act@main \| not pinned" in md
    assert r"\*bold\* \[link\](x)" in md
    assert r"| Model Access \| Data (`model-access`) | 1.0 | A.5.15, A.5.21, A.5.34, A.8.3, A.8.11 | ❌ fail |" in md


def test_markdown_does_not_list_passing_findings(report: Report) -> None:
    md = render(report, "markdown")
    assert "models/encoder.safetensors" not in md
    assert "2 passed" in md


def test_markdown_without_base_has_one_failures_section(report: Report) -> None:
    local = replace(report, run=replace(report.run, pull_request=None, base=None, ref="refs/heads/main"))
    headings = [line for line in render(local, "markdown").splitlines() if line.startswith("###")]
    assert headings[:2] == ["### Policies", "### Failures (6)"]


def _shown_items(md: str) -> int:
    return sum(1 for line in md.splitlines() if line.startswith("- "))


FULL_MD = render(canonical_report(), "markdown")


@pytest.mark.parametrize("url", [None, "https://ci.example.invalid/acme/model-zoo/runs/1"])
@pytest.mark.parametrize("max_chars", [len(FULL_MD) - 1, len(FULL_MD) - 400, 2600, 1800, 1500])
def test_markdown_truncation_respects_the_limit(report: Report, max_chars: int, url: str | None) -> None:
    md = render(report, "markdown", max_chars=max_chars, full_report_url=url)
    assert len(md) <= max_chars
    assert md.splitlines()[0] == MARKER
    left_out = LISTED - _shown_items(md)
    assert left_out > 0
    last = md.rstrip("\n").splitlines()[-1]
    assert re.match(rf"^_{left_out} findings? (and \d+ polic(y|ies) )?left out to fit the comment size limit", last)
    if url:
        assert last.endswith(f"see the full report: {url}._")
    else:
        assert "job summary or the SARIF results" in last


def test_markdown_truncation_drops_bottom_sections_first(report: Report) -> None:
    md = render(report, "markdown", max_chars=len(FULL_MD) - 1)
    assert "### Waived" not in md
    assert "### Unknown — what is needed to know (2)" in md
    assert md.rstrip("\n").splitlines()[-1].startswith("_1 finding left out")


def test_markdown_within_limit_is_not_truncated(report: Report) -> None:
    assert render(report, "markdown", max_chars=len(FULL_MD)) == FULL_MD
    assert "left out" not in FULL_MD


def test_markdown_tiny_limit_still_respected(report: Report) -> None:
    md = render(report, "markdown", max_chars=400)
    assert len(md) <= 400
    assert md.startswith(MARKER + "\n")


# --- text ------------------------------------------------------------------------------------------------------


def test_text_is_plain_and_groups_by_status(report: Report) -> None:
    txt = render(report, "text")
    assert "\x1b[" not in txt
    order = [txt.index(h) for h in ("FAIL — introduced by this change (3 findings, 3 rules)",
                                     "FAIL — already in the repository (3 findings, 3 rules)",
                                     "UNKNOWN — what is needed to know (2 findings, 2 rules)", "WAIVED (1 finding)")]
    assert order == sorted(order)
    assert HOSTILE in txt  # terminals get the message verbatim, brackets not taken as rich markup
    assert max(len(line) for line in txt.splitlines()) <= 100


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [("text", ["\\u001b[2J", "\\u202eevil"]), ("markdown", ["\\\\u001b\\[2J", "\\\\u202eevil"])],
)
def test_control_characters_are_shown_not_sent(report: Report, fmt: str, shown: list[str]) -> None:
    nasty = replace(report.findings[3], message="pinned\x1b[2J? \u202eevil", location=Location("a\x1b]0;x\x07.yml", 2))
    out = render(replace(report, findings=(nasty,)), fmt)
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert all(text in out for text in shown)


def test_markdown_never_mentions_anyone(report: Report) -> None:
    owned = replace(report.findings[3], message="models/** is not owned by @acme/ml-owners; ask @bob or t@example.com")
    md = render(replace(report, findings=(owned,)), "markdown")
    assert "is not owned by `@acme/ml-owners`; ask `@bob` or t@example.com" in md


def test_markdown_fix_keeps_catalog_code_spans_and_neutralises_html(report: Report) -> None:
    spec = replace(report.rules["actions-pinned"], fix='Run `git lfs track "*.<ext>"` now <img src=x onerror=y>.')
    md = render(replace(report, rules={**report.rules, "actions-pinned": spec}), "markdown")
    assert '**Fix:** Run `git lfs track "*.<ext>"` now &lt;img src=x onerror=y&gt;.' in md


def test_a_pass_with_unknowns_says_they_were_not_checked(report: Report) -> None:
    from annexa.render.view import verdict_line

    only_unknown = replace(report, findings=tuple(f for f in report.findings if f.status is Status.UNKNOWN))
    count = len(only_unknown.findings)
    assert count
    assert verdict_line(only_unknown) == f"PASS: no failures; {count} unknown, not checked (see what is needed)"
    clean = replace(report, findings=tuple(f for f in report.findings if f.status is Status.PASS))
    assert verdict_line(clean) == "PASS: no failures"
