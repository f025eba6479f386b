"""The engine: requirements grouped per rule, waivers applied, introduced marked, crashes contained."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from annexa import engine
from annexa.collect.checkout import Checkout
from annexa.facts import Facts
from annexa.model import Location, Result, Status
from annexa.report import RunInfo
from annexa.rules.base import RuleContext
from tests.support import TODAY, git_commit_all, make_checkout

RAW = b"\x80\x04" + bytes(range(256))

POLICY = """\
id: POL-{id}
title: Policy {id}
version: "1"
owner: CISO
approved_by: CEO
approved_on: 2026-06-01
review_interval_months: 12
statement: Weights are stored where access is controlled.
controls: [{control}]
requirements:
  - rule: weights-in-lfs
    severity: {severity}
"""

CONFIG = """\
waivers:
  - rule: weights-in-lfs
    paths: ["models/waived.pt"]
    justification: legacy export, removed in SEC-9
    risk: low
    requested_by: "@bob"
    approved_by: "@alice"
    ticket: SEC-9
    expires: 2027-01-31
  - rule: weights-in-lfs
    paths: ["models/expired.pt"]
    justification: old
    risk: low
    requested_by: "@bob"
    approved_by: "@alice"
    ticket: SEC-8
    expires: 2026-01-31
"""

RUN = RunInfo("run-1", "2026-11-27T00:00:00+00:00", "local", "acme/x", "main", None, None)


def setup(tmp_path: Path) -> engine.Inputs:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "a.yml").write_text(POLICY.format(id="A", control="A.8.3", severity="high"))
    (policies / "b.yml").write_text(POLICY.format(id="B", control="A.5.15", severity="critical"))
    repo = tmp_path / "repo"
    make_checkout(repo, {".annexa.yml": CONFIG, "models/waived.pt": RAW, "models/expired.pt": RAW, "a.py": "x\n"})
    return engine.load_inputs(repo, policy_dirs=[policies])


def test_requirements_of_two_policies_run_once_with_the_highest_severity(tmp_path: Path) -> None:
    inputs = setup(tmp_path)
    report = engine.run_check(inputs, Facts("local", Checkout(tmp_path / "repo")), RUN, TODAY)
    lfs = {f.location.path: f for f in report.findings if f.rule == "weights-in-lfs" and f.location}
    assert set(lfs) == {"models/waived.pt", "models/expired.pt"}
    finding = lfs["models/expired.pt"]
    assert (finding.status, finding.severity.value, finding.controls, finding.policies) == (
        Status.FAIL, "critical", ("A.8.3", "A.5.15"), ("POL-A", "POL-B"),
    )
    assert finding.introduced is None
    assert finding.remediation.startswith("Track the format")


def test_valid_waiver_waives_and_expired_one_does_not(tmp_path: Path) -> None:
    inputs = setup(tmp_path)
    report = engine.run_check(inputs, Facts("local", Checkout(tmp_path / "repo")), RUN, TODAY)
    by_path = {f.location.path: f for f in report.findings if f.rule == "weights-in-lfs" and f.location}
    waived = by_path["models/waived.pt"]
    assert waived.status is Status.WAIVED
    assert waived.evidence["waiver"]["ticket"] == "SEC-9"
    assert by_path["models/expired.pt"].status is Status.FAIL
    assert report.verdict == "fail"
    policy_a = report.policies[0]
    assert (policy_a.id, policy_a.status, policy_a.requirements[0].status) == ("POL-A", Status.FAIL, Status.FAIL)
    assert [(c.id, c.status) for c in report.controls] == [("A.5.15", Status.FAIL), ("A.8.3", Status.FAIL)]


def test_fail_on_decides_the_verdict(tmp_path: Path) -> None:
    inputs = setup(tmp_path)
    strict = engine.run_check(inputs, Facts("local", Checkout(tmp_path / "repo")), RUN, TODAY)
    assert strict.verdict == "fail"
    from annexa.model import Severity

    relaxed = engine.load_inputs(tmp_path / "repo", policy_dirs=[tmp_path / "policies"], fail_on=Severity.CRITICAL)
    assert relaxed.config.fail_on is Severity.CRITICAL
    assert [f.location for f in engine.run_check(relaxed, Facts("local", Checkout(tmp_path / "repo")), RUN,
                                                  TODAY).blocking] == [Location("models/expired.pt")]


def test_introduced_marks_only_what_the_change_adds(tmp_path: Path) -> None:
    inputs = setup(tmp_path)
    repo = tmp_path / "repo"
    base = git_commit_all(repo, "base")
    (repo / "models" / "new.pt").write_bytes(RAW)
    checkout = Checkout(repo)
    facts = Facts("local", checkout, change=checkout.diff(base))
    report = engine.run_check(inputs, facts, RUN, TODAY)
    introduced = {(f.rule, f.location.path if f.location else None): f.introduced for f in report.findings}
    # weights-in-lfs has scope: repository, so what is already there is reported too, as not introduced
    assert introduced == {("weights-in-lfs", "models/new.pt"): True, ("weights-in-lfs", "models/waived.pt"): False,
                          ("weights-in-lfs", "models/expired.pt"): False}


def test_a_crashing_rule_becomes_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx: RuleContext) -> Iterable[Result]:
        raise KeyError("boom")

    monkeypatch.setattr(engine, "registry", lambda: {"weights-in-lfs": broken})
    inputs = setup(tmp_path)
    report = engine.run_check(inputs, Facts("local", Checkout(tmp_path / "repo")), RUN, TODAY)
    [finding] = report.findings
    assert (finding.status, finding.evidence["error"]) == (Status.UNKNOWN, "KeyError")
    assert "could not be evaluated" in finding.message


def test_fingerprint_survives_line_shifts_but_not_path_changes() -> None:
    from annexa.model import fingerprint

    assert fingerprint("r", Location("a.py", 3), "k") == fingerprint("r", Location("a.py", 30), "k")
    assert fingerprint("r", Location("a.py", 3), "k") != fingerprint("r", Location("b.py", 3), "k")


def test_unknown_rule_in_config_waiver_is_an_input_error(tmp_path: Path) -> None:
    from annexa.errors import InputErrors

    repo = tmp_path / "repo"
    make_checkout(repo, {".annexa.yml": "waivers:\n  - rule: no-such-rule\nparams:\n  approvals-required: {mni: 1}\n"})
    with pytest.raises(InputErrors) as caught:
        engine.load_inputs(repo, policy_dirs=[])
    assert [str(e) for e in caught.value.errors] == [
        ".annexa.yml:2: waivers.0.rule: unknown rule id 'no-such-rule'",
        ".annexa.yml:4: params.approvals-required.mni: rule approvals-required has no parameter 'mni'",
    ]


def test_same_key_twice_in_a_file_gets_two_fingerprints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def twice(ctx: RuleContext) -> Iterable[Result]:
        yield Result(Status.FAIL, "same", Location("a.py", 9), key="k")
        yield Result(Status.FAIL, "same", Location("a.py", 2), key="k")

    monkeypatch.setattr(engine, "registry", lambda: {"weights-in-lfs": twice})
    report = engine.run_check(setup(tmp_path), Facts("local", Checkout(tmp_path / "repo")), RUN, TODAY)
    first, second = report.findings
    assert (first.location, second.location) == (Location("a.py", 2), Location("a.py", 9))
    from annexa.model import fingerprint

    assert first.fingerprint == fingerprint("weights-in-lfs", Location("a.py"), "k")
    assert second.fingerprint not in (first.fingerprint, "")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("check", [("fail", "high", "app.py"), ("fail", "high", "tests/fixtures/k.py")]),
        ("low", [("fail", "high", "app.py"), ("fail", "low", "tests/fixtures/k.py")]),
        ("skip", [("fail", "high", "app.py")]),
    ],
)
def test_test_paths_parameter_lowers_or_skips_findings_in_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, expected: list[tuple[str, str, str]]
) -> None:
    def two(ctx: RuleContext) -> Iterable[Result]:
        yield Result(Status.FAIL, "in app", Location("app.py", 3))
        yield Result(Status.FAIL, "in a test fixture", Location("tests/fixtures/k.py", 1))

    monkeypatch.setattr(engine, "registry", lambda: {"no-secrets-in-change": two})
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "p.yml").write_text(
        POLICY.format(id="S", control="A.8.28", severity="high").replace("weights-in-lfs", "no-secrets-in-change")
        + f"    params: {{test_paths: {setting}}}\n"
    )
    repo = tmp_path / "repo"
    make_checkout(repo, {"app.py": "x\n"})
    report = engine.run_check(engine.load_inputs(repo, policy_dirs=[policies]), Facts("local", Checkout(repo)), RUN,
                              TODAY)
    got = [(f.status.value, f.severity.value, f.location.path if f.location else "") for f in report.findings]
    assert got == expected


def test_a_waiver_the_report_calls_invalid_waives_nothing(tmp_path: Path) -> None:
    """A policy shortens waivers-valid.max_days: the same resolution (catalog < policy < config) decides both
    the waivers-valid finding and whether the waiver is honoured."""
    policies = tmp_path / "policies"
    policies.mkdir()
    strict = POLICY.format(id="A", control="A.8.3", severity="high") + (
        "  - rule: waivers-valid\n    severity: medium\n    params: {max_days: 30}\n")
    (policies / "a.yml").write_text(strict)
    repo = tmp_path / "repo"
    make_checkout(repo, {".annexa.yml": CONFIG, "models/waived.pt": RAW})
    inputs = engine.load_inputs(repo, policy_dirs=[policies])
    assert engine.max_waiver_days(inputs) == 30
    report = engine.run_check(inputs, Facts("local", Checkout(repo)), RUN, TODAY)
    found = {(f.rule, f.location.path if f.location else None, f.location.line if f.location else None): f.status
             for f in report.findings}
    assert found == {("weights-in-lfs", "models/waived.pt", None): Status.FAIL,
                     ("waivers-valid", ".annexa.yml", 2): Status.FAIL,
                     ("waivers-valid", ".annexa.yml", 10): Status.FAIL}


def test_rule_params_resolve_catalog_policy_and_config_once(tmp_path: Path) -> None:
    inputs = setup(tmp_path)
    assert engine.rule_params(inputs, "waivers-valid") == [{"max_days": 365}]
    assert engine.rule_params(inputs, "weights-in-lfs") == [
        {k: v for k, v in inputs.catalog["weights-in-lfs"].defaults().items()}]
