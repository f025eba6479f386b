"""Issue 13: the limited loader composes libyaml's events (fast) with the same limits and the same answers as the
pure-Python parser it falls back to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from annexa import yamlio
from annexa.yamlio import GITHUB, GITLAB, STRICT, Dialect, YamlLimitError, compose_all_limited
from tests.robust.test_hostile_yaml import CASES

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted([*ROOT.glob("examples/ai-repo/.github/workflows/*.yml"), *ROOT.glob("policies/*.yml"),
                  *ROOT.glob("rules/*.yml"), ROOT / "examples" / "ai-repo" / ".annexa.yml"])
EXTRA = [
    "a: &x {q: [1, 2.5, null, true, 2026-01-01]}\nb: *x\nc: {<<: *x, r: 'é€'}\n",
    "--- \nspec:\n  inputs: {x: {default: 1}}\n---\njob: {script: [!reference [.a, script]]}\n",
    "a: |\n  line one\n  line two\nb: >-\n  folded\n  text\nc: \"esc\\taped\"\n",
    "? [complex, key]\n: value\n",
]


def shape(node: yaml.Node) -> object:
    """Everything a rule can see of a node: tag, value, start and end positions (test documents are shallow)."""
    if isinstance(node, yaml.ScalarNode):
        inner: object = node.value
    elif isinstance(node, yaml.SequenceNode):
        inner = [shape(n) for n in node.value]
    else:
        inner = [(shape(k), shape(v)) for k, v in node.value]
    return (node.tag, inner, node.start_mark.line, node.start_mark.column, node.start_mark.index,
            node.end_mark.index)


def outcome(text: str, dialect: Dialect, pure: bool) -> object:
    try:
        return [shape(n) for n in compose_all_limited(text, dialect, pure=pure)]
    except YamlLimitError as exc:
        return ("limit", exc.message, exc.line, exc.field)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return ("yaml", mark.line if mark else None)


@pytest.mark.parametrize("dialect", [STRICT, GITHUB, GITLAB], ids=["strict", "github", "gitlab"])
def test_libyaml_and_pure_python_compose_the_same_nodes(dialect: Dialect) -> None:
    assert yamlio._LimitedLoader is not yamlio._PyLimited, "PyYAML here is built with libyaml"
    texts = [p.read_text(encoding="utf-8") for p in SAMPLES] + EXTRA
    for text in texts:
        assert outcome(text, dialect, pure=False) == outcome(text, dialect, pure=True), text[:80]


@pytest.mark.parametrize("name", sorted(set(CASES) - {"huge"}))
def test_libyaml_and_pure_python_cross_the_same_limits(name: str) -> None:
    text = CASES[name][0]
    fast, slow = outcome(text, STRICT, pure=False), outcome(text, STRICT, pure=True)
    assert fast == slow
    assert isinstance(fast, tuple) and fast[0] == "limit"


def test_libyaml_nesting_error_is_the_depth_limit() -> None:
    with pytest.raises(YamlLimitError) as caught:
        compose_all_limited("[" * 30000)
    assert (caught.value.message, caught.value.line) == ("nested deeper than 150 levels", 1)
    assert "maximum nesting depth" in str(caught.value.__cause__)


def test_without_libyaml_the_pure_python_loader_is_used() -> None:
    code = ("import sys; sys.modules['yaml._yaml'] = None\n"
            "from annexa import yamlio\n"
            "assert yamlio._LimitedLoader is yamlio._PyLimited\n"
            "print(yamlio.parse_document('a: [1, 2]\\n', 'x').data)\n"
            "try:\n    yamlio.parse_document('a: 1\\na: 2\\n', 'x')\n"
            "except Exception as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    expected = "{'a': [1, 2]}\nx:2: a: refused: duplicate key 'a' (first at line 1)\n"
    assert (done.returncode, done.stdout) == (0, expected), done.stderr
