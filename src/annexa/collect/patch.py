"""Unified-diff patches as the platforms' APIs give them (GitHub ``patch``, GitLab ``diff``)."""

from __future__ import annotations

import re

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def added_lines(patch: str) -> frozenset[int]:
    """Line numbers (in the new file) that a unified-diff ``patch`` adds."""
    lines: set[int] = set()
    current = 0
    for line in patch.splitlines():
        hunk = _HUNK.match(line)
        if hunk:
            current = int(hunk.group(1))
        elif line.startswith("+"):
            lines.add(current)
            current += 1
        elif line.startswith(" ") or line == "":
            current += 1
        # "-" lines and "\ No newline" markers do not advance the new file
    return frozenset(lines)
