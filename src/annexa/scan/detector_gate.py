"""Whether the secret detectors could flag anything in a line, told without loading them.

The redaction gate passes every output line to the detect-secrets detectors, and loading them (detect-secrets
imports ``requests`` and ``multiprocessing``, then compiles some 300 patterns) costs more than a whole check of
a small repository. Most output lines cannot hold anything a detector reports, and this module says which.

For every detector, :func:`derive` writes down what every hit of it needs in the line, as regexes:

- a pattern-based detector's patterns, reduced to their mandatory parts (:func:`regex_conditions`): runs of
  literals and fixed-count character classes (``AKIA[0-9A-Z]{16}``) joined by AND, alternatives by OR,
  optional parts and look-arounds adding nothing;
- the keyword detector's patterns for the file name the redaction gate passes (``annexa-output.txt``);
- a high-entropy detector reports a quoted run of its alphabet whose Shannon entropy exceeds its limit, and
  ``n`` characters have at most ``log2(n)`` bits, so the run has more than ``2 ** limit`` characters (and at
  least ``MIN_SECRET``, below which the redaction gate drops a generic hit).

The result is stored in ``annexa/data/detector_gate.json`` with a digest of the sources it was derived from
(detect-secrets' plugin modules, annexa's own plugins and settings). When the installed sources differ from the
digest, there is no gate and every line goes to the detectors, as before. ``tests/content/test_detector_gate.py``
fails when the stored gate is not what :func:`derive` gives now; ``python -m annexa.scan.detector_gate``
rewrites it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import math
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from annexa.scan.anchors import ignores_case, regex_anchors

_sre: Any = importlib.import_module("re._parser")
_CONSTANTS: Any = importlib.import_module("re._constants")

DATA = Path(__file__).resolve().parent.parent / "data" / "detector_gate.json"
OUTPUT_NAME = "annexa-output.txt"
"""The file name the redaction gate gives the detectors (the keyword detector picks its patterns by it)."""

MIN_SECRET = 8
"""Shorter generic hits are dropped by the redaction gate (``annexa.redact.MIN_SECRET``)."""

_FLAGS = {re.IGNORECASE: "i", re.ASCII: "a", re.DOTALL: "s"}
_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W",
}
_REPEATS = tuple(op for op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)) if op)


def _class(items: list[tuple[Any, Any]]) -> str:
    out = []
    for op, av in items:
        if op is _sre.NEGATE:
            out.append("^")
        elif op is _sre.LITERAL:
            out.append(re.escape(chr(av)))
        elif op is _sre.RANGE:
            out.append(f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}")
        elif op is _sre.CATEGORY and str(av) in _CATEGORIES:
            out.append(_CATEGORIES[str(av)])
        else:
            return _ANY_CHAR  # a class item this renderer does not know: any character
    return f"[{''.join(out)}]"


_ANY_CHAR = r"[\s\S]"
_ANY_TEXT = r"[\s\S]*"


def _render(items: list[tuple[Any, Any]], groups: dict[int, str]) -> str:
    """A parsed regex as regex text that matches at least wherever the original does: anchors and
    look-arounds are dropped (they only narrow), a back-reference becomes its group's pattern (the text it
    repeats matched that), anything else this renderer does not know becomes any text; groups do not capture."""
    out: list[str] = []
    for op, av in items:
        if op is _sre.LITERAL:
            out.append(re.escape(chr(av)))
        elif op is _sre.NOT_LITERAL:
            out.append(f"[^{re.escape(chr(av))}]")
        elif op is _sre.ANY:
            out.append(".")
        elif op is _sre.IN:
            out.append(_class(list(av)))
        elif op in _REPEATS:
            low, high, sub = av
            bound = "" if high == _CONSTANTS.MAXREPEAT else str(high)
            out.append(f"(?:{_render(list(sub), groups)}){{{low},{bound}}}")
        elif op is _sre.SUBPATTERN:
            group, add_flags, del_flags, sub = av
            scope = "".join(letter for flag, letter in _FLAGS.items() if add_flags & flag)
            unscope = "".join(letter for flag, letter in _FLAGS.items() if del_flags & flag and flag != re.ASCII)
            rendered = f"(?{scope}{'-' + unscope if unscope else ''}:{_render(list(sub), groups)})"
            if group is not None:
                groups[group] = rendered
            out.append(rendered)
        elif op is _sre.BRANCH:
            out.append("(?:" + "|".join(_render(list(branch), groups) for branch in av[1]) + ")")
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            out.append(f"(?:{_render(list(av), groups)})")
        elif op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
            continue
        elif op is _sre.GROUPREF and av in groups:
            out.append(groups[av])
        else:  # conditionals, a reference to a group not yet closed, anything unknown: any text
            out.append(_ANY_TEXT)
    return "".join(out)


def loosened(pattern: re.Pattern[str]) -> str | None:
    """``pattern`` as regex text that matches in every text (and every part of a text) the original matches
    in, anchors and look-arounds aside; ``None`` when it cannot be read."""
    try:
        parsed = _sre.parse(pattern.pattern, pattern.flags)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    flags = "".join(letter for flag, letter in _FLAGS.items() if parsed.state.flags & flag)
    return (f"(?{flags})" if flags else "") + _render(list(parsed), {})


def _entry(pattern: re.Pattern[str]) -> dict[str, Any] | None:
    text = loosened(pattern)
    if text is None:
        return None
    words = regex_anchors(pattern.pattern, pattern.flags & re.IGNORECASE)
    return {"regex": text, "fold": ignores_case(pattern),
            "words": None if words is None else sorted(sorted(term) for term in words)}


def _detector_entries(plugin: Any) -> list[dict[str, Any]] | None:
    """What a hit of this detector needs in a line, one entry per pattern; ``None``: unknown (no gate)."""
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
    from detect_secrets.plugins.keyword import (
        QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
        REGEX_BY_FILETYPE,
        KeywordDetector,
    )
    from detect_secrets.util.filetype import determine_file_type

    if isinstance(plugin, KeywordDetector):
        by_type = REGEX_BY_FILETYPE.get(determine_file_type(OUTPUT_NAME), QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
        patterns = list(by_type)
    elif isinstance(plugin, HighEntropyStringsPlugin):
        # a quoted run of the alphabet with more than 2 ** limit characters (n characters carry at most log2 n bits)
        length = max(math.floor(2 ** plugin.entropy_limit) + 1, MIN_SECRET)
        return [{"regex": f"['\"][{re.escape(plugin.charset)}]{{{length},}}", "fold": False, "words": None}]
    else:
        patterns = list(getattr(plugin, "denylist", ()))
    entries = [_entry(p) for p in patterns]
    if not entries or any(e is None for e in entries):
        return None
    return [e for e in entries if e is not None]


def sources_digest() -> str | None:
    """A digest of what the gate is derived from, read without importing detect-secrets (``None``: not found).

    It guards against another installed detect-secrets; a change to annexa's own choice of detectors
    (``EXCLUDED_PLUGINS``) fails ``tests/content/test_detector_gate.py`` until the gate is derived again."""
    spec = importlib.util.find_spec("detect_secrets")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    here = Path(__file__).resolve().parent
    files = [*sorted((package / "plugins").glob("*.py")), package / "util" / "filetype.py",
             package / "__version__.py", here / "secret_plugins.py"]
    digest = hashlib.sha256()
    for path in files:
        try:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:
            return None
    digest.update(json.dumps([MIN_SECRET, OUTPUT_NAME]).encode())
    return digest.hexdigest()


def derive() -> dict[str, Any]:
    """The gate for the installed detectors (imports detect-secrets)."""
    from annexa.redact import _detectors

    detectors = _detectors()
    entries: list[dict[str, Any]] | None = []
    for plugin, _patterns in detectors:
        found = _detector_entries(plugin)
        if found is None or entries is None:
            entries = None
            continue
        entries.extend(e for e in found if e not in entries)
    return {
        "sources": sources_digest(),
        "detectors": sorted(type(plugin).__name__ for plugin, _ in detectors),
        "patterns": entries if detectors else None,
    }


class Gate:
    """``may_hit(line)`` is false only for a line in which no detector could report a value."""

    def __init__(self, patterns: list[dict[str, Any]], compiled: dict[str, re.Pattern[str]] | None = None) -> None:
        self._patterns = patterns
        self._always: list[str] = []  # patterns without words: searched in every line
        self._worded: list[tuple[frozenset[str], tuple[frozenset[str], ...], bool, str]] = []
        for p in patterns:
            if p["words"] is None:
                self._always.append(str(p["regex"]))
            else:
                terms = tuple(frozenset(t) for t in p["words"])
                self._worded.append((frozenset().union(*terms), terms, bool(p["fold"]), str(p["regex"])))
        self._words = sorted({w for every, _, fold, _ in self._worded if not fold for w in every})
        self._folded = sorted({w for every, _, fold, _ in self._worded if fold for w in every})
        self._compiled: dict[str, re.Pattern[str]] = {} if compiled is None else compiled

    def narrowed(self, text: str) -> Gate:
        """The gate for the lines of ``text``: without the patterns whose words are nowhere in it (a word absent
        from a text is absent from each of its lines). Only words are looked for: a loosened pattern searched
        across a whole text could take quadratic time."""
        lowered = text.lower() if text.isascii() else None
        kept = []
        for p in self._patterns:
            hay = lowered if p["fold"] else text
            if p["words"] is not None and hay is not None and not any(all(w in hay for w in t) for t in p["words"]):
                continue
            kept.append(p)
        return Gate(kept, self._compiled)

    def _search(self, regex: str, line: str) -> bool:
        compiled = self._compiled.get(regex)
        if compiled is None:
            compiled = self._compiled[regex] = re.compile(regex)
        return compiled.search(line) is not None

    def may_hit(self, line: str) -> bool:
        if any(self._search(regex, line) for regex in self._always):
            return True
        lowered = line.lower() if line.isascii() else None
        present = {w for w in self._words if w in line}
        folded = {w for w in self._folded if w in lowered} if lowered is not None else None
        for every, terms, fold, regex in self._worded:
            found = folded if fold else present
            # a pattern whose words are all absent cannot match (on non-ASCII text, folded words are not looked for)
            if found is not None and (found.isdisjoint(every) or not any(term <= found for term in terms)):
                continue
            if self._search(regex, line):
                return True
        return False


_NARROWED: ContextVar[Gate | None] = ContextVar("annexa_detector_gate", default=None)


@contextmanager
def narrowed_to(text: str) -> Iterator[None]:
    """Within the block, :func:`current` is the gate narrowed to ``text`` (in this thread or task only)."""
    base = gate()
    token = _NARROWED.set(None if base is None else base.narrowed(text))
    try:
        yield
    finally:
        _NARROWED.reset(token)


def current() -> Gate | None:
    """The gate in force: narrowed by :func:`narrowed_to`, else the stored one, else ``None`` (no gate)."""
    return _NARROWED.get() or gate()


@lru_cache(maxsize=1)
def gate() -> Gate | None:
    """The stored gate, if it was derived from the installed detectors' sources; else ``None`` (no gate)."""
    try:
        stored = json.loads(DATA.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    patterns = stored.get("patterns")
    if not patterns or stored.get("sources") != sources_digest():
        return None
    try:
        return Gate(patterns)
    except (KeyError, TypeError):
        return None


def main() -> int:
    DATA.write_text(json.dumps(derive(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {DATA}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
