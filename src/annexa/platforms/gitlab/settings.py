"""GitLab repository settings: project, protected branches, approval settings and rules, push rules.

Premium endpoints (approvals, approval rules, push rules) answer 403 on Free and 404 on CE, where the EE API is
not mounted: the tier is detected once, from the first of them, and every setting that depends on it is
``unknown`` naming the tier, never ``False``. ``GET /push_rule`` answers a literal ``null`` when no push rule was
ever configured, so it is read with ``http_get``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gitlab.exceptions import GitlabError

from annexa.facts import BranchProtection, BypassActor, RepoSettings, Setting
from annexa.paths import match_any
from annexa.platforms.base import PlatformError, SettingsRead
from annexa.platforms.gitlab.client import PREMIUM, ULTIMATE, GitLabClient, describe, quote, status_of
from annexa.platforms.gitlab.tier import Tier as Tier  # re-exported (orgscan imports it from here)

NO_ONE, DEVELOPER, MAINTAINER, ADMIN = 0, 30, 40, 60
LEVEL_NAMES = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Administrators"}
MAINTAINER_NEEDS = "a GitLab token of a Maintainer with read_api scope (protected branches need Maintainer)"


@dataclass
class ProjectRaw:
    """Everything read about one project, before it becomes facts (kept for ``annexa settings snapshot``)."""

    project: dict[str, Any]
    protected: list[dict[str, Any]] | str
    approvals: dict[str, Any] | str
    approval_rules: list[dict[str, Any]] | str
    push_rule: dict[str, Any] | str | None
    tier: Tier = field(default_factory=Tier)


def _level(entry: Mapping[str, Any]) -> str:
    if entry.get("user_id"):
        return f"user {entry['user_id']}"
    if entry.get("group_id"):
        return f"group {entry['group_id']}"
    if entry.get("deploy_key_id"):
        return f"deploy key {entry['deploy_key_id']}"
    level = entry.get("access_level")
    return str(entry.get("access_level_description") or LEVEL_NAMES.get(level or 0, f"access level {level}"))


def _can_push(levels: Sequence[Mapping[str, Any]]) -> list[str]:
    """Who may push directly (an empty list: no one)."""
    return [_level(e) for e in levels if e.get("user_id") or e.get("group_id") or e.get("deploy_key_id")
            or int(e.get("access_level") or 0) != NO_ONE]


def _enforced_approvals(rule: Mapping[str, Any]) -> int:
    """The approvals a rule really asks for: a ``regular`` rule with no eligible approver is approved by GitLab on
    its own (an "invalid" rule, gitlab-org/gitlab#390121), so it asks for none. Hidden groups may hold approvers."""
    required = int(rule.get("approvals_required") or 0)
    eligible = rule.get("eligible_approvers")
    if (rule.get("rule_type") == "regular" and not rule.get("contains_hidden_groups")
            and isinstance(eligible, list) and not eligible):
        return 0
    return required


def _applies(rule: Mapping[str, Any], branch: str) -> bool:
    if rule.get("applies_to_all_protected_branches"):
        return True
    branches = rule.get("protected_branches") or []
    return not branches or any(fnmatch.fnmatchcase(branch, str(b.get("name"))) for b in branches)


def branch_protection(name: str, raw: ProjectRaw) -> BranchProtection:
    """The effective protection of one GitLab branch: the one place GitLab settings become ``BranchProtection``."""
    if isinstance(raw.protected, str):
        gap: Setting[Any] = Setting.unknown(raw.protected)
        return BranchProtection(name, *([gap] * 11))
    matching = [p for p in raw.protected if fnmatch.fnmatchcase(name, str(p.get("name")))]
    if not matching:
        off = "branch is not protected (no protected branch rule matches it)"
        return BranchProtection(
            name, Setting(False, off), Setting(False, off), Setting(False, off), Setting(False, off), Setting(0, off),
            Setting(False, off), Setting(False, off), Setting(False, off), Setting(False, off), Setting((), off),
            Setting(False, off),
        )  # fmt: skip
    labels = ", ".join(f"protected branch '{p.get('name')}'" for p in matching)
    push = [who for p in matching for who in _can_push(p.get("push_access_levels") or [])]
    # Several matching rules: GitLab applies the most permissive of each (any rule that allows, allows).
    force = any(p.get("allow_force_push") for p in matching)
    unprotect = sorted({_level(e) for p in matching for e in p.get("unprotect_access_levels") or []})
    merge = sorted({_level(e) for p in matching for e in p.get("merge_access_levels") or []})

    def premium(value: Any, source: str) -> Setting[Any]:
        if isinstance(raw.approvals, str):
            return Setting.unknown(raw.approvals)
        return Setting(value, source)

    if any("code_owner_approval_required" in p for p in matching):
        code_owner: Setting[bool] = Setting(
            any(bool(p.get("code_owner_approval_required")) for p in matching), f"{labels} code_owner_approval_required"
        )
    else:
        code_owner = Setting.unknown(raw.tier.reason or f"{PREMIUM} (code owner approval on protected branches)")
    approvals: Setting[int]
    if isinstance(raw.approval_rules, str):
        approvals = Setting.unknown(raw.approval_rules)
    else:
        counted = [r for r in raw.approval_rules
                   if r.get("rule_type") in ("regular", "any_approver") and _applies(r, name)]
        best = max(counted, key=_enforced_approvals, default=None)
        count = _enforced_approvals(best) if best else 0
        source = f"approval rule '{best.get('name')}'" if best else "no approval rule applies"
        if best and count < int(best.get("approvals_required") or 0):
            source += (f" (requires {best.get('approvals_required')}, but no one is eligible to approve it, so GitLab "
                       "approves it on its own)")
        approvals = Setting(count, source)
    settings = raw.approvals if isinstance(raw.approvals, dict) else {}
    author_blocked = (settings.get("merge_requests_author_approval") is False
                      and settings.get("merge_requests_disable_committers_approval") is True)
    overriding_off = bool(settings.get("disable_overriding_approvers_per_merge_request"))
    bypass = tuple(f"{who} (may push directly)" for who in push)
    if not overriding_off and isinstance(raw.approvals, dict):
        bypass += ("merge request authors (may edit approval rules per merge request)",)
    checks = bool(raw.project.get("only_allow_merge_if_pipeline_succeeds"))
    if isinstance(raw.push_rule, str):
        signed: Setting[bool] = Setting.unknown(raw.push_rule)
    elif raw.push_rule is None:
        signed = Setting(False, "no push rule is configured for the project")
    else:
        member = "; member_check on: commit authors must be project users" if raw.push_rule.get("member_check") \
            else ""
        signed = Setting(bool(raw.push_rule.get("reject_unsigned_commits")),
                         f"project push rule reject_unsigned_commits{member}")
    return BranchProtection(
        branch=name,
        protected=Setting(True, labels, bypass=_actors(f"{u} (may unprotect)" for u in unprotect)),
        force_push_blocked=Setting(not force, f"{labels} allow_force_push"),
        deletion_blocked=Setting(True, f"{labels} (only Maintainers may delete it, in the UI or API)",
                                 bypass=_actors(["Maintainers (web UI or API)"])),
        pull_request_required=Setting(not push, f"{labels} push_access_levels",
                                      bypass=_actors(f"{who} (may push directly)" for who in push)),
        required_approvals=approvals,
        code_owner_review_required=code_owner,
        stale_approvals_dismissed=premium(bool(settings.get("reset_approvals_on_push")),
                                          "project approval setting reset_approvals_on_push"),
        author_approval_blocked=premium(author_blocked, "project approval settings merge_requests_author_approval, "
                                        "merge_requests_disable_committers_approval"),
        admins_cannot_bypass=Setting(False, f"{labels} push_access_levels",
                                     bypass=_actors(bypass)) if push else premium(
            overriding_off, f"{labels}: no one may push; project approval setting "
            f"disable_overriding_approvers_per_merge_request (may merge: {', '.join(merge) or 'No one'})"),
        required_status_checks=Setting(("pipeline",) if checks else (),
                                       "project setting only_allow_merge_if_pipeline_succeeds"),
        signed_commits_required=signed,
    )


def _actors(labels: Iterable[str]) -> tuple[BypassActor, ...]:
    """GitLab's bypass paths (access levels, users, approval overrides) as neutral actors named for reports."""
    return tuple(BypassActor("Unspecified", name=label) for label in labels)


class GitLabSettingsCollector:
    """Reads one project's settings (about six requests, fewer on Free or CE)."""

    def __init__(self, client: GitLabClient, project: str) -> None:
        self.client = client
        self.project = project
        self.tier = Tier()
        self.raw: ProjectRaw | None = None

    def read(self) -> ProjectRaw | str:
        """The raw answers, or why the project itself cannot be read (read once; later calls reuse them)."""
        if self.raw is not None:
            return self.raw
        pid = quote(self.project)
        try:
            project: dict[str, Any] = self.client.get(f"/projects/{pid}", what=f"project {self.project}")
        except GitlabError as exc:
            return describe(exc, f"project {self.project}")
        except PlatformError as exc:
            return exc.reason
        protected: list[dict[str, Any]] | str
        try:
            protected = self.client.get_all(f"/projects/{pid}/protected_branches", what="protected branches")
        except GitlabError as exc:
            protected = MAINTAINER_NEEDS if status_of(exc) in (401, 403) else describe(exc, "protected branches")
        except PlatformError as exc:
            protected = exc.reason
        approvals = self._premium(f"/projects/{pid}/approvals", "approval settings", many=False)
        rules = self._premium(f"/projects/{pid}/approval_rules", "approval rules", many=True)
        push_rule = self._premium(f"/projects/{pid}/push_rule", "push rules", many=False)
        raw = ProjectRaw(project, protected, approvals, rules, push_rule, self.tier)
        self.raw = raw
        return raw

    def _premium(self, path: str, what: str, many: bool) -> Any:
        """A Premium endpoint: skipped with the tier's reason once the tier is known to lack it."""
        if self.tier.premium is False:
            return self.tier.reason
        try:
            value = self.client.get_all(path, what=what) if many else self.client.get(path, what=what)
        except GitlabError as exc:
            if status_of(exc) in (403, 404):
                if self.tier.premium is None:
                    self.tier.note(exc)
                    return self.tier.reason
                return describe(exc, what)
            return describe(exc, what)
        except PlatformError as exc:
            return exc.reason
        self.tier.premium = True
        return value

    def collect(self, branch_patterns: Sequence[str] = (), base_branches: Sequence[str] = ()) -> SettingsRead:
        """Settings of the default branch, the MR's target branch and every protected branch rule's exact name
        matching a pattern."""
        raw = self.read()
        if isinstance(raw, str):
            return SettingsRead(None, raw)
        return SettingsRead(settings_from(raw, self.project, branch_patterns, base_branches),
                            archived=bool(raw.project.get("archived")), empty=bool(raw.project.get("empty_repo")))


def _with_prevent_secrets(setting: Setting[bool], push_rule: dict[str, Any] | str | None) -> Setting[bool]:
    """The push rule's ``prevent_secrets`` noted beside secret push protection. It rejects files *named* like
    keys (``id_rsa``, ``*.pem``, ...), not secrets in their content, so it never stands in for the setting: the
    value is unchanged and the note says what else is on."""
    if not isinstance(push_rule, dict) or not push_rule.get("prevent_secrets"):
        return setting
    note = "push rule prevent_secrets on (rejects files named like keys, not secrets in content)"
    if setting.value is None:
        return replace(setting, reason=f"{setting.reason}; {note}")
    return replace(setting, source=f"{setting.source}; {note}")


def settings_from(raw: ProjectRaw, project: str, branch_patterns: Sequence[str] = (),
                  base_branches: Sequence[str] = ()) -> RepoSettings:
    """``RepoSettings`` from the raw answers."""
    data = raw.project
    default = data.get("default_branch")
    names = [str(default)] if default else []
    names += [b for b in base_branches if b and b not in names]
    if branch_patterns and isinstance(raw.protected, list):
        names += [str(p.get("name")) for p in raw.protected
                  if "*" not in str(p.get("name")) and match_any(list(branch_patterns), str(p.get("name")))
                  and str(p.get("name")) not in names]
    if "secret_push_protection_enabled" in data:
        push_protection: Setting[bool] = Setting(bool(data["secret_push_protection_enabled"]),
                                                 "project secret_push_protection_enabled")
    elif "pre_receive_secret_detection_enabled" in data:
        push_protection = Setting(bool(data["pre_receive_secret_detection_enabled"]),
                                  "project pre_receive_secret_detection_enabled (GitLab before 17.11)")
    else:
        push_protection = Setting.unknown(f"{ULTIMATE} (GitLab did not report secret_push_protection_enabled)")
    push_protection = _with_prevent_secrets(push_protection, raw.push_rule)
    return RepoSettings(
        platform="gitlab",
        repository=str(data.get("path_with_namespace") or project),
        default_branch=str(default) if default else None,
        visibility=Setting(str(data.get("visibility")), "project visibility") if data.get("visibility")
        else Setting.unknown("the project's visibility (GitLab did not report it)"),
        secret_scanning=Setting.unknown("GitLab has no secret scanning setting: secret detection runs as a CI job"),
        secret_push_protection=push_protection,
        branches=tuple(branch_protection(n, raw) for n in names),
        codeowners_errors=Setting.unknown("GitLab has no CODEOWNERS errors API; annexa parses the file itself"),
    )
