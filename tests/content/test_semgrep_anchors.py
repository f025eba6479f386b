"""Anchor words: semgrep is given only the files some rule could match in, and nothing it would match is lost."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from annexa.model import Status
from annexa.scan import semgrep as semgrep_scan
from annexa.scan.anchors import regex_anchors
from annexa.scan.semgrep import _with_prefilter, run_semgrep, semgrep_rules
from annexa.scan.semgrep_anchors import NAME, Prefilter, name, pattern_words, rule_anchors
from tests.content.common import CATALOG, SEMGREP_RULES, run_rules
from tests.support import make_checkout


def _terms(anchors: tuple[frozenset[str], ...] | None) -> list[list[str]] | None:
    """Terms as sorted lists; a whole name is shown as itself, a word that may occur anywhere with a ``~``."""
    if anchors is None:
        return None
    return [sorted(w.removeprefix(NAME) if w.startswith(NAME) else "~" + w for w in t) for t in anchors]


def _plain(anchors: tuple[frozenset[str], ...] | None) -> list[list[str]] | None:
    return None if anchors is None else [sorted(t) for t in anchors]


def _sent() -> dict[str, dict]:
    return {r["id"]: r for r in _with_prefilter(semgrep_rules(CATALOG))}


def test_pattern_words_are_names_outside_strings_and_metavariables() -> None:
    assert pattern_words("$FN(..., weights_only=False, ...)") == {name("weights_only")}
    assert pattern_words('yaml.load($X, Loader="yaml.FullLoader")') == {name("yaml"), name("load"), name("Loader")}
    assert pattern_words('{..., "trust_remote_code": True, ...}') == {"{"}
    assert pattern_words("not $X and $Y is None") == frozenset()
    assert pattern_words("f'{$X}' + rb\"k\"") == frozenset()
    assert pattern_words("foo(($X : str))") == frozenset()  # a typed metavariable: semgrep may infer the type


@pytest.mark.parametrize(("regex", "terms"), [
    ("^allow_dangerous_(deserialization|code|requests)$",
     [["allow_dangerous_", "code"], ["allow_dangerous_", "deserialization"], ["allow_dangerous_", "requests"]]),
    (r"(^|\.)(PythonREPLTool|ShellTool)$", [["PythonREPLTool"], ["ShellTool"]]),
    (r"^Peft(Mixed)?Model(For\w+)?$", [["Model", "Peft"]]),
    (r"^(?!(yaml\.)?C?(Safe|Base)Loader$)", None),
    ("(?i)secret", [["secret"]]),  # lower-case words, for lowered ASCII text
    ("(?i)Kelvin", [["kelvin"]]),
    ("(?i)aws_?secret", [["aws", "secret"]]),
    ("(?i)straßenname", [["enname", "stra"]]),  # a folded non-ASCII letter is no word
    ("(?i:secret)word", [["word"]]),
    ("ab", None),  # shorter than MIN_REGEX_WORD: would select every file
    ("x(abc)*y", None),
    ("(abc)+", [["abc"]]),
    ("[unclosed", None),
])
def test_regex_anchors(regex: str, terms: list[list[str]] | None) -> None:
    assert _plain(regex_anchors(regex)) == terms


def test_rule_anchors_of_the_shipped_rules() -> None:
    sent = _sent()
    assert _terms(rule_anchors(sent["torch-load-unsafe"])) == [["load", "torch"]]
    assert _terms(rule_anchors(sent["torch-load-unsafe--weights-only-false"])) == [["load", "torch", "weights_only"]]
    # semgrep folds "trust_" "remote_code" into the key, so the key is no anchor; the dict's brace is
    assert _terms(rule_anchors(sent["remote-code-disabled--keyword-dictionary"])) == [
        ["~{"], ["dict", "trust_remote_code"]]
    assert _terms(rule_anchors(sent["unsafe-deserialization--allow-pickle"])) == [["allow_pickle", "load", "numpy"]]
    assert all(rule_anchors(body) is not None for body in sent.values())


def test_negative_and_unknown_parts_add_nothing() -> None:
    body = {"patterns": [{"pattern": "$F(...)"}, {"pattern-not": "safe(...)"}, {"pattern-not-inside": "x"},
                         {"metavariable-comparison": {"comparison": "$X > 1"}}]}
    assert rule_anchors(body) is None
    assert rule_anchors({"pattern-either": [{"pattern": "a.b(...)"}, {"pattern": "$X(...)"}]}) is None
    assert _terms(rule_anchors({"pattern-either": [{"pattern": "a.b(...)"}, {"pattern": "c(...)"}]})) == [
        ["c"], ["a", "b"]]
    assert rule_anchors({"metavariable-pattern": {"metavariable": "$X", "language": "generic",
                                                  "pattern": "secret"}}) is None
    assert rule_anchors({"mode": "join", "join": {}}) is None
    # file bytes are searched as written: a case-insensitive regex gives a semgrep rule no word
    assert rule_anchors({"metavariable-regex": {"metavariable": "$X", "regex": "(?i)secret"}}) is None
    assert rule_anchors({"pattern-regex": "(?i)secret"}) is None


def test_taint_needs_a_source_and_a_sink() -> None:
    body = {"mode": "taint", "pattern-sources": [{"pattern": "llm.invoke(...)"}],
            "pattern-sinks": [{"pattern": "eval(...)"}, {"pattern": "exec(...)"}]}
    assert _terms(rule_anchors(body)) == [["eval", "invoke", "llm"], ["exec", "invoke", "llm"]]


def test_prefilter_decides_on_bytes() -> None:
    prefilter = Prefilter([{"id": "a", "pattern": "torch.load(...)"}, {"id": "b", "pattern": "yaml.load(...)"}])
    assert prefilter.could_match(b"import torch\ntorch.load(p)\n")
    assert prefilter.could_match(b"from yaml import load as L\nL(s)\n")
    assert not prefilter.could_match(b"import torch\ntorch.save(p)\n")
    assert not prefilter.could_match(b"def f(x):\n    return x\n")
    assert prefilter.could_match(b"\xff\xfet\x00o\x00")  # UTF-16: semgrep decides (and reports it)
    assert Prefilter([{"id": "c", "pattern": "$X(...)"}]).could_match(b"")


def test_a_name_counts_only_as_a_name_of_its_own() -> None:
    prefilter = Prefilter([{"id": "a", "pattern": "torch.load(...)"}])
    assert not prefilter.could_match(b"import torch\ndownload(url)\ntorch.load_state_dict(s)\n")
    assert not prefilter.could_match(b"import torch\n_load(p)\nload2(p)\n")
    assert not prefilter.could_match(b"import torch\n\xc3\xa9load(p)\n")  # one identifier (any non-ASCII byte)
    assert prefilter.could_match(b"load = 1\nimport torch\n")  # at the start of the file
    assert prefilter.could_match(b"import torch\ntorch.\\\nload(p)")  # at the end, after a line continuation
    assert prefilter.could_match(b"from torch import (save,\n    load as restore)\n")
    assert prefilter.could_match(b"import torch\nx = [torch.load(p)for p in ps]\n")
    # a regex's literal run is searched anywhere: the regex is applied to text taken from the file
    regex = Prefilter([{"id": "r", "patterns": [{"pattern": "$F(...)"}, {"metavariable-regex": {
        "metavariable": "$F", "regex": "load_state"}}]}])
    assert _terms(regex.anchors["r"]) == [["~load_state"]]
    assert regex.could_match(b"model.reload_state(x)\n")
    assert not regex.could_match(b"model.load(x)\n")


def _logging_semgrep(tmp_path: Path) -> tuple[str, Path]:
    log = tmp_path / "argv"
    script = tmp_path / "fake-semgrep"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> {log}\n'
                      'echo \'{"version": "x", "results": [], "errors": []}\'\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), log


def test_files_without_rule_words_are_not_given_to_semgrep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary, log = _logging_semgrep(tmp_path)
    monkeypatch.setattr(semgrep_scan, "semgrep_binary", lambda: binary)
    checkout = make_checkout(tmp_path / "repo", {"plain.py": "def f(x):\n    return x * 2\n",
                                                  "loads.py": "import torch\nstate = torch.load(p)\n"})
    run = run_semgrep(checkout, ["loads.py", "plain.py"], CATALOG)
    assert run.targets == ("loads.py", "plain.py") and run.ruled_out == 1
    assert log.read_text().splitlines()[-2:] == ["--", "loads.py"]


def test_no_possible_match_runs_no_semgrep_and_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary, log = _logging_semgrep(tmp_path)
    monkeypatch.setattr(semgrep_scan, "semgrep_binary", lambda: binary)
    checkout = make_checkout(tmp_path / "repo", {"plain.py": "def f(x):\n    return x * 2\n"})
    [result] = run_rules(["torch-load-unsafe"], checkout)["torch-load-unsafe"]
    assert not log.exists()
    assert (result.status, result.message) == (Status.PASS, "No match in 1 Python files (full checkout)")
    assert result.evidence["without_rule_words"] == 1


# Forms semgrep matches although a literal of the pattern is not in the file as written: they must still reach it.
FOLDED = {
    "implicit.py": 'kwargs = {"trust_" "remote_code": True}\n',
    "concat.py": 'key = "trust_" + "remote_code"\nkwargs = {key: True}\n',
    "negated.py": 'kwargs = {"trust_remote_code": not False}\n',
    "alias.py": "from torch import load as restore\nstate = restore(path)\n",
    "module_alias.py": "import yaml as y\ndata = y.load(text, Loader=y.Loader)\n",
    # names are anchors only as names of their own: these spell them apart from the call
    "continued.py": "import torch\nstate = torch.\\\n    load(path)\n",
    "grouped.py": "from torch import (save,\n    load as restore)\nstate = restore(path)\n",
    "tight.py": "import torch\nstates = [torch.load(p)for p in paths]\n",
}


def test_semgrep_matches_are_the_same_with_and_without_anchors(tmp_path: Path) -> None:
    files = dict(FOLDED)
    for rule_id in SEMGREP_RULES:
        examples = CATALOG[rule_id].examples or {}
        for kind in ("bad", "good"):
            if examples.get(kind):
                files[f"examples/{rule_id}_{kind}.py"] = examples[kind]
    files["plain.py"] = "def f(x):\n    return x * 2\n"
    checkout = make_checkout(tmp_path / "repo", files)
    paths = sorted(files)
    with_anchors = run_semgrep(checkout, paths, CATALOG)
    original = Prefilter.rules_for
    try:  # every rule on every file: no file ruled out, no rule restricted to some files
        Prefilter.rules_for = lambda self, data: None  # type: ignore[method-assign]
        without = run_semgrep(checkout, paths, CATALOG)
    finally:
        Prefilter.rules_for = original  # type: ignore[method-assign]
    assert with_anchors.error is None and without.error is None
    assert with_anchors.matches == without.matches
    assert without.ruled_out == 0 and with_anchors.ruled_out >= 1
    found = {(m.rule, m.variant, m.path) for ms in with_anchors.matches.values() for m in ms}
    assert {("remote-code-disabled", "keyword-dictionary", p) for p in ("implicit.py", "concat.py", "negated.py")
            } <= found
    assert {("torch-load-unsafe", "", p) for p in ("alias.py", "grouped.py", "tight.py")} <= found
    assert ("yaml-unsafe-load", "unsafe-loader", "module_alias.py") in found


def test_each_rule_is_sent_only_with_the_names_of_the_files_it_could_match_in() -> None:
    rules = [{"id": "a", "pattern": "torch.load(...)"}, {"id": "b", "pattern": "yaml.load(...)"},
             {"id": "c", "pattern": "$X(...)"}, {"id": "d", "pattern": "pickle.loads(...)"},
             {"id": "e", "pattern": "os.system(...)", "paths": {"exclude": ["tests/"]}}]
    per_rule = {"a": ["src/m.py", "tests/m.py"], "b": ["w[1].py"], "c": ["src/m.py", "x.py"], "d": [], "e": []}
    sent = {r["id"]: r.get("paths") for r in semgrep_scan._restricted(rules, per_rule)}
    assert sent == {"a": {"include": ["**/m.py"]}, "b": None, "c": {"include": ["**/m.py", "**/x.py"]},
                    "e": {"exclude": ["tests/"]}}


@pytest.mark.parametrize("git", [False, True])
def test_restricted_rules_find_what_every_rule_on_every_file_finds(tmp_path: Path, git: bool) -> None:
    bad = CATALOG["torch-load-unsafe"].examples["bad"]
    files = {"a/model.py": bad, "b/model.py": "def f():\n    return 1\n", "c/yaml_io.py": "import yaml\nyaml.load(s)\n",
             "d/we[ir]d.py": bad, "e/plain.py": "x = 1\n"}
    checkout = make_checkout(tmp_path / "repo", files, git=git)
    restricted = run_semgrep(checkout, sorted(files), CATALOG)
    original = Prefilter.rules_for
    try:
        Prefilter.rules_for = lambda self, data: None  # type: ignore[method-assign]
        everything = run_semgrep(checkout, sorted(files), CATALOG)
    finally:
        Prefilter.rules_for = original  # type: ignore[method-assign]
    assert restricted.error is None and restricted.matches == everything.matches
    found = {(m.rule, m.path) for ms in restricted.matches.values() for m in ms}
    assert {("torch-load-unsafe", "a/model.py"), ("torch-load-unsafe", "d/we[ir]d.py"),
            ("yaml-unsafe-load", "c/yaml_io.py")} <= found
