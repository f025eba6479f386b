"""Helpers for the workflow rule tests: build a checkout from CI files and read back exact outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from annexa.model import Result, Status
from tests.support import make_checkout, run_rule

SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"
"""A full commit id (actions/checkout v4.2.2)."""

DIGEST = "sha256:" + "ab" * 32
"""A Docker image digest."""

Outcome = tuple[Status, str | None, int | None]


def results(rule: str, tmp_path: Path, files: Mapping[str, str | bytes], **kwargs: Any) -> list[Result]:
    """Run one rule on a plain-folder checkout holding ``files``."""
    return run_rule(rule, make_checkout(tmp_path / "repo", files), **kwargs)


def outcomes(rule: str, tmp_path: Path, files: Mapping[str, str | bytes], **kwargs: Any) -> list[Outcome]:
    """(status, path, line) of every result, in the order the rule returned them."""
    return [
        (r.status, r.location.path if r.location else None, r.location.line if r.location else None)
        for r in results(rule, tmp_path, files, **kwargs)
    ]
