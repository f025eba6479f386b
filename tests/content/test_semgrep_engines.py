"""semgrep's two command lines (native first, classic as fallback) and the callee narrowing added to the rules:
call chains on a safe call are not reported, and both engines give the same matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.collect.checkout import Checkout
from annexa.scan import semgrep as semgrep_scan
from tests.content.common import CATALOG

CHAINED = """\
import torch
from transformers import AutoModel

SHA = "0123456789abcdef0123456789abcdef01234567"
state = torch.load(path, weights_only=True).to(device)
model = AutoModel.from_pretrained("acme/base", revision=SHA).to(device).eval()
bad = torch.load(path).to(device)
also_bad = AutoModel.from_pretrained("acme/base").to(device)
"""


def _matches(run: semgrep_scan.SemgrepRun) -> list[tuple[str, str, int, str]]:
    return sorted((m.rule, m.path, m.line, m.variant) for ms in run.matches.values() for m in ms)


def _scan(tmp_path: Path, source: str) -> semgrep_scan.SemgrepRun:
    (tmp_path / "train.py").write_text(source, encoding="utf-8")
    run = semgrep_scan.run_semgrep(Checkout(tmp_path), ["train.py"], CATALOG)
    assert run.error is None
    return run


def test_call_chains_on_safe_calls_are_not_reported(tmp_path: Path) -> None:
    run = _scan(tmp_path, CHAINED)
    assert _matches(run) == [("model-revision-pinned", "train.py", 8, ""), ("torch-load-unsafe", "train.py", 7, "")]


@pytest.mark.parametrize("engines", [("python",), ("native",)])
def test_both_engines_give_the_same_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            engines: tuple[str, ...]) -> None:
    source = CHAINED + "import yaml\ny = yaml.load(text)\nimport requests\nrequests.get(u, verify=False)\n"
    monkeypatch.setattr(semgrep_scan, "ENGINES", engines)
    assert _matches(_scan(tmp_path, source)) == [
        ("model-revision-pinned", "train.py", 8, ""),
        ("tls-verification-disabled", "train.py", 12, ""),
        ("torch-load-unsafe", "train.py", 7, ""),
        ("yaml-unsafe-load", "train.py", 10, "no-loader"),
    ]


def test_a_refused_native_run_falls_back_to_the_classic_command_line(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, ...]] = []
    real = semgrep_scan.subprocess.run

    def run(command: list[str], **kwargs: object) -> object:
        seen.append(tuple(command[2:3]))
        if "--experimental" in command:
            command = [*command[:2], "--no-such-option", *command[3:]]
        return real(command, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(semgrep_scan.subprocess, "run", run)
    assert _matches(_scan(tmp_path, "import torch\nx = torch.load(p)\n")) == [("torch-load-unsafe", "train.py", 2, "")]
    assert seen == [("--experimental",), ("--metrics=off",)]


def test_narrowing_is_added_only_for_dotted_callee_patterns() -> None:
    rule = {"id": "r", "patterns": [
        {"pattern": "$FN(...)"},
        {"metavariable-pattern": {"metavariable": "$FN", "pattern-either": [{"pattern": "torch.load"},
                                                                           {"pattern": "$C.from_pretrained"}]}},
        {"metavariable-pattern": {"metavariable": "$X", "pattern": "a.b"}},
    ]}
    out = semgrep_scan._with_prefilter([rule])[0]["patterns"]
    assert out[3:] == [
        {"metavariable-regex": {"metavariable": "$FN", "regex": semgrep_scan.DOTTED_CALLEE}},
        {"pattern-either": [{"pattern": "torch.load(...)"}, {"pattern": "$C.from_pretrained(...)"}]},
    ]
    odd = {"id": "r", "patterns": [{"pattern": "$FN(...)"},
                                   {"metavariable-pattern": {"metavariable": "$FN", "pattern": "open"}}]}
    assert semgrep_scan._with_prefilter([odd]) == [odd]
