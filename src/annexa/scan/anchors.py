"""Words every match of a pattern must contain, so that a text without them is never searched with it.

An :data:`Anchors` value is a disjunction of terms, each a set of words that a text must all contain; ``None``
needs nothing. Derived from a regex by :func:`regex_anchors` (literal runs joined by AND, alternatives by OR,
optional parts and lookarounds adding nothing) and used by the semgrep pre-filter (``semgrep_anchors``) and the
secret scan's format detectors. Every weakening (dropping a word, a term, or the whole formula) stays sound: it
can only let more texts through.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

_sre: Any = importlib.import_module("re._parser")
"""The regex parser behind ``re`` (``sre_parse`` is its deprecated alias); the regexes are read with it."""

Anchors = tuple[frozenset[str], ...] | None
"""A disjunction of terms, each a set of words a text must all contain; ``None`` needs nothing (every text)."""

MAX_TERMS = 256
"""A formula with more terms is weakened (an AND keeps one side, an OR needs nothing): always sound."""

MIN_REGEX_WORD = 3
"""Literal runs of a regex shorter than this are dropped (sound, and they would select almost every text)."""


def _and(a: Anchors, b: Anchors) -> Anchors:
    if a is None:
        return b
    if b is None:
        return a
    terms = {x | y for x in a for y in b}
    if len(terms) > MAX_TERMS:
        return a if len(a) <= len(b) else b
    return _minimal(terms)


def _or(a: Anchors, b: Anchors) -> Anchors:
    if a is None or b is None:
        return None
    terms = set(a) | set(b)
    return None if len(terms) > MAX_TERMS else _minimal(terms)


def _minimal(terms: set[frozenset[str]]) -> Anchors:
    """The terms without any that another term's words are a subset of (it would add nothing to the OR)."""
    if frozenset() in terms:
        return None
    kept = [t for t in terms if not any(o < t for o in terms)]
    return tuple(sorted(kept, key=lambda t: (len(t), sorted(t))))


def all_of(parts: Iterable[Anchors]) -> Anchors:
    out: Anchors = None
    for part in parts:
        out = _and(out, part)
    return out


def any_of(parts: Sequence[Anchors]) -> Anchors:
    if not parts:
        return None
    out = parts[0]
    for part in parts[1:]:
        out = _or(out, part)
    return out


def regex_anchors(regex: str, flags: int = 0) -> Anchors:
    """What every text a regex matches contains: literal runs joined by AND, alternatives by OR.

    A regex that ignores case as a whole (``flags`` or a leading ``(?i)``) gives lower-case words, to be looked
    for in lowered ASCII text (:func:`ignores_case` says which); a case-insensitive group inside gives nothing.
    """
    try:
        parsed = _sre.parse(regex, flags)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    if parsed.state.flags & re.VERBOSE:
        return None
    return _sequence(list(parsed), bool(parsed.state.flags & re.IGNORECASE))


def ignores_case(pattern: re.Pattern[str]) -> bool:
    """Whether a compiled pattern ignores case as a whole (its :func:`regex_anchors` words are lower-case)."""
    return bool(pattern.flags & re.IGNORECASE)


def _sequence(items: list[tuple[Any, Any]], fold: bool) -> Anchors:
    parts: list[Anchors] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= MIN_REGEX_WORD:
            parts.append((frozenset({"".join(run)}),))
        run.clear()

    for op, av in items:
        if op is _sre.LITERAL:
            char = chr(av)
            if fold and not char.isascii():
                flush()  # a non-ASCII letter folds to other letters (K to the Kelvin sign): no word
                continue
            run.append(char.lower() if fold else char)
            continue
        flush()
        if op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            scoped = add_flags & (re.IGNORECASE | re.VERBOSE) or (fold and del_flags & re.IGNORECASE)
            parts.append(None if scoped else _sequence(list(sub), fold))
        elif op is _sre.BRANCH:
            parts.append(any_of([_sequence(list(branch), fold) for branch in av[1]]))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = av
            parts.append(_sequence(list(sub), fold) if low >= 1 else None)
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            parts.append(_sequence(list(av), fold))
        # anything else (classes, anchors, lookarounds, back-references) adds nothing and ends the run
    flush()
    return all_of(parts)


def holds(anchors: Anchors, text: str) -> bool:
    """Whether ``text`` holds every word of some term of ``anchors`` (always, for ``None``)."""
    return anchors is None or any(all(word in text for word in term) for term in anchors)
