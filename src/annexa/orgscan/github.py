"""Read a GitHub organisation for ``annexa org-scan``: repositories in GraphQL pages, each repository's tree.

One GraphQL query lists up to ``PAGE`` repositories with what decides whether a repository changed since the last
scan (``pushedAt``, the default branch's head, its protection as the non-admin ``refUpdateRule`` view and the
active rules) and the contents of the fixed files every scan needs (CODEOWNERS, ``.gitattributes``,
``.annexa.yml``, workflows and local actions). A changed repository then costs one REST call for its tree
(``git/trees?recursive=1``) and one GraphQL query for the small blobs the tree shows are needed (LFS pointer
candidates under weight paths, nested ``.gitattributes``, policy files, dataset cards).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from github import GithubException

from annexa.collect.github import (
    BYPASS_NEEDS,
    CLASSIC_NEEDS,
    CLASSIC_SOURCE,
    GitHubClient,
    SettingsCollector,
    Unavailable,
    _BranchRead,
    _classic_view,
    _ref_update_view,
    _Ruleset,
    _ruleset_view,
    describe_error,
)
from annexa.facts import RepoSettings, Setting
from annexa.paths import match_any
from annexa.protection import FIELDS as PROTECTION_FIELDS
from annexa.protection import Unread, nothing


class RateLimited(Exception):
    """The primary rate limit is spent and resets later than the scan may wait: stop, keep the state, resume."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def primary_reset(exc: GithubException) -> float | None:
    """When GitHub says the primary (hourly) rate limit is spent: the epoch second it resets, else ``None``.

    REST answers 403 or 429 with ``X-RateLimit-Remaining: 0``; GraphQL may answer 200 with an error of type
    ``RATE_LIMITED`` (PyGithub raises it as a 400)."""
    headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
    reset = headers.get("x-ratelimit-reset", "")
    data = exc.data if isinstance(exc.data, Mapping) else {}
    graphql_limited = any(isinstance(e, Mapping) and e.get("type") == "RATE_LIMITED" for e in data.get("errors") or ())
    spent = exc.status in (403, 429) and headers.get("x-ratelimit-remaining") == "0"
    if (spent or graphql_limited) and reset.strip().isdigit():
        return float(reset)
    return None


class OrgScanClient(GitHubClient):
    """The GitHub client of ``annexa org-scan``: a spent primary rate limit is waited out until its reset (the
    time is told through ``notify``) when that is at most ``max_wait`` seconds away, else :class:`RateLimited`
    stops the scan with the reset time (the state file keeps what was done for ``--resume``)."""

    def __init__(self, token: str, base_url: str = "https://api.github.com", retry: Any = None,
                 sleep: Any = time.sleep, max_wait: float = 3600.0, notify: Any = None,
                 clock: Any = time.time) -> None:
        self._local = threading.local()
        self._make = functools.partial(GitHubClient, token, base_url, retry, sleep)
        super().__init__(token, base_url, retry, sleep)
        self.max_wait = max_wait
        self.notify = notify
        self._clock = clock
        self._wait_lock = threading.Lock()

    @property
    def gh(self) -> Any:
        """One PyGithub ``Github`` per thread: its requester keeps one connection whose request and response are
        separate steps, so threads sharing it can read each other's answers."""
        mine = getattr(self._local, "gh", None)
        if mine is None:
            mine = self._local.gh = self._make().gh
        return mine

    @gh.setter
    def gh(self, value: Any) -> None:
        self._local.gh = value

    def call(self, fn: Any) -> Any:
        """``GitHubClient.call``, waiting out a spent primary rate limit."""
        waits = 0
        while True:
            try:
                return super().call(fn)
            except GithubException as exc:
                reset = primary_reset(exc)
                if reset is None:
                    raise
                waits += 1
                wait = max(0.0, reset - self._clock()) + 1
                when = dt.datetime.fromtimestamp(reset, dt.UTC).strftime("%H:%M:%S UTC")
                if wait > self.max_wait or waits > 3:
                    raise RateLimited(f"GitHub API rate limit spent until {when} ({wait:.0f} s, more than "
                                      f"--max-wait {self.max_wait:.0f} s): run again with --resume after it"
                                      ) from None
                with self._wait_lock:  # one worker waits and tells; the others wait behind it
                    left = max(1.0, reset - self._clock() + 1)
                    if self.notify is not None:
                        self.notify(f"GitHub API rate limit spent: waiting until {when} ({left:.0f} s)")
                    self._sleep(left)


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
        nameWithOwner visibility isArchived isEmpty pushedAt viewerPermission
        repositoryTopics(first: 20) { nodes { topic { name } } }
        codeowners { errors { path line column kind message suggestion } }
        rulesets(first: 20, includeParents: true) { totalCount nodes {
          databaseId name enforcement target updatedAt
          source { __typename ... on Repository { nameWithOwner } ... on Organization { login } }
          conditions { refName { include exclude } }
          bypassActors(first: 20) { totalCount nodes { bypassMode repositoryRoleDatabaseId organizationAdmin
                                                       deployKey enterpriseOwner
                                                       actor { __typename ... on Team { databaseId }
                                                               ... on App { databaseId } } } }
          rules(first: 20) { nodes { type } } } }
        defaultBranchRef {
          name
          target { oid }
          refUpdateRule { requiredApprovingReviewCount requiresCodeOwnerReviews allowsForcePushes allowsDeletions
                          requiresSignatures requiredStatusCheckContexts requiresLinearHistory }
          branchProtectionRule { isAdminEnforced requiresApprovingReviews requiredApprovingReviewCount
                                 dismissesStaleReviews requiresCodeOwnerReviews requireLastPushApproval
                                 allowsForcePushes allowsDeletions requiresCommitSignatures requiresStatusChecks
                                 requiredStatusCheckContexts
                                 bypassPullRequestAllowances(first: 50) { nodes { actor { __typename
                                   ... on User { login databaseId } ... on Team { slug databaseId }
                                   ... on App { slug databaseId } } } } }
          rules(first: 50) { nodes { type
            parameters { ... on PullRequestParameters { requiredApprovingReviewCount dismissStaleReviewsOnPush
                                                        requireCodeOwnerReview requireLastPushApproval }
                         ... on RequiredStatusChecksParameters { requiredStatusChecks { context } } }
            repositoryRuleset { databaseId name enforcement updatedAt
                                source { __typename ... on Repository { nameWithOwner } ... on Organization { login } }
                                } } }
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
    node: dict[str, Any] = field(default_factory=dict)
    """The listing node: settings are read from it (:func:`settings_from_listing`)."""
    security: dict[str, Any] | None = None
    """``security_and_analysis`` from ``GET /orgs/{org}/repos`` (``None``: the token cannot see it)."""
    security_reason: str | None = None
    """Why the org's repository listing (and so ``security``) could not be read."""


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
        "rulesets": sorted(json.dumps(r, sort_keys=True) for r in ((node.get("rulesets") or {}).get("nodes") or ())),
        "codeowners": node.get("codeowners"), "permission": node.get("viewerPermission"),
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
        node=dict(node),
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


# ---------------------------------------------------------------------------------------------- settings

ORG_REPOS_PAGE = 100


def org_security(client: GitHubClient, org: str, cache: dict[str, Any]) -> dict[str, Any] | str:
    """``security_and_analysis`` of every repository of ``org`` (``GET /orgs/{org}/repos``, 100 a page: one
    request per 100 repositories, GraphQL has no such field), keyed by lower-case ``owner/name``; the value is
    ``None`` where GitHub hides it from this token. Pages are asked for with the ETag of the last answer
    (``cache``, kept in the state file): an unchanged page answers 304, which costs no rate limit point.
    Returns why, when the listing cannot be read."""
    out: dict[str, Any] = {}
    url: str | None = f"/orgs/{org}/repos"
    params: dict[str, Any] | None = {"per_page": ORG_REPOS_PAGE, "type": "all"}
    while url is not None:
        key = url + ("?" + urllib.parse.urlencode(sorted(params.items())) if params else "")
        cached = cache.get(key)
        headers = {"If-None-Match": str(cached["etag"])} if isinstance(cached, dict) and cached.get("etag") else {}
        request = functools.partial(client.gh.requester.requestJsonAndCheck, "GET", url, params, headers)
        try:
            answer_headers, data = client.call(request)
        except GithubException as exc:
            return describe_error(exc, f"repositories of {org}")
        except Unavailable as exc:
            return exc.reason
        if data is None and headers and isinstance(cached, dict):
            items, nxt = list(cached.get("items") or []), cached.get("next")
        else:
            items = [{"full_name": r.get("full_name"), "security_and_analysis": r.get("security_and_analysis")}
                     for r in data or [] if isinstance(r, Mapping)]
            nxt = _next_page(answer_headers)
            etag = next((str(v) for k, v in (answer_headers or {}).items() if k.lower() == "etag"), None)
            if etag:
                cache[key] = {"etag": etag, "items": items, "next": nxt}
        for item in items:
            out[str(item.get("full_name")).lower()] = item.get("security_and_analysis")
        url, params = nxt, None
    return out


def _next_page(headers: Mapping[str, Any] | None) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header."""
    link = next((str(v) for k, v in (headers or {}).items() if str(k).lower() == "link"), "")
    match = re.search(r'<([^>]+)>;\s*rel="next"', link)
    return match.group(1) if match else None


_PARAMS = {
    "requiredApprovingReviewCount": "required_approving_review_count",
    "dismissStaleReviewsOnPush": "dismiss_stale_reviews_on_push",
    "requireCodeOwnerReview": "require_code_owner_review", "requireLastPushApproval": "require_last_push_approval",
}


def _rest_rule(node: Mapping[str, Any]) -> dict[str, Any]:
    """A GraphQL ``RepositoryRule`` in the REST shape the ruleset view reads."""
    params = node.get("parameters") or {}
    rest: dict[str, Any] = {k: params[g] for g, k in _PARAMS.items() if g in params}
    if "requiredStatusChecks" in params:
        rest["required_status_checks"] = [{"context": c.get("context")} for c in params["requiredStatusChecks"] or ()]
    return {"type": str(node.get("type") or "").lower(), "parameters": rest}


def _source_type(ruleset: Mapping[str, Any]) -> str:
    return "Organization" if (ruleset.get("source") or {}).get("__typename") == "Organization" else "Repository"


def _bypass_detail(ruleset: Mapping[str, Any], admin: bool) -> dict[str, Any] | None:
    """The ruleset's bypass list in the REST shape; ``None`` unless the token administers the repository (GitHub
    shows bypass actors only to those who may see them, and an empty list must not be read as "no one")."""
    listed = ruleset.get("bypassActors") or {}
    nodes = list(listed.get("nodes") or ())
    if not admin or not isinstance(listed, Mapping) or int(listed.get("totalCount") or 0) > len(nodes):
        return None
    actors = []
    for actor in nodes:
        kind, ident = "Unspecified", None
        who = actor.get("actor") or {}
        if actor.get("organizationAdmin"):
            kind = "OrganizationAdmin"
        elif actor.get("repositoryRoleDatabaseId") is not None:
            kind, ident = "RepositoryRole", actor.get("repositoryRoleDatabaseId")
        elif actor.get("deployKey"):
            kind = "DeployKey"
        elif actor.get("enterpriseOwner"):
            kind = "EnterpriseOwner"
        elif who.get("__typename") in ("Team", "App"):
            kind, ident = ("Team" if who["__typename"] == "Team" else "Integration"), who.get("databaseId")
        actors.append({"actor_type": kind, "actor_id": ident,
                       "bypass_mode": str(actor.get("bypassMode") or "ALWAYS").lower()})
    return {"bypass_actors": actors}


def _bpr_as_classic(bpr: Mapping[str, Any]) -> dict[str, Any]:
    """GraphQL ``branchProtectionRule`` (the admin view) in the REST shape of classic protection."""
    reviews = None
    if bpr.get("requiresApprovingReviews"):
        allowances: dict[str, list[dict[str, Any]]] = {"users": [], "teams": [], "apps": []}
        for node in (bpr.get("bypassPullRequestAllowances") or {}).get("nodes") or ():
            actor = node.get("actor") or {}
            kind = actor.get("__typename")
            if kind == "User":
                allowances["users"].append({"id": actor.get("databaseId"), "login": actor.get("login")})
            elif kind in ("Team", "App"):
                allowances["teams" if kind == "Team" else "apps"].append(
                    {"id": actor.get("databaseId"), "slug": actor.get("slug")})
        reviews = {"required_approving_review_count": int(bpr.get("requiredApprovingReviewCount") or 0),
                   "require_code_owner_reviews": bool(bpr.get("requiresCodeOwnerReviews")),
                   "dismiss_stale_reviews": bool(bpr.get("dismissesStaleReviews")),
                   "require_last_push_approval": bool(bpr.get("requireLastPushApproval")),
                   "bypass_pull_request_allowances": allowances}
    checks = ({"contexts": list(bpr.get("requiredStatusCheckContexts") or ())}
              if bpr.get("requiresStatusChecks") else None)
    return {"required_pull_request_reviews": reviews, "required_status_checks": checks,
            "enforce_admins": {"enabled": bool(bpr.get("isAdminEnforced"))},
            "allow_force_pushes": {"enabled": bool(bpr.get("allowsForcePushes"))},
            "allow_deletions": {"enabled": bool(bpr.get("allowsDeletions"))},
            "required_signatures": {"enabled": bool(bpr.get("requiresCommitSignatures"))}}


def settings_from_listing(client: GitHubClient, listing: RepoListing) -> RepoSettings | None:
    """The repository's settings from its listing node and the org's ``security_and_analysis`` (no request);
    ``None`` when the listing cannot answer (no default branch), and the REST collector must."""
    node = listing.node
    ref = node.get("defaultBranchRef")
    if not isinstance(ref, Mapping) or not ref.get("name"):
        return None
    name = str(ref["name"])
    admin = node.get("viewerPermission") == "ADMIN"
    rule_nodes = list((ref.get("rules") or {}).get("nodes") or ())
    if rule_nodes and node.get("viewerPermission") is None:
        # no permission shown (GitHub App installation tokens): whether the bypass lists are visible is not
        # known, so the REST collector, which can tell, reads this repository
        return None
    classic, bpr = ref.get("refUpdateRule"), ref.get("branchProtectionRule")
    read = _BranchRead(name, protected=bool(classic or bpr or rule_nodes))
    if not read.protected:
        read.views.append(nothing("branch is not protected (no classic protection, no active ruleset)"))
    else:
        grouped: dict[int, tuple[Mapping[str, Any], list[dict[str, Any]]]] = {}
        for rule in rule_nodes:
            owner = rule.get("repositoryRuleset") or {}
            grouped.setdefault(int(owner.get("databaseId") or 0), (owner, []))[1].append(_rest_rule(rule))
        listed = {int(rs.get("databaseId") or 0): rs for rs in (node.get("rulesets") or {}).get("nodes") or ()}
        for ident, (owner, rules) in grouped.items():
            full = listed.get(ident)
            detail = _bypass_detail(full, admin) if full is not None else None
            reason = None if detail is not None else BYPASS_NEEDS if not admin else (
                "the ruleset's whole bypass list (more rulesets or bypass actors than the org listing reads: "
                "run annexa ci in the repository)")
            ruleset = _Ruleset(ident, str(owner.get("name") or f"#{ident}"), _source_type(owner), "active", "branch",
                               detail=detail, detail_reason=reason)
            read.active_ids.add(ident)
            read.views.append(_ruleset_view(ruleset, rules))
        if isinstance(bpr, Mapping):
            read.views.append(_classic_view(_bpr_as_classic(bpr)))
        elif isinstance(classic, Mapping):
            view = _ref_update_view(classic)
            read.views.append(view)
            left = tuple(f for f in PROTECTION_FIELDS if f not in view.values)
            if left:
                read.unread.append(Unread(CLASSIC_SOURCE, CLASSIC_NEEDS, left, partial=True))
        else:
            read.views.append(nothing("no classic branch protection"))
    evaluate = []
    for rs in (node.get("rulesets") or {}).get("nodes") or ():
        if str(rs.get("enforcement")).upper() != "EVALUATE" or str(rs.get("target")).upper() != "BRANCH":
            continue
        ref_name = (rs.get("conditions") or {}).get("refName") or {}
        evaluate.append(_Ruleset(
            int(rs.get("databaseId") or 0), str(rs.get("name")), _source_type(rs), "evaluate", "branch",
            detail={"conditions": {"ref_name": {"include": list(ref_name.get("include") or ()),
                                                "exclude": list(ref_name.get("exclude") or ())}},
                    "rules": [{"type": str(r.get("type") or "").lower()}
                              for r in (rs.get("rules") or {}).get("nodes") or ()]}))
    branch = SettingsCollector(client, listing.full_name)._merge_branch(read, name, evaluate)
    raw = {"security_and_analysis": listing.security} if listing.security is not None else {}
    security = functools.partial(SettingsCollector._security, raw)
    codeowners = node.get("codeowners")
    errors: Setting[tuple[Mapping[str, object], ...]]
    if not isinstance(codeowners, Mapping):
        errors = Setting((), f"GitHub CODEOWNERS errors API: no CODEOWNERS file on {name}")
    else:
        keys = ("path", "line", "column", "kind", "message", "suggestion")
        errors = Setting(tuple({k: e.get(k) for k in keys} for e in codeowners.get("errors") or ()),
                         f"GitHub CODEOWNERS errors (GraphQL) on {name}")
    return RepoSettings(
        platform="github", repository=listing.full_name, default_branch=name,
        visibility=Setting(listing.visibility, "repository metadata"),
        secret_scanning=(Setting.unknown(listing.security_reason) if listing.security_reason
                         else security("secret_scanning")),
        secret_push_protection=(Setting.unknown(listing.security_reason) if listing.security_reason
                                else security("secret_scanning_push_protection")),
        branches=(branch,), codeowners_errors=errors,
    )
