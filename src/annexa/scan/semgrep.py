"""One offline semgrep process per run for every semgrep-backed rule of the catalog.

The semgrep configuration is built from the ``semgrep:`` sections of the catalog entries; semgrep runs with
metrics and the version check off, over explicit target files (only the changed ones in PR mode), and its JSON
is parsed into matches with fingerprint keys of our own (semgrep's are login-gated): a hash of the matched
source with whitespace collapsed, plus its occurrence number in the file, so a key survives line shifts.

A catalog ``semgrep:`` section is the body of one semgrep rule; it may also list ``variants``: further rule
bodies (same language) with a ``name`` and their own message, each sent to semgrep as ``<rule>--<name>``. A
variant with ``status: unknown`` (and ``needs:``) reports what the patterns cannot decide, such as a model id
held in a variable. Overlapping matches of one rule at the same place are reported once, the main rule first.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annexa.catalog import RuleSpec
from annexa.collect.checkout import Checkout
from annexa.errors import UnreadableFile
from annexa.model import Severity
from annexa.scan import Skipped
from annexa.scan.semgrep_anchors import Prefilter

TIMEOUT = 900
"""Seconds the whole semgrep process may take before every semgrep rule becomes ``unknown``."""

PER_FILE_TIMEOUT = 30
"""Seconds semgrep may spend on one rule and one file (it then skips that file and says so)."""

MAX_TARGET_BYTES = 2_000_000
"""Larger source files are not given to semgrep (minified or generated code); they are listed as skipped."""

EXTENSIONS: Mapping[str, tuple[str, ...]] = {"python": (".py", ".pyi")}
"""Target file suffixes per semgrep language."""

ENGINES: tuple[str, ...] = ("native", "python")
"""Tried in order until one gives a parseable answer. ``native`` is semgrep's OCaml command line
(``semgrep scan --experimental``): the same engine and JSON, about 0.4 s of start-up instead of 3.5-4 s for the
Python wrapper. A run it cannot complete (an option or rule it refuses) is repeated with the classic one within
the same deadline."""

ENGINE_FLAGS: Mapping[str, tuple[str, ...]] = {"native": ("--experimental",), "python": ()}

_SEVERITY = {Severity.CRITICAL: "ERROR", Severity.HIGH: "ERROR", Severity.MEDIUM: "WARNING",
             Severity.LOW: "INFO", Severity.INFO: "INFO"}


@dataclass(frozen=True)
class Match:
    """One semgrep match: rule, path, 1-based line span and a fingerprint key free of line numbers."""

    rule: str
    path: str
    line: int
    end_line: int
    key: str
    message: str
    variant: str = ""
    """The name of the catalog variant that matched (``""`` for the rule's main patterns)."""


@dataclass
class SemgrepRun:
    """The parsed outcome of the run: matches per rule, what was scanned and skipped, or why it failed."""

    matches: dict[str, list[Match]] = field(default_factory=dict)
    targets: tuple[str, ...] = ()
    skipped: list[Skipped] = field(default_factory=list)
    error: str | None = None
    version: str | None = None
    ruled_out: int = 0
    """Targets not given to semgrep because they lack every anchor word of every rule (``semgrep_anchors``):
    scanned, with no match possible."""


def semgrep_rules(catalog: Mapping[str, RuleSpec]) -> list[dict[str, Any]]:
    """The semgrep rule list built from every catalog entry with a ``semgrep:`` section."""
    rules = []
    for rule_id, spec in sorted(catalog.items()):
        if spec.semgrep is None:
            continue
        body = {k: v for k, v in spec.semgrep.items() if k != "variants"}
        body.setdefault("message", spec.title)
        severity = _SEVERITY[spec.severity]
        if any(k in body for k in _PATTERN_KEYS):
            rules.append({"id": rule_id, "severity": severity, **body})
        for variant in spec.semgrep.get("variants") or ():
            extra = {k: v for k, v in variant.items() if k not in ("name", "status", "needs")}
            rules.append({"id": f"{rule_id}{VARIANT_SEP}{variant['name']}", "severity": severity,
                          "languages": body["languages"], "message": body["message"], **extra})
    return rules


VARIANT_SEP = "--"
"""Separates a rule id from a variant name in the semgrep rule id."""

_PATTERN_KEYS = ("pattern", "patterns", "pattern-either", "pattern-regex", "mode", "match")


def split_rule_id(semgrep_id: str) -> tuple[str, str]:
    """The catalog rule id and the variant name of a semgrep ``check_id``."""
    rule, _, variant = str(semgrep_id).rsplit(".", 1)[-1].partition(VARIANT_SEP)
    return rule, variant


def semgrep_binary() -> str | None:
    """The semgrep executable: on PATH, or installed next to this Python."""
    found = shutil.which("semgrep")
    if found:
        return found
    sibling = Path(sys.executable).parent / "semgrep"
    return str(sibling) if sibling.exists() else None


def targets_for(
    checkout: Checkout, files: Iterable[str], rules: list[dict[str, Any]]
) -> tuple[list[str], list[Skipped]]:
    """Files semgrep should scan (by the rules' languages), and the ones too large or unreadable to give it."""
    suffixes = tuple(s for r in rules for lang in r.get("languages", ()) for s in EXTENSIONS.get(lang, ()))
    targets: list[str] = []
    skipped: list[Skipped] = []
    for path in files:
        if not path.endswith(suffixes):
            continue
        try:
            if checkout.is_symlink(path):
                continue
            size = checkout.size(path)
        except (UnreadableFile, OSError) as exc:
            skipped.append(Skipped(path, getattr(exc, "reason", None) or str(exc)))
            continue
        if size > MAX_TARGET_BYTES:
            skipped.append(Skipped(path, f"{size:,} bytes, over the {MAX_TARGET_BYTES:,}-byte semgrep limit"))
            continue
        targets.append(path)
    return targets, skipped


def run_semgrep(
    checkout: Checkout, files: Iterable[str], catalog: Mapping[str, RuleSpec], timeout: float | None = None
) -> SemgrepRun:
    """Run semgrep once over ``files`` with every semgrep-backed catalog rule (``TIMEOUT`` seconds at most by
    default); never raises."""
    timeout = TIMEOUT if timeout is None else timeout
    rules = semgrep_rules(catalog)
    targets, skipped = targets_for(checkout, files, rules)
    run = SemgrepRun(matches={split_rule_id(r["id"])[0]: [] for r in rules}, targets=tuple(targets),
                     skipped=skipped)
    if not targets:
        return run
    binary = semgrep_binary()
    if binary is None:
        run.error = "semgrep is not installed (pip install semgrep)"
        return run
    sent = _with_prefilter(rules)
    given, per_rule = _by_rule(checkout, targets, sent)
    run.ruled_out = len(targets) - len(given)
    if not given:
        return run
    sent = _restricted(sent, per_rule)
    deadline = time.monotonic() + timeout
    env = {**os.environ, "SEMGREP_SEND_METRICS": "off", "SEMGREP_ENABLE_VERSION_CHECK": "0",
           "SEMGREP_USER_AGENT_APPEND": "annexa"}
    with tempfile.TemporaryDirectory(prefix="annexa-semgrep-") as tmp:
        # JSON, not YAML: the native command line's reader refuses YAML anchors, and JSON is YAML to the other.
        config = Path(tmp) / "annexa-rules.json"
        config.write_text(json.dumps({"rules": sent}), encoding="utf-8")
        options = ["--metrics=off", "--disable-version-check", "--json", "--quiet", "--disable-nosem",
                   "--no-git-ignore", "--config", str(config), "--timeout", str(PER_FILE_TIMEOUT),
                   "--max-target-bytes", str(MAX_TARGET_BYTES), "--", *given]
        attempt = run
        for engine in ENGINES:
            attempt = SemgrepRun(matches={rule: [] for rule in run.matches}, targets=run.targets,
                                 skipped=list(run.skipped), ruled_out=run.ruled_out)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                attempt.error = f"semgrep did not finish within {timeout:g} s"
                break
            command = [binary, "scan", *ENGINE_FLAGS[engine], *options]
            try:
                done = subprocess.run(command, cwd=checkout.root, capture_output=True, timeout=remaining, env=env,
                                      check=False, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                attempt.error = f"semgrep did not finish within {timeout:g} s"
                break
            except OSError as exc:
                attempt.error = f"semgrep could not start: {exc.strerror or exc}"
                break
            attempt = _parse(done, checkout, attempt)
            if attempt.error is None:
                break
    return attempt


def _by_rule(checkout: Checkout, targets: list[str], rules: list[dict[str, Any]]
             ) -> tuple[list[str], dict[str, list[str]]]:
    """The targets some rule could match in, by the rules' anchor words, and for each rule the targets it could
    match in; unreadable ones are kept for every rule (semgrep then reports them as it would)."""
    prefilter = Prefilter(rules)
    every = [str(rule["id"]) for rule in rules]
    given: list[str] = []
    per_rule: dict[str, list[str]] = {rule: [] for rule in every}
    for path in targets:
        try:
            found = prefilter.rules_for(checkout.read_bytes(path, MAX_TARGET_BYTES))
        except UnreadableFile:
            found = None
        if found is None or found:
            given.append(path)
        for rule in every if found is None else found:
            per_rule[rule].append(path)
    return given, per_rule


_GLOB_SPECIAL = frozenset("*?[]{}!\\")


def _restricted(rules: list[dict[str, Any]], per_rule: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Each rule run only on the files it could match in: a ``paths: include`` of their names (``**/NAME``, which
    both command lines read the same way, in a git work tree or not), and a rule that could match nowhere not
    sent. A rule with paths of its own, or a file name a glob would read otherwise, keeps every target."""
    out = []
    for rule in rules:
        paths = per_rule.get(str(rule["id"]))
        if paths is None or "paths" in rule:
            out.append(rule)
            continue
        if not paths:
            continue
        names = sorted({posixpath.basename(p) for p in paths})
        if any(_GLOB_SPECIAL & set(name) for name in names):
            out.append(rule)
            continue
        out.append({**rule, "paths": {"include": [f"**/{name}" for name in names]}})
    return out


def _parse(done: subprocess.CompletedProcess[bytes], checkout: Checkout, run: SemgrepRun) -> SemgrepRun:
    try:
        data = json.loads(done.stdout.decode("utf-8", "replace"))
    except ValueError:
        data = None
    if done.returncode not in (0, 1) or not isinstance(data, dict):
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        run.error = f"semgrep failed (exit {done.returncode}): " + (" / ".join(tail) or "no output")
        return run
    run.version = data.get("version")
    for error in data.get("errors", ()):
        path = error.get("path")
        kind = error.get("type")
        kind = kind[0] if isinstance(kind, list) and kind else kind
        if path and error.get("level") == "error":
            run.skipped.append(Skipped(path, f"semgrep {kind}: {str(error.get('message', ''))[:200]}"))
        elif not path and error.get("level") == "error":
            run.error = f"semgrep {kind}: {str(error.get('message', ''))[:300]}"
            return run
    sources: dict[str, list[str] | None] = {}
    seen: dict[tuple[str, str, str], int] = {}
    places: set[tuple[str, str, int, int]] = set()
    results = [(split_rule_id(item["check_id"]), item) for item in data.get("results", ())]
    for (rule, variant), item in sorted(results, key=lambda r: (r[1]["path"], r[1]["start"]["offset"], r[0][0],
                                                                 r[0][1] != "", r[0][1], -r[1]["end"]["offset"])):
        if rule not in run.matches:
            continue
        place = (rule, item["path"], item["start"]["offset"], item["end"]["offset"])
        if place in places:
            continue
        places.add(place)
        path, start, end = item["path"], item["start"]["line"], item["end"]["line"]
        if path not in sources:
            sources[path] = _lines(checkout, path)
        snippet = _normalised(sources[path], start, end)
        occurrence = seen.get((rule, path, snippet), 0)
        seen[(rule, path, snippet)] = occurrence + 1
        key = f"{hashlib.sha256(snippet.encode()).hexdigest()[:16]}#{occurrence}"
        message = str(item.get("extra", {}).get("message", rule)).strip()
        run.matches[rule].append(Match(rule, path, start, end, key, message, variant))
    return run


def _lines(checkout: Checkout, path: str) -> list[str] | None:
    try:
        return checkout.read_text(path, MAX_TARGET_BYTES).splitlines()
    except UnreadableFile:
        return None


def _normalised(lines: list[str] | None, start: int, end: int) -> str:
    if lines is None:
        return f"line {start}-{end}"
    return re.sub(r"\s+", " ", " ".join(lines[start - 1 : end])).strip()


_CALLEE = re.compile(r"^(\$[A-Z_][A-Z0-9_]*)\s*\(")
_DOTTED = re.compile(r"^\$?[A-Za-z_]\w*(\s*\.\s*\$?[A-Za-z_]\w*)+$")
DOTTED_CALLEE = r"^[A-Za-z_]\w*(\s*\.\s*[A-Za-z_]\w*)*$"
"""What a callee metavariable narrowed to dotted names may hold: a dotted name, never a call chain."""


def _with_prefilter(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules, with every callee metavariable that a ``metavariable-pattern`` narrows to dotted names
    (``$FN(...)`` + ``$FN`` is ``torch.load``) also held to a dotted name and matched by literal calls.

    ``metavariable-pattern`` matches anywhere inside the metavariable's text, so ``$FN(...)`` alone also binds
    ``$FN`` to ``torch.load(p, weights_only=True).to`` in a call chain, and the ``pattern-not`` on the outer call
    then reports a safe inner call. The literal ``pattern-either`` of ``name(...)`` calls gives semgrep words to
    skip files by before matching (a bare ``$FN(...)`` has none). The patterns are not otherwise changed."""
    return [_prefiltered(rule) for rule in rules]


def _prefiltered(node: Any) -> Any:
    if isinstance(node, list):
        return [_prefiltered(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _prefiltered(value) for key, value in node.items()}
    items = out.get("patterns")
    if isinstance(items, list):
        out["patterns"] = items + _narrowing(items)
    return out


def _narrowing(items: list[Any]) -> list[dict[str, Any]]:
    callees = {m.group(1) for item in items if isinstance(item, dict) and isinstance(item.get("pattern"), str)
               for m in [_CALLEE.match(item["pattern"].strip())] if m}
    added: list[dict[str, Any]] = []
    for item in items:
        narrowed = item.get("metavariable-pattern") if isinstance(item, dict) else None
        if not isinstance(narrowed, dict) or narrowed.get("metavariable") not in callees:
            continue
        names = _dotted_names(narrowed)
        if names:
            added.append({"metavariable-regex": {"metavariable": narrowed["metavariable"], "regex": DOTTED_CALLEE}})
            added.append({"pattern-either": [{"pattern": f"{name}(...)"} for name in names]})
    return added


def _dotted_names(narrowed: Mapping[str, Any]) -> list[str]:
    """The dotted names a ``metavariable-pattern`` lists (``pattern`` or a ``pattern-either`` of ``pattern``s
    only, all dotted), else nothing."""
    if isinstance(narrowed.get("pattern"), str):
        names = [narrowed["pattern"].strip()]
    elif isinstance(narrowed.get("pattern-either"), list):
        names = [alt.get("pattern", "").strip() if isinstance(alt, dict) and set(alt) == {"pattern"} else ""
                 for alt in narrowed["pattern-either"]]
    else:
        return []
    return names if names and all(isinstance(n, str) and _DOTTED.match(n) for n in names) else []
