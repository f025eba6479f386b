"""``annexa fix ruleset``: the branch settings that would make a repository conform to its protection rules.

From the policies' Source Code Protection requirements (with their parameters, as the engine resolves them) this
builds, as pure data: a GitHub ruleset in the format GitHub's "Import a ruleset" and ``POST /repos/{o}/{r}/rulesets``
take, and the equivalent GitLab API payloads (protected branch, merge request approval settings, approval rule,
push rule). Nothing here talks to a platform; ``apply_github`` does, and only when the user asked for it.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from annexa.engine import Inputs, resolve_params

RULESET_NAME = "annexa: source code protection"
PROTECTION_RULES = (
    "branch-protected", "force-push-blocked", "deletion-blocked", "pull-request-required", "approvals-required",
    "code-owner-review-required", "stale-approvals-dismissed", "author-approval-blocked", "admins-cannot-bypass",
    "status-checks-required", "signed-commits-required",
)  # fmt: skip


@dataclass(frozen=True)
class Desired:
    """What the policies require of protected branches."""

    rules: frozenset[str]
    branches: tuple[str, ...]
    """Branch globs besides the default branch."""
    approvals: int
    checks: tuple[str, ...]

    def wants(self, rule: str) -> bool:
        """True when a policy requires ``rule``."""
        return rule in self.rules


def desired(inputs: Inputs) -> Desired:
    """The protection the loaded policies and config require (the strictest parameters win)."""
    rules: set[str] = set()
    branches: list[str] = []
    approvals = 0
    checks: list[str] = []
    for policy in inputs.policies:
        for req in policy.requirements:
            if req.rule not in PROTECTION_RULES:
                continue
            params = resolve_params(inputs.catalog[req.rule], req.params, inputs.config)
            rules.add(req.rule)
            branches += [str(b) for b in params.get("branches") or [] if str(b) not in branches]
            if req.rule == "approvals-required":
                approvals = max(approvals, int(params.get("min", 1)))
            if req.rule == "status-checks-required":
                checks += [str(c) for c in params.get("checks") or [] if str(c) not in checks]
    if rules & {"approvals-required", "code-owner-review-required", "stale-approvals-dismissed",
                "author-approval-blocked"}:
        rules.add("pull-request-required")
    return Desired(frozenset(rules), tuple(branches), approvals, tuple(checks))


def github_ruleset(want: Desired) -> dict[str, Any]:
    """A branch ruleset that satisfies ``want``, with no bypass actors when admins must not bypass."""
    rules: list[dict[str, Any]] = []
    if want.wants("deletion-blocked") or want.wants("branch-protected"):
        rules.append({"type": "deletion"})
    if want.wants("force-push-blocked") or want.wants("branch-protected"):
        rules.append({"type": "non_fast_forward"})
    if want.wants("pull-request-required"):
        rules.append({"type": "pull_request", "parameters": {
            "required_approving_review_count": want.approvals,
            "dismiss_stale_reviews_on_push": want.wants("stale-approvals-dismissed"),
            "require_code_owner_review": want.wants("code-owner-review-required"),
            "require_last_push_approval": want.wants("author-approval-blocked"),
            "required_review_thread_resolution": False,
        }})
    if want.wants("status-checks-required") and want.checks:
        rules.append({"type": "required_status_checks", "parameters": {
            "strict_required_status_checks_policy": True,
            "required_status_checks": [{"context": c} for c in want.checks],
        }})
    if want.wants("signed-commits-required"):
        rules.append({"type": "required_signatures"})
    return {
        "name": RULESET_NAME,
        "target": "branch",
        "enforcement": "active",
        "bypass_actors": [],
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH", *(f"refs/heads/{b}" for b in want.branches)],
                                    "exclude": []}},
        "rules": rules,
    }


def gitlab_payload(want: Desired, branch: str = "main") -> dict[str, Any]:
    """GitLab API payloads with the same effect, keyed by the endpoint each one goes to."""
    protected: dict[str, Any] = {
        "name": branch,
        "push_access_level": 0 if want.wants("pull-request-required") else 40,
        "merge_access_level": 30,
        "unprotect_access_level": 40,
        "allow_force_push": not (want.wants("force-push-blocked") or want.wants("branch-protected")),
        "code_owner_approval_required": want.wants("code-owner-review-required"),
    }
    payload: dict[str, Any] = {
        "POST /projects/:id/protected_branches": [protected, *({**protected, "name": b} for b in want.branches)],
        "POST /projects/:id/approvals": {
            "reset_approvals_on_push": want.wants("stale-approvals-dismissed"),
            "merge_requests_author_approval": not want.wants("author-approval-blocked"),
            "merge_requests_disable_committers_approval": want.wants("author-approval-blocked"),
            "disable_overriding_approvers_per_merge_request": True,
        },
    }
    if want.approvals:
        payload["POST /projects/:id/approval_rules"] = {
            "name": "annexa: required approvals", "approvals_required": want.approvals,
            "rule_type": "any_approver", "applies_to_all_protected_branches": True,
        }
    if want.wants("signed-commits-required"):
        payload["PUT /projects/:id/push_rule"] = {"reject_unsigned_commits": True}
    if want.wants("status-checks-required"):
        payload["PUT /projects/:id"] = {"only_allow_merge_if_pipeline_succeeds": True}
    return payload


def notes(want: Desired) -> list[str]:
    """What the generated settings cannot express, for the user to do by hand."""
    out: list[str] = []
    if want.wants("status-checks-required") and not want.checks:
        out.append("status-checks-required has no `checks` parameter, so no required status check was added; "
                   "name the checks in .annexa.yml (params.status-checks-required.checks).")
    if want.wants("pull-request-required") and not want.approvals:
        out.append("no approvals-required requirement: pull requests are required with 0 approvals.")
    return out


def comparable(ruleset: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a ruleset that ``apply`` sets, in a stable form for diffing."""
    return {k: ruleset.get(k) for k in ("name", "target", "enforcement", "bypass_actors", "conditions", "rules")}


def diff(current: Mapping[str, Any] | None, wanted: Mapping[str, Any], label: str) -> str:
    """A unified diff of the ruleset as it is and as it would be."""
    before = json.dumps(comparable(current), indent=2, sort_keys=True).splitlines() if current else []
    after = json.dumps(comparable(wanted), indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(before, after, f"{label} (now)", f"{label} (annexa)", lineterm=""))


@dataclass(frozen=True)
class Applied:
    """What ``apply_github`` did."""

    action: str
    """created, updated or unchanged"""
    ruleset_id: int | None
    diff: str


def apply_github(repository: str, ruleset: Mapping[str, Any], token: str, api_url: str) -> Applied:
    """Create or update annexa's ruleset on ``repository`` (needs a token with repository administration)."""
    from github import Auth, Github, GithubException

    from annexa.errors import AnnexaError

    client = Github(base_url=api_url.rstrip("/"), auth=Auth.Token(token), seconds_between_requests=None,
                    seconds_between_writes=None)
    requester = client.requester
    try:
        _, listing = requester.requestJsonAndCheck("GET", f"/repos/{repository}/rulesets",
                                                   parameters={"includes_parents": "false", "per_page": 100})
        found = next((r for r in listing or [] if r.get("name") == ruleset["name"]), None)
        current = None
        if found is not None:
            _, current = requester.requestJsonAndCheck("GET", f"/repos/{repository}/rulesets/{found['id']}")
        change = diff(current, ruleset, f"{repository} ruleset {ruleset['name']!r}")
        if current is not None and not change:
            return Applied("unchanged", int(current["id"]), "")
        if current is None:
            _, made = requester.requestJsonAndCheck("POST", f"/repos/{repository}/rulesets", input=dict(ruleset))
            return Applied("created", int(made["id"]), change)
        _, made = requester.requestJsonAndCheck("PUT", f"/repos/{repository}/rulesets/{current['id']}",
                                                input=dict(ruleset))
        return Applied("updated", int(made["id"]), change)
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        raise AnnexaError(f"{repository}: the ruleset could not be applied ({exc.status} {message or ''}); "
                          "the token needs the repository's administration permission (write)") from None


# ---------------------------------------------------------------------------------------------- GitLab

APPROVAL_RULE_NAME = "annexa: required approvals"
_LEVEL_KEYS = {"push_access_level": "push_access_levels", "merge_access_level": "merge_access_levels",
               "unprotect_access_level": "unprotect_access_levels"}
_ALLOWED = {"push_access_level": "allowed_to_push", "merge_access_level": "allowed_to_merge",
            "unprotect_access_level": "allowed_to_unprotect"}


@dataclass(frozen=True)
class GitLabApplied:
    """What ``apply_gitlab`` did: the diff it showed, one line per endpoint called, and what it could not do."""

    diff: str
    actions: tuple[str, ...]
    skipped: tuple[str, ...]


def _live_protected(entry: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """A live protected branch in the shape of the payload (role levels; a list when several are allowed)."""
    out: dict[str, Any] = {"name": entry.get("name")}
    for key, live_key in _LEVEL_KEYS.items():
        levels = sorted(int(e.get("access_level") or 0) for e in entry.get(live_key) or ()
                        if not (e.get("user_id") or e.get("group_id") or e.get("deploy_key_id")))
        others = [e for e in entry.get(live_key) or () if e.get("user_id") or e.get("group_id") or
                  e.get("deploy_key_id")]
        value: Any = levels[0] if len(levels) == 1 and not others else levels + [
            f"user {e['user_id']}" if e.get("user_id") else f"group {e.get('group_id')}" if e.get("group_id")
            else f"deploy key {e.get('deploy_key_id')}" for e in others]
        out[key] = value
    for key in ("allow_force_push", "code_owner_approval_required"):
        if key in wanted:
            out[key] = entry.get(key)
    return out


def _subset(live: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> dict[str, Any] | None:
    return None if live is None else {k: live.get(k) for k in wanted}


def _upsert(plan: list[tuple[str, str, str, dict[str, Any]]], label: str, live: Mapping[str, Any] | None,
            body: Mapping[str, Any], create: str, update: str) -> dict[str, Any] | None:
    """Plan a POST to ``create`` when nothing is there, a PUT to ``update`` when what is there differs from
    ``body``; returns the live values of ``body``'s keys (``None``: nothing there)."""
    now = _subset(live, body)
    if live is None:
        plan.append((label, "post", create, dict(body)))
    elif now != body:
        plan.append((label, "put", update, dict(body)))
    return now


def _json_lines(value: Any) -> list[str]:
    return [] if value is None else json.dumps(value, indent=2, sort_keys=True).splitlines()


def gitlab_default_branch(project: str, token: str, url: str) -> str:
    """The project's default branch (``main`` for an empty project without one)."""
    from gitlab.exceptions import GitlabError

    from annexa.errors import AnnexaError
    from annexa.platforms.base import PlatformError
    from annexa.platforms.gitlab.client import GitLabClient, describe, quote

    try:
        data = GitLabClient(url, token).get(f"/projects/{quote(project)}", what=f"project {project}")
    except GitlabError as exc:
        raise AnnexaError(describe(exc, f"project {project}")) from None
    except PlatformError as exc:
        raise AnnexaError(f"{project}: {exc.reason}") from None
    return str(data.get("default_branch") or "main")


def apply_gitlab(project: str, payload: Mapping[str, Any], token: str, url: str,
                 write: Any = None) -> GitLabApplied:
    """Show the diff of ``payload`` against the project's live settings, then apply it with python-gitlab.

    Protected branches: ``PATCH`` an existing one (its access levels replaced by the wanted role), ``POST`` a
    missing one. Approval settings: ``POST /approvals``. annexa's approval rule: ``PUT`` when it exists, else
    ``POST``. Push rule: ``PUT`` or ``POST``. Project: ``PUT``. A Premium endpoint the tier lacks (403/404) is
    skipped and reported, never taken for done. ``write(line)`` receives the diff before anything is changed.
    """
    from gitlab.exceptions import GitlabError

    from annexa.errors import AnnexaError
    from annexa.platforms.base import PlatformError
    from annexa.platforms.gitlab.client import GitLabClient, describe, quote, status_of

    client = GitLabClient(url, token)
    pid = quote(project)
    base = f"/projects/{pid}"

    def read(path: str, what: str, many: bool = False) -> Any:
        try:
            return client.get_all(path, what=what) if many else client.get(path, what=what)
        except GitlabError as exc:
            if status_of(exc) in (403, 404) and path != base:
                return exc
            raise AnnexaError(describe(exc, f"{project}: {what}")) from None
        except PlatformError as exc:
            raise AnnexaError(f"{project}: {exc.reason}") from None

    live_project = read(base, "project")
    branches = read(f"{base}/protected_branches", "protected branches", many=True)
    if isinstance(branches, Exception):
        raise AnnexaError(f"{project}: protected branches cannot be read (a Maintainer token with api scope is "
                          "needed)")
    approvals = read(f"{base}/approvals", "approval settings")
    rules = read(f"{base}/approval_rules", "approval rules", many=True)
    push_rule = read(f"{base}/push_rule", "push rule")
    by_name = {str(b.get("name")): b for b in branches}

    before: list[str] = []
    after: list[str] = []
    plan: list[tuple[str, str, str, dict[str, Any]]] = []
    """(label, method, path, body)"""
    skipped: list[str] = []
    premium_missing = "needs GitLab Premium (the API answered {status}); set it by hand or upgrade the tier"
    for endpoint, wanted in payload.items():
        entries = wanted if isinstance(wanted, list) else [wanted]
        for body in entries:
            label = endpoint
            if endpoint == "POST /projects/:id/protected_branches":
                current = by_name.get(str(body["name"]))
                label = f"protected branch {body['name']}"
                now = _live_protected(current, body) if current else None
                if current is None:
                    plan.append((label, "post", f"{base}/protected_branches", dict(body)))
                elif now is not None and now != body:
                    patch: dict[str, Any] = {k: body[k] for k in ("allow_force_push", "code_owner_approval_required")
                                             if k in body}
                    for key, live_key in _LEVEL_KEYS.items():
                        if now.get(key) != body[key]:
                            patch[_ALLOWED[key]] = [{"id": e["id"], "_destroy": True}
                                                    for e in current.get(live_key) or ()] + [
                                {"access_level": body[key]}]
                    plan.append((label, "patch", f"{base}/protected_branches/{quote(str(body['name']))}", patch))
            elif endpoint == "POST /projects/:id/approvals":
                label = "approval settings"
                if isinstance(approvals, Exception):
                    skipped.append(f"{label}: " + premium_missing.format(status=status_of(approvals)))
                    continue
                now = _subset(approvals, body)
                if now != body:
                    plan.append((label, "post", f"{base}/approvals", dict(body)))
            elif endpoint == "POST /projects/:id/approval_rules":
                label = f"approval rule {body['name']!r}"
                if isinstance(rules, Exception):
                    skipped.append(f"{label}: " + premium_missing.format(status=status_of(rules)))
                    continue
                found = next((r for r in rules if r.get("name") == body["name"]), None)
                now = _upsert(plan, label, found, body, f"{base}/approval_rules",
                              f"{base}/approval_rules/{found['id']}" if found else "")
            elif endpoint == "PUT /projects/:id/push_rule":
                label = "push rule"
                if isinstance(push_rule, Exception):
                    skipped.append(f"{label}: " + premium_missing.format(status=status_of(push_rule)))
                    continue
                now = _upsert(plan, label, push_rule, body, f"{base}/push_rule", f"{base}/push_rule")
            elif endpoint == "PUT /projects/:id":
                label = "project settings"
                now = _subset(live_project, body)
                if now != body:
                    plan.append((label, "put", base, dict(body)))
            else:
                raise AnnexaError(f"unknown GitLab endpoint in the payload: {endpoint}")
            before += [f"# {label}", *_json_lines(now)]
            after += [f"# {label}", *_json_lines(body)]
    change = "\n".join(difflib.unified_diff(before, after, f"{project} (now)", f"{project} (annexa)", lineterm=""))
    if write is not None and change:
        write(change)
    actions: list[str] = []
    for label, method, path, body in plan:
        try:
            if method == "post":
                client.post(path, body, label)
            elif method == "put":
                client.put(path, body, label)
            else:
                client.call(functools.partial(client.gl.http_patch, path, post_data=body, obey_rate_limit=False,
                                              retry_transient_errors=False, max_retries=0), label)
        except GitlabError as exc:
            raise AnnexaError(f"{project}: {describe(exc, label)}; applied before it: "
                              f"{', '.join(actions) or 'nothing'} (the token needs api scope and Maintainer)"
                              ) from None
        except PlatformError as exc:
            raise AnnexaError(f"{project}: {exc.reason}; applied before it: {', '.join(actions) or 'nothing'}"
                              ) from None
        actions.append(f"{method.upper()} {label}")
    return GitLabApplied(change, tuple(actions), tuple(skipped))
