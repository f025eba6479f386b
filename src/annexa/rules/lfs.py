"""Rules of the lfs family."""

from __future__ import annotations

from annexa.rules.base import RuleFn

RULES: dict[str, RuleFn] = {}
