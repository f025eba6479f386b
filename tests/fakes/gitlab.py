"""A stateful fake of GitLab's REST API v4, speaking real HTTP on 127.0.0.1 to the real python-gitlab client.

It models what annexa reads and writes: projects, protected branches, approval settings and rules, push rules,
merge requests with paginated diffs, approvals, reviewers, approval state (code-owner rules) and versions, notes,
users and group members. Response shapes follow GitLab's API documentation (doc/api/*.md) and, where GitLab
publishes one, the JSON schemas in ``tests/fakes/gitlab_schemas/`` (``tests/gitlab/test_fake_contract.py``
validates every response against them).

Tiers (``tier=``): ``premium`` answers every endpoint; ``free`` answers the Premium endpoints (project approvals,
approval rules, push rules, an MR's approval state) with 403 ``{"message":"403 Forbidden"}`` and omits Premium
fields; ``ce`` answers them with 404 ``{"message":"404 Not Found"}`` (the EE API is not mounted there).

Tokens (``add_token``): ``api`` reads and writes; ``read_api`` reads, writes get 403 ``insufficient_scope``; ``job``
(a CI_JOB_TOKEN, sent as ``JOB-TOKEN``) is refused with 403 on merge requests, notes, approvals and protected
branches (gitlab-org/gitlab#545150); ``reporter`` cannot read protected branches (403, Maintainer needed).
Pagination: ``per_page`` (default 20, at most 100), headers ``x-page``, ``x-per-page``, ``x-total``, ``x-total-pages``,
``x-next-page``, ``x-prev-page`` and ``Link``. Faults: ``fail_next`` (5xx), ``rate_limit_next`` (429 + Retry-After),
``latency`` (every request). ``requests`` records every exchange for counting and contract checks.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TIERS = ("premium", "free", "ce")
TOKEN_KINDS = ("api", "read_api", "job", "reporter")
CREATED_AT = "2026-11-20T09:00:00.000Z"
API = "/api/v4"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake answered; ``path`` is relative to ``/api/v4``; ``route`` the template that answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    token_kind: str | None
    route: str = ""
    body: Any = None
    response: Any = None


class _HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


@dataclass
class _Project:
    id: int
    path: str
    default_branch: str | None
    visibility: str
    archived: bool = False
    empty: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)
    protected: list[dict[str, Any]] = field(default_factory=list)
    approvals: dict[str, Any] = field(default_factory=dict)
    approval_rules: list[dict[str, Any]] = field(default_factory=list)
    push_rule: dict[str, Any] | None = None
    mrs: dict[int, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    """Repository files per commit (``add_files``), for the repository files and tree APIs."""


def _user(ident: int, username: str, origin: str) -> dict[str, Any]:
    return {"id": ident, "username": username, "name": username.title(), "state": "active", "locked": False,
            "avatar_url": f"{origin}/uploads/-/system/user/avatar/{ident}/avatar.png",
            "web_url": f"{origin}/{username}"}


class FakeGitLab:
    """One fake GitLab server; use as a context manager (``with FakeGitLab() as gl:``)."""

    def __init__(self, tier: str = "premium", latency: float = 0.0) -> None:
        assert tier in TIERS
        self.tier = tier
        self.latency = latency
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tokens: dict[str, tuple[str, str]] = {}
        self._users: dict[str, int] = {}
        self._projects: dict[int, _Project] = {}
        self._groups: dict[str, list[tuple[str, int]]] = {}
        self._ids = itertools.count(1000)
        self._faults: list[tuple[int, int, dict[str, str], str | None]] = []
        self._requests: list[RecordedRequest] = []

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> FakeGitLab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        """The server URL (``CI_SERVER_URL``); the API is at ``url + '/api/v4'``."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------------ seeding
    def add_token(self, token: str, kind: str = "api", username: str = "annexa-bot") -> int:
        assert kind in TOKEN_KINDS
        self._tokens[token] = (kind, username)
        return self.user_id(username)

    def user_id(self, username: str) -> int:
        if username not in self._users:
            self._users[username] = next(self._ids)
        return self._users[username]

    def add_project(self, path: str, default_branch: str | None = "main", visibility: str = "private",
                    **attrs: Any) -> int:
        ident = next(self._ids)
        self._projects[ident] = _Project(ident, path, default_branch, visibility, attrs=dict(attrs))
        return ident

    def set_project(self, path: str, **changes: Any) -> None:
        project = self._project_by(path)
        for key, value in changes.items():
            if hasattr(project, key) and key != "attrs":
                setattr(project, key, value)
            else:
                project.attrs[key] = value

    def protect(self, path: str, name: str, push: int = 0, merge: int = 40, unprotect: int = 40,
                allow_force_push: bool = False, code_owner_approval_required: bool = False,
                extra_push: Sequence[Mapping[str, Any]] = ()) -> None:
        project = self._project_by(path)

        def levels(level: int) -> list[dict[str, Any]]:
            names = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}
            return [{"id": next(self._ids), "access_level": level, "access_level_description": names[level],
                     "user_id": None, "group_id": None, "deploy_key_id": None}]

        entry: dict[str, Any] = {
            "id": next(self._ids), "name": name, "push_access_levels": levels(push) + [dict(e) for e in extra_push],
            "merge_access_levels": levels(merge), "unprotect_access_levels": levels(unprotect),
            "allow_force_push": allow_force_push, "code_owner_approval_required": code_owner_approval_required,
        }
        project.protected.append(entry)

    def set_approvals(self, path: str, **settings: Any) -> None:
        self._project_by(path).approvals.update(settings)

    def add_approval_rule(self, path: str, name: str, approvals_required: int, rule_type: str = "regular",
                          users: Sequence[str] = (), branches: Sequence[str] = ()) -> None:
        project = self._project_by(path)
        members = [_user(self.user_id(u), u, self.url) for u in users]
        project.approval_rules.append({
            "id": next(self._ids), "name": name, "rule_type": rule_type, "eligible_approvers": members,
            "approvals_required": approvals_required, "users": members, "groups": [],
            "contains_hidden_groups": False, "applies_to_all_protected_branches": not branches,
            "protected_branches": [p for p in project.protected if p["name"] in branches],
            "report_type": None,
        })

    def set_push_rule(self, path: str, rule: Mapping[str, Any] | None) -> None:
        project = self._project_by(path)
        project.push_rule = None if rule is None else {
            "id": next(self._ids), "project_id": project.id, "created_at": CREATED_AT,
            "commit_message_regex": "", "commit_message_negative_regex": "", "branch_name_regex": "",
            "deny_delete_tag": False, "member_check": False, "prevent_secrets": False,
            "author_email_regex": "", "file_name_regex": "", "max_file_size": 0,
            "commit_committer_check": False, "commit_committer_name_check": False,
            "reject_unsigned_commits": False, "reject_non_dco_commits": False, **rule}

    def add_mr(self, path: str, iid: int, author: str = "dev", head_sha: str = "c0ffee" + "0" * 34,
               base_sha: str = "ba5e" + "1" * 36, source_branch: str = "feature", target_branch: str = "main",
               diffs: Sequence[Mapping[str, Any]] = (), fork: bool = False, state: str = "opened") -> None:
        project = self._project_by(path)
        project.mrs[iid] = {
            "iid": iid, "id": next(self._ids), "author": author, "head_sha": head_sha, "base_sha": base_sha,
            "source_branch": source_branch, "target_branch": target_branch, "diffs": [dict(d) for d in diffs],
            "source_project_id": next(self._ids) if fork else project.id, "state": state,
            "approved_by": [], "reviewers": [], "code_owner_rules": [], "notes": [],
            "versions": [{"id": next(self._ids), "head_commit_sha": head_sha, "base_commit_sha": base_sha,
                          "start_commit_sha": base_sha, "created_at": "2026-11-21T10:00:00.000Z",
                          "merge_request_id": 0, "state": "collected", "real_size": str(len(diffs)),
                          "patch_id_sha": head_sha}],
        }

    def approve(self, path: str, iid: int, username: str, at: str = "2026-11-21T11:00:00.000Z") -> None:
        self._project_by(path).mrs[iid]["approved_by"].append((username, at))

    def add_files(self, path: str, ref: str, files: Mapping[str, str | bytes]) -> None:
        """The repository's files at commit ``ref`` (what ``/repository/files`` and ``/repository/tree`` serve)."""
        stored = self._project_by(path).files.setdefault(ref, {})
        stored.update({name: data if isinstance(data, bytes) else data.encode() for name, data in files.items()})

    def set_reviewer(self, path: str, iid: int, username: str, state: str = "unreviewed") -> None:
        """A reviewer of the MR and their state (``unreviewed``, ``reviewed``, ``requested_changes`` ...)."""
        reviewers = self._project_by(path).mrs[iid]["reviewers"]
        reviewers[:] = [r for r in reviewers if r[0] != username] + [(username, state)]

    def add_code_owner_rule(self, path: str, iid: int, pattern: str, eligible: Sequence[str],
                            section: str = "codeowners", approvals_required: int = 1) -> None:
        """A code-owner rule of the MR's approval state: one CODEOWNERS section and pattern the MR touches."""
        self._project_by(path).mrs[iid]["code_owner_rules"].append(
            {"name": pattern, "section": section, "eligible": list(eligible), "approvals_required": approvals_required})

    def push(self, path: str, iid: int, head_sha: str, at: str) -> None:
        """A new push: a new MR version (approvals stay unless the project resets them)."""
        mr = self._project_by(path).mrs[iid]
        mr["head_sha"] = head_sha
        mr["versions"].insert(0, {**mr["versions"][0], "id": next(self._ids), "head_commit_sha": head_sha,
                                  "created_at": at})
        if self._project_by(path).approvals.get("reset_approvals_on_push"):
            mr["approved_by"] = []

    def add_group(self, path: str, members: Sequence[str]) -> None:
        self._groups[path] = [(m, self.user_id(m)) for m in members]

    def add_note(self, path: str, iid: int, body: str, username: str, system: bool = False) -> int:
        ident = next(self._ids)
        self._project_by(path).mrs[iid]["notes"].append(
            {"id": ident, "body": body, "author": username, "system": system, "created_at": CREATED_AT,
             "updated_at": CREATED_AT})
        return ident

    def fail_next(self, n: int, status: int = 502, path_contains: str | None = None) -> None:
        self._faults.append((n, status, {}, path_contains))

    def rate_limit_next(self, n: int, retry_after: int = 1, path_contains: str | None = None) -> None:
        self._faults.append((n, 429, {"Retry-After": str(retry_after)}, path_contains))

    # ------------------------------------------------------------------ inspection
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def notes(self, path: str, iid: int) -> list[dict[str, Any]]:
        return [dict(n) for n in self._project_by(path).mrs[iid]["notes"]]

    # ------------------------------------------------------------------ internals
    def _project_by(self, key: str) -> _Project:
        for project in self._projects.values():
            if key in (project.path, str(project.id)):
                return project
        raise _HTTPError(404, "404 Project Not Found")

    def _fault(self, path: str) -> _HTTPError | None:
        with self._lock:
            for i, (n, status, headers, needle) in enumerate(self._faults):
                if n > 0 and (needle is None or needle in path):
                    self._faults[i] = (n - 1, status, headers, needle)
                    message = "Retry later" if status == 429 else f"{status} Server Error"
                    return _HTTPError(status, message, headers)
        return None

    def record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(entry)

    # ------------------------------------------------------------------ answering
    def routes(self) -> list[tuple[re.Pattern[str], str, str]]:
        """(path pattern, handler method, route name); subclasses add theirs."""
        return _ROUTES

    def answer(self, method: str, path: str, query: dict[str, list[str]], token: str | None, body: Any,
               job: bool) -> tuple[int, Any, dict[str, str], str, str | None]:
        """(status, JSON body, headers, route, token kind) for one request."""
        kind: str | None = None
        username = ""
        if token is not None and token in self._tokens:
            kind, username = self._tokens[token]
            if job != (kind == "job"):
                kind = None
        route = ""
        try:
            fault = self._fault(path)
            if fault is not None:
                raise fault
            if kind is None:
                raise _HTTPError(401, "401 Unauthorized")
            for pattern, handler_name, name in self.routes():
                match = pattern.fullmatch(path)
                if match and name.split(" ", 1)[0] == method:
                    route = name
                    status, data, headers = getattr(self, handler_name)(kind, username, query, body, *match.groups())
                    return status, data, headers, route, kind
            raise _HTTPError(404, "404 Not Found")
        except _HTTPError as exc:
            return exc.status, {"message": exc.message}, exc.headers, route, kind

    def _page(self, items: list[Any], query: dict[str, list[str]], path: str) -> tuple[int, Any, dict[str, str]]:
        per_page = min(100, max(1, int((query.get("per_page") or ["20"])[0])))
        page = max(1, int((query.get("page") or ["1"])[0]))
        pages = max(1, (len(items) + per_page - 1) // per_page)
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {"x-page": str(page), "x-per-page": str(per_page), "x-total": str(len(items)),
                   "x-total-pages": str(pages), "x-next-page": str(page + 1) if page < pages else "",
                   "x-prev-page": str(page - 1) if page > 1 else ""}
        keep = {k: v[0] for k, v in query.items() if k not in ("page", "per_page")}

        def link(n: int) -> str:
            q = urllib.parse.urlencode({**keep, "page": n, "per_page": per_page})
            return f"{self.url}{API}{path}?{q}"

        links = []
        if page < pages:
            links.append(f'<{link(page + 1)}>; rel="next"')
        if page > 1:
            links.append(f'<{link(page - 1)}>; rel="prev"')
        links += [f'<{link(1)}>; rel="first"', f'<{link(pages)}>; rel="last"']
        headers["Link"] = ", ".join(links)
        return 200, chunk, headers

    def _readable(self, kind: str, what: str) -> None:
        if kind == "job":
            raise _HTTPError(403, "403 Forbidden")
        if kind == "reporter" and what == "protected":
            raise _HTTPError(403, "403 Forbidden")

    def _premium(self) -> None:
        if self.tier == "free":
            raise _HTTPError(403, "403 Forbidden")
        if self.tier == "ce":
            raise _HTTPError(404, "404 Not Found")

    def _write(self, kind: str, project: _Project) -> None:
        if kind in ("read_api", "job"):
            raise _HTTPError(403, "insufficient_scope")
        if project.archived:
            raise _HTTPError(403, "403 Forbidden")

    def h_user(self, kind: str, username: str, *_: Any) -> tuple[int, Any, dict[str, str]]:
        if kind == "job":
            raise _HTTPError(401, "401 Unauthorized")
        return 200, {**_user(self.user_id(username), username, self.url), "bot": True,
                     "created_at": CREATED_AT}, {}

    def h_project(self, kind: str, _u: str, _q: Any, _b: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "project")
        p = self._project_by(urllib.parse.unquote(key))
        data: dict[str, Any] = {
            "id": p.id, "name": p.path.rsplit("/", 1)[-1], "path": p.path.rsplit("/", 1)[-1],
            "path_with_namespace": p.path, "name_with_namespace": p.path.replace("/", " / "),
            "default_branch": p.default_branch, "visibility": p.visibility, "archived": p.archived,
            "empty_repo": p.empty, "web_url": f"{self.url}/{p.path}", "created_at": CREATED_AT,
            "only_allow_merge_if_pipeline_succeeds": False, "merge_method": "merge",
            "namespace": {"id": 7, "name": p.path.split("/")[0], "path": p.path.split("/")[0], "kind": "group",
                          "full_path": p.path.rsplit("/", 1)[0]},
        }
        if self.tier == "premium":
            data["secret_push_protection_enabled"] = False
        data.update(p.attrs)
        return 200, data, {}

    def h_protected(self, kind: str, _u: str, query: Any, _b: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "protected")
        p = self._project_by(urllib.parse.unquote(key))
        items = []
        for entry in p.protected:
            item = {k: v for k, v in entry.items() if self.tier == "premium" or k != "code_owner_approval_required"}
            if self.tier == "premium":
                item["inherited"] = False
            items.append(item)
        return self._page(items, query, f"/projects/{key}/protected_branches")

    def h_approvals(self, kind: str, _u: str, _q: Any, _b: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "approvals")
        self._premium()
        p = self._project_by(urllib.parse.unquote(key))
        data = {"approvals_before_merge": 0, "reset_approvals_on_push": True, "selective_code_owner_removals": False,
                "disable_overriding_approvers_per_merge_request": False, "merge_requests_author_approval": False,
                "merge_requests_disable_committers_approval": False, "require_password_to_approve": False,
                "require_reauthentication_to_approve": False}
        data.update(p.approvals)
        return 200, data, {}

    def h_rules(self, kind: str, _u: str, query: Any, _b: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "approvals")
        self._premium()
        p = self._project_by(urllib.parse.unquote(key))
        return self._page(p.approval_rules, query, f"/projects/{key}/approval_rules")

    def h_push_rule(self, kind: str, _u: str, _q: Any, _b: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "push_rule")
        self._premium()
        return 200, self._project_by(urllib.parse.unquote(key)).push_rule, {}

    def _mr(self, key: str, iid: str) -> tuple[_Project, dict[str, Any]]:
        p = self._project_by(urllib.parse.unquote(key))
        mr = p.mrs.get(int(iid))
        if mr is None:
            raise _HTTPError(404, "404 Not found")
        return p, mr

    def h_mr(self, kind: str, _u: str, _q: Any, _b: Any, key: str, iid: str) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "mr")
        p, mr = self._mr(key, iid)
        author = _user(self.user_id(mr["author"]), mr["author"], self.url)
        data = {
            "id": mr["id"], "iid": mr["iid"], "project_id": p.id, "title": "Update the model", "description": "",
            "state": mr["state"], "created_at": CREATED_AT, "updated_at": CREATED_AT, "merged_by": None,
            "merge_user": None, "merged_at": None, "closed_by": None, "closed_at": None,
            "target_branch": mr["target_branch"], "source_branch": mr["source_branch"], "upvotes": 0,
            "downvotes": 0, "author": author, "assignee": author, "assignees": [author], "reviewers": [],
            "source_project_id": mr["source_project_id"], "target_project_id": p.id, "labels": [],
            "work_in_progress": False, "draft": False, "milestone": None, "merge_when_pipeline_succeeds": False,
            "merge_status": "can_be_merged", "detailed_merge_status": "mergeable", "sha": mr["head_sha"],
            "merge_commit_sha": None, "squash_commit_sha": None, "user_notes_count": len(mr["notes"]),
            "changes_count": str(len(mr["diffs"])), "should_remove_source_branch": None,
            "force_remove_source_branch": True, "discussion_locked": None,
            "web_url": f"{self.url}/{p.path}/-/merge_requests/{mr['iid']}", "squash": False,
            "diff_refs": {"base_sha": mr["base_sha"], "head_sha": mr["head_sha"], "start_sha": mr["base_sha"]},
            "references": {"short": f"!{mr['iid']}", "relative": f"!{mr['iid']}",
                           "full": f"{p.path}!{mr['iid']}"},
        }
        return 200, data, {}

    def h_diffs(self, kind: str, _u: str, query: Any, _b: Any, key: str, iid: str) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "mr")
        _p, mr = self._mr(key, iid)
        items = [{"old_path": d.get("old_path", d["new_path"]), "new_path": d["new_path"], "a_mode": "100644",
                  "b_mode": "100644", "diff": d.get("diff", ""), "new_file": d.get("new_file", False),
                  "renamed_file": d.get("renamed_file", False), "deleted_file": d.get("deleted_file", False),
                  "generated_file": False, "collapsed": False, "too_large": d.get("too_large", False)}
                 for d in mr["diffs"]]
        return self._page(items, query, f"/projects/{key}/merge_requests/{iid}/diffs")

    def h_mr_approvals(self, kind: str, _u: str, _q: Any, _b: Any, key: str, iid: str
                       ) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "mr")
        p, mr = self._mr(key, iid)
        approved = [{"user": _user(self.user_id(u), u, self.url), "approved_at": at} for u, at in mr["approved_by"]]
        data = {"id": mr["id"], "iid": mr["iid"], "project_id": p.id, "title": "Update the model",
                "state": mr["state"], "approved": bool(approved), "approvals_required": 0, "approvals_left": 0,
                "approved_by": approved, "user_has_approved": False, "user_can_approve": True,
                "created_at": CREATED_AT, "updated_at": CREATED_AT, "merge_status": "can_be_merged"}
        return 200, data, {}

    def h_reviewers(self, kind: str, _u: str, query: Any, _b: Any, key: str, iid: str
                    ) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "mr")
        _p, mr = self._mr(key, iid)
        items = [{"user": _user(self.user_id(u), u, self.url), "state": state, "created_at": CREATED_AT}
                 for u, state in mr["reviewers"]]
        return self._page(items, query, f"/projects/{key}/merge_requests/{iid}/reviewers")

    def h_approval_state(self, kind: str, _u: str, _q: Any, _b: Any, key: str, iid: str
                         ) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "mr")
        self._premium()
        _p, mr = self._mr(key, iid)
        rules = []
        for rule in mr["code_owner_rules"]:
            approvers = [u for u, _at in mr["approved_by"] if u in rule["eligible"]]
            eligible = [_user(self.user_id(u), u, self.url) for u in rule["eligible"]]
            rules.append({
                "id": next(self._ids), "name": rule["name"], "rule_type": "code_owner", "section": rule["section"],
                "code_owner": True, "eligible_approvers": eligible, "approvals_required": rule["approvals_required"],
                "users": eligible, "groups": [], "contains_hidden_groups": False,
                "approved_by": [_user(self.user_id(u), u, self.url) for u in approvers],
                "source_rule": None, "approved": len(approvers) >= rule["approvals_required"], "overridden": False,
            })
        return 200, {"approval_rules_overwritten": False, "rules": rules}, {}

    def _files_at(self, kind: str, key: str, query: dict[str, list[str]]) -> dict[str, bytes]:
        self._readable(kind, "files")
        p = self._project_by(urllib.parse.unquote(key))
        ref = (query.get("ref") or [p.default_branch or ""])[0]
        files = p.files.get(ref)
        if files is None:
            raise _HTTPError(404, "404 Commit Not Found")
        return files

    def h_file(self, kind: str, _u: str, query: Any, _b: Any, key: str, file_path: str
               ) -> tuple[int, Any, dict[str, str]]:
        files = self._files_at(kind, key, query)
        name = urllib.parse.unquote(file_path)
        if name not in files:
            raise _HTTPError(404, "404 File Not Found")
        data = files[name]
        ref = query["ref"][0]
        return 200, {"file_name": name.rsplit("/", 1)[-1], "file_path": name, "size": len(data),
                     "encoding": "base64", "content": base64.b64encode(data).decode(), "ref": ref,
                     "blob_id": hashlib.sha1(data).hexdigest(), "commit_id": ref, "last_commit_id": ref,
                     "content_sha256": hashlib.sha256(data).hexdigest(), "execute_filemode": False}, {}

    def h_tree(self, kind: str, _u: str, query: Any, _b: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        files = self._files_at(kind, key, query)
        folder = (query.get("path") or [""])[0].strip("/")
        prefix = folder + "/" if folder else ""
        if folder and not any(n.startswith(prefix) for n in files):
            raise _HTTPError(404, "404 Tree Not Found")
        entries: dict[str, dict[str, Any]] = {}
        for name in sorted(files):
            if not name.startswith(prefix):
                continue
            head, _, rest = name[len(prefix):].partition("/")
            kind_of = "tree" if rest else "blob"
            entries.setdefault(head, {"id": hashlib.sha1((prefix + head).encode()).hexdigest(), "name": head,
                                      "type": kind_of, "path": prefix + head,
                                      "mode": "040000" if rest else "100644"})
        return self._page(list(entries.values()), query, f"/projects/{key}/repository/tree")

    def h_versions(self, kind: str, _u: str, query: Any, _b: Any, key: str, iid: str
                   ) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "mr")
        _p, mr = self._mr(key, iid)
        return self._page([{**v, "merge_request_id": mr["id"]} for v in mr["versions"]], query,
                          f"/projects/{key}/merge_requests/{iid}/versions")

    def _note_json(self, p: _Project, mr: dict[str, Any], note: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": note["id"], "type": None, "body": note["body"], "attachment": None,
                "author": _user(self.user_id(note["author"]), note["author"], self.url),
                "created_at": note["created_at"], "updated_at": note["updated_at"], "system": note["system"],
                "noteable_id": mr["id"], "noteable_type": "MergeRequest", "noteable_iid": mr["iid"],
                "project_id": p.id, "resolvable": False, "confidential": False, "internal": False,
                "imported": False, "imported_from": "none", "commands_changes": {}}

    def h_notes(self, kind: str, _u: str, query: Any, _b: Any, key: str, iid: str) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "mr")
        p, mr = self._mr(key, iid)
        notes = [self._note_json(p, mr, n) for n in mr["notes"]]
        if (query.get("sort") or ["desc"])[0] == "desc":
            notes.reverse()
        return self._page(notes, query, f"/projects/{key}/merge_requests/{iid}/notes")

    def h_note_create(self, kind: str, username: str, _q: Any, body: Any, key: str, iid: str
                      ) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "mr")
        p, mr = self._mr(key, iid)
        self._write(kind, p)
        text = (body or {}).get("body")
        if not isinstance(text, str) or not text:
            raise _HTTPError(400, "400 Bad request - body is missing")
        ident = next(self._ids)
        note = {"id": ident, "body": text, "author": username, "system": False, "created_at": CREATED_AT,
                "updated_at": CREATED_AT}
        mr["notes"].append(note)
        return 201, self._note_json(p, mr, note), {}

    def h_note_update(self, kind: str, username: str, _q: Any, body: Any, key: str, iid: str, nid: str
                      ) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "mr")
        p, mr = self._mr(key, iid)
        self._write(kind, p)
        for note in mr["notes"]:
            if note["id"] == int(nid):
                if note["author"] != username:
                    raise _HTTPError(403, "403 Forbidden")
                note["body"] = (body or {}).get("body", note["body"])
                note["updated_at"] = "2026-11-22T09:00:00.000Z"
                return 200, self._note_json(p, mr, note), {}
        raise _HTTPError(404, "404 Note Not Found")

    def h_members(self, kind: str, _u: str, query: Any, _b: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "group")
        group = urllib.parse.unquote(key)
        if group not in self._groups:
            raise _HTTPError(404, "404 Group Not Found")
        members = [{**_user(ident, name, self.url), "access_level": 30, "expires_at": None,
                    "created_at": CREATED_AT, "membership_state": "active"} for name, ident in self._groups[group]]
        return self._page(members, query, f"/groups/{key}/members/all")


_SEG = r"([^/]+)"
_ROUTES = [
    (re.compile(p.replace("{x}", _SEG)), h, name)
    for p, h, name in [
        ("/user", "h_user", "GET /user"),
        ("/projects/{x}", "h_project", "GET /projects/:id"),
        ("/projects/{x}/protected_branches", "h_protected", "GET /projects/:id/protected_branches"),
        ("/projects/{x}/approvals", "h_approvals", "GET /projects/:id/approvals"),
        ("/projects/{x}/approval_rules", "h_rules", "GET /projects/:id/approval_rules"),
        ("/projects/{x}/push_rule", "h_push_rule", "GET /projects/:id/push_rule"),
        ("/projects/{x}/merge_requests/(\\d+)", "h_mr", "GET /projects/:id/merge_requests/:iid"),
        ("/projects/{x}/merge_requests/(\\d+)/diffs", "h_diffs", "GET /projects/:id/merge_requests/:iid/diffs"),
        ("/projects/{x}/merge_requests/(\\d+)/approvals", "h_mr_approvals",
         "GET /projects/:id/merge_requests/:iid/approvals"),
        ("/projects/{x}/merge_requests/(\\d+)/reviewers", "h_reviewers",
         "GET /projects/:id/merge_requests/:iid/reviewers"),
        ("/projects/{x}/merge_requests/(\\d+)/approval_state", "h_approval_state",
         "GET /projects/:id/merge_requests/:iid/approval_state"),
        ("/projects/{x}/merge_requests/(\\d+)/versions", "h_versions",
         "GET /projects/:id/merge_requests/:iid/versions"),
        ("/projects/{x}/merge_requests/(\\d+)/notes", "h_notes", "GET /projects/:id/merge_requests/:iid/notes"),
        ("/projects/{x}/merge_requests/(\\d+)/notes", "h_note_create",
         "POST /projects/:id/merge_requests/:iid/notes"),
        ("/projects/{x}/merge_requests/(\\d+)/notes/(\\d+)", "h_note_update",
         "PUT /projects/:id/merge_requests/:iid/notes/:note_id"),
        ("/groups/{x}/members/all", "h_members", "GET /groups/:id/members/all"),
        ("/projects/{x}/repository/files/{x}", "h_file", "GET /projects/:id/repository/files/:file_path"),
        ("/projects/{x}/repository/tree", "h_tree", "GET /projects/:id/repository/tree"),
    ]
]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitLab
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            return  # the client closed a streamed read early

    def _serve(self, method: str) -> None:
        if self.fake.latency:
            time.sleep(self.fake.latency)
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = dict(urllib.parse.parse_qsl(raw.decode()))
        path = parsed.path
        if not path.startswith(API):
            status, data, headers, route, kind = 404, {"message": "404 Not Found"}, {}, "", None
        else:
            path = path[len(API):]
            # python-gitlab sends the path URL-encoded; keep %2F inside one segment.
            token = self.headers.get("PRIVATE-TOKEN") or self.headers.get("JOB-TOKEN")
            auth = self.headers.get("Authorization", "")
            if token is None and auth.startswith("Bearer "):
                token = auth[7:]
            query = urllib.parse.parse_qs(parsed.query)
            status, data, headers, route, kind = self.fake.answer(
                method, path, query, token, body, job="JOB-TOKEN" in self.headers)
        self.fake.record(RecordedRequest(method, path, urllib.parse.parse_qs(parsed.query), status, kind, route,
                                         body, data))
        raw_body = isinstance(data, bytes)
        payload = data if raw_body else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8" if raw_body else "application/json")
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")


def diff_for(path: str, added: Sequence[str], start: int = 1, new: bool = False) -> dict[str, Any]:
    """A ``/diffs`` entry adding ``added`` lines at ``start`` (a new file when ``new``)."""
    hunk = f"@@ -{0 if new else start},0 +{start},{len(added)} @@\n" + "".join(f"+{line}\n" for line in added)
    return {"new_path": path, "old_path": path, "diff": hunk, "new_file": new}


def iter_responses(fake: FakeGitLab) -> Iterator[RecordedRequest]:
    """Every recorded exchange that answered 2xx through a known route."""
    for entry in fake.requests:
        if entry.route and 200 <= entry.status < 300:
            yield entry


__all__ = ["FakeGitLab", "RecordedRequest", "diff_for", "iter_responses"]
