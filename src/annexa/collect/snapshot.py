"""Repository settings from a JSON/YAML snapshot (``--settings FILE``), for offline checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annexa.facts import BranchProtection, BypassActor, RepoSettings, Setting
from annexa.yamlio import load_document, validate

_BRANCH_FIELDS = (
    "protected", "force_push_blocked", "deletion_blocked", "pull_request_required", "required_approvals",
    "code_owner_review_required", "stale_approvals_dismissed", "author_approval_blocked", "admins_cannot_bypass",
    "required_status_checks", "signed_commits_required",
)  # fmt: skip


def load_snapshot(path: Path) -> RepoSettings:
    """Read and validate a settings snapshot; a setting it does not state is unknown, never false."""
    doc = load_document(path)
    validate(doc, "settings.schema.json")
    data: dict[str, Any] = doc.data
    missing = f"not stated in the settings snapshot {path.name}"

    def setting(raw: dict[str, Any], key: str) -> Setting[Any]:
        if key not in raw:
            return Setting.unknown(missing)
        value = raw[key]
        if isinstance(value, dict):
            inner = value.get("value")
            return Setting(
                value=tuple(inner) if isinstance(inner, list) else inner,
                source=value.get("source", f"settings snapshot {path.name}"),
                reason=value.get("reason") or (missing if inner is None else None),
                bypass=tuple(BypassActor("Unspecified", name=str(b)) for b in value.get("bypass", ())),
                not_enforced=tuple(value.get("not_enforced", ())),
            )
        if value is None:
            return Setting.unknown(f"stated as unknown in the settings snapshot {path.name}")
        return Setting(tuple(value) if isinstance(value, list) else value, source=f"settings snapshot {path.name}")

    default = data.get("default_branch")
    names = sorted(data.get("branches", {}), key=lambda name: (name != default, name))
    branches = tuple(
        BranchProtection(name, *(setting(data["branches"][name], f) for f in _BRANCH_FIELDS)) for name in names
    )
    return RepoSettings(
        platform=data["platform"],
        repository=data["repository"],
        default_branch=default,
        visibility=setting(data, "visibility"),
        secret_scanning=setting(data, "secret_scanning"),
        secret_push_protection=setting(data, "secret_push_protection"),
        branches=branches,
        codeowners_errors=setting(data, "codeowners_errors"),
    )
