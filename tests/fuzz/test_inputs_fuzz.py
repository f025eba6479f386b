"""Issue 13: mutated inputs end in a report or a clear error naming the file, never a crash or a hang.

Bounded: a few dozen examples per input kind, no shrinking deadline surprises; the whole module runs in well
under a minute. Mutations splice hostile fragments (aliases, deep nesting, huge numbers, odd bytes) into the
example's own files.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annexa.catalog import load_catalog, load_policies
from annexa.codeowners import parse as parse_codeowners
from annexa.collect.snapshot import load_snapshot
from annexa.config import load_config
from annexa.errors import InputError, InputErrors
from annexa.model import Status
from tests.workflows.common import results

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples"
CATALOG = load_catalog()
RULE_PARAMS = {rule: spec.params for rule, spec in CATALOG.items()}

FRAGMENTS = [
    "&a [*a]", "*nope", "[" * 200 + "]" * 200, "9" * 5000, "1e99999", "!!python/object:os.system x", "\t",
    "{", "}", ": :", "- - -", "'", '"', "\x00", "\ufeff", "---\n", "...", "? x\n", "<<: *a", "~", "!!binary AAA=",
    "\\u0000", "\u02bc", "\udcff".encode("utf-8", "surrogateescape").decode("latin-1"), "%TAG ! x", "&b {x: *b}",
]

FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` with a few fragments inserted, lines deleted or duplicated."""
    lines = text.splitlines(keepends=True) or [""]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["insert", "delete", "duplicate", "replace"]))
        fragment = draw(st.sampled_from(FRAGMENTS))
        if action == "insert":
            col = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:col] + fragment + lines[i][col:]
        elif action == "delete" and len(lines) > 1:
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i] * draw(st.integers(1, 50)))
        else:
            lines[i] = fragment + "\n"
    return "".join(lines)


def _clear(exc: InputError | InputErrors, name: str) -> None:
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    assert errors and all(str(e).startswith(name) for e in errors), [str(e) for e in errors]


CONFIG = (EXAMPLE / "ai-repo" / ".annexa.yml").read_text()
POLICY = (ROOT / "policies" / "source-code-protection.yml").read_text()
SETTINGS = (EXAMPLE / "settings.json").read_text()
WORKFLOW = (EXAMPLE / "ai-repo" / ".github" / "workflows" / "triage.yml").read_text()


@FAST
@given(text=mutated(CONFIG))
def test_config(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("c") / ".annexa.yml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    start = time.monotonic()
    try:
        load_config(path, ".annexa.yml", RULE_PARAMS)
    except (InputError, InputErrors) as exc:
        _clear(exc, ".annexa.yml")
    assert time.monotonic() - start < 5


@FAST
@given(text=mutated(POLICY))
def test_policy(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    folder = tmp_path_factory.mktemp("p")
    (folder / "p.yml").write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        load_policies([folder], CATALOG, folder)
    except (InputError, InputErrors) as exc:
        _clear(exc, "p.yml")


@FAST
@given(text=mutated(SETTINGS))
def test_settings(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("s") / "settings.json"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        load_snapshot(path)
    except (InputError, InputErrors) as exc:
        _clear(exc, str(path))


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=mutated(WORKFLOW), rule=st.sampled_from(["workflow-permissions-scoped", "actions-pinned",
                                                     "untrusted-checkout-blocked", "script-injection-blocked"]))
def test_workflow_rules(tmp_path_factory: pytest.TempPathFactory, text: str, rule: str) -> None:
    found = results(rule, tmp_path_factory.mktemp("w"), {".github/workflows/ci.yml": text})
    assert found
    for result in found:
        assert "could not be evaluated" not in result.message, result.message
        assert result.status in set(Status)


@FAST
@given(text=mutated("* @acme/security\n/models/ @acme/ml-model-owners\n/src/**/x.py @bob a@b.co\n"))
def test_codeowners(text: str) -> None:
    parse_codeowners(text, "github")
