"""Helpers for rule tests: a checkout built from a dict, and one rule run against it."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from annexa.catalog import load_catalog
from annexa.collect.checkout import Checkout
from annexa.config import Config
from annexa.facts import ChangeSet, Facts, PullRequest, RepoSettings
from annexa.model import Result
from annexa.rules import registry
from annexa.rules.base import RuleContext

TODAY = dt.date(2026, 11, 27)
"""The frozen date of every test."""

_CATALOG = load_catalog()


def make_checkout(root: Path, files: Mapping[str, str | bytes], git: bool = False) -> Checkout:
    """Write ``files`` under ``root`` (optionally as one git commit) and return the checkout."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if git:
        git_commit_all(root, "initial")
    return Checkout(root)


def git_commit_all(root: Path, message: str) -> str:
    """Commit everything under ``root`` (initialising the repository if needed); returns the commit id."""
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run(["git", *env_args, "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", *env_args, "commit", "-q", "--allow-empty", "-m", message], cwd=root, check=True)
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def run_rule(
    rule_id: str,
    checkout: Checkout | None = None,
    *,
    config: Config | None = None,
    params: Mapping[str, Any] | None = None,
    change: ChangeSet | None = None,
    settings: RepoSettings | None = None,
    pull_request: PullRequest | None = None,
    platform: str = "local",
    today: dt.date = TODAY,
    **facts: Any,
) -> list[Result]:
    """Run one registered rule with its catalog defaults (overridden by ``params``) and return its results."""
    spec = _CATALOG[rule_id]
    merged = {**spec.defaults(), **(params or {})}
    ctx = RuleContext(
        rule=spec,
        facts=Facts(
            platform=platform,
            checkout=checkout,
            change=change,
            settings=settings,
            pull_request=pull_request,
            **facts,
        ),
        config=config or Config(),
        params=merged,
        today=today,
    )
    return list(registry()[rule_id](ctx))
