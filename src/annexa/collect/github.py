"""Compatibility shim: the GitHub collector moved to ``annexa.platforms.github.client``.

Kept so that existing imports (``GitHubClient``, ``SettingsCollector``, ``_ref_update_view``, ``_Ruleset``,
``_ruleset_view`` ...) go on working; new code imports from ``annexa.platforms.github.client``.
"""

from __future__ import annotations

from annexa.collect.patch import added_lines
from annexa.platforms.github.client import (
    BRANCHES_NEEDS,
    BYPASS_NEEDS,
    CLASSIC_NEEDS,
    CLASSIC_SOURCE,
    GRAPHQL_REF_RULES,
    PR_FILE_LIMIT,
    SECURITY_NEEDS,
    TEAM_NEEDS,
    GitHubClient,
    PullCollector,
    PullFacts,
    RetryPolicy,
    SettingsCollector,
    Unavailable,
    _BranchRead,
    _classic_view,
    _file_change,
    _ref_matches,
    _ref_update_view,
    _Ruleset,
    _ruleset_view,
    bypass_actors,
    describe_error,
)

__all__ = [
    "BRANCHES_NEEDS", "BYPASS_NEEDS", "CLASSIC_NEEDS", "CLASSIC_SOURCE", "GRAPHQL_REF_RULES", "PR_FILE_LIMIT",
    "SECURITY_NEEDS", "TEAM_NEEDS", "GitHubClient", "PullCollector", "PullFacts", "RetryPolicy", "SettingsCollector",
    "Unavailable", "_BranchRead", "_Ruleset", "_classic_view", "_file_change", "_ref_matches", "_ref_update_view",
    "_ruleset_view", "added_lines", "bypass_actors", "describe_error",
]
