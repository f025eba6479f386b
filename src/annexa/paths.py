"""Glob matching for repository-relative POSIX paths (``**`` crosses folders, ``*`` does not)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=4096)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob: ``**/`` any folders, ``**`` anything, ``*`` and ``?`` within one segment, ``[...]`` sets."""
    return re.compile(_glob_source(pattern), re.DOTALL)


@lru_cache(maxsize=4096)
def _glob_source(pattern: str) -> str:
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out) + r"\Z"


def glob_match(pattern: str, path: str) -> bool:
    """True when the whole ``path`` matches ``pattern``; a leading ``/`` or ``./`` is ignored."""
    return glob_regex(_normal(pattern)).match(path) is not None


def _normal(pattern: str) -> str:
    return pattern.removeprefix("./").lstrip("/")


@lru_cache(maxsize=1024)
def any_regex(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex matching a path that matches any of the globs (``None`` for no globs)."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{_glob_source(_normal(p))})" for p in patterns), re.DOTALL)


def match_any(patterns: Iterable[str], path: str) -> bool:
    """True when ``path`` matches at least one of ``patterns``."""
    regex = any_regex(patterns if isinstance(patterns, tuple) else tuple(patterns))
    return regex is not None and regex.match(path) is not None
