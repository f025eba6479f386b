"""Policy document control and waiver validity, with the date frozen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from annexa.catalog import load_catalog, load_policies
from annexa.config import Config, Waiver
from annexa.model import Location, Status
from annexa.rules.governance import add_months
from tests.support import run_rule

POLICY = """\
id: POL-TEST
title: Test Policy
version: "1.0"
owner: CISO
approved_by: {approved_by}
approved_on: {approved_on}
review_interval_months: 12
statement: A statement of intent that is long enough.
controls: [A.5.1]
requirements:
  - rule: policy-reviewed
"""


def policy(tmp_path: Path, approved_by: str = "CEO", approved_on: str = "2026-01-10") -> Path:
    folder = tmp_path / "policies"
    folder.mkdir(exist_ok=True)
    (folder / "test.yml").write_text(POLICY.format(approved_by=approved_by, approved_on=approved_on))
    return folder


@pytest.mark.parametrize(
    ("approved_by", "approved_on", "status", "line", "message"),
    [
        ("CEO", "2026-01-10", Status.PASS, 5, "approved by CEO on 2026-01-10"),
        ("null", "2026-01-10", Status.FAIL, 5, "no record of approval (approved_by)"),
        ("CEO", "null", Status.FAIL, 5, "no record of approval (approved_on)"),
        ("CISO", "2026-01-10", Status.FAIL, 5, "approved by its own owner"),
        ("CEO", "2027-01-10", Status.FAIL, 5, "approved in the future"),
    ],
)
def test_policy_approved(tmp_path: Path, approved_by: str, approved_on: str, status: Status, line: int,
                         message: str) -> None:
    policies = tuple(load_policies([policy(tmp_path, approved_by, approved_on)], load_catalog(), tmp_path))
    [result] = run_rule("policy-approved", policies=policies)
    assert (result.status, result.location) == (status, Location("policies/test.yml", line))
    assert message in result.message


@pytest.mark.parametrize(
    ("approved_on", "status", "due"),
    [("2026-01-10", Status.PASS, "2027-01-10"), ("2025-11-28", Status.PASS, "2026-11-28"),
     ("2025-11-26", Status.FAIL, "2026-11-26")],
)
def test_policy_reviewed_within_interval(tmp_path: Path, approved_on: str, status: Status, due: str) -> None:
    policies = tuple(load_policies([policy(tmp_path, approved_on=approved_on)], load_catalog(), tmp_path))
    [result] = run_rule("policy-reviewed", policies=policies)
    assert (result.status, result.location, result.evidence["review_due"]) == (
        status, Location("policies/test.yml", 6), due,
    )


def test_builtin_policies_have_no_location_in_the_checkout() -> None:
    from annexa.catalog import builtin_dir

    policies = tuple(load_policies([builtin_dir("policies")], load_catalog()))
    results = run_rule("policy-approved", policies=policies)
    assert {r.status for r in results} == {Status.PASS}
    assert {r.location for r in results} == {None}
    assert sorted(r.evidence["policy"] for r in results) == ["POL-DATA", "POL-ISP", "POL-MAP", "POL-SCP", "POL-SDLC"]


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2026, 11, 15), 14) == dt.date(2028, 1, 15)


def waiver(index: int = 0, **fields: object) -> Waiver:
    base: dict[str, object] = {
        "rule": "actions-pinned", "paths": (), "justification": "vendor action", "risk": "low",
        "requested_by": "@bob", "approved_by": "@alice", "ticket": "SEC-1", "expires": dt.date(2027, 3, 31),
        "line": 10 + index, "index": index,
    }
    base.update(fields)
    return Waiver(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "status", "problem"),
    [
        ({}, Status.PASS, None),
        ({"expires": dt.date(2026, 11, 26)}, Status.FAIL, "expired on 2026-11-26"),
        ({"expires": dt.date(2026, 11, 27)}, Status.PASS, None),
        ({"approved_by": "@Bob"}, Status.FAIL, "self-approved: requested and approved by @Bob"),
        ({"ticket": None}, Status.FAIL, "missing ticket"),
        ({"justification": None, "risk": None}, Status.FAIL, "missing justification"),
        ({"expires": None}, Status.FAIL, "missing expires"),
        ({"expires": dt.date(2028, 6, 1)}, Status.FAIL, "expires on 2028-06-01, more than 365 days ahead"),
    ],
)
def test_waivers_valid(fields: dict[str, object], status: Status, problem: str | None) -> None:
    config = Config(waivers=(waiver(**fields),), source=".annexa.yml")
    [result] = run_rule("waivers-valid", config=config)
    assert (result.status, result.location) == (status, Location(".annexa.yml", 10))
    if problem:
        assert problem in result.evidence["problems"]


def test_no_waivers_is_not_applicable() -> None:
    [result] = run_rule("waivers-valid")
    assert result.status is Status.NOT_APPLICABLE
