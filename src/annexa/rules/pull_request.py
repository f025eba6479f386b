"""Rules of the pull request family."""

from __future__ import annotations

from annexa.rules.base import RuleFn

RULES: dict[str, RuleFn] = {}
