"""Issue 13: values are validated before use: identifiers have maximum lengths, numbers types and ranges, and a
settings snapshot is checked against its schema (and the size limit) before any rule reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annexa.catalog import load_catalog, load_policies
from annexa.cli import main
from annexa.collect.snapshot import load_snapshot
from annexa.config import load_config
from annexa.errors import InputError, InputErrors
from tests.support import make_checkout

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = json.loads((ROOT / "examples" / "settings.json").read_text())


def messages(exc: InputError | InputErrors) -> list[str]:
    return [str(e) for e in (exc.errors if isinstance(exc, InputErrors) else [exc])]


@pytest.mark.parametrize(("text", "expected"), [
    ("owners:\n  " + "r" * 65 + ": ['@a']\n", ".annexa.yml:2: owners." + "r" * 65 + ": '" + "r" * 65
     + "' is too long"),
    ("owners:\n  security: ['@" + "a" * 300 + "']\n", ".annexa.yml:2: owners.security.0: '@" + "a" * 300
     + "' is too long"),
    ("waivers:\n  - rule: " + "a" * 101 + "\n", ".annexa.yml:2: waivers.0.rule: '" + "a" * 101 + "' is too long"),
    ("paths:\n  ci: ['" + "x" * 1025 + "']\n", ".annexa.yml:2: paths.ci.0: '" + "x" * 1025 + "' is too long"),
    ("waivers:\n  - rule: actions-pinned\n    ticket: 10000000000000000\n",
     ".annexa.yml:3: waivers.0.ticket: 10000000000000000 is greater than the maximum of 1000000000000000"),
])
def test_config_identifiers_and_numbers_are_bounded(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / ".annexa.yml"
    path.write_text(text)
    with pytest.raises((InputError, InputErrors)) as caught:
        load_config(path, ".annexa.yml")
    assert messages(caught.value)[0] == expected


@pytest.mark.parametrize(("line", "expected"), [
    ("id: POL-" + "A" * 70, "policies/p.yml:1: id: 'POL-" + "A" * 70 + "' is too long"),
    ("version: 10000000", "policies/p.yml:3: version: 10000000 is greater than the maximum of 1000000"),
    ("review_interval_months: 1" + "0" * 4000, "policies/p.yml:7: review_interval_months: 1" + "0" * 4000
     + " is greater than the maximum of 36"),
    ("review_interval_months: 1" + "0" * 4300, "policies/p.yml:7: review_interval_months: refused: an integer of "
     "4,301 digits (at most 4,300)"),
])
def test_policy_fields_are_bounded(tmp_path: Path, line: str, expected: str) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    base = {"id": "POL-T", "title": "Test", "version": '"1"', "owner": "CISO", "approved_by": "CEO",
            "approved_on": "2026-06-01", "review_interval_months": "12",
            "statement": "Policies are approved and reviewed on time.", "controls": "[A.5.1]",
            "requirements": "\n  - rule: policy-reviewed"}
    key = line.split(":")[0]
    (folder / "p.yml").write_text("".join(f"{line}\n" if k == key else f"{k}: {v}\n" for k, v in base.items()))
    with pytest.raises((InputError, InputErrors)) as caught:
        load_policies([folder], load_catalog(), tmp_path)
    assert messages(caught.value) == [expected]


@pytest.mark.parametrize(("value", "expected"), [
    ("1001", ".value: 1001 is greater than the maximum of 1000"),
    ("1e99999", ".value: inf is not valid under any of the given schemas"),
    ("-1", ".value: -1 is less than the minimum of 0"),
    ("1" + "0" * 4300, ".value: refused: an integer of 4,301 digits (at most 4,300)"),
])
def test_snapshot_approvals_are_a_bounded_integer(tmp_path: Path, value: str, expected: str) -> None:
    path = tmp_path / "settings.json"
    text = json.dumps(SNAPSHOT, indent=2).replace('"required_approvals": {\n        "value": 1,',
                                                  f'"required_approvals": {{\n        "value": {value},')
    assert value in text
    path.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.strip().startswith('"required_approvals"'))
    with pytest.raises((InputError, InputErrors)) as caught:
        load_snapshot(path)
    assert messages(caught.value) == [f"{path}:{line + 1}: branches.main.required_approvals{expected}"]


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.update(repository="o/" + "r" * 600), "repository"),
    (lambda d: d["branches"].update({"b" * 300: {}}), "branches"),
    (lambda d: d.update(codeowners_errors=[{"line": 10 ** 30}]), "codeowners_errors"),
    (lambda d: d.update(codeowners_errors=[{"evil": 1}]), "codeowners_errors"),
])
def test_snapshot_strings_and_error_items_are_bounded(tmp_path: Path, mutate: object, field: str) -> None:
    doc = json.loads(json.dumps(SNAPSHOT))
    mutate(doc)  # type: ignore[operator]
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(doc))
    with pytest.raises((InputError, InputErrors)) as caught:
        load_snapshot(path)
    assert [e.split(": ")[1].split(".")[0] for e in messages(caught.value)] == [field]


def test_check_refuses_a_bad_snapshot_before_any_rule_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    make_checkout(tmp_path / "repo", {"README.md": "hi\n"})
    bad = tmp_path / "settings.json"
    bad.write_text(json.dumps({**SNAPSHOT, "default_branch": "m" * 300}))
    import annexa.cli

    def no_rules(*_a: object, **_k: object) -> None:
        raise AssertionError("a rule ran")

    monkeypatch.setattr(annexa.cli, "run_check", no_rules)
    assert main(["check", str(tmp_path / "repo"), "--settings", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1: default_branch: '" + "m" * 300 + "' is too long" in err


def test_oversized_snapshot_is_refused_by_size(tmp_path: Path) -> None:
    bad = tmp_path / "settings.json"
    bad.write_text(json.dumps({**SNAPSHOT, "repository": "x" * (3 * 1024 * 1024)}))
    with pytest.raises(InputError) as caught:
        load_snapshot(bad)
    assert str(caught.value) == f"{bad}: {bad.stat().st_size:,} bytes, over the 2,097,152-byte input limit"


def test_yaml_snapshot_is_held_to_the_same_schema_and_limits(tmp_path: Path) -> None:
    path = tmp_path / "settings.yml"
    path.write_text("platform: github\nrepository: o/r\nbranches:\n  main:\n    required_approvals: &n 1\n"
                    "    required_approvals: 0\n")
    with pytest.raises(InputError) as caught:
        load_snapshot(path)
    assert str(caught.value) == (f"{path}:6: branches.main.required_approvals: refused: duplicate key "
                                 "'required_approvals' (first at line 5)")


@pytest.mark.parametrize(("value", "problem"), [
    ("[release/*, [nested]]", "item 1 must be text, not a list"),
    ("[{a: 1}]", "item 0 must be text, not a mapping"),
    ("[1]", "item 0 must be text, not a whole number"),
    ("['" + "x" * 1001 + "']", "item 0 is longer than 1,000 characters"),
])
def test_list_parameters_are_lists_of_bounded_text(tmp_path: Path, value: str, problem: str) -> None:
    path = tmp_path / ".annexa.yml"
    path.write_text(f"params:\n  approvals-required:\n    branches: {value}\n")
    with pytest.raises(InputErrors) as caught:
        load_config(path, ".annexa.yml", {rule: spec.params for rule, spec in load_catalog().items()})
    assert messages(caught.value) == [f".annexa.yml:3: params.approvals-required.branches: {problem}"]
