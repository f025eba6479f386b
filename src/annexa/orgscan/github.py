"""Read a GitHub organisation for ``annexa org-scan``: repositories in GraphQL pages, each repository's tree.

One GraphQL query lists up to ``PAGE`` repositories with what decides whether a repository changed since the last
scan (``pushedAt``, the default branch's head, its protection as the non-admin ``refUpdateRule`` view and the
active rules) and the contents of the fixed files every scan needs (CODEOWNERS, ``.gitattributes``,
``.annexa.yml``, workflows and local actions). A changed repository then costs one REST call for its tree
(``git/trees?recursive=1``) and one GraphQL query for the small blobs the tree shows are needed (LFS pointer
candidates under weight paths, nested ``.gitattributes``, policy files, dataset cards).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from annexa.collect.github import GitHubClient
from annexa.paths import match_any

PAGE = 25
"""Repositories per listing query (each carries a few file objects; GitHub caps a query at 500,000 nodes)."""
FIXED_FILES = {
    "f_codeowners_github": ".github/CODEOWNERS", "f_codeowners_root": "CODEOWNERS",
    "f_codeowners_docs": "docs/CODEOWNERS", "f_gitattributes": ".gitattributes", "f_config": ".annexa.yml",
    "f_gitlab_ci": ".gitlab-ci.yml",
}
FIXED_TREES = {"t_workflows": ".github/workflows", "t_actions": ".github/actions"}
TEXT_LIMIT = 512 * 1024

_BLOB = "... on Blob { text byteSize isBinary }"
_TREE = ("... on Tree { entries { name type object { " + _BLOB +
         " ... on Tree { entries { name type object { " + _BLOB + " } } } } } }")

LISTING = """
query($org: String!, $first: Int!, $after: String) {
  rateLimit { cost remaining resetAt }
  organization(login: $org) {
    repositories(first: $first, after: $after, isArchived: false, orderBy: {field: NAME, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        nameWithOwner visibility isArchived isEmpty pushedAt
        repositoryTopics(first: 20) { nodes { topic { name } } }
        defaultBranchRef {
          name
          target { oid }
          refUpdateRule { requiredApprovingReviewCount requiresCodeOwnerReviews allowsForcePushes allowsDeletions
                          requiresSignatures requiredStatusCheckContexts requiresLinearHistory }
          branchProtectionRule { isAdminEnforced requiresApprovingReviews requiredApprovingReviewCount
                                 dismissesStaleReviews requiresCodeOwnerReviews requireLastPushApproval
                                 allowsForcePushes allowsDeletions requiresCommitSignatures requiresStatusChecks
                                 requiredStatusCheckContexts }
          rules(first: 50) { nodes { type
            parameters { ... on PullRequestParameters { requiredApprovingReviewCount dismissStaleReviewsOnPush
                                                        requireCodeOwnerReview requireLastPushApproval } }
            repositoryRuleset { databaseId enforcement updatedAt
                                bypassActors(first: 20) { nodes { bypassMode repositoryRoleDatabaseId
                                                                  organizationAdmin deployKey } } } } }
        }
        f_codeowners_github: object(expression: "HEAD:.github/CODEOWNERS") { ... on Blob { text byteSize isBinary } }
        f_codeowners_root: object(expression: "HEAD:CODEOWNERS") { ... on Blob { text byteSize isBinary } }
        f_codeowners_docs: object(expression: "HEAD:docs/CODEOWNERS") { ... on Blob { text byteSize isBinary } }
        f_gitattributes: object(expression: "HEAD:.gitattributes") { ... on Blob { text byteSize isBinary } }
        f_config: object(expression: "HEAD:.annexa.yml") { ... on Blob { text byteSize isBinary } }
        f_gitlab_ci: object(expression: "HEAD:.gitlab-ci.yml") { ... on Blob { text byteSize isBinary } }
        t_workflows: object(expression: "HEAD:.github/workflows") { ... on Tree { entries { name type object {
          ... on Blob { text byteSize isBinary }
          ... on Tree { entries { name type object { ... on Blob { text byteSize isBinary } } } } } } } }
        t_actions: object(expression: "HEAD:.github/actions") { ... on Tree { entries { name type object {
          ... on Blob { text byteSize isBinary }
          ... on Tree { entries { name type object { ... on Blob { text byteSize isBinary } } } } } } } }
      }
    }
  }
}
"""
"""The org listing (written out whole, so tests can validate it against GitHub's GraphQL schema)."""


@dataclass
class RepoListing:
    """One repository as the org listing shows it."""

    full_name: str
    visibility: str
    empty: bool
    pushed_at: str | None
    topics: tuple[str, ...]
    default_branch: str | None
    head: str | None
    fingerprint: str
    """Changes whenever a push, the default branch's protection (the admin view too, when the token has it) or
    the rulesets that apply to it (their rules, enforcement, bypass actors, update time) change. Settings that
    GraphQL does not show (secret scanning, push protection) are re-read only by ``--full`` scans."""
    contents: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Page:
    """One listing query's answer."""

    repos: list[RepoListing]
    total: int
    cursor: str | None
    """The cursor after this page (``None`` on the last page)."""
    rate_remaining: int | None


def _text(node: Any) -> bytes | None:
    if not isinstance(node, Mapping) or node.get("isBinary") or not isinstance(node.get("text"), str):
        return None
    if int(node.get("byteSize") or 0) > TEXT_LIMIT:
        return None
    return str(node["text"]).encode("utf-8")


def _tree_files(prefix: str, node: Any, out: dict[str, bytes]) -> None:
    entries = node.get("entries") if isinstance(node, Mapping) else None
    for entry in entries or ():
        path = f"{prefix}/{entry.get('name')}"
        child = entry.get("object")
        if entry.get("type") == "blob":
            data = _text(child)
            if data is not None:
                out[path] = data
        elif entry.get("type") == "tree":
            _tree_files(path, child, out)


def parse_repo(node: Mapping[str, Any]) -> RepoListing:
    """A listing node as a :class:`RepoListing` (pure)."""
    ref = node.get("defaultBranchRef") or {}
    contents: dict[str, bytes] = {}
    for alias, path in FIXED_FILES.items():
        data = _text(node.get(alias))
        if data is not None:
            contents[path] = data
    for alias, path in FIXED_TREES.items():
        _tree_files(path, node.get(alias), contents)
    head = (ref.get("target") or {}).get("oid")
    state = {
        "pushed_at": node.get("pushedAt"), "head": head,
        "visibility": node.get("visibility"), "protection": ref.get("refUpdateRule"),
        "admin_view": ref.get("branchProtectionRule"),
        "rules": sorted(json.dumps(r, sort_keys=True) for r in ((ref.get("rules") or {}).get("nodes") or ())),
    }
    return RepoListing(
        full_name=str(node["nameWithOwner"]),
        visibility=str(node.get("visibility") or "").lower(),
        empty=bool(node.get("isEmpty")),
        pushed_at=node.get("pushedAt"),
        topics=tuple(str(t["topic"]["name"]) for t in (node.get("repositoryTopics") or {}).get("nodes") or ()),
        default_branch=ref.get("name"),
        head=str(head) if head else None,
        fingerprint=hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest(),
        contents=contents,
    )


def list_pages(client: GitHubClient, org: str, after: str | None = None) -> Iterator[tuple[str | None, Page]]:
    """Every page of the org's non-archived repositories: (the cursor that page started at, the page)."""
    cursor = after
    while True:
        data = client.graphql(LISTING, {"org": org, "first": PAGE, "after": cursor})
        connection = (data.get("organization") or {}).get("repositories")
        if connection is None:
            raise LookupError(f"GitHub organisation {org!r} not found, or the token cannot read it")
        info = connection.get("pageInfo") or {}
        nxt = info.get("endCursor") if info.get("hasNextPage") else None
        rate = (data.get("rateLimit") or {}).get("remaining")
        yield cursor, Page([parse_repo(n) for n in connection.get("nodes") or () if n],
                           int(connection.get("totalCount") or 0), nxt, rate)
        if nxt is None:
            return
        cursor = nxt


@dataclass
class Tree:
    """A repository's file listing: sizes, symlinks, and whether GitHub truncated it."""

    sizes: dict[str, int]
    symlinks: set[str]
    truncated: bool


def read_tree(client: GitHubClient, full_name: str, head: str) -> Tree:
    """Every blob of the default branch head (one request)."""
    data = client.get_json(f"/repos/{full_name}/git/trees/{head}", {"recursive": "1"})
    sizes: dict[str, int] = {}
    links: set[str] = set()
    for entry in (data or {}).get("tree") or ():
        if entry.get("type") != "blob":
            continue
        sizes[str(entry["path"])] = int(entry.get("size") or 0)
        if entry.get("mode") == "120000":
            links.add(str(entry["path"]))
    return Tree(sizes, links, bool((data or {}).get("truncated")))


def wanted_blobs(tree: Tree, have: Mapping[str, bytes], weights: Sequence[str], extra: Sequence[str]) -> list[str]:
    """The small files the rules need beyond the fixed ones: pointer candidates, nested attributes, ``extra``."""
    out = []
    for path, size in sorted(tree.sizes.items()):
        if path in have or size > TEXT_LIMIT:
            continue
        name = path.rsplit("/", 1)[-1]
        if match_any(weights, path) or name == ".gitattributes" or match_any(extra, path):
            out.append(path)
    return out


def read_blobs(client: GitHubClient, full_name: str, paths: Sequence[str], batch: int = 50
               ) -> tuple[dict[str, bytes], set[str]]:
    """Text of ``paths`` at HEAD, ``batch`` files per GraphQL query, and which of them GitHub reports binary."""
    owner, name = full_name.split("/", 1)
    out: dict[str, bytes] = {}
    binary: set[str] = set()
    for start in range(0, len(paths), batch):
        chunk = paths[start:start + batch]
        fields = "".join(f"f{i}: object(expression: {json.dumps('HEAD:' + p)}) {{ {_BLOB} }}\n"
                         for i, p in enumerate(chunk))
        # assembled at run time (a variable number of aliases), so it is not a whole literal for the schema test
        query = "query($owner: String!, $name: String!) " + "{ repository(owner: $owner, name: $name) {\n" \
            + fields + "} }"
        data = client.graphql(query, {"owner": owner, "name": name})
        repo = data.get("repository") or {}
        for i, path in enumerate(chunk):
            node = repo.get(f"f{i}")
            text = _text(node)
            if text is not None:
                out[path] = text
            elif isinstance(node, Mapping) and node.get("isBinary"):
                binary.add(path)
    return out, binary
