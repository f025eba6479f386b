"""Reports a person can read at scale: hundreds of findings of a few rules are grouped per rule in text and
markdown (count, first places, one fix), kept whole in JSON/SARIF/Code Quality; fixes are never cut mid-code."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from annexa.model import Finding, Location, Severity, Status, fingerprint
from annexa.render import render, view
from annexa.report import Report
from tests.render.conftest import GOLDEN, SPECS, canonical_report

LONG_FIX = ("Pin the model with `from_pretrained(name, revision=\"0123456789abcdef0123456789abcdef01234567\")`. "
            "Use the full commit hash of the model repository, not a branch or tag name, because a branch moves. "
            "Then record it.\n\n```python\nmodel = AutoModel.from_pretrained(name, revision=SHA)\n```\n")


def _many(rule: str, n: int, severity: Severity, introduced: bool | None, fix: str | None = None) -> list[Finding]:
    out = []
    for i in range(n):
        loc = Location(f"src/pkg{i % 7}/mod{i}.py", 10 + i)
        out.append(Finding(rule=rule, status=Status.FAIL, severity=severity, message=f"{rule} hit number {i}",
                           location=loc, controls=("A.8.28",), policies=("secure-development",),
                           introduced=introduced, fingerprint=fingerprint(rule, loc, str(i)), evidence={},
                           remediation=fix or SPECS[rule].fix, fix=fix))
    return out


def large_report() -> Report:
    base = canonical_report()
    rules = {**base.rules, "model-revision-pinned": replace(base.rules["model-revision-pinned"], fix=LONG_FIX)}
    findings = (*_many("model-revision-pinned", 300, Severity.INFO, False),
                *_many("actions-pinned", 120, Severity.MEDIUM, False),
                *_many("actions-pinned", 40, Severity.MEDIUM, True),
                *_many("no-secrets-in-change", 3, Severity.CRITICAL, True,
                       fix='Revoke this OpenAI API Key. Read it from `os.environ["OPENAI_API_KEY"]`.'))
    return replace(base, findings=findings, policies=(), rules=rules)


@pytest.mark.parametrize(("fmt", "name"), [("text", "large.txt"), ("markdown", "large.md")])
def test_large_report_matches_golden(fmt: str, name: str, update_golden: bool) -> None:
    out = render(large_report(), fmt, **({"width": 80} if fmt == "text" else {}))
    path = GOLDEN / name
    if update_golden:
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8"), f"{fmt} differs from {name}; run pytest --update-golden"


def test_text_groups_per_rule_with_count_first_places_and_one_fix() -> None:
    txt = render(large_report(), "text", width=80)
    assert max(len(line) for line in txt.splitlines()) <= 80
    assert "FAIL — already in the repository (420 findings, 2 rules)" in txt
    assert "INFO     model-revision-pinned  300 findings" in txt
    assert txt.count("model-revision-pinned hit number") == view.MAX_LOCATIONS
    assert "and 295 more (all of them: --rule model-revision-pinned --format json)" in " ".join(txt.split())
    assert txt.count("fix: Pin the model") == 1
    assert len(txt.splitlines()) < 80


def test_markdown_keeps_introduced_split_and_groups_inside_each_part() -> None:
    md = render(large_report(), "markdown")
    after = md.split("### Introduced by this change (43)")[1]
    introduced, existing = after.split("### Already in the repository (420)")
    assert "`actions-pinned` · 40 findings" in introduced and "`actions-pinned` · 120 findings" in existing
    assert "`no-secrets-in-change` · 3 findings" in introduced
    assert md.count("**Fix:** Pin the model") == 1
    assert '`os.environ["OPENAI_API_KEY"]`' in md  # the finding's own fix, not the catalog's


@pytest.mark.parametrize("fmt", ["json", "sarif", "codequality"])
def test_machine_formats_keep_every_finding(fmt: str) -> None:
    out = json.loads(render(large_report(), fmt))
    items = {"json": lambda d: d["findings"], "sarif": lambda d: d["runs"][0]["results"],
             "codequality": lambda d: d}[fmt](out)
    assert len(items) == 463


def test_fix_is_cut_at_a_sentence_boundary_never_inside_code() -> None:
    f = large_report().findings[0]
    short = view.short_fix(large_report(), f)
    assert short == ('Pin the model with `from_pretrained(name, revision="0123456789abcdef0123456789abcdef01234567")`. '
                     "Use the full commit hash of the model repository, not a branch or tag name, because a branch "
                     "moves. More: `annexa explain model-revision-pinned`.")
    assert short.count("`") % 2 == 0


def test_a_sentence_end_inside_a_code_span_is_not_a_boundary() -> None:
    assert view.sentences_of("Run `a. Then b` now. Next step.") == ["Run `a. Then b` now.", "Next step."]
    assert view.shorten("Do this:\n```sh\nx\n```\n", 200) == ("Do this:", True)


def test_colour_only_when_asked() -> None:
    plain = render(large_report(), "text", width=80)
    coloured = render(large_report(), "text", width=80, color=True)
    assert "\x1b[" not in plain and "\x1b[" in coloured


def test_filter_narrows_the_listing_and_names_hidden_blocking_failures() -> None:
    report = large_report()
    only = view.Filter(rules=frozenset({"model-revision-pinned"}))
    txt = render(report, "text", width=80, only=only)
    assert txt.startswith("annexa  FAIL: 3 blocking failures at or above high")
    assert ("filtered (--rule model-revision-pinned): showing 300 of 463 failed, unknown and waived findings; "
            "3 blocking failures are hidden by the filter (the verdict and exit code count") in " ".join(txt.split())
    assert "actions-pinned" not in txt.split("filtered")[1]
    md = render(report, "markdown", only=view.Filter(min_severity=Severity.MEDIUM))
    assert "model-revision-pinned" not in md and "_filtered (--min-severity medium): showing 163 of 463" in md


def test_markdown_links_the_full_report_when_findings_are_not_listed_one_by_one() -> None:
    md = render(large_report(), "markdown", full_report_url="https://ci.example/run/1")
    assert md.endswith("_445 findings not listed one by one; see the full report: https://ci.example/run/1._\n")
    assert "not listed one by one" not in render(large_report(), "markdown")
