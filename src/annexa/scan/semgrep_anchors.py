"""Which files could hold a match of a semgrep rule at all: words every match needs, read off the rule.

semgrep spends about 2 ms on every file it is given, and parses every file for a rule it cannot pre-filter itself
(``$CALL(..., $OPT=True)`` with ``$OPT`` held by a ``metavariable-regex``; a dict literal). annexa reads each
target once, and gives semgrep only the files that contain, for at least one rule, every word of one of the
rule's *anchor terms*. A file ruled out this way cannot hold a match, so it counts as scanned with no match.

The anchors are derived, never written by hand, and only from what semgrep matches literally:

- an identifier in a Python pattern (``torch.load``, ``weights_only=``) outside string literals and
  metavariables, as a whole *name*: semgrep matches a name only where that name is written as a token of its
  own, if only in an import (``from torch import load as L``), so ``load`` is not looked for inside
  ``download`` (a name is delimited by characters that cannot continue a Python identifier; any non-ASCII byte
  is taken to continue one). Python keywords and ``True``/``False``/``None`` are never words (semgrep folds
  ``not False`` to ``True``), and neither is the content of a string literal (semgrep folds
  ``"trust_" "remote_code"`` and propagates ``k = "a" + "b"``);
- an opening ``{`` or ``[`` of a dict, set or list pattern (no other Python construct matches one);
- a run of literal characters that every match of a ``metavariable-regex`` or ``pattern-regex`` must contain
  (the regex is applied to text taken from the file; a regex with case-insensitive flags, or one Python's
  parser does not read, gives no words).

Negative parts (``pattern-not``, ``pattern-not-inside``) and anything not listed above add nothing; an
alternative without words makes the whole alternation need nothing, and such a rule is given every file. A file
that cannot be read, or that holds NUL bytes (UTF-16 source, binary), is always given to semgrep, so semgrep
reports it as it would have.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Mapping
from typing import Any

from annexa.scan.anchors import Anchors, all_of, any_of, regex_anchors

_NOT_WORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
_STRING = re.compile(r"(?is)(?<![A-Za-z0-9_])[rbuf]{0,2}"
                     r"""('''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")""")
_METAVAR = re.compile(r"\$(?:\.\.\.)?[A-Z_][A-Z0-9_]*")
_TYPED_METAVAR = re.compile(r"\(\s*\$[A-Z_][A-Z0-9_]*\s*:")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_POSITIVE_LEAVES = ("pattern", "pattern-inside")

NAME = "\0"
"""Marks a word that must occur as a whole name (``NAME + "load"``); other words may occur anywhere. No other
word can start with it: a file holding a NUL byte is never pre-filtered."""

_RUN = re.compile(rb"[A-Za-z0-9_\x80-\xff]+")
"""A run of bytes that may make up a Python identifier (every non-ASCII byte may, to stay sound): a name stands
as a name of its own where it is a whole run."""


def name(word: str) -> str:
    """The anchor word for ``word`` written as a name of its own."""
    return NAME + word


def pattern_words(pattern: str) -> frozenset[str]:
    """The words every match of one Python semgrep pattern contains (empty: none known): its names (marked
    with :data:`NAME`) and an opening brace or bracket."""
    if _TYPED_METAVAR.search(pattern):
        return frozenset()  # semgrep may match a type it infers, not a name written in the file
    code = _METAVAR.sub(" ", _STRING.sub(" ", pattern))
    words = {name(w) for w in _IDENT.findall(code) if w not in _NOT_WORDS}
    words |= {c for c in "{[" if c in code}
    return frozenset(words)


def _exact_case(regex: str) -> Anchors:
    """A regex's anchors when it matches case as written (file bytes are searched as they are), else none."""
    try:
        if re.compile(regex).flags & re.IGNORECASE:
            return None
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    return regex_anchors(regex)


def rule_anchors(node: Any) -> Anchors:
    """The anchors of a semgrep rule body (or of any part of one)."""
    if isinstance(node, list):
        return all_of(rule_anchors(item) for item in node)
    if not isinstance(node, Mapping):
        return None
    parts: list[Anchors] = []
    for key, value in node.items():
        if key in _POSITIVE_LEAVES and isinstance(value, str):
            words = pattern_words(value)
            parts.append((words,) if words else None)
        elif key == "pattern-regex" and isinstance(value, str):
            parts.append(_exact_case(value))
        elif key == "patterns" and isinstance(value, list):
            parts.append(all_of(rule_anchors(item) for item in value))
        elif key == "pattern-either" and isinstance(value, list):
            parts.append(any_of([rule_anchors(item) for item in value]))
        elif key == "metavariable-regex" and isinstance(value, Mapping):
            plain = not value.get("constant-propagation") and isinstance(value.get("regex"), str)
            parts.append(_exact_case(value["regex"]) if plain else None)
        elif key == "metavariable-pattern" and isinstance(value, Mapping):
            parts.append(None if "language" in value else rule_anchors(
                {k: v for k, v in value.items() if k in ("pattern", "patterns", "pattern-either", "pattern-regex")}))
        elif key in ("pattern-sources", "pattern-sinks") and isinstance(value, list):
            parts.append(any_of([rule_anchors(item) for item in value]))
        elif key == "mode" and value not in ("search", "taint"):
            return None  # join and extract modes match other files' text
        # negative and unknown keys add nothing (weaker, so still sound)
    return all_of(parts)


class Prefilter:
    """The anchors of a rule list, and the test of one file's bytes against them."""

    def __init__(self, rules: Iterable[Mapping[str, Any]]) -> None:
        self.anchors = {str(rule["id"]): rule_anchors(rule) for rule in rules}
        # each term as (is a name, bytes) pairs, names first: a name is looked up in the file's set of runs, which
        # is built once, and a word that may occur anywhere is searched for only when the term's names are there
        self._terms = {rule: None if a is None else [
            sorted(((w.startswith(NAME), w.removeprefix(NAME).encode()) for w in term), reverse=True)
            for term in a] for rule, a in self.anchors.items()}

    def could_match(self, data: bytes) -> bool:
        """Whether some rule could match in a file with these bytes (always, for bytes with NULs)."""
        found = self.rules_for(data)
        return found is None or bool(found)

    def rules_for(self, data: bytes) -> frozenset[str] | None:
        """The ids of the rules that could match in a file with these bytes; ``None``: every rule (bytes with
        NULs, which semgrep reads its own way)."""
        if b"\0" in data:
            return None
        names: set[bytes] | None = None
        found: dict[bytes, bool] = {}

        def holds(is_name: bool, raw: bytes) -> bool:
            nonlocal names
            if is_name:
                if names is None:
                    names = set(_RUN.findall(data))
                return raw in names
            hit = found.get(raw)
            if hit is None:
                hit = found[raw] = raw in data
            return hit

        return frozenset(rule for rule, terms in self._terms.items()
                         if terms is None or any(all(holds(*word) for word in term) for term in terms))
