"""The content scanners (secrets, semgrep, PII, model files, LFS, CI files); each reads a file tree, never runs it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Skipped:
    """A file a scanner did not scan, and why."""

    path: str
    reason: str
