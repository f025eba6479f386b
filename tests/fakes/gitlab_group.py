"""The fake GitLab (``tests/fakes/gitlab.py``) with groups, subgroups and repository files, for the group scan.

Adds, with shapes from GitLab's API documentation (doc/api/groups.md "List projects", doc/api/repositories.md
"List repository tree", doc/api/repository_files.md "Get raw file" and the ``HEAD`` metadata request):

- ``GET /groups/:id/projects`` (``include_subgroups``, ``archived``, ``order_by=path``, ``sort``; 404
  ``{"message":"404 Group Not Found"}`` for an unknown group), paginated like every list of the fake;
- ``GET /projects/:id/repository/tree`` (``recursive``, ``ref``; folders listed as ``type: tree`` entries too;
  404 ``{"message":"404 Tree Not Found"}`` for an unknown ref);
- ``GET /projects/:id/repository/files/:file_path/raw`` (the bytes, ``X-Gitlab-Size``) and ``HEAD
  /projects/:id/repository/files/:file_path`` (the ``X-Gitlab-*`` headers only);
- ``RateLimit-Limit``/``RateLimit-Remaining`` headers on every answer, as GitLab.com sends them.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from tests.fakes.gitlab import _ROUTES, _SEG, CREATED_AT, FakeGitLab, _HTTPError

LAST_ACTIVITY = "2026-11-25T08:00:00.000Z"
RATE_LIMIT = 2000

_GROUP_ROUTES = [
    (re.compile(p.replace("{x}", _SEG)), h, name)
    for p, h, name in [
        ("/groups/{x}/projects", "h_group_projects", "GET /groups/:id/projects"),
        ("/projects/{x}/repository/tree", "h_tree", "GET /projects/:id/repository/tree"),
        ("/projects/{x}/repository/files/{x}/raw", "h_raw", "GET /projects/:id/repository/files/:file_path/raw"),
        ("/projects/{x}/repository/files/{x}", "h_file_head", "HEAD /projects/:id/repository/files/:file_path"),
        ("/projects/{x}/protected_branches", "h_protect", "POST /projects/:id/protected_branches"),
        ("/projects/{x}/protected_branches/{x}", "h_protect_update", "PATCH /projects/:id/protected_branches/:name"),
        ("/projects/{x}/approvals", "h_approvals_update", "POST /projects/:id/approvals"),
        ("/projects/{x}/approval_rules", "h_rule_create", "POST /projects/:id/approval_rules"),
        ("/projects/{x}/approval_rules/(\\d+)", "h_rule_update", "PUT /projects/:id/approval_rules/:approval_rule_id"),
        ("/projects/{x}/push_rule", "h_push_rule_create", "POST /projects/:id/push_rule"),
        ("/projects/{x}/push_rule", "h_push_rule_update", "PUT /projects/:id/push_rule"),
        ("/projects/{x}", "h_project_update", "PUT /projects/:id"),
    ]
]


class FakeGitLabGroup(FakeGitLab):
    """A fake GitLab server with group listings and repository contents."""

    def __init__(self, tier: str = "premium", latency: float = 0.0, list_push_protection: bool = False) -> None:
        """``list_push_protection``: the group listing carries ``secret_push_protection_enabled`` too (whether
        GitLab's listing does is not documented; by default it is left to ``GET /projects/:id``)."""
        super().__init__(tier, latency)
        self.list_push_protection = list_push_protection
        self._files: dict[str, dict[str, bytes]] = {}
        self._served = 0

    def routes(self) -> list[tuple[re.Pattern[str], str, str]]:
        return [*_GROUP_ROUTES, *_ROUTES]

    # ------------------------------------------------------------------ seeding
    def add_project(self, path: str, default_branch: str | None = "main", visibility: str = "private",
                    **attrs: Any) -> int:
        attrs.setdefault("topics", [])
        attrs.setdefault("last_activity_at", LAST_ACTIVITY)
        self._files.setdefault(path, {})
        return super().add_project(path, default_branch, visibility, **attrs)

    def set_file(self, project: str, path: str, data: bytes) -> None:
        self._files.setdefault(project, {})[path] = data

    def touch(self, project: str, at: str) -> None:
        """New activity on the project (a push): ``last_activity_at`` moves."""
        self.set_project(project, last_activity_at=at)

    # ------------------------------------------------------------------ answering
    def answer(self, method: str, path: str, query: dict[str, list[str]], token: str | None, body: Any,
               job: bool) -> tuple[int, Any, dict[str, str], str, str | None]:
        status, data, headers, route, kind = super().answer(method, path, query, token, body, job)
        with self._lock:
            self._served += 1
            remaining = max(0, RATE_LIMIT - self._served)
        return status, data, {**headers, "RateLimit-Limit": str(RATE_LIMIT),
                              "RateLimit-Remaining": str(remaining)}, route, kind

    def _listing_json(self, ident: int) -> dict[str, Any]:
        p = self._projects[ident]
        short = p.path.rsplit("/", 1)[-1]
        namespace = p.path.rsplit("/", 1)[0]
        data: dict[str, Any] = {
            "id": p.id, "description": None, "name": short, "name_with_namespace": p.path.replace("/", " / "),
            "path": short, "path_with_namespace": p.path, "created_at": CREATED_AT,
            "default_branch": p.default_branch, "tag_list": [], "topics": [],
            "ssh_url_to_repo": f"git@127.0.0.1:{p.path}.git", "http_url_to_repo": f"{self.url}/{p.path}.git",
            "web_url": f"{self.url}/{p.path}", "readme_url": None, "avatar_url": None, "forks_count": 0,
            "star_count": 0, "last_activity_at": LAST_ACTIVITY, "archived": p.archived, "visibility": p.visibility,
            "empty_repo": p.empty, "only_allow_merge_if_pipeline_succeeds": False,
            "namespace": {"id": 7, "name": namespace.rsplit("/", 1)[-1], "path": namespace.rsplit("/", 1)[-1],
                          "kind": "group", "full_path": namespace, "parent_id": None},
        }
        if self.list_push_protection and self.tier == "premium":
            data["secret_push_protection_enabled"] = False
        data.update({k: v for k, v in p.attrs.items()
                     if k != "secret_push_protection_enabled" or self.list_push_protection})
        data["tag_list"] = list(data["topics"])
        return data

    def h_group_projects(self, kind: str, _u: str, query: dict[str, list[str]], _b: Any, key: str
                         ) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "group")
        group = urllib.parse.unquote(key).strip("/")
        flag = (query.get("include_subgroups") or ["false"])[0] == "true"
        archived = (query.get("archived") or [None])[0]
        members = [p for p in self._projects.values() if p.path.startswith(group + "/")]
        if not members and group not in self._groups:
            raise _HTTPError(404, "404 Group Not Found")
        if not flag:
            members = [p for p in members if p.path.count("/") == group.count("/") + 1]
        if archived is not None:
            members = [p for p in members if p.archived == (archived == "true")]
        order = (query.get("order_by") or ["created_at"])[0]
        members.sort(key=lambda p: p.path if order == "path" else str(p.id))
        if (query.get("sort") or ["desc"])[0] == "desc":
            members.reverse()
        return self._page([self._listing_json(p.id) for p in members], query, f"/groups/{key}/projects")

    def _repo(self, key: str, query: Mapping[str, list[str]]) -> tuple[str, dict[str, bytes]]:
        project = self._project_by(urllib.parse.unquote(key))
        ref = (query.get("ref") or [project.default_branch])[0]
        if project.empty or ref != project.default_branch:
            raise _HTTPError(404, "404 Tree Not Found")
        return project.path, self._files.get(project.path, {})

    def h_tree(self, kind: str, _u: str, query: dict[str, list[str]], _b: Any, key: str
               ) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "tree")
        _path, files = self._repo(key, query)
        recursive = (query.get("recursive") or ["false"])[0] == "true"
        entries: dict[str, dict[str, Any]] = {}
        for name, data in files.items():
            parts = name.split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                entries.setdefault(folder, {"id": hashlib.sha1(folder.encode()).hexdigest(), "name": parts[depth - 1],
                                            "type": "tree", "path": folder, "mode": "040000"})
            link = data.startswith(b"symlink:")
            entries[name] = {"id": hashlib.sha1(data).hexdigest(), "name": parts[-1], "type": "blob",
                             "path": name, "mode": "120000" if link else "100644"}
        items = [e for p, e in sorted(entries.items()) if recursive or "/" not in p]
        return self._page(items, query, f"/projects/{key}/repository/tree")

    def _file(self, key: str, file_key: str, query: Mapping[str, list[str]]) -> tuple[str, bytes]:
        _path, files = self._repo(key, query)
        name = urllib.parse.unquote(file_key)
        if name not in files:
            raise _HTTPError(404, "404 File Not Found")
        return name, files[name]

    def _file_headers(self, name: str, data: bytes, query: Mapping[str, list[str]]) -> dict[str, str]:
        return {"X-Gitlab-Blob-Id": hashlib.sha1(data).hexdigest(), "X-Gitlab-Encoding": "base64",
                "X-Gitlab-File-Name": name.rsplit("/", 1)[-1], "X-Gitlab-File-Path": name,
                "X-Gitlab-Ref": (query.get("ref") or [""])[0], "X-Gitlab-Size": str(len(data)),
                "X-Gitlab-Content-Sha256": hashlib.sha256(data).hexdigest(), "X-Gitlab-Execute-Filemode": "false"}

    def h_raw(self, kind: str, _u: str, query: dict[str, list[str]], _b: Any, key: str, file_key: str
              ) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "files")
        name, data = self._file(key, file_key, query)
        return 200, data, self._file_headers(name, data, query)

    def h_file_head(self, kind: str, _u: str, query: dict[str, list[str]], _b: Any, key: str, file_key: str
                    ) -> tuple[int, Any, dict[str, str]]:
        self._readable(kind, "files")
        name, data = self._file(key, file_key, query)
        return 200, b"", {**self._file_headers(name, data, query), "Content-Length": "0"}

    # ------------------------------------------------------------------ writes (annexa fix ruleset --apply)
    _PROJECT_WRITABLE = ("only_allow_merge_if_pipeline_succeeds",)

    def _writable(self, kind: str, key: str) -> Any:
        project = self._project_by(urllib.parse.unquote(key))
        self._readable(kind, "protected")
        self._write(kind, project)
        return project

    def _levels(self, level: Any) -> list[dict[str, Any]]:
        names = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}
        if int(level) not in names:
            raise _HTTPError(400, "access_level does not have a valid value")
        return [{"id": next(self._ids), "access_level": int(level), "access_level_description": names[int(level)],
                 "user_id": None, "group_id": None, "deploy_key_id": None}]

    def _branch_json(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        item = {k: v for k, v in entry.items() if self.tier == "premium" or k != "code_owner_approval_required"}
        if self.tier == "premium":
            item["inherited"] = False
        return item

    def h_protect(self, kind: str, _u: str, _q: Any, body: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        project = self._writable(kind, key)
        body = body or {}
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise _HTTPError(400, "400 Bad request - name is missing")
        if any(p["name"] == name for p in project.protected):
            raise _HTTPError(409, f"Protected branch '{name}' already exists")
        entry = {"id": next(self._ids), "name": name,
                 "push_access_levels": self._levels(body.get("push_access_level", 40)),
                 "merge_access_levels": self._levels(body.get("merge_access_level", 40)),
                 "unprotect_access_levels": self._levels(body.get("unprotect_access_level", 40)),
                 "allow_force_push": bool(body.get("allow_force_push", False)),
                 "code_owner_approval_required": bool(body.get("code_owner_approval_required", False))
                 if self.tier == "premium" else False}
        project.protected.append(entry)
        return 201, self._branch_json(entry), {}

    def h_protect_update(self, kind: str, _u: str, _q: Any, body: Any, key: str, name_key: str
                         ) -> tuple[int, Any, dict[str, str]]:
        project = self._writable(kind, key)
        name = urllib.parse.unquote(name_key)
        entry = next((p for p in project.protected if p["name"] == name), None)
        if entry is None:
            raise _HTTPError(404, "404 Not found")
        body = body or {}
        for flag in ("allow_force_push", "code_owner_approval_required"):
            if flag in body and (flag != "code_owner_approval_required" or self.tier == "premium"):
                entry[flag] = bool(body[flag])
        for allowed, levels in (("allowed_to_push", "push_access_levels"), ("allowed_to_merge", "merge_access_levels"),
                                ("allowed_to_unprotect", "unprotect_access_levels")):
            for change in body.get(allowed) or ():
                if change.get("_destroy"):
                    entry[levels] = [e for e in entry[levels] if e["id"] != change.get("id")]
                elif "access_level" in change:
                    entry[levels] = entry[levels] + self._levels(change["access_level"])
        return 200, self._branch_json(entry), {}

    def h_approvals_update(self, kind: str, u: str, q: Any, body: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        project = self._writable(kind, key)
        self._premium()
        project.approvals.update({k: v for k, v in (body or {}).items() if k != "id"})
        _status, data, headers = self.h_approvals(kind, u, q, body, key)
        return 201, data, headers

    def h_rule_create(self, kind: str, u: str, _q: Any, body: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        project = self._writable(kind, key)
        self._premium()
        body = body or {}
        self.add_approval_rule(project.path, str(body.get("name")), int(body.get("approvals_required") or 0),
                               str(body.get("rule_type") or "regular"))
        return 201, project.approval_rules[-1], {}

    def h_rule_update(self, kind: str, _u: str, _q: Any, body: Any, key: str, rule_id: str
                      ) -> tuple[int, Any, dict[str, str]]:
        project = self._writable(kind, key)
        self._premium()
        rule = next((r for r in project.approval_rules if r["id"] == int(rule_id)), None)
        if rule is None:
            raise _HTTPError(404, "404 Not found")
        rule.update({k: v for k, v in (body or {}).items() if k in ("name", "approvals_required", "rule_type",
                                                                   "applies_to_all_protected_branches")})
        return 200, rule, {}

    def h_push_rule_create(self, kind: str, _u: str, _q: Any, body: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        project = self._writable(kind, key)
        self._premium()
        if project.push_rule is not None:
            raise _HTTPError(422, "Project push rule exists")
        self.set_push_rule(project.path, dict(body or {}))
        return 201, project.push_rule, {}

    def h_push_rule_update(self, kind: str, _u: str, _q: Any, body: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        project = self._writable(kind, key)
        self._premium()
        if project.push_rule is None:
            raise _HTTPError(404, "404 Push Rule Not Found")
        project.push_rule.update(dict(body or {}))
        return 200, project.push_rule, {}

    def h_project_update(self, kind: str, u: str, q: Any, body: Any, key: str) -> tuple[int, Any, dict[str, str]]:
        project = self._writable(kind, key)
        project.attrs.update({k: v for k, v in (body or {}).items() if k in self._PROJECT_WRITABLE})
        return self.h_project(kind, u, q, body, key)


__all__ = ["FakeGitLabGroup"]
