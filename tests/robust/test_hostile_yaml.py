"""Issue 13: hostile YAML (alias bombs, cycles, deep nesting, huge documents) ends in a clear answer, fast."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from annexa.config import load_config
from annexa.errors import InputError, InputErrors
from annexa.model import Status
from annexa.yamlio import MAX_BYTES, parse_document
from tests.workflows.common import results

WF = ".github/workflows/ci.yml"
WORKFLOW_RULES = ("workflow-permissions-scoped", "actions-pinned", "untrusted-checkout-blocked",
                  "script-injection-blocked")


def laughs(levels: int = 9) -> str:
    """The billion-laughs document: each level holds nine aliases of the level before."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


CASES = {
    "alias-bomb": (laughs(), "laughs:6: refused: expands to more than 200,000 values (aliases)"),
    "alias-cycle": ("a: &a [*a]\n", "alias-cycle:1: refused: an alias refers to a value that contains it (cycle)"),
    "deep-flow-list": ("[" * 30000 + "]" * 30000, "deep-flow-list:1: refused: nested deeper than 150 levels"),
    "deep-block-map": ("".join(f"{'  ' * i}k:\n" for i in range(400)),
                       "deep-block-map:150: refused: nested deeper than 150 levels"),
    "many-aliases": ("a: &a 1\nb: [" + ", ".join(["*a"] * 1001) + "]\n",
                     "many-aliases:2: refused: more than 1,000 aliases"),
    "huge": ("x: '" + "a" * MAX_BYTES + "'\n", "huge: refused: larger than 2,097,152 characters"),
    "big-int": ("x: " + "9" * 5000 + "\n", "big-int:1: x: refused: an integer of 5,000 digits (at most 4,300)"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_documents_are_clear_errors_within_a_second_or_two(name: str) -> None:
    text, expected = CASES[name]
    label = "laughs" if name == "alias-bomb" else name
    start = time.monotonic()
    with pytest.raises(InputError) as caught:
        parse_document(text, label)
    assert str(caught.value) == expected
    assert time.monotonic() - start < 10


def test_anchors_within_limits_still_work() -> None:
    doc = parse_document("base: &b {x: 1}\nuse: *b\nwhen: 2026-01-01\n", "ok")
    assert doc.data == {"base": {"x": 1}, "use": {"x": 1}, "when": "2026-01-01"}
    assert doc.lines[("use",)] == 2


def test_config_alias_bomb_exits_with_file_and_limit(tmp_path: Path) -> None:
    path = tmp_path / ".annexa.yml"
    path.write_text(laughs())
    with pytest.raises(InputError, match=r"^\.annexa\.yml:6: refused: expands to more than 200,000 values"):
        load_config(path, ".annexa.yml")


@pytest.mark.parametrize("rule", WORKFLOW_RULES)
@pytest.mark.parametrize("content", [laughs(), "a: &a [*a]\n", "[" * 30000 + "]" * 30000],
                         ids=["alias-bomb", "alias-cycle", "deep"])
def test_hostile_workflow_is_unknown_naming_the_file(tmp_path: Path, rule: str, content: str) -> None:
    start = time.monotonic()
    found = results(rule, tmp_path, {WF: content})
    assert [(r.status, r.location.path if r.location else None) for r in found] == [(Status.UNKNOWN, WF)]
    assert "refused" in found[0].message
    assert time.monotonic() - start < 20


@pytest.mark.parametrize(("value", "problem"), [
    ("1e99999", "must be a number, not text"),
    ("!!float 1e99999", "must be a whole number, not an infinite or NaN number"),
    ("1.5", "must be a whole number, not a fraction"),
    ("-1", "must be between 0 and 100"),
    ("101", "must be between 0 and 100"),
    ("!!float .inf", "must be a whole number, not an infinite or NaN number"),
    ("1" + "0" * 5000, "refused: an integer of 5,001 digits (at most 4,300)"),
    ("1" + "0" * 4000, "must be between 0 and 100"),
    ("true", "must be a number, not true/false"),
])
def test_approvals_min_must_be_a_small_non_negative_integer(tmp_path: Path, value: str, problem: str) -> None:
    from annexa.catalog import load_catalog

    path = tmp_path / ".annexa.yml"
    path.write_text(f"params:\n  approvals-required:\n    min: {value}\n")
    catalog = load_catalog()
    with pytest.raises((InputError, InputErrors)) as caught:
        load_config(path, ".annexa.yml", {rule: spec.params for rule, spec in catalog.items()})
    errors = caught.value.errors if isinstance(caught.value, InputErrors) else [caught.value]
    assert [str(e) for e in errors] == [f".annexa.yml:3: params.approvals-required.min: {problem}"]


def test_security_checks_in_ci_on_a_deep_workflow_is_not_a_rule_crash(tmp_path: Path) -> None:
    found = results("security-checks-in-ci", tmp_path, {WF: "on: pull_request\n" + "x: " + "[" * 30000 + "]" * 30000})
    assert [(r.status, r.evidence.get("errors")) for r in found] == [(Status.UNKNOWN, [f"{WF}:?: not valid YAML"])]
