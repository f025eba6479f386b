"""Issue 13: mutated inputs end in a report or a clear error naming the file, never a crash or a hang.

Bounded: a few dozen examples per input kind, no shrinking deadline surprises; the whole module runs in well
under a minute. Mutations splice hostile fragments (aliases, deep nesting, huge numbers, odd bytes) into the
example's own files.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annexa.catalog import load_catalog, load_policies
from annexa.codeowners import parse as parse_codeowners
from annexa.collect.snapshot import load_snapshot
from annexa.config import load_config
from annexa.errors import InputError, InputErrors
from annexa.model import Status
from annexa.scan.modelfiles import DEFAULT_ALLOWED_GLOBALS, Limits, scan_stream
from tests.modelfiles.corpus import corpus
from tests.support import make_checkout, run_rule
from tests.workflows.common import results

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples"
CATALOG = load_catalog()
RULE_PARAMS = {rule: spec.params for rule, spec in CATALOG.items()}

FRAGMENTS = [
    "a: 1\na: 2\n", "<<: {x: 1}\n", "!custom x", "&a x\n&a y\n", "- *a\n", "0x" + "f" * 5000, "1:2:3:4:5",
    "[Section][0] @a\n", "^[S] @a\n", "[S][99999999999999999999] @a\n", "[S][²] @a\n",
    "[S][" + "9" * 5000 + "]\n", "[" * 2000 + "S" + "]" * 2000,
    "*" * 200 + "a" * 50, "**/" * 300, "${{ " + "(" * 3000 + "github.head_ref" + ")" * 3000 + " }}",
    "&a [*a]", "*nope", "[" * 200 + "]" * 200, "9" * 5000, "1e99999", "!!python/object:os.system x", "\t",
    "{", "}", ": :", "- - -", "'", '"', "\x00", "\ufeff", "---\n", "...", "? x\n", "<<: *a", "~", "!!binary AAA=",
    "\\u0000", "\u02bc", "\udcff".encode("utf-8", "surrogateescape").decode("latin-1"), "%TAG ! x", "&b {x: *b}",
]

SCALE = int(os.environ.get("ANNEXA_FUZZ_SCALE", "1"))
"""Examples multiplier; above 1 the search is also random (a hunt run), at 1 fixed and fast (CI: ~10 s in all)."""


def bounded(examples: int) -> Any:
    """Hypothesis settings: ``examples`` (times ``SCALE``), no per-example deadline, reproducible at scale 1."""
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=SCALE == 1, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


FAST = bounded(50)


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


@bounded(24)
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


GITLAB_CI = """\
stages: [test, deploy]
variables:
  IMAGE: registry.example.com/app:1.2.3
.defaults: &defaults
  image: python:3.12@sha256:ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12
  before_script: [pip install -r requirements.txt]
include:
  - template: Jobs/SAST.gitlab-ci.yml
  - component: gitlab.com/acme/annexa/check@1.4.0
test:
  <<: *defaults
  stage: test
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script:
    - pytest -q
    - echo "$CI_MERGE_REQUEST_TITLE"
    - !reference [.defaults, before_script]
deploy:
  extends: .defaults
  stage: deploy
  script: [./deploy.sh]
"""


@bounded(24)
@given(text=mutated(GITLAB_CI), rule=st.sampled_from(["actions-pinned", "script-injection-blocked",
                                                      "security-checks-in-ci"]))
def test_gitlab_ci_rules(tmp_path_factory: pytest.TempPathFactory, text: str, rule: str) -> None:
    start = time.monotonic()
    found = results(rule, tmp_path_factory.mktemp("g"), {".gitlab-ci.yml": text})
    assert found
    for result in found:
        assert "could not be evaluated" not in result.message, result.message
        assert result.status in set(Status)
    assert time.monotonic() - start < 10


GITLAB_CODEOWNERS = """\
* @acme/everyone
[Models][2] @acme/ml-model-owners
/models/ @alice @bob
^[Docs]
docs/** @acme/writers
[CI] @acme/platform
.gitlab-ci.yml
/.gitlab/ @@maintainers
"""


@FAST
@given(text=mutated(GITLAB_CODEOWNERS), platform=st.sampled_from(["gitlab", "github"]))
def test_codeowners_sections(text: str, platform: str) -> None:
    owners = parse_codeowners(text, platform)
    for path in ("models/a.bin", "docs/x/y.md", ".gitlab-ci.yml", "a" * 300):
        owners.owners_of(path)


@bounded(12)
@given(text=mutated(GITLAB_CODEOWNERS + "[Weights] @acme/ml\n*.safetensors\n"))
def test_codeowners_rules(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    files = {".gitlab/CODEOWNERS": text, "models/m.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "}
    for rule in ("codeowners-valid", "weights-codeowned"):
        for result in results(rule, tmp_path_factory.mktemp("o"), files):
            assert "could not be evaluated" not in result.message, result.message


GITATTRIBUTES = (EXAMPLE / "ai-repo" / ".gitattributes").read_text() + "*.bin filter=lfs diff=lfs merge=lfs -text\n"


@bounded(10)
@given(text=mutated(GITATTRIBUTES))
def test_gitattributes_rules(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    root = tmp_path_factory.mktemp("a")
    files: dict[str, str | bytes] = {".gitattributes": text, "models/m.bin": b"\x00\x01" * 64}
    checkout = make_checkout(root / "repo", files, git=True)
    for rule in ("weights-lfs-attributes", "weights-in-lfs"):
        for result in run_rule(rule, checkout):
            assert "could not be evaluated" not in result.message, result.message


MODEL_SEEDS = [s for s in corpus() if len(s.data) < 64 * 1024][:40]


@st.composite
def mutated_bytes(draw: st.DrawFn) -> tuple[str, bytes]:
    """A corpus model file with a few bytes flipped, a slice repeated or the file cut short."""
    sample = draw(st.sampled_from(MODEL_SEEDS))
    data = bytearray(sample.data)
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "repeat", "big"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at:]
        elif action == "repeat":
            data[at:at] = data[at : at + 16] * draw(st.integers(2, 2000))
        else:
            data[at : at + 8] = b"\xff" * 8
    return sample.path, bytes(data)


@bounded(80)
@given(case=mutated_bytes())
def test_model_files_scan(case: tuple[str, bytes]) -> None:
    _path, data = case
    start = time.monotonic()
    report = scan_stream(io.BytesIO(data), len(data), Limits(), DEFAULT_ALLOWED_GLOBALS)
    assert isinstance(report.issues, list | tuple)
    assert time.monotonic() - start < 5


@bounded(12)
@given(case=mutated_bytes())
def test_model_files_rule(tmp_path_factory: pytest.TempPathFactory, case: tuple[str, bytes]) -> None:
    path, data = case
    for result in results("weights-safe-format", tmp_path_factory.mktemp("m"), {path: data}):
        assert "could not be evaluated" not in result.message, result.message


@FAST
@given(text=mutated(SETTINGS.replace("{", "{\n")))
def test_settings_as_yaml(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("y") / "settings.yml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        load_snapshot(path)
    except (InputError, InputErrors) as exc:
        _clear(exc, str(path))
