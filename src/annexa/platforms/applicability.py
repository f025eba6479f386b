"""Whether a rule can be answered on this run, from the catalog's ``platforms`` and ``needs``.

Called by ``engine.run_check`` before a rule runs: a rule that the run's platform cannot answer is
``not_applicable`` with that reason; a need the run does not meet (repository settings, a pull or merge request)
is ``unknown`` naming the need. Rules that also read the checkout judge their own needs (they may find nothing
to check, which is ``not_applicable``, before they need the settings).
"""

from __future__ import annotations

from annexa.catalog import RuleSpec
from annexa.facts import Facts
from annexa.model import Result, Status

CI_PLATFORMS = {"github": "GitHub", "gitlab": "GitLab"}
"""Platforms whose runs are held to the catalog's ``platforms`` list (``local`` runs every rule it can)."""


def applicability(spec: RuleSpec, facts: Facts) -> Result | None:
    """``None`` when the rule should run; otherwise the one result that stands for it on this run."""
    name = CI_PLATFORMS.get(facts.platform)
    if name is not None and facts.platform not in spec.platforms:
        where = ", ".join(CI_PLATFORMS.get(p, p) for p in spec.platforms if p != "local") or "local checks"
        return Result(Status.NOT_APPLICABLE, f"{spec.id} cannot be answered on {name}: it applies to {where}",
                      evidence={"platform": facts.platform, "platforms": list(spec.platforms)})
    if spec.needs.get("checkout"):
        return None
    if spec.needs.get("settings") and facts.settings is None:
        return Result(Status.UNKNOWN, f"{spec.title}: repository settings are not available",
                      evidence={"needs": facts.settings_reason, "need": "settings"})
    if spec.needs.get("pull_request") and (facts.pull_request is None or facts.change is None):
        return Result(Status.UNKNOWN, f"{spec.title}: needs a pull or merge request",
                      evidence={"needs": facts.pull_request_reason, "need": "pull_request"})
    return None
