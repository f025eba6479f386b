"""Issue 13: no recursion or quadratic work driven by input shape; rules never give up because of it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from annexa.config import load_config
from annexa.errors import InputError
from annexa.model import Status
from annexa.rules.workflows import _strip_parens
from tests.support import make_checkout, run_rule
from tests.workflows.common import results

WF = ".github/workflows/ci.yml"


def alias_chain(levels: int, width: int = 140) -> str:
    """Each anchor holds the previous one ``width`` levels down: small, but deeper than any limit once expanded."""
    lines = []
    for i in range(levels):
        inner = f"*a{i - 1}" if i else "x"
        lines.append(f"a{i}: &a{i} " + "[" * width + inner + "]" * width)
    return "\n".join(lines) + "\n"


def test_aliases_cannot_nest_a_document_past_the_depth_limit(tmp_path: Path) -> None:
    path = tmp_path / ".annexa.yml"
    path.write_text(alias_chain(12))
    with pytest.raises(InputError) as caught:
        load_config(path, ".annexa.yml")
    assert str(caught.value) == ".annexa.yml:2: refused: nested deeper than 150 levels once aliases are expanded"


def test_deep_alias_chain_in_a_workflow_is_unknown_naming_the_file(tmp_path: Path) -> None:
    found = results("actions-pinned", tmp_path, {WF: "on: push\njobs: {}\n" + alias_chain(12)})
    assert [(r.status, r.location.path if r.location else None, r.location.line if r.location else None)
            for r in found] == [(Status.UNKNOWN, WF, 4)]
    assert found[0].message.endswith("refused: nested deeper than 150 levels once aliases are expanded")


@pytest.mark.parametrize(("operand", "stripped"), [
    ("((a))", "a"), ("( (a) )", "a"), ("(a) || (b)", "(a) || (b)"), ("()", ""), ("(a", "(a"), (")a(", ")a("),
    ("((a) && (b))", "(a) && (b)"),
])
def test_strip_parens(operand: str, stripped: str) -> None:
    assert _strip_parens(operand) == stripped


def test_a_100000_deep_parenthesised_expression_is_judged_in_linear_time(tmp_path: Path) -> None:
    n = 100_000
    expr = "(" * n + "github.head_ref" + ")" * n
    wf = ("on: pull_request_target\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ " + expr
          + " }}\n")
    start = time.monotonic()
    found = results("script-injection-blocked", tmp_path, {WF: wf})
    assert time.monotonic() - start < 20  # was quadratic: 4,000 layers took 4.8 s, 100,000 would take ~50 min
    assert [(r.status, r.location.line if r.location else None, r.evidence.get("contexts")) for r in found] == [
        (Status.FAIL, 6, ["github.head_ref"])]


def test_gitlab_file_with_a_repeated_key_is_read_as_gitlab_reads_it_by_the_ci_checks(tmp_path: Path) -> None:
    ci = ("workflow:\n  rules: [{if: $CI_PIPELINE_SOURCE == 'merge_request_event'}]\n"
          "annexa:\n  script: [echo]\n  script: [annexa check --base origin/main]\n")
    [result] = run_rule("security-checks-in-ci", make_checkout(tmp_path, {".gitlab-ci.yml": ci}))
    assert (result.status, result.location.path if result.location else None,
            result.location.line if result.location else None) == (Status.PASS, ".gitlab-ci.yml", 5)


def test_a_pickle_nesting_50000_calls_is_judged_not_a_recursion_error() -> None:
    import io

    from annexa.scan.modelfiles import DEFAULT_ALLOWED_GLOBALS, Limits, scan_stream

    data = b"\x80\x02c__builtin__\nlen\n" + b"(S'y'\ntR" * 50_000 + b"."
    start = time.monotonic()
    report = scan_stream(io.BytesIO(data), len(data), Limits(), DEFAULT_ALLOWED_GLOBALS)
    assert time.monotonic() - start < 5
    deeper = "the result of calling " * 3 + "a call nested deeper still"
    assert [(i.kind.value, i.message, i.offset) for i in report.issues] == [
        ("unsafe-global", "imports __builtin__.len (not on the allowlist)", 2),
        ("unsafe-call", "REDUCE calls a computed object (the result of calling __builtin__.len), not an imported "
         "global", 34),
        ("unsafe-call", "REDUCE calls a computed object (the result of calling the result of calling __builtin__.len),"
         " not an imported global", 42),
        ("unsafe-call", "REDUCE calls a computed object (the result of calling the result of calling the result of "
         "calling __builtin__.len), not an imported global", 50),
        ("unsafe-call", f"REDUCE calls a computed object ({deeper}), not an imported global", 58),
        ("limit", "more than 100 issues in one pickle; the rest is not walked", 818),
    ]


@pytest.mark.parametrize(("count", "problem"), [
    ("9" * 5000, "approval count [" + "9" * 200 + "…] cannot be met (more than 9 digits)"),
    ("²", "approval count [²] is not a number"),
    ("٣", "approval count [٣] is not a number"),
])
def test_gitlab_section_approval_count_is_never_an_int_error(tmp_path: Path, count: str, problem: str) -> None:
    checkout = make_checkout(tmp_path, {".gitlab/CODEOWNERS": f"* @a\n[S][{count}] @b\n"})
    found = run_rule("codeowners-valid", checkout)
    assert [(r.status, r.location.path if r.location else None, r.location.line if r.location else None,
             r.message) for r in found] == [(Status.FAIL, ".gitlab/CODEOWNERS", 2, f".gitlab/CODEOWNERS:2: {problem}")]


@pytest.mark.parametrize("notebook", [
    '{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"cells": [{"source": ["x = 1"], "n": ' + "9" * 5000 + "}]}",
], ids=["100000-deep", "5000-digit-number"])
def test_notebook_json_past_the_json_reader_is_scanned_as_text(tmp_path: Path, notebook: str) -> None:
    found = run_rule("no-secrets-in-change", make_checkout(tmp_path, {"nb.ipynb": notebook}))
    assert [(r.status, r.message) for r in found] == [(Status.PASS, "No secrets in 1 files (1 lines, full checkout)")]
