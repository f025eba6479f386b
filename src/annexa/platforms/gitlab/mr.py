"""The GitLab merge request under check: diffs (paginated), approvals, versions, group members.

Approvals become neutral ``Review(state="approved")`` facts. An approval counts for the current head when it was
given after the latest push (the newest MR version), so ``weights-owner-approved`` can tell stale approvals.
A reviewer's state (``/reviewers``) that decides becomes a neutral review after the approvals: ``requested_changes``
is ``ReviewState.CHANGES_REQUESTED``. The approval state (``/approval_state``, Premium) gives the code-owner rules,
one per CODEOWNERS section and pattern, as neutral ``OwnerApproval`` facts; on Free (403) or CE (404) they are
unread, naming the tier, which is detected once per run (``Tier``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitlab.exceptions import GitlabError

from annexa.collect.patch import added_lines
from annexa.facts import ChangeSet, FileChange, OwnerApproval, PullRequest, Review
from annexa.platforms.base import ChangeRead, PlatformError, ReviewState, neutral_review_state
from annexa.platforms.gitlab.client import GitLabClient, describe, quote, status_of
from annexa.platforms.gitlab.tier import Tier

GROUP_NEEDS = "a GitLab token with read_api that can see the group's members"
DEFAULT_SECTION = "codeowners"
"""The section name GitLab's approval state gives the lines before any ``[Section]`` header."""


def file_change(item: Mapping[str, Any]) -> FileChange:
    """One entry of ``/merge_requests/:iid/diffs`` as a neutral ``FileChange``."""
    diff = item.get("diff")
    if item.get("new_file"):
        status = "added"
    elif item.get("deleted_file"):
        status = "removed"
    elif item.get("renamed_file"):
        status = "renamed"
    else:
        status = "modified"
    whole = status == "added" or not isinstance(diff, str) or not diff or bool(item.get("too_large"))
    return FileChange(
        path=str(item.get("new_path") or item.get("old_path")),
        status=status,
        added_lines=None if whole else added_lines(str(diff)),
        previous_path=str(item.get("old_path")) if status == "renamed" else None,
    )


class GitLabChangeCollector:
    """Reads one merge request of one project."""

    def __init__(self, client: GitLabClient, project: str, reset_on_push: bool | None = None,
                 tier: Tier | None = None) -> None:
        self.client = client
        self.project = project
        self.reset_on_push = reset_on_push
        """From the approval settings: when True every approval left is of the current head."""
        self.tier = tier if tier is not None else Tier()
        """The server's tier, shared with the settings collector so it is detected once."""

    def collect(self, number: int) -> ChangeRead:
        """The merge request's facts (group members are read separately, only when needed)."""
        base = f"/projects/{quote(self.project)}/merge_requests/{number}"
        what = f"merge request !{number}"
        try:
            raw: dict[str, Any] = self.client.get(base, what=what)
        except GitlabError as exc:
            if status_of(exc) == 404:
                return ChangeRead(None, None, f"{what} was not found (deleted, or no access)", state="missing")
            return ChangeRead(None, None, _refusal(exc, what), state="unreadable")
        except PlatformError as exc:
            return ChangeRead(None, None, exc.reason, state="unreadable")
        state = {"opened": "open", "locked": "open"}.get(str(raw.get("state")), str(raw.get("state")))
        fork = raw.get("source_project_id") not in (None, raw.get("target_project_id"))
        try:
            diffs = self.client.get_all(f"{base}/diffs", what=f"{what} diffs")
            approvals = self.client.get(f"{base}/approvals", what=f"{what} approvals")
            versions = [] if self.reset_on_push else self.client.get_all(f"{base}/versions", limit=1,
                                                                         what=f"{what} versions")
            reviewers = self.client.get_all(f"{base}/reviewers", what=f"{what} reviewers")
        except GitlabError as exc:
            return ChangeRead(None, None, _refusal(exc, f"{what} changes and approvals"), state=state, fork=fork)
        except PlatformError as exc:
            return ChangeRead(None, None, exc.reason, state=state, fork=fork)
        head = str((raw.get("diff_refs") or {}).get("head_sha") or raw.get("sha") or "")
        pushed_at = str(versions[0].get("created_at") or "") if versions else ""
        reviews = []
        for entry in (approvals or {}).get("approved_by") or []:
            user = entry.get("user") or {}
            at = entry.get("approved_at")
            current = self.reset_on_push is True or (isinstance(at, str) and bool(pushed_at) and at >= pushed_at)
            reviews.append(Review(user=str(user.get("username", "")), state=ReviewState.APPROVED.value,
                                  commit_id=head if current else None, submitted_at=at))
        decided = [
            Review(user=str((entry.get("user") or {}).get("username", "")),
                   state=neutral_review_state(str(entry.get("state"))))
            for entry in reviewers or []
            if entry.get("state") in ("requested_changes", "reviewed") and (entry.get("user") or {}).get("username")
        ]
        owner_approvals, owner_reason = self._owner_approvals(base, what)
        changes = [file_change(d) for d in diffs]
        pr = PullRequest(
            number=number,
            author=str((raw.get("author") or {}).get("username", "")),
            head_sha=head,
            base_ref=str(raw.get("target_branch", "")),
            head_ref=str(raw.get("source_branch", "")),
            # a reviewer's standing state is their latest word: it comes after every approval
            reviews=(*sorted(reviews, key=lambda r: r.submitted_at or ""), *decided),
            state=state,
            fork=fork,
            changed_files=len(changes),
            owner_approvals=owner_approvals,
            owner_approvals_reason=owner_reason,
            label=f"MR !{number}",
        )
        change = ChangeSet(base=str((raw.get("diff_refs") or {}).get("base_sha") or raw.get("target_branch", "")),
                           files={c.path: c for c in changes})
        return ChangeRead(pr, change, state=state, fork=fork)

    def _owner_approvals(self, base: str, what: str) -> tuple[tuple[OwnerApproval, ...] | None, str | None]:
        """The code-owner rules of the approval state, or why they cannot be read (the tier, once known)."""
        if self.tier.premium is False:
            return None, self.tier.reason
        try:
            state = self.client.get(f"{base}/approval_state", what=f"{what} approval state")
        except GitlabError as exc:
            if status_of(exc) in (403, 404) and self.tier.premium is None:
                self.tier.note(exc)
                return None, self.tier.reason
            return None, describe(exc, f"{what} approval state")
        except PlatformError as exc:
            return None, exc.reason
        self.tier.premium = True
        rules = []
        for rule in (state or {}).get("rules") or []:
            if rule.get("rule_type") != "code_owner" and not rule.get("code_owner"):
                continue
            section = rule.get("section")
            rules.append(OwnerApproval(
                section=None if section in (None, "", DEFAULT_SECTION) else str(section),
                pattern=str(rule.get("name") or ""),
                approvals_required=int(rule.get("approvals_required") or 0),
                approved_by=tuple(str(u.get("username")) for u in rule.get("approved_by") or [] if u.get("username")),
                approved=bool(rule.get("approved")),
            ))
        return tuple(rules), None

    def members(self, teams: Sequence[str]) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
        """Members (direct and inherited) of each group ("@group/sub"), and why any could not be read."""
        members: dict[str, tuple[str, ...]] = {}
        reasons: dict[str, str] = {}
        for team in teams:
            group = team.lstrip("@")
            try:
                found = self.client.get_all(f"/groups/{quote(group)}/members/all", what=f"group {team}")
            except GitlabError as exc:
                reasons[team] = GROUP_NEEDS if status_of(exc) in (401, 403, 404) else describe(exc, team)
                continue
            except PlatformError as exc:
                reasons[team] = exc.reason
                continue
            members[team] = tuple(str(m.get("username")) for m in found
                                  if m.get("username") and m.get("state", "active") == "active")
        return members, reasons


def _refusal(exc: Exception, what: str) -> str:
    # the change collector only runs with ANNEXA_GITLAB_TOKEN / GITLAB_TOKEN (CI_JOB_TOKEN never gets this far)
    if status_of(exc) == 401:
        return (f"{describe(exc, what)}: ANNEXA_GITLAB_TOKEN (or GITLAB_TOKEN) is invalid, expired or revoked; "
                "give annexa a valid project access token with read_api")
    if status_of(exc) == 403:
        return (f"{describe(exc, what)}: the token cannot read merge requests; it needs the read_api scope and at "
                "least the Reporter role on the project")
    return describe(exc, what)
