"""The base revision of a merge request read through GitLab's repository APIs, for a runner's shallow clone that
lacks the base commit: ``GET /projects/:id/repository/files/:path?ref=SHA`` and ``/repository/tree``, bounded like
the local reader. Each path is asked for once per run."""

from __future__ import annotations

import base64
from typing import Any

from gitlab.exceptions import GitlabError

from annexa.collect.base_revision import MAX_BYTES, BaseFiles, check_path
from annexa.errors import CollectError, UnreadableFile
from annexa.platforms.base import PlatformError
from annexa.platforms.gitlab.client import GitLabClient, describe, quote, status_of


class GitLabBaseFiles(BaseFiles):
    """Read-only files of one commit of one project, through the API."""

    def __init__(self, client: GitLabClient, project: str, commit: str) -> None:
        self.client = client
        self.project = project
        self.commit = commit
        self.label = f"{commit[:12]} (read through the GitLab API)"
        self._seen: dict[str, Any] = {}

    def _fail(self, path: str, reason: str) -> CollectError:
        return CollectError(f"{path} of the base revision {self.commit[:12]}: {reason}")

    def _get(self, path: str) -> Any:
        check_path(path)
        if path not in self._seen:
            where = f"/projects/{quote(self.project)}/repository/files/{quote(path)}"
            try:
                self._seen[path] = self.client.get(where, {"ref": self.commit}, what=f"{path} of the base revision")
            except GitlabError as exc:
                if status_of(exc) != 404:
                    raise self._fail(path, describe(exc, "GitLab")) from None
                self._seen[path] = None
            except PlatformError as exc:
                raise self._fail(path, exc.reason) from None
        return self._seen[path]

    def read_bytes(self, path: str, limit: int = MAX_BYTES) -> bytes | None:
        data = self._get(path)
        if not isinstance(data, dict):
            return None
        size = int(data.get("size") or 0)
        if size > limit:
            raise UnreadableFile(path, f"{size:,} bytes in the base revision, over the {limit:,}-byte limit")
        if data.get("encoding") != "base64":
            raise UnreadableFile(path, "the repository files API gave no base64 content")
        return base64.b64decode(str(data.get("content") or ""))

    def exists(self, path: str) -> bool:
        return isinstance(self._get(path), dict)

    def files_under(self, folder: str) -> list[str]:
        check_path(folder)
        where = f"/projects/{quote(self.project)}/repository/tree"
        try:
            items = self.client.get_all(where, {"path": folder.rstrip("/"), "ref": self.commit},
                                        what=f"{folder} of the base revision")
        except GitlabError as exc:
            if status_of(exc) == 404:
                return []
            raise self._fail(folder, describe(exc, "GitLab")) from None
        except PlatformError as exc:
            raise self._fail(folder, exc.reason) from None
        return sorted(str(e["path"]) for e in items if isinstance(e, dict) and e.get("type") == "blob")
