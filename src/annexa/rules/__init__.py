"""Rule implementations, one module per family. This module is the single registry of rule ids."""

from __future__ import annotations

from annexa.rules import content, governance, lfs, model_files, ownership, pull_request, settings, workflows
from annexa.rules.base import Prefetch, RuleContext, RuleFn

FAMILIES = (governance, settings, lfs, ownership, workflows, content, model_files, pull_request)
"""Every family module; each exports ``RULES: dict[str, RuleFn]``."""


def registry() -> dict[str, RuleFn]:
    """Map every implemented rule id to its function; a rule id registered twice is an error."""
    found: dict[str, RuleFn] = {}
    for family in FAMILIES:
        for rule_id, fn in family.RULES.items():
            if rule_id in found:
                raise RuntimeError(f"rule {rule_id} is registered twice (again in {family.__name__})")
            found[rule_id] = fn
    return found


def prefetchers() -> dict[str, Prefetch]:
    """Rule ids whose family declares a scan the engine may start early (``PREFETCH`` of a family module)."""
    found: dict[str, Prefetch] = {}
    for family in FAMILIES:
        found.update(getattr(family, "PREFETCH", {}))
    return found


__all__ = ["FAMILIES", "Prefetch", "RuleContext", "RuleFn", "prefetchers", "registry"]
