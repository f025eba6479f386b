"""Read a GitLab group for ``annexa org-scan --gitlab-group``: its projects, each project's tree and files.

The group's projects (subgroups included, archived ones left out) come from ``GET /groups/:id/projects``, 100 a
page; ``last_activity_at`` decides whether a project changed since the last scan. A changed project then costs its
tree (``GET /projects/:id/repository/tree?recursive=true``, 100 entries a page; GitLab's tree lists no sizes), one
raw read per file the rules need (CODEOWNERS, ``.gitlab-ci.yml``, ``.gitattributes``, ``.annexa.yml``, policies,
dataset cards, and the first bytes of every weight-path file, enough to tell an LFS pointer or a text file from
model bytes) and the settings the GitLab settings collector of ``annexa ci`` reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gitlab.exceptions import GitlabError

from annexa.errors import UnreadableFile
from annexa.platforms.base import PlatformError
from annexa.platforms.gitlab.client import GitLabClient, describe, quote, status_of
from annexa.tree import ApiTree

PAGE = 100
"""Projects per listing page (GitLab's largest ``per_page``)."""
TREE_LIMIT = 20_000
"""Tree entries read at most (200 pages); a larger tree is reported truncated, and rules over all files are
``unknown``."""
TEXT_LIMIT = 512 * 1024
"""Files the rules read as text are read whole up to this size."""
WEIGHT_READS = 200
"""Weight-path files read at most per project (one request each); the rest stay unread, so their rules are
``unknown``, never ``pass``."""
HEAD_BYTES = 64 * 1024
"""Bytes read of a weight-path file (what the weight classification reads; an LFS pointer is far smaller)."""
FIXED_FILES = (
    "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS", ".github/CODEOWNERS", ".gitattributes", ".annexa.yml",
    ".gitlab-ci.yml",
)  # fmt: skip
FIXED_PREFIXES = (".github/workflows/", ".github/actions/", ".gitlab/ci/")
SIZE_UNKNOWN = "GitLab's tree API lists no sizes and the org scan did not read this file"


@dataclass
class ProjectListing:
    """One project as the group listing shows it."""

    full_name: str
    id: int
    visibility: str
    empty: bool
    last_activity_at: str | None
    topics: tuple[str, ...]
    default_branch: str | None
    fingerprint: str
    """Changes with ``last_activity_at`` (pushes, merge requests, issues...), the default branch and the
    visibility. Settings changes that leave ``last_activity_at`` alone are re-read only by ``--full`` scans."""
    raw: dict[str, Any]
    """The listing's project JSON (the settings collector reads its project fields from it)."""


@dataclass
class Page:
    """A slice of the listing, for progress and the state file."""

    repos: list[ProjectListing]
    total: int
    cursor: str | None
    rate_remaining: int | None


def parse_project(item: Mapping[str, Any]) -> ProjectListing:
    """A listing entry as a :class:`ProjectListing` (pure)."""
    topics = item.get("topics")
    if not isinstance(topics, list):
        listed = item.get("tag_list")
        topics = listed if isinstance(listed, list) else []
    state = {"last_activity_at": item.get("last_activity_at"), "default_branch": item.get("default_branch"),
             "visibility": item.get("visibility"), "empty": item.get("empty_repo")}
    return ProjectListing(
        full_name=str(item["path_with_namespace"]),
        id=int(item.get("id") or 0),
        visibility=str(item.get("visibility") or "").lower(),
        empty=bool(item.get("empty_repo")),
        last_activity_at=item.get("last_activity_at"),
        topics=tuple(str(t) for t in topics),
        default_branch=str(item["default_branch"]) if item.get("default_branch") else None,
        fingerprint=hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest(),
        raw=dict(item),
    )


def rate_remaining(client: GitLabClient) -> int | None:
    """``RateLimit-Remaining`` of the last answer (GitLab.com sends it; self-managed servers may not)."""
    for key, value in client._last_headers.items():
        if key.lower() == "ratelimit-remaining" and str(value).strip().isdigit():
            return int(value)
    return None


def list_pages(client: GitLabClient, group: str) -> Iterator[tuple[str | None, Page]]:
    """The group's non-archived projects, subgroups included, ordered by path, in pages of :data:`PAGE`."""
    try:
        items = client.get_all(
            f"/groups/{quote(group)}/projects",
            {"include_subgroups": "true", "archived": "false", "order_by": "path", "sort": "asc",
             "with_shared": "false"},
            what=f"projects of group {group}")
    except GitlabError as exc:
        if status_of(exc) == 404:
            raise LookupError(f"GitLab group {group!r} not found, or the token cannot read it") from None
        raise LookupError(describe(exc, f"projects of group {group}")) from None
    except PlatformError as exc:
        raise LookupError(exc.reason) from None
    projects = sorted((parse_project(i) for i in items if not i.get("archived")), key=lambda p: p.full_name)
    rate = rate_remaining(client)
    if not projects:
        yield None, Page([], 0, None, rate)
    for start in range(0, len(projects), PAGE):
        cursor = str(start) if start else None
        nxt = str(start + PAGE) if start + PAGE < len(projects) else None
        yield cursor, Page(projects[start:start + PAGE], len(projects), nxt, rate)


@dataclass
class Listing:
    """A project's tree: every blob path, the symbolic links, whether the listing was cut short."""

    paths: list[str]
    symlinks: set[str]
    truncated: bool


def read_tree(client: GitLabClient, project: str, ref: str) -> Listing:
    """Every blob of ``ref`` (``recursive=true``, followed page by page)."""
    entries = client.get_all(f"/projects/{quote(project)}/repository/tree",
                             {"recursive": "true", "ref": ref}, limit=TREE_LIMIT + 1,
                             what=f"repository tree of {project}")
    paths: list[str] = []
    links: set[str] = set()
    for entry in entries[:TREE_LIMIT]:
        if entry.get("type") != "blob" or not entry.get("path"):
            continue
        paths.append(str(entry["path"]))
        if entry.get("mode") == "120000":
            links.add(str(entry["path"]))
    return Listing(sorted(paths), links, len(entries) > TREE_LIMIT)


@dataclass
class Read:
    """One file as read: ``data`` (all of it when ``complete``) and its size."""

    data: bytes
    size: int
    complete: bool


def read_file(client: GitLabClient, project: str, path: str, ref: str, limit: int) -> Read | None:
    """Up to ``limit`` bytes of ``path`` at ``ref`` (one streamed raw read; one ``HEAD`` more for the size of a
    file longer than ``limit`` when the answer has no ``Content-Length``); ``None`` when it is gone."""
    base = f"/projects/{quote(project)}/repository/files/{quote(path)}"

    def fetch() -> tuple[bytes, int | None]:
        response = client.gl.http_request("get", f"{base}/raw", query_data={"ref": ref}, streamed=True,
                                      obey_rate_limit=False, retry_transient_errors=False, max_retries=0)
        try:
            chunks: list[bytes] = []
            got = 0
            for chunk in response.iter_content(chunk_size=16384):
                chunks.append(chunk)
                got += len(chunk)
                if got > limit:
                    break
            length = str(response.headers.get("Content-Length") or response.headers.get("X-Gitlab-Size") or "")
            return b"".join(chunks), int(length) if length.isdigit() else None
        finally:
            response.close()

    try:
        data, length = client.call(fetch, f"file {path} of {project}")
    except GitlabError as exc:
        if status_of(exc) == 404:
            return None
        raise
    if len(data) <= limit:
        return Read(data, len(data), True)
    if length is None:
        length = _head_size(client, base, ref)
    return Read(data[:limit], length if length is not None else len(data), False)


def _head_size(client: GitLabClient, base: str, ref: str) -> int | None:
    response = client.call(lambda: client.gl.http_request(
        "head", base, query_data={"ref": ref}, obey_rate_limit=False, retry_transient_errors=False,
        max_retries=0), f"size of {base}")
    size = str(response.headers.get("X-Gitlab-Size") or "")
    return int(size) if size.isdigit() else None


class GitLabTree(ApiTree):
    """An :class:`~annexa.tree.ApiTree` from GitLab's API: the files it read whole, the first bytes of large
    weight-path files, and sizes only where a read told them (GitLab's tree lists none)."""

    def __init__(self, paths: Iterable[str], reads: Mapping[str, Read], symlinks: Iterable[str] = (),
                 truncated: bool = False) -> None:
        listed = set(paths)
        contents = {p: r.data for p, r in reads.items() if r.complete and p in listed}
        sizes = {p: 0 for p in listed} | {p: r.size for p, r in reads.items() if p in listed}
        super().__init__(sizes, contents, symlinks, truncated)
        self.known_sizes = frozenset(p for p in reads if p in sizes)
        self.heads = {p: r.data for p, r in reads.items() if not r.complete}
        """The first :data:`HEAD_BYTES` of weight-path files too large to read whole."""

    def size(self, path: str) -> int:
        """The size a read told; other files' sizes are not known (``UnreadableFile``)."""
        if path in self.sizes and path not in self.known_sizes:
            raise UnreadableFile(path, SIZE_UNKNOWN)
        return super().size(path)

    def read_bytes(self, path: str, limit: int) -> bytes:
        """The first bytes of a file read whole, or of a large file as far as its head was read."""
        head = self.heads.get(path)
        if head is not None and path not in self.fetched:
            if limit <= len(head):
                return head[:limit]
            raise UnreadableFile(path, f"only the first {len(head)} bytes were read by the org scan "
                                       "(run annexa check on a checkout)")
        return super().read_bytes(path, limit)

    def blobs(self, paths: Iterable[str]) -> dict[str, bytes | int]:
        """The bytes of files read whole, the size of files whose head was read; unread files are left out."""
        out: dict[str, bytes | int] = {}
        for path, value in super().blobs(paths).items():
            if path in self.fetched or path in self.known_sizes:
                out[path] = value
        return out
