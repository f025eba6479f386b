"""A stateful fake of GitHub's REST and GraphQL APIs, speaking real HTTP on 127.0.0.1.

Used by the real PyGithub client (``Github(base_url=fake.base_url, ...)``; GraphQL then goes to
``fake.graphql_url``). It models what annexa reads and writes: repositories, branches, classic protection,
repository and organisation rulesets, pull requests with files and reviews, issue comments, check runs, SARIF
uploads, CODEOWNERS errors, teams, contents and rate limits. Responses follow GitHub's OpenAPI description
(``test_github_fake.py`` validates them); every URL it returns points at its own host and ``/api/v3`` prefix.

Token kinds (``add_token``), as GitHub answers them:

=================  ==================================  =======================  ===================
kind               classic protection, org rulesets,   ``security_and_``        writes (comments,
                   team members                        ``analysis``             check runs, SARIF)
=================  ==================================  =======================  ===================
admin              readable                            present                  allowed
github_token       403 "Resource not accessible by     absent                   allowed
                   integration"
read               404 "Not Found" (team members ok)   absent                   comments only; check
                                                                                runs / SARIF 403
fork_readonly      as github_token                     absent                   403 "Resource not
                                                                                accessible by
                                                                                integration"
=================  ==================================  =======================  ===================

Everyone with read access gets ``/rules/branches/{b}``, the branch's ``protected``, repository rulesets (bypass
actors only for admin), CODEOWNERS errors and GraphQL ``refUpdateRule`` (``branchProtectionRule`` only for admin).
Archived repositories refuse writes with 403. Org rulesets apply by ``conditions.repository_name`` or
``repository_id`` (any other condition: to every repository of the org). Faults: ``fail_next`` (5xx),
``secondary_rate_limit`` (403/429 + Retry-After), ``stall_next`` (client timeouts), ``latency`` (every request),
``set_rate_limit_remaining`` (primary limit). ``requests`` records every exchange for counting and contract checks.
"""

from __future__ import annotations

import base64
import binascii
import copy
import fnmatch
import gzip
import hashlib
import itertools
import json
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import graphql
from graphql import language as gql

DOCS = "https://docs.github.com/rest"
TOKEN_KINDS = ("admin", "github_token", "read", "fork_readonly")
INTEGRATION_DENIED = "Resource not accessible by integration"
CREATED_AT = "2026-11-20T09:00:00Z"
API_PREFIX = "/api/v3"
OCTOKIT_CACHE = Path(os.environ.get("ANNEXA_OCTOKIT_CACHE") or Path(__file__).parent.parent / ".cache" / "octokit")
"""Where ``fetch_specs.sh`` unpacks @octokit/openapi, @octokit/graphql-schema and @octokit/webhooks-examples."""
GRAPHQL_PATH = "/api/graphql"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake answered. ``path`` is relative to the API root (``/repos/o/r``; GraphQL: ``/graphql``)."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    token: str | None
    route: str = ""
    """The route template that answered, e.g. ``GET /repos/{owner}/{repo}``; empty when none matched."""
    body: Any = None
    """The decoded JSON request body, if any."""
    response: Any = None
    """The decoded JSON response body (None for 304 and empty bodies)."""
    headers: dict[str, str] = field(default_factory=dict)
    """The response headers."""


class _HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "documentation_url": DOCS, **extra}
        if status >= 400 and status != 422:
            self.body["status"] = str(status)
        self.headers = dict(headers or {})


def _not_found(message: str = "Not Found") -> _HTTPError:
    return _HTTPError(404, message)


@dataclass
class _Token:
    token: str
    kind: str
    login: str
    limit: int
    remaining: int
    graphql_remaining: int = 5000
    repos: set[str] | None = None


@dataclass
class _Repo:
    owner: str
    name: str
    id: int
    default_branch: str
    visibility: str
    archived: bool
    security_and_analysis: dict[str, str] | None
    empty: bool
    fork: bool = False
    description: str | None = None
    branches: dict[str, str] = field(default_factory=dict)
    protection: dict[str, dict[str, Any]] = field(default_factory=dict)
    rulesets: list[dict[str, Any]] = field(default_factory=list)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    sarifs: list[dict[str, Any]] = field(default_factory=list)
    codeowners_errors: list[dict[str, Any]] | None = None
    codeowners_by_ref: dict[str, list[dict[str, Any]] | None] = field(default_factory=dict)
    """CODEOWNERS errors of other refs (a PR head or merge commit); other refs answer ``codeowners_errors``."""
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    pushed_at: str = "2026-11-01T00:00:00Z"
    topics: list[str] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class _Fault:
    count: int
    kind: str  # "status" | "secondary" | "stall"
    status: int = 502
    retry_after: int = 1
    seconds: float = 0.0
    path_contains: str | None = None


Route = tuple[str, "re.Pattern[str]", str, Callable[..., tuple[int, Any, dict[str, str]]]]


def _route_regex(template: str) -> re.Pattern[str]:
    parts = []
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{"):
            name = piece[1:-1]
            parts.append(f"(?P<{name}>.+)" if name in ("branch", "path", "ref") else f"(?P<{name}>[^/]+)")
        else:
            parts.append(re.escape(piece))
    return re.compile("^" + "".join(parts) + "$")


def _ref_glob(pattern: str) -> re.Pattern[str]:
    """GitHub ruleset ref patterns: ``*`` stays within one path segment, ``**`` crosses them."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def _patch_counts(patch: str | None) -> tuple[int, int]:
    if not patch:
        return 0, 0
    added = removed = 0
    for line in patch.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def _sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()


class FakeGitHub:
    """A fake GitHub server. Use as a context manager: it starts on a free port and stops on exit."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self._lock = threading.RLock()
        self._ids = itertools.count(1001)
        self._tokens: dict[str, _Token] = {}
        self._repos: dict[str, _Repo] = {}
        self._org_rulesets: dict[str, list[dict[str, Any]]] = {}
        self._teams: dict[tuple[str, str], list[str]] = {}
        self._faults: list[_Fault] = []
        self._requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[Route] = self._build_routes()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving on 127.0.0.1 at a free port."""
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-github", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self._server is not None, "FakeGitHub is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The REST base URL to give PyGithub: ``http://127.0.0.1:PORT/api/v3``."""
        return self.origin + API_PREFIX

    @property
    def graphql_url(self) -> str:
        """Where PyGithub sends GraphQL for this base URL: ``http://127.0.0.1:PORT/api/graphql``."""
        return self.origin + GRAPHQL_PATH

    # ------------------------------------------------------------------ state set-up

    def add_token(self, token: str, kind: str = "admin", login: str | None = None,
                  rate_limit: int | None = None, repos: Sequence[str] | None = None) -> None:
        """Register a token. ``kind``: admin, github_token, read or fork_readonly (see module docs).

        ``repos`` limits which repositories ("o/r") the token can see (others answer 404 "Not Found", as GitHub
        does); None means all. ``rate_limit`` overrides the hourly core limit (5000; 1000 for Actions tokens).
        """
        if kind not in TOKEN_KINDS:
            raise ValueError(f"unknown token kind {kind!r}; use one of {TOKEN_KINDS}")
        default_login = "github-actions[bot]" if kind in ("github_token", "fork_readonly") else f"{kind}-user"
        limit = rate_limit if rate_limit is not None else (1000 if kind in ("github_token", "fork_readonly") else 5000)
        with self._lock:
            self._tokens[token] = _Token(token, kind, login or default_login, limit, limit,
                                         repos=None if repos is None else {r.lower() for r in repos})

    def set_rate_limit_remaining(self, token: str, remaining: int) -> None:
        """Set how many core requests ``token`` has left; at 0 the fake answers 403 "API rate limit exceeded"."""
        with self._lock:
            self._tokens[token].remaining = remaining

    def add_repo(self, full_name: str, default_branch: str = "main", visibility: str = "private",
                 archived: bool = False, security_and_analysis: Mapping[str, str] | None = None,
                 empty: bool = False, description: str | None = None) -> dict[str, Any]:
        """Create (or replace, dropping its state) a repository; returns its JSON as an admin would see it."""
        owner, name = full_name.split("/", 1)
        if visibility not in ("public", "private", "internal"):
            raise ValueError(f"visibility must be public, private or internal, not {visibility!r}")
        with self._lock:
            repo = _Repo(owner, name, next(self._ids), default_branch, visibility, archived,
                         dict(security_and_analysis) if security_and_analysis is not None else None, empty,
                         description=description)
            self._repos[full_name.lower()] = repo
            return self._repo_json(repo, self._admin_view())

    def add_branch(self, full_name: str, branch: str, sha: str | None = None) -> None:
        """Create or move a branch."""
        with self._lock:
            repo = self._repo(full_name)
            repo.branches[branch] = sha or _sha(full_name, branch)
            repo.empty = False

    def set_classic_protection(self, full_name: str, branch: str, protection: Mapping[str, Any] | None) -> None:
        """Set (or with None remove) classic branch protection, given as GitHub's protection JSON (a subset).

        Boolean settings may be given as ``{"enabled": bool}`` or a plain bool; ``url`` fields are filled in.
        """
        with self._lock:
            repo = self._repo(full_name)
            if protection is None:
                repo.protection.pop(branch, None)
                return
            normal = copy.deepcopy(dict(protection))
            for key in ("required_signatures", "enforce_admins", "required_linear_history", "allow_force_pushes",
                        "allow_deletions", "block_creations", "required_conversation_resolution", "lock_branch",
                        "allow_fork_syncing"):
                if isinstance(normal.get(key), bool):
                    normal[key] = {"enabled": normal[key]}
            repo.protection[branch] = normal

    def add_ruleset(self, owner: str, ruleset: Mapping[str, Any], org: bool = False) -> dict[str, Any]:
        """Add a ruleset to a repository (``owner`` = "o/r") or, with ``org=True``, to an organisation.

        ``ruleset``: GitHub's ruleset JSON (name, target, enforcement, conditions, rules, bypass_actors).
        Org rulesets apply to repositories by ``conditions.repository_name`` (include/exclude, ``~ALL``) or
        ``conditions.repository_id``. Returns the stored ruleset (with its id).
        """
        with self._lock:
            data = copy.deepcopy(dict(ruleset))
            data.setdefault("target", "branch")
            data.setdefault("enforcement", "active")
            data.setdefault("conditions", {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}})
            data.setdefault("rules", [])
            data.setdefault("bypass_actors", [])
            if data["enforcement"] not in ("disabled", "active", "evaluate"):
                raise ValueError("enforcement must be disabled, active or evaluate")
            data["id"] = next(self._ids)
            if org:
                data["source_type"] = "Organization"
                data["source"] = owner
                self._org_rulesets.setdefault(owner.lower(), []).append(data)
            else:
                repo = self._repo(owner)
                data["source_type"] = "Repository"
                data["source"] = repo.full_name
                repo.rulesets.append(data)
            return copy.deepcopy(data)

    def add_pull(self, full_name: str, number: int, user: str = "octocat", head_sha: str | None = None,
                 base_ref: str | None = None, head_ref: str = "feature", files: Sequence[Mapping[str, Any]] = (),
                 fork: bool = False, state: str = "open", merged: bool = False, draft: bool = False,
                 title: str | None = None, base_sha: str | None = None) -> dict[str, Any]:
        """Create a pull request with its changed files (GitHub diff-entry JSON; ``filename`` required)."""
        with self._lock:
            repo = self._repo(full_name)
            base_ref = base_ref or repo.default_branch
            pull = {
                "number": number, "id": next(self._ids), "user": user, "state": state, "merged": merged,
                "draft": draft, "title": title or f"Change {number}", "head_ref": head_ref,
                "head_sha": head_sha or _sha(full_name, number, "head"), "base_ref": base_ref,
                "base_sha": base_sha or repo.branches.get(base_ref) or _sha(full_name, base_ref),
                "fork": fork, "files": [], "reviews": [],
            }
            repo.pulls[number] = pull
            self._set_files(repo, pull, files)
            return copy.deepcopy(pull)

    def set_pull_files(self, full_name: str, number: int, files: Sequence[Mapping[str, Any]]) -> None:
        """Replace a pull request's changed files."""
        with self._lock:
            repo = self._repo(full_name)
            self._set_files(repo, self._pull(repo, number), files)

    def set_pull(self, full_name: str, number: int, **changes: Any) -> None:
        """Change stored pull request fields (state, merged, head_sha, draft, title, ...)."""
        with self._lock:
            self._pull(self._repo(full_name), number).update(changes)

    def delete_pull(self, full_name: str, number: int) -> None:
        """Make a pull request vanish (later requests get 404)."""
        with self._lock:
            del self._repo(full_name).pulls[number]

    def add_review(self, full_name: str, number: int, user: str, state: str = "APPROVED",
                   commit_id: str | None = None, body: str = "", submitted_at: str | None = None) -> int:
        """Add a review (chronological order is insertion order); returns its id."""
        if state not in ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"):
            raise ValueError(f"unknown review state {state!r}")
        with self._lock:
            pull = self._pull(self._repo(full_name), number)
            review_id = next(self._ids)
            pull["reviews"].append({
                "id": review_id, "user": user, "state": state, "commit_id": commit_id or pull["head_sha"],
                "body": body, "submitted_at": None if state == "PENDING" else (submitted_at or CREATED_AT),
            })
            return review_id

    def dismiss_review(self, full_name: str, number: int, review_id: int) -> None:
        """Dismiss a review: GitHub keeps it in the list with state DISMISSED."""
        with self._lock:
            for review in self._pull(self._repo(full_name), number)["reviews"]:
                if review["id"] == review_id:
                    review["state"] = "DISMISSED"
                    return
            raise KeyError(f"FakeGitHub: no review {review_id} on #{number}")

    def push(self, full_name: str, number: int, head_sha: str) -> None:
        """A new push to the pull request's head branch (earlier reviews keep their old ``commit_id``)."""
        with self._lock:
            repo = self._repo(full_name)
            pull = self._pull(repo, number)
            pull["head_sha"] = head_sha
            if pull["head_ref"] in repo.branches and not pull["fork"]:
                repo.branches[pull["head_ref"]] = head_sha

    def add_team(self, org: str, slug: str, members: Sequence[str] = ()) -> None:
        """Create an organisation team with members (logins)."""
        with self._lock:
            self._teams[(org.lower(), slug.lower())] = list(members)

    def set_codeowners_errors(self, full_name: str, errors: Sequence[Mapping[str, Any]] | None,
                              ref: str | None = None) -> None:
        """Set the CODEOWNERS errors (None: the repository has no CODEOWNERS file, the endpoint answers 404),
        for the default branch or, with ``ref``, for that branch or commit only (``?ref=``).

        Missing keys of each error are filled in (line 1, column 1, kind "Unknown owner", ...).
        """
        with self._lock:
            repo = self._repo(full_name)
            filled = None if errors is None else [{
                "line": 1, "column": 1, "kind": "Unknown owner", "source": "", "suggestion": None,
                "message": "Unknown owner on line 1", "path": ".github/CODEOWNERS", **dict(e)} for e in errors]
            if ref is not None and ref != repo.default_branch:
                repo.codeowners_by_ref[ref] = filled
            else:
                repo.codeowners_errors = filled

    def set_file(self, full_name: str, path: str, content: bytes, ref: str = "main") -> None:
        """Store a file for the contents API."""
        with self._lock:
            self._repo(full_name).files[(ref, path.strip("/"))] = bytes(content)

    def set_repo_meta(self, full_name: str, pushed_at: str | None = None, topics: Sequence[str] | None = None) -> None:
        """Set what an org listing shows of a repository: when it was last pushed, its topics."""
        with self._lock:
            repo = self._repo(full_name)
            if pushed_at is not None:
                repo.pushed_at = pushed_at
            if topics is not None:
                repo.topics = list(topics)

    def add_comment(self, full_name: str, number: int, body: str, user: str = "octocat") -> int:
        """Add an issue comment as ``user`` (for example an earlier run's comment); returns its id."""
        with self._lock:
            repo = self._repo(full_name)
            self._pull(repo, number)
            comment_id = next(self._ids)
            repo.comments.append({"id": comment_id, "number": number, "body": body, "user": user,
                                  "created_at": CREATED_AT, "updated_at": CREATED_AT})
            return comment_id

    # ------------------------------------------------------------------ faults

    def fail_next(self, n: int, status: int = 502, path_contains: str | None = None) -> None:
        """The next ``n`` requests (optionally only those whose path contains ``path_contains``) answer ``status``."""
        with self._lock:
            self._faults.append(_Fault(n, "status", status=status, path_contains=path_contains))

    def secondary_rate_limit(self, n: int, retry_after: int = 1, status: int = 403,
                             path_contains: str | None = None) -> None:
        """The next ``n`` requests answer a secondary rate limit (403 or 429) with ``Retry-After``."""
        with self._lock:
            self._faults.append(_Fault(n, "secondary", status=status, retry_after=retry_after,
                                       path_contains=path_contains))

    def stall_next(self, n: int, seconds: float, path_contains: str | None = None) -> None:
        """The next ``n`` requests wait ``seconds`` before answering (to provoke client timeouts)."""
        with self._lock:
            self._faults.append(_Fault(n, "stall", seconds=seconds, path_contains=path_contains))

    # ------------------------------------------------------------------ webhook events

    def event_payload(self, full_name: str, number: int, action: str = "opened", event: str = "pull_request",
                      index: int = 0) -> dict[str, Any]:
        """A real @octokit/webhooks-examples payload rewritten to describe pull request ``number`` of this fake.

        URLs point at this fake; number, refs, SHAs, users, draft/state and the repository match the stored state.
        For ``pull_request_review`` the review is the pull request's latest stored review.
        """
        example = load_webhook_example(action, event=event, index=index)
        with self._lock:
            repo = self._repo(full_name)
            pull = self._pull(repo, number)
            text = json.dumps(example)
            old_name = example["repository"]["full_name"]
            text = text.replace(f"https://api.github.com/repos/{old_name}", self._url(f"/repos/{repo.full_name}"))
            text = text.replace(f"https://github.com/{old_name}", self._html(f"/{repo.full_name}"))
            text = text.replace("https://api.github.com", self.origin + API_PREFIX)
            text = text.replace("https://github.com", self.origin)
            payload: dict[str, Any] = json.loads(text)
            payload["repository"].update(self._repo_json(repo, self._admin_view(), full=False))
            payload["repository"].pop("permissions", None)
            pr = payload["pull_request"]
            pr.update(self._pull_json(repo, pull))
            if event == "pull_request":
                payload["number"] = number
                if action == "synchronize":
                    payload["after"] = pull["head_sha"]
            if event == "pull_request_review" and pull["reviews"]:
                latest = pull["reviews"][-1]
                review = self._review_json(repo, pull, latest)
                payload["review"].update(review)
                payload["review"]["state"] = latest["state"].lower()
            payload["sender"] = self._user_json(pull["user"])
            return payload

    # ------------------------------------------------------------------ inspection

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far, in order."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        """The issue comments on a pull request: ``{id, body, user, created_at, updated_at}``."""
        with self._lock:
            repo = self._repo(full_name)
            return [copy.deepcopy(c) for c in repo.comments if c["number"] == number]

    def check_runs(self, full_name: str) -> list[dict[str, Any]]:
        """The check runs created: the stored request fields plus ``id`` and all ``annotations``."""
        with self._lock:
            return copy.deepcopy(self._repo(full_name).check_runs)

    def sarif_uploads(self, full_name: str) -> list[dict[str, Any]]:
        """The SARIF uploads: ``{id, commit_sha, ref, sarif (decoded JSON), tool_name, ...}``."""
        with self._lock:
            return copy.deepcopy(self._repo(full_name).sarifs)

    # ------------------------------------------------------------------ helpers: state

    def _repo(self, full_name: str) -> _Repo:
        try:
            return self._repos[full_name.lower()]
        except KeyError:
            raise KeyError(f"FakeGitHub: no repository {full_name!r}; call add_repo first") from None

    def _pull(self, repo: _Repo, number: int) -> dict[str, Any]:
        try:
            return repo.pulls[number]
        except KeyError:
            raise KeyError(f"FakeGitHub: no pull request #{number} in {repo.full_name}") from None

    def _set_files(self, repo: _Repo, pull: dict[str, Any], files: Sequence[Mapping[str, Any]]) -> None:
        stored = []
        for entry in files:
            item = dict(entry)
            name = item["filename"]
            added, removed = _patch_counts(item.get("patch"))
            item.setdefault("status", "modified")
            item.setdefault("additions", added)
            item.setdefault("deletions", removed)
            item.setdefault("changes", item["additions"] + item["deletions"])
            item.setdefault("sha", _sha(repo.full_name, pull["number"], name))
            stored.append(item)
        pull["files"] = stored

    def _admin_view(self) -> _Token:
        return _Token("", "admin", "admin-user", 5000, 5000)

    def _org_rulesets_for(self, repo: _Repo) -> list[dict[str, Any]]:
        applies = []
        for ruleset in self._org_rulesets.get(repo.owner.lower(), []):
            conditions = ruleset.get("conditions") or {}
            by_name = conditions.get("repository_name")
            by_id = conditions.get("repository_id")
            if by_id is not None:
                if repo.id in by_id.get("repository_ids", []):
                    applies.append(ruleset)
                continue
            if by_name is None:
                applies.append(ruleset)
                continue
            include = by_name.get("include", [])
            exclude = by_name.get("exclude", [])
            def hit(patterns: list[str]) -> bool:
                return any(p == "~ALL" or fnmatch.fnmatchcase(repo.name, p) for p in patterns)
            if hit(include) and not hit(exclude):
                applies.append(ruleset)
        return applies

    def _all_rulesets(self, repo: _Repo, includes_parents: bool = True) -> list[dict[str, Any]]:
        return list(repo.rulesets) + (self._org_rulesets_for(repo) if includes_parents else [])

    def _ruleset_matches_ref(self, repo: _Repo, ruleset: dict[str, Any], branch: str) -> bool:
        if ruleset.get("target", "branch") != "branch":
            return False
        ref = f"refs/heads/{branch}"
        ref_name = (ruleset.get("conditions") or {}).get("ref_name") or {}

        def hit(patterns: list[str]) -> bool:
            for pattern in patterns:
                if pattern == "~ALL":
                    return True
                if pattern == "~DEFAULT_BRANCH":
                    if branch == repo.default_branch:
                        return True
                    continue
                full = pattern if pattern.startswith("refs/") else f"refs/heads/{pattern}"
                if _ref_glob(full).match(ref):
                    return True
            return False

        return hit(ref_name.get("include", [])) and not hit(ref_name.get("exclude", []))

    def _active_rules_for(self, repo: _Repo, branch: str) -> list[dict[str, Any]]:
        rules = []
        for ruleset in self._all_rulesets(repo):
            if ruleset["enforcement"] != "active" or not self._ruleset_matches_ref(repo, ruleset, branch):
                continue
            for rule in ruleset.get("rules", []):
                item = {"type": rule["type"], "ruleset_source_type": ruleset["source_type"],
                        "ruleset_source": ruleset["source"], "ruleset_id": ruleset["id"]}
                if "parameters" in rule:
                    item["parameters"] = copy.deepcopy(rule["parameters"])
                rules.append(item)
        return rules

    # ------------------------------------------------------------------ helpers: JSON builders

    def _url(self, path: str) -> str:
        return self.origin + API_PREFIX + path

    def _html(self, path: str) -> str:
        return self.origin + path

    def _user_json(self, login: str, kind: str | None = None) -> dict[str, Any]:
        user_type = kind or ("Bot" if login.endswith("[bot]") else "User")
        quoted = urllib.parse.quote(login)
        base = self._url(f"/users/{quoted}")
        return {
            "login": login, "id": int(_sha("user", login)[:7], 16), "node_id": f"U_{_sha('user', login)[:12]}",
            "avatar_url": self._html(f"/avatars/{quoted}"), "gravatar_id": "", "url": base,
            "html_url": self._html(f"/{quoted}"), "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}", "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs", "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}", "received_events_url": f"{base}/received_events",
            "type": user_type, "site_admin": False, "user_view_type": "public",
        }

    def _owner_kind(self, owner: str) -> str:
        return "Organization" if owner.lower() in self._org_rulesets or any(
            org == owner.lower() for org, _ in self._teams) else "User"

    _REPO_URLS = {
        "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
        "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
        "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
        "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
        "contents_url": "/contents/{+path}", "contributors_url": "/contributors",
        "deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
        "forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
        "git_tags_url": "/git/tags{/sha}", "hooks_url": "/hooks", "issue_comment_url": "/issues/comments{/number}",
        "issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}",
        "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}", "languages_url": "/languages",
        "merges_url": "/merges", "milestones_url": "/milestones{/number}",
        "notifications_url": "/notifications{?since,all,participating}", "pulls_url": "/pulls{/number}",
        "releases_url": "/releases{/id}", "stargazers_url": "/stargazers", "statuses_url": "/statuses/{sha}",
        "subscribers_url": "/subscribers", "subscription_url": "/subscription", "tags_url": "/tags",
        "teams_url": "/teams", "trees_url": "/git/trees{/sha}",
    }

    def _repo_json(self, repo: _Repo, tok: _Token, full: bool = True) -> dict[str, Any]:
        base = self._url(f"/repos/{repo.full_name}")
        data: dict[str, Any] = {
            "id": repo.id, "node_id": f"R_{_sha('repo', repo.id)[:12]}", "name": repo.name,
            "full_name": repo.full_name, "private": repo.visibility != "public",
            "owner": self._user_json(repo.owner, self._owner_kind(repo.owner)),
            "html_url": self._html(f"/{repo.full_name}"), "description": repo.description, "fork": repo.fork,
            "url": base, **{k: base + v for k, v in self._REPO_URLS.items()},
            "git_url": f"git://127.0.0.1/{repo.full_name}.git", "ssh_url": f"git@127.0.0.1:{repo.full_name}.git",
            "clone_url": self._html(f"/{repo.full_name}.git"), "svn_url": self._html(f"/{repo.full_name}"),
            "mirror_url": None, "homepage": None, "language": None, "forks_count": 0, "forks": 0,
            "stargazers_count": 0, "watchers_count": 0, "watchers": 0, "size": 0 if repo.empty else 120,
            "default_branch": repo.default_branch, "open_issues_count": 0, "open_issues": 0,
            "is_template": False, "topics": [], "has_issues": True, "has_projects": True, "has_wiki": False,
            "has_pages": False, "has_downloads": True, "has_discussions": False, "archived": repo.archived,
            "disabled": False, "visibility": repo.visibility, "pushed_at": CREATED_AT, "created_at": CREATED_AT,
            "updated_at": CREATED_AT, "license": None, "allow_forking": True, "web_commit_signoff_required": False,
            "permissions": self._permissions(tok),
        }
        if full:
            data.update({"network_count": 0, "subscribers_count": 0, "temp_clone_token": None,
                         "allow_squash_merge": True, "allow_merge_commit": True, "allow_rebase_merge": True,
                         "allow_auto_merge": False, "delete_branch_on_merge": False})
        if tok.kind == "admin" and repo.security_and_analysis is not None:
            # minimal-repository (GET /orgs/{org}/repos) carries it too, for admins and security managers
            data["security_and_analysis"] = {
                key: {"status": value} for key, value in repo.security_and_analysis.items()}
        return data

    @staticmethod
    def _permissions(tok: _Token) -> dict[str, bool]:
        admin = tok.kind == "admin"
        push = tok.kind in ("admin", "github_token", "read")
        return {"admin": admin, "maintain": admin, "push": push, "triage": push, "pull": True}

    def _commit_json(self, repo: _Repo, sha: str) -> dict[str, Any]:
        base = self._url(f"/repos/{repo.full_name}")
        person = {"name": "Octo Cat", "email": "octocat@example.invalid", "date": CREATED_AT}
        user = self._user_json("octocat")
        return {
            "sha": sha, "node_id": f"C_{sha[:12]}", "url": f"{base}/commits/{sha}",
            "html_url": self._html(f"/{repo.full_name}/commit/{sha}"), "comments_url": f"{base}/commits/{sha}/comments",
            "commit": {
                "url": f"{base}/git/commits/{sha}", "author": person, "committer": person, "message": "change",
                "comment_count": 0, "tree": {"sha": _sha("tree", sha), "url": f"{base}/git/trees/{_sha('tree', sha)}"},
                "verification": {"verified": False, "reason": "unsigned", "payload": None, "signature": None,
                                 "verified_at": None},
            },
            "author": user, "committer": user, "parents": [],
        }

    def _protection_json(self, repo: _Repo, branch: str) -> dict[str, Any]:
        data = copy.deepcopy(repo.protection[branch])
        url = self._url(f"/repos/{repo.full_name}/branches/{branch}/protection")
        data["url"] = url
        checks = data.get("required_status_checks")
        if isinstance(checks, dict):
            checks.setdefault("strict", False)
            checks.setdefault("contexts", [c["context"] for c in checks.get("checks", [])])
            checks.setdefault("checks", [{"context": c, "app_id": None} for c in checks["contexts"]])
            checks["url"] = f"{url}/required_status_checks"
            checks["contexts_url"] = f"{url}/required_status_checks/contexts"
        reviews = data.get("required_pull_request_reviews")
        if isinstance(reviews, dict):
            reviews["url"] = f"{url}/required_pull_request_reviews"
            reviews.setdefault("dismiss_stale_reviews", False)
            reviews.setdefault("require_code_owner_reviews", False)
            reviews.setdefault("require_last_push_approval", False)
            reviews.setdefault("required_approving_review_count", 1)
        for key in ("required_signatures", "enforce_admins"):
            if isinstance(data.get(key), dict):
                data[key]["url"] = f"{url}/{key}"
        data.setdefault("required_signatures", {"url": f"{url}/required_signatures", "enabled": False})
        data.setdefault("enforce_admins", {"url": f"{url}/enforce_admins", "enabled": False})
        for key in ("required_linear_history", "allow_force_pushes", "allow_deletions", "block_creations",
                    "required_conversation_resolution", "lock_branch", "allow_fork_syncing"):
            data.setdefault(key, {"enabled": False})
        return data

    def _branch_json(self, repo: _Repo, branch: str, tok: _Token) -> dict[str, Any]:
        sha = repo.branches[branch]
        base = self._url(f"/repos/{repo.full_name}/branches/{branch}")
        classic = repo.protection.get(branch)
        protected = classic is not None or bool(self._active_rules_for(repo, branch))
        checks: dict[str, Any] = {"enforcement_level": "off", "contexts": [], "checks": []}
        if classic is not None:
            status = self._protection_json(repo, branch).get("required_status_checks")
            if isinstance(status, dict):
                checks = {"enforcement_level": "non_admins", "contexts": status["contexts"],
                          "checks": status["checks"]}
        return {
            "name": branch, "commit": self._commit_json(repo, sha),
            "_links": {"self": base, "html": self._html(f"/{repo.full_name}/tree/{branch}")},
            "protected": protected, "protection": {"enabled": protected, "required_status_checks": checks},
            "protection_url": f"{base}/protection",
        }

    def _ruleset_json(self, repo_or_org: str, ruleset: dict[str, Any], tok: _Token, detail: bool,
                      org: bool = False) -> dict[str, Any]:
        path = f"/orgs/{repo_or_org}/rulesets/{ruleset['id']}" if org else \
            f"/repos/{repo_or_org}/rulesets/{ruleset['id']}"
        html = (f"/organizations/{repo_or_org}/settings/rules/{ruleset['id']}" if org
                else f"/{repo_or_org}/rules/{ruleset['id']}")
        data: dict[str, Any] = {
            "id": ruleset["id"], "name": ruleset["name"], "target": ruleset["target"],
            "source_type": ruleset["source_type"], "source": ruleset["source"],
            "enforcement": ruleset["enforcement"], "node_id": f"RRS_{_sha('ruleset', ruleset['id'])[:12]}",
            "_links": {"self": {"href": self._url(path)}, "html": {"href": self._html(html)}},
            "created_at": CREATED_AT, "updated_at": CREATED_AT,
        }
        if detail:
            data["conditions"] = copy.deepcopy(ruleset["conditions"])
            data["rules"] = copy.deepcopy(ruleset["rules"])
            if tok.kind == "admin":
                data["bypass_actors"] = copy.deepcopy(ruleset["bypass_actors"])
                data["current_user_can_bypass"] = "always" if any(
                    a.get("actor_type") == "RepositoryRole" for a in ruleset["bypass_actors"]) else "never"
            else:
                data["current_user_can_bypass"] = "never"
        return data

    def _pull_json(self, repo: _Repo, pull: dict[str, Any]) -> dict[str, Any]:
        number = pull["number"]
        base = self._url(f"/repos/{repo.full_name}")
        html = self._html(f"/{repo.full_name}/pull/{number}")
        admin = self._admin_view()
        head_repo = repo
        if pull["fork"]:
            head_repo = _Repo(pull["user"], repo.name, repo.id + 1, repo.default_branch, "public", False, None,
                              False, fork=True)
        repo_json = self._repo_json(repo, admin, full=False)
        head_json = repo_json if head_repo is repo else self._repo_json(head_repo, admin, full=False)
        merged = bool(pull["merged"])
        closed = pull["state"] == "closed"
        files = pull["files"]
        return {
            "url": f"{base}/pulls/{number}", "id": pull["id"], "node_id": f"PR_{_sha('pr', pull['id'])[:12]}",
            "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "issue_url": f"{base}/issues/{number}", "commits_url": f"{base}/pulls/{number}/commits",
            "review_comments_url": f"{base}/pulls/{number}/comments",
            "review_comment_url": f"{base}/pulls/comments{{/number}}",
            "comments_url": f"{base}/issues/{number}/comments",
            "statuses_url": f"{base}/statuses/{pull['head_sha']}", "number": number, "state": pull["state"],
            "locked": False, "title": pull["title"], "user": self._user_json(pull["user"]), "body": None,
            "labels": [], "milestone": None, "active_lock_reason": None, "created_at": CREATED_AT,
            "updated_at": CREATED_AT, "closed_at": CREATED_AT if closed else None,
            "merged_at": CREATED_AT if merged else None,
            "merge_commit_sha": _sha(repo.full_name, number, "merge"), "assignee": None, "assignees": [],
            "requested_reviewers": [], "requested_teams": [],
            "head": {"label": f"{head_repo.owner}:{pull['head_ref']}", "ref": pull["head_ref"],
                     "sha": pull["head_sha"], "user": self._user_json(head_repo.owner), "repo": head_json},
            "base": {"label": f"{repo.owner}:{pull['base_ref']}", "ref": pull["base_ref"], "sha": pull["base_sha"],
                     "user": self._user_json(repo.owner, self._owner_kind(repo.owner)), "repo": repo_json},
            "_links": {
                "self": {"href": f"{base}/pulls/{number}"}, "html": {"href": html},
                "issue": {"href": f"{base}/issues/{number}"}, "comments": {"href": f"{base}/issues/{number}/comments"},
                "review_comments": {"href": f"{base}/pulls/{number}/comments"},
                "review_comment": {"href": f"{base}/pulls/comments{{/number}}"},
                "commits": {"href": f"{base}/pulls/{number}/commits"},
                "statuses": {"href": f"{base}/statuses/{pull['head_sha']}"},
            },
            "author_association": "CONTRIBUTOR" if pull["fork"] else "MEMBER", "auto_merge": None,
            "draft": pull["draft"], "merged": merged, "mergeable": None if closed else True,
            "rebaseable": None if closed else True, "mergeable_state": "unknown" if closed else "clean",
            "merged_by": self._user_json("octocat") if merged else None, "comments": 0, "review_comments": 0,
            "maintainer_can_modify": False, "commits": 1,
            "additions": sum(f["additions"] for f in files), "deletions": sum(f["deletions"] for f in files),
            "changed_files": len(files),
        }

    def _file_json(self, repo: _Repo, pull: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        quoted = urllib.parse.quote(item["filename"])
        data = {
            "sha": item["sha"], "filename": item["filename"], "status": item["status"],
            "additions": item["additions"], "deletions": item["deletions"], "changes": item["changes"],
            "blob_url": self._html(f"/{repo.full_name}/blob/{pull['head_sha']}/{quoted}"),
            "raw_url": self._html(f"/{repo.full_name}/raw/{pull['head_sha']}/{quoted}"),
            "contents_url": self._url(f"/repos/{repo.full_name}/contents/{quoted}?ref={pull['head_sha']}"),
        }
        for key in ("patch", "previous_filename"):
            if item.get(key) is not None:
                data[key] = item[key]
        return data

    def _review_json(self, repo: _Repo, pull: dict[str, Any], review: dict[str, Any]) -> dict[str, Any]:
        number = pull["number"]
        html = self._html(f"/{repo.full_name}/pull/{number}#pullrequestreview-{review['id']}")
        pr_url = self._url(f"/repos/{repo.full_name}/pulls/{number}")
        data = {
            "id": review["id"], "node_id": f"PRR_{_sha('review', review['id'])[:12]}",
            "user": self._user_json(review["user"]), "body": review["body"], "state": review["state"],
            "html_url": html, "pull_request_url": pr_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
            "commit_id": review["commit_id"], "author_association": "MEMBER",
        }
        if review["submitted_at"] is not None:
            data["submitted_at"] = review["submitted_at"]
        return data

    def _comment_json(self, repo: _Repo, comment: dict[str, Any]) -> dict[str, Any]:
        base = self._url(f"/repos/{repo.full_name}")
        return {
            "id": comment["id"], "node_id": f"IC_{_sha('comment', comment['id'])[:12]}",
            "url": f"{base}/issues/comments/{comment['id']}",
            "html_url": self._html(f"/{repo.full_name}/pull/{comment['number']}#issuecomment-{comment['id']}"),
            "body": comment["body"], "user": self._user_json(comment["user"]),
            "created_at": comment["created_at"], "updated_at": comment["updated_at"],
            "issue_url": f"{base}/issues/{comment['number']}", "author_association": "NONE",
            "performed_via_github_app": None,
        }

    def _check_run_json(self, repo: _Repo, run: dict[str, Any]) -> dict[str, Any]:
        base = self._url(f"/repos/{repo.full_name}/check-runs/{run['id']}")
        output = run.get("output") or {}
        pulls = [p for p in repo.pulls.values() if p["head_sha"] == run["head_sha"] and p["state"] == "open"]
        return {
            "id": run["id"], "head_sha": run["head_sha"], "node_id": f"CR_{_sha('check', run['id'])[:12]}",
            "external_id": run.get("external_id") or "", "url": base,
            "html_url": self._html(f"/{repo.full_name}/runs/{run['id']}"), "details_url": run.get("details_url"),
            "status": run["status"], "conclusion": run.get("conclusion"), "started_at": run.get("started_at"),
            "completed_at": run.get("completed_at"), "name": run["name"],
            "output": {"title": output.get("title"), "summary": output.get("summary"),
                       "text": output.get("text"), "annotations_count": len(run["annotations"]),
                       "annotations_url": f"{base}/annotations"},
            "check_suite": {"id": run["check_suite_id"]},
            "app": self._app_json(),
            "pull_requests": [{
                "id": p["id"], "number": p["number"],
                "url": self._url(f"/repos/{repo.full_name}/pulls/{p['number']}"),
                "head": {"ref": p["head_ref"], "sha": p["head_sha"], "repo": self._mini_repo(repo)},
                "base": {"ref": p["base_ref"], "sha": p["base_sha"], "repo": self._mini_repo(repo)},
            } for p in pulls],
        }

    def _mini_repo(self, repo: _Repo) -> dict[str, Any]:
        return {"id": repo.id, "url": self._url(f"/repos/{repo.full_name}"), "name": repo.name}

    def _app_json(self) -> dict[str, Any]:
        return {
            "id": 15368, "slug": "github-actions", "node_id": "MDM6QXBwMTUzNjg", "client_id": "Iv1.fake",
            "owner": self._user_json("github", "Organization"), "name": "GitHub Actions", "description": "",
            "external_url": self._html("/features/actions"), "html_url": self._html("/apps/github-actions"),
            "created_at": CREATED_AT, "updated_at": CREATED_AT,
            "permissions": {"checks": "write", "contents": "read", "pull_requests": "write"},
            "events": ["check_run", "pull_request"],
        }

    @staticmethod
    def _annotation_json(repo: _Repo, run: dict[str, Any], ann: dict[str, Any], origin: str) -> dict[str, Any]:
        return {
            "path": ann["path"], "start_line": ann["start_line"], "end_line": ann["end_line"],
            "start_column": ann.get("start_column"), "end_column": ann.get("end_column"),
            "annotation_level": ann["annotation_level"], "title": ann.get("title"), "message": ann["message"],
            "raw_details": ann.get("raw_details"),
            "blob_href": f"{origin}/{repo.full_name}/blob/{run['head_sha']}/{urllib.parse.quote(ann['path'])}",
        }

    # ------------------------------------------------------------------ request handling

    def _build_routes(self) -> list[Route]:
        table: list[tuple[str, str, Callable[..., tuple[int, Any, dict[str, str]]]]] = [
            ("GET", "/rate_limit", self._h_rate_limit),
            ("GET", "/user", self._h_user),
            ("GET", "/repos/{owner}/{repo}/branches/{branch}/protection/required_pull_request_reviews",
             self._h_protection_part),
            ("GET", "/repos/{owner}/{repo}/branches/{branch}/protection/required_signatures", self._h_protection_part),
            ("GET", "/repos/{owner}/{repo}/branches/{branch}/protection/enforce_admins", self._h_protection_part),
            ("GET", "/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks",
             self._h_protection_part),
            ("GET", "/repos/{owner}/{repo}/branches/{branch}/protection", self._h_protection),
            ("GET", "/repos/{owner}/{repo}/branches/{branch}", self._h_branch),
            ("GET", "/repos/{owner}/{repo}/branches", self._h_branches),
            ("GET", "/repos/{owner}/{repo}/rules/branches/{branch}", self._h_rules_for_branch),
            ("GET", "/repos/{owner}/{repo}/rulesets/{ruleset_id}", self._h_repo_ruleset),
            ("GET", "/repos/{owner}/{repo}/rulesets", self._h_repo_rulesets),
            ("GET", "/orgs/{org}/rulesets/{ruleset_id}", self._h_org_ruleset),
            ("GET", "/orgs/{org}/rulesets", self._h_org_rulesets),
            ("GET", "/orgs/{org}/repos", self._h_org_repos),
            ("GET", "/orgs/{org}/teams/{team_slug}/members", self._h_team_members),
            ("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", self._h_team_membership),
            ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", self._h_pull_files),
            ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", self._h_pull_reviews),
            ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", self._h_pull),
            ("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", self._h_comment_get),
            ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", self._h_comment_update),
            ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", self._h_comments_list),
            ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", self._h_comment_create),
            ("POST", "/repos/{owner}/{repo}/check-runs", self._h_check_run_create),
            ("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", self._h_check_run_annotations),
            ("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", self._h_check_run_get),
            ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", self._h_check_run_update),
            ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", self._h_check_runs_for_ref),
            ("POST", "/repos/{owner}/{repo}/code-scanning/sarifs", self._h_sarif_upload),
            ("GET", "/repos/{owner}/{repo}/code-scanning/sarifs/{sarif_id}", self._h_sarif_status),
            ("GET", "/repos/{owner}/{repo}/codeowners/errors", self._h_codeowners_errors),
            ("GET", "/repos/{owner}/{repo}/contents/{path}", self._h_contents),
            ("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}", self._h_git_tree),
            ("POST", "/repos/{owner}/{repo}/rulesets", self._h_ruleset_create),
            ("PUT", "/repos/{owner}/{repo}/rulesets/{ruleset_id}", self._h_ruleset_update),
            ("GET", "/repos/{owner}/{repo}", self._h_repo),
        ]
        return [(method, _route_regex(template), template, handler) for method, template, handler in table]

    def _handle(self, method: str, raw_path: str, headers: Mapping[str, str], raw_body: bytes) -> tuple[
            int, bytes, dict[str, str]]:
        """Answer one HTTP request; returns (status, body bytes, headers)."""
        parsed = urllib.parse.urlsplit(raw_path)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        path = urllib.parse.unquote(parsed.path)
        token = _bearer(headers.get("authorization"))
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = None
        route_name = ""
        api_path = path
        is_graphql = path in (GRAPHQL_PATH, "/graphql")
        if is_graphql:
            api_path = "/graphql"
        elif path.startswith(API_PREFIX):
            api_path = path[len(API_PREFIX):] or "/"
        resource = "graphql" if is_graphql else "core"
        out_headers: dict[str, str] = {}
        if self.latency:
            time.sleep(self.latency)
        try:
            if is_graphql:
                if method != "POST":
                    raise _not_found()
                route_name = "POST /graphql"
            elif path.startswith(API_PREFIX):
                route_name, handler, params = self._match(method, api_path)
            else:
                raise _not_found()
            fault = self._take_fault(api_path)
            if fault is not None and fault.kind == "stall":
                time.sleep(fault.seconds)
                fault = None
            tok = self._authenticate(token)
            with self._lock:
                if fault is not None:
                    raise self._fault_error(fault)
                if tok is not None:
                    out_headers.update(self._rate_headers(tok, resource, count=False))
                if is_graphql:
                    status, payload, extra = self._graphql(tok, body)
                else:
                    status, payload, extra = handler(tok=tok, query=query, body=body, path=api_path, **params)
                out_headers.update(extra)
                etag = None
                if method == "GET" and status == 200:
                    etag = 'W/"' + hashlib.sha256(
                        json.dumps(payload, sort_keys=True).encode() + (tok.kind if tok else "").encode()
                    ).hexdigest() + '"'
                    out_headers["ETag"] = etag
                    out_headers["Cache-Control"] = "private, max-age=60, s-maxage=60"
                    out_headers["Vary"] = "Accept, Authorization, Cookie, X-GitHub-OTP"
                if etag is not None and etag in _etags(headers.get("if-none-match")):
                    status, payload = 304, None
                elif tok is not None and route_name not in ("GET /rate_limit",):
                    self._spend(tok, resource)
                if tok is not None:
                    out_headers.update(self._rate_headers(tok, resource, count=True))
        except _HTTPError as err:
            status, payload = err.status, err.body
            out_headers.update(err.headers)
        except Exception as err:  # a bug in the fake: answer 500 and say so, never drop the connection
            status, payload = 500, {"message": f"FakeGitHub internal error: {type(err).__name__}: {err}"}
        data = b"" if payload is None else json.dumps(payload).encode()
        out_headers.setdefault("Content-Type", "application/json; charset=utf-8")
        out_headers["X-GitHub-Api-Version-Selected"] = "2022-11-28"
        out_headers["X-GitHub-Media-Type"] = "github.v3; format=json"
        with self._lock:
            request_id = f"FAKE:{len(self._requests) + 1:06d}"
            out_headers["X-GitHub-Request-Id"] = request_id
            self._requests.append(RecordedRequest(method, api_path, query, status, token, route_name, body,
                                                  None if payload is None else json.loads(data),
                                                  dict(out_headers)))
        return status, data, out_headers

    def _take_fault(self, api_path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.count > 0 and (fault.path_contains is None or fault.path_contains in api_path):
                    fault.count -= 1
                    taken = copy.copy(fault)
                    self._faults = [f for f in self._faults if f.count > 0]
                    return taken
        return None

    @staticmethod
    def _fault_error(fault: _Fault) -> _HTTPError:
        if fault.kind == "secondary":
            return _HTTPError(
                fault.status,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
                "If you reach out to GitHub Support for help, please include the request ID FAKE.",
                {"Retry-After": str(fault.retry_after)},
            )
        if fault.status == 503:
            return _HTTPError(503, "Service Unavailable")
        return _HTTPError(fault.status, "Server Error" if fault.status >= 500 else "Injected error")

    def _authenticate(self, token: str | None) -> _Token | None:
        if token is None:
            return None
        with self._lock:
            tok = self._tokens.get(token)
        if tok is None:
            raise _HTTPError(401, "Bad credentials")
        return tok

    def _spend(self, tok: _Token, resource: str) -> None:
        if resource == "graphql":
            tok.graphql_remaining = max(0, tok.graphql_remaining - 1)
        else:
            tok.remaining = max(0, tok.remaining - 1)

    def _rate_headers(self, tok: _Token, resource: str, count: bool) -> dict[str, str]:
        limit, remaining = (5000, tok.graphql_remaining) if resource == "graphql" else (tok.limit, tok.remaining)
        if not count and remaining <= 0:
            raise _HTTPError(403, f"API rate limit exceeded for user ID {int(_sha('user', tok.login)[:7], 16)}.",
                             {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                              "X-RateLimit-Reset": str(_reset()), "X-RateLimit-Used": str(limit),
                              "X-RateLimit-Resource": resource})
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(_reset()), "X-RateLimit-Used": str(limit - remaining),
                "X-RateLimit-Resource": resource}

    def _match(self, method: str, api_path: str) -> tuple[str, Callable[..., tuple[int, Any, dict[str, str]]],
                                                          dict[str, str]]:
        for route_method, regex, template, handler in self._routes:
            match = regex.match(api_path)
            if match is not None and route_method == method:
                params = match.groupdict()
                if "path" in params:
                    params["file_path"] = params.pop("path")
                return f"{method} {template}", handler, params
        raise _not_found()

    # ------------------------------------------------------------------ access checks

    def _visible_repo(self, owner: str, repo_name: str, tok: _Token | None) -> _Repo:
        key = f"{owner}/{repo_name}".lower()
        repo = self._repos.get(key)
        if repo is None or (tok is None and repo.visibility != "public") or (
                tok is not None and tok.repos is not None and key not in tok.repos and repo.visibility != "public"):
            raise _not_found()
        return repo

    def _require_token(self, tok: _Token | None) -> _Token:
        if tok is None:
            raise _HTTPError(401, "Requires authentication")
        return tok

    def _check_write(self, tok: _Token | None, repo: _Repo, what: str = "") -> _Token:
        tok = self._require_token(tok)
        if tok.kind == "fork_readonly":
            raise _HTTPError(403, INTEGRATION_DENIED)
        if repo.archived:
            raise _HTTPError(403, "Repository was archived so is read-only.")
        if what == "checks" and tok.kind == "read":
            raise _HTTPError(403, "You must authenticate via a GitHub App.")
        return tok

    def _paginate(self, items: list[Any], query: dict[str, list[str]], path: str, cap: int | None = None
                  ) -> tuple[int, Any, dict[str, str]]:
        per_page = max(1, min(100, _int(query, "per_page", 30)))
        page = max(1, _int(query, "page", 1))
        if cap is not None:
            items = items[:cap]
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []

        def link(p: int, rel: str) -> str:
            params = {k: v[-1] for k, v in query.items()}
            params["per_page"] = str(per_page)
            params["page"] = str(p)
            return f'<{self._url(path)}?{urllib.parse.urlencode(params)}>; rel="{rel}"'

        if page > 1:
            links.append(link(page - 1, "prev"))
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, chunk, headers

    # ------------------------------------------------------------------ REST handlers

    def _h_rate_limit(self, tok: _Token | None, **_: Any) -> tuple[int, Any, dict[str, str]]:
        tok = tok or _Token("", "anonymous", "", 60, 60)
        reset = _reset()
        core = {"limit": tok.limit, "remaining": tok.remaining, "reset": reset, "used": tok.limit - tok.remaining}
        other = {"limit": 30, "remaining": 30, "reset": reset, "used": 0}
        gql_rate = {"limit": 5000, "remaining": tok.graphql_remaining, "reset": reset,
                    "used": 5000 - tok.graphql_remaining}
        return 200, {"resources": {"core": core, "search": other, "graphql": gql_rate,
                                   "code_scanning_upload": {"limit": 1000, "remaining": 1000, "reset": reset,
                                                            "used": 0}},
                     "rate": core}, {}

    def _h_user(self, tok: _Token | None, **_: Any) -> tuple[int, Any, dict[str, str]]:
        tok = self._require_token(tok)
        if tok.kind in ("github_token", "fork_readonly"):
            raise _HTTPError(403, INTEGRATION_DENIED)
        user = self._user_json(tok.login)
        user.update({"name": None, "company": None, "blog": "", "location": None, "email": None,
                     "hireable": None, "bio": None, "public_repos": 0, "public_gists": 0, "followers": 0,
                     "following": 0, "created_at": CREATED_AT, "updated_at": CREATED_AT})
        return 200, user, {"X-OAuth-Scopes": "repo, read:org"}

    def _h_repo(self, tok: _Token | None, owner: str, repo: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        return 200, self._repo_json(r, tok or _Token("", "read", "", 60, 60)), {}

    def _h_branches(self, tok: _Token | None, owner: str, repo: str, query: dict[str, list[str]], path: str,
                    **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        items = []
        for name in sorted(r.branches):
            protected = name in r.protection or bool(self._active_rules_for(r, name))
            if _flag(query, "protected") is not None and _flag(query, "protected") != protected:
                continue
            sha = r.branches[name]
            items.append({"name": name, "commit": {"sha": sha, "url": self._url(f"/repos/{r.full_name}/commits/{sha}")},
                          "protected": protected})
        return self._paginate(items, query, path)

    def _branch_or_404(self, r: _Repo, branch: str) -> None:
        if r.empty:
            raise _HTTPError(404, "Branch not found")
        if branch not in r.branches:
            raise _HTTPError(404, "Branch not found")

    def _h_branch(self, tok: _Token | None, owner: str, repo: str, branch: str, **_: Any
                  ) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        self._branch_or_404(r, branch)
        return 200, self._branch_json(r, branch, tok or _Token("", "read", "", 60, 60)), {}

    def _protection_access(self, tok: _Token | None, r: _Repo, branch: str) -> None:
        tok = self._require_token(tok)
        if tok.kind in ("github_token", "fork_readonly"):
            raise _HTTPError(403, INTEGRATION_DENIED)
        if tok.kind != "admin":
            raise _not_found()
        self._branch_or_404(r, branch)
        if branch not in r.protection:
            raise _HTTPError(404, "Branch not protected")

    def _h_protection(self, tok: _Token | None, owner: str, repo: str, branch: str, **_: Any
                      ) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        self._protection_access(tok, r, branch)
        return 200, self._protection_json(r, branch), {}

    def _h_protection_part(self, tok: _Token | None, owner: str, repo: str, branch: str, path: str, **_: Any
                           ) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        self._protection_access(tok, r, branch)
        part = path.rsplit("/", 1)[1]
        data = self._protection_json(r, branch).get(part)
        if data is None:
            names = {"required_pull_request_reviews": "Required pull request reviews not enabled",
                     "required_status_checks": "Required status checks not enabled"}
            raise _HTTPError(404, names.get(part, "Not Found"))
        return 200, data, {}

    def _h_rules_for_branch(self, tok: _Token | None, owner: str, repo: str, branch: str,
                            query: dict[str, list[str]], path: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        return self._paginate(self._active_rules_for(r, branch), query, path)

    def _h_repo_rulesets(self, tok: _Token | None, owner: str, repo: str, query: dict[str, list[str]], path: str,
                         **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        tok = self._require_token(tok)
        parents = _flag(query, "includes_parents")
        targets = set(",".join(query.get("targets", [])).split(",")) - {""}
        items = [self._ruleset_json(r.full_name, rs, tok, detail=False)
                 for rs in self._all_rulesets(r, parents is not False)
                 if not targets or rs["target"] in targets]
        return self._paginate(items, query, path)

    def _h_repo_ruleset(self, tok: _Token | None, owner: str, repo: str, ruleset_id: str,
                        query: dict[str, list[str]], **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        tok = self._require_token(tok)
        for rs in self._all_rulesets(r, _flag(query, "includes_parents") is not False):
            if str(rs["id"]) == ruleset_id:
                return 200, self._ruleset_json(r.full_name, rs, tok, detail=True), {}
        raise _not_found()

    def _ruleset_admin(self, tok: _Token | None, r: _Repo) -> _Token:
        tok = self._check_write(tok, r)
        if tok.kind in ("github_token", "fork_readonly"):
            raise _HTTPError(403, INTEGRATION_DENIED)
        if tok.kind != "admin":
            raise _not_found()
        return tok

    def _ruleset_body(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or body.get("enforcement") not in (
                "disabled", "active", "evaluate"):
            raise _HTTPError(422, "Invalid request.", errors=["name and enforcement are required"])
        return {"target": "branch", "bypass_actors": [], "conditions": {}, "rules": [], **body}

    def _h_ruleset_create(self, tok: _Token | None, owner: str, repo: str, body: Any, **_: Any
                          ) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        tok = self._ruleset_admin(tok, r)
        data = {"id": next(self._ids), **self._ruleset_body(body), "source_type": "Repository",
                "source": r.full_name}
        r.rulesets.append(data)
        return 201, self._ruleset_json(r.full_name, data, tok, detail=True), {}

    def _h_ruleset_update(self, tok: _Token | None, owner: str, repo: str, ruleset_id: str, body: Any, **_: Any
                          ) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        tok = self._ruleset_admin(tok, r)
        for i, rs in enumerate(r.rulesets):
            if str(rs["id"]) == ruleset_id:
                r.rulesets[i] = {**self._ruleset_body({**rs, **(body or {})}), "id": rs["id"],
                                 "source_type": "Repository", "source": r.full_name}
                return 200, self._ruleset_json(r.full_name, r.rulesets[i], tok, detail=True), {}
        raise _not_found()

    def _org_admin(self, tok: _Token | None, org: str) -> _Token:
        tok = self._require_token(tok)
        if tok.kind in ("github_token", "fork_readonly"):
            raise _HTTPError(403, INTEGRATION_DENIED)
        if tok.kind != "admin":
            raise _not_found()
        return tok

    def _h_org_rulesets(self, tok: _Token | None, org: str, query: dict[str, list[str]], path: str, **_: Any
                        ) -> tuple[int, Any, dict[str, str]]:
        tok = self._org_admin(tok, org)
        items = [self._ruleset_json(org, rs, tok, detail=False, org=True)
                 for rs in self._org_rulesets.get(org.lower(), [])]
        return self._paginate(items, query, path)

    def _h_org_ruleset(self, tok: _Token | None, org: str, ruleset_id: str, **_: Any
                       ) -> tuple[int, Any, dict[str, str]]:
        tok = self._org_admin(tok, org)
        for rs in self._org_rulesets.get(org.lower(), []):
            if str(rs["id"]) == ruleset_id:
                return 200, self._ruleset_json(org, rs, tok, detail=True, org=True), {}
        raise _not_found()

    def _h_org_repos(self, tok: _Token | None, org: str, query: dict[str, list[str]], path: str, **_: Any
                     ) -> tuple[int, Any, dict[str, str]]:
        view = tok or _Token("", "read", "", 60, 60)
        repos = [r for r in self._repos.values() if r.owner.lower() == org.lower()
                 and (tok is not None or r.visibility == "public")]
        if not repos and org.lower() not in {o for o, _ in self._teams} and org.lower() not in self._org_rulesets:
            raise _not_found()
        wanted = (query.get("type") or ["all"])[-1]
        if wanted in ("public", "private"):
            repos = [r for r in repos if (r.visibility == "public") == (wanted == "public")]
        items = [self._repo_json(r, view, full=False) for r in sorted(repos, key=lambda r: r.id)]
        return self._paginate(items, query, path)

    def _team(self, tok: _Token | None, org: str, team_slug: str) -> list[str]:
        tok = self._require_token(tok)
        if tok.kind in ("github_token", "fork_readonly"):
            raise _HTTPError(403, INTEGRATION_DENIED)
        members = self._teams.get((org.lower(), team_slug.lower()))
        if members is None:
            raise _not_found()
        return members

    def _h_team_members(self, tok: _Token | None, org: str, team_slug: str, query: dict[str, list[str]],
                        path: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        members = self._team(tok, org, team_slug)
        return self._paginate([self._user_json(m) for m in members], query, path)

    def _h_team_membership(self, tok: _Token | None, org: str, team_slug: str, username: str, path: str,
                           **_: Any) -> tuple[int, Any, dict[str, str]]:
        members = self._team(tok, org, team_slug)
        if username.lower() not in {m.lower() for m in members}:
            raise _not_found()
        return 200, {"url": self._url(path), "role": "member", "state": "active"}, {}

    def _pull_or_404(self, r: _Repo, number: str) -> dict[str, Any]:
        pull = r.pulls.get(int(number)) if number.isdigit() else None
        if pull is None:
            raise _not_found()
        return pull

    def _h_pull(self, tok: _Token | None, owner: str, repo: str, pull_number: str, **_: Any
                ) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        return 200, self._pull_json(r, self._pull_or_404(r, pull_number)), {}

    def _h_pull_files(self, tok: _Token | None, owner: str, repo: str, pull_number: str,
                      query: dict[str, list[str]], path: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        pull = self._pull_or_404(r, pull_number)
        items = [self._file_json(r, pull, f) for f in pull["files"][:3000]]
        return self._paginate(items, query, path, cap=3000)

    def _h_pull_reviews(self, tok: _Token | None, owner: str, repo: str, pull_number: str,
                        query: dict[str, list[str]], path: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        pull = self._pull_or_404(r, pull_number)
        items = [self._review_json(r, pull, rv) for rv in pull["reviews"]]
        return self._paginate(items, query, path)

    def _issue_or_404(self, r: _Repo, number: str) -> int:
        if not number.isdigit() or int(number) not in r.pulls:
            raise _not_found()
        return int(number)

    def _h_comments_list(self, tok: _Token | None, owner: str, repo: str, issue_number: str,
                         query: dict[str, list[str]], path: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        number = self._issue_or_404(r, issue_number)
        items = [self._comment_json(r, c) for c in sorted(r.comments, key=lambda c: c["id"]) if c["number"] == number]
        return self._paginate(items, query, path)

    def _valid_body(self, body: Any) -> str:
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            raise _HTTPError(422, "Invalid request.\n\nFor 'properties/body', nil is not a string.")
        text = str(body["body"])
        if len(text) > 65536:
            raise _HTTPError(422, "Validation Failed", errors=[{
                "resource": "IssueComment", "code": "unprocessable", "field": "data",
                "message": "Body is too long (maximum is 65536 characters)"}])
        return text

    def _h_comment_create(self, tok: _Token | None, owner: str, repo: str, issue_number: str, body: Any,
                          **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        number = self._issue_or_404(r, issue_number)
        tok = self._check_write(tok, r)
        text = self._valid_body(body)
        comment = {"id": next(self._ids), "number": number, "body": text, "user": tok.login,
                   "created_at": CREATED_AT, "updated_at": CREATED_AT}
        r.comments.append(comment)
        data = self._comment_json(r, comment)
        return 201, data, {"Location": data["url"]}

    def _comment_or_404(self, r: _Repo, comment_id: str) -> dict[str, Any]:
        for comment in r.comments:
            if str(comment["id"]) == comment_id:
                return comment
        raise _not_found()

    def _h_comment_get(self, tok: _Token | None, owner: str, repo: str, comment_id: str, **_: Any
                       ) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        return 200, self._comment_json(r, self._comment_or_404(r, comment_id)), {}

    def _h_comment_update(self, tok: _Token | None, owner: str, repo: str, comment_id: str, body: Any,
                          **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        comment = self._comment_or_404(r, comment_id)
        self._check_write(tok, r)
        comment["body"] = self._valid_body(body)
        comment["updated_at"] = "2026-11-27T12:00:00Z"
        return 200, self._comment_json(r, comment), {}

    def _take_annotations(self, run: dict[str, Any], output: Any) -> None:
        if not isinstance(output, dict):
            return
        missing = [k for k in ("title", "summary") if not isinstance(output.get(k), str)]
        if missing:
            raise _HTTPError(422, f"Invalid request.\n\n\"{missing[0]}\" wasn't supplied.")
        for key in ("summary", "text"):
            if len(output.get(key) or "") > 65535:
                raise _HTTPError(422, f"Invalid request.\n\nOnly 65535 characters are allowed in {key}; "
                                      f"{len(output[key])} were supplied.")
        annotations = output.get("annotations") or []
        if len(annotations) > 50:
            raise _HTTPError(422, "Invalid request.\n\nFor 'properties/annotations', is too long (maximum is 50).")
        for ann in annotations:
            missing = [k for k in ("path", "start_line", "end_line", "annotation_level", "message") if k not in ann]
            if missing:
                raise _HTTPError(422, f"Invalid request.\n\nNo subschema matched: missing {', '.join(missing)}.")
            if ann["annotation_level"] not in ("notice", "warning", "failure"):
                raise _HTTPError(422, "Invalid request.\n\nannotation_level is not included in the list.")
            if ("start_column" in ann or "end_column" in ann) and ann["start_line"] != ann["end_line"]:
                raise _HTTPError(422, "Invalid request.\n\ncolumns are only allowed when start_line == end_line.")
            run["annotations"].append(copy.deepcopy(ann))
        stored = {k: v for k, v in output.items() if k != "annotations"}
        run["output"] = {**(run.get("output") or {}), **stored}

    def _apply_check_fields(self, run: dict[str, Any], body: dict[str, Any]) -> None:
        for key in ("name", "details_url", "external_id", "status", "conclusion", "started_at", "completed_at"):
            if key in body:
                run[key] = body[key]
        if run.get("conclusion") is not None:
            run["status"] = "completed"
            run.setdefault("completed_at", "2026-11-27T12:00:00Z")
            if run.get("completed_at") is None:
                run["completed_at"] = "2026-11-27T12:00:00Z"
        if run["status"] not in ("queued", "in_progress", "completed", "waiting", "requested", "pending"):
            raise _HTTPError(422, "Invalid request.\n\nstatus is not included in the list.")
        if run["status"] == "completed" and run.get("conclusion") is None:
            raise _HTTPError(422, "Invalid request.\n\nconclusion is required when status is completed.")
        self._take_annotations(run, body.get("output"))

    def _h_check_run_create(self, tok: _Token | None, owner: str, repo: str, body: Any, **_: Any
                            ) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        self._check_write(tok, r, "checks")
        if not isinstance(body, dict) or not body.get("name") or not body.get("head_sha"):
            raise _HTTPError(422, "Invalid request.\n\n\"name\", \"head_sha\" weren't supplied.")
        run: dict[str, Any] = {"id": next(self._ids), "check_suite_id": next(self._ids), "name": body["name"],
                               "head_sha": body["head_sha"], "status": "queued", "conclusion": None,
                               "started_at": "2026-11-27T12:00:00Z", "completed_at": None, "annotations": [],
                               "output": None, "details_url": None, "external_id": ""}
        self._apply_check_fields(run, body)
        r.check_runs.append(run)
        return 201, self._check_run_json(r, run), {}

    def _check_run_or_404(self, r: _Repo, check_run_id: str) -> dict[str, Any]:
        for run in r.check_runs:
            if str(run["id"]) == check_run_id:
                return run
        raise _not_found()

    def _h_check_run_get(self, tok: _Token | None, owner: str, repo: str, check_run_id: str, **_: Any
                         ) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        return 200, self._check_run_json(r, self._check_run_or_404(r, check_run_id)), {}

    def _h_check_run_update(self, tok: _Token | None, owner: str, repo: str, check_run_id: str, body: Any,
                            **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        run = self._check_run_or_404(r, check_run_id)
        self._check_write(tok, r, "checks")
        if not isinstance(body, dict):
            raise _HTTPError(422, "Invalid request.")
        self._apply_check_fields(run, body)
        return 200, self._check_run_json(r, run), {}

    def _h_check_run_annotations(self, tok: _Token | None, owner: str, repo: str, check_run_id: str,
                                 query: dict[str, list[str]], path: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        run = self._check_run_or_404(r, check_run_id)
        items = [self._annotation_json(r, run, a, self.origin) for a in run["annotations"]]
        return self._paginate(items, query, path)

    def _h_check_runs_for_ref(self, tok: _Token | None, owner: str, repo: str, ref: str,
                              query: dict[str, list[str]], path: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        sha = r.branches.get(ref, ref)
        name = query["check_name"][-1] if query.get("check_name") else None
        runs = [self._check_run_json(r, run) for run in r.check_runs
                if run["head_sha"] == sha and (name is None or run["name"] == name)]
        status, chunk, headers = self._paginate(runs, query, path)
        return status, {"total_count": len(runs), "check_runs": chunk}, headers

    def _h_sarif_upload(self, tok: _Token | None, owner: str, repo: str, body: Any, **_: Any
                        ) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        tok = self._check_write(tok, r)
        if tok.kind == "read":
            raise _HTTPError(403, "Resource not accessible by personal access token")
        if not isinstance(body, dict):
            raise _HTTPError(400, "Bad Request")
        commit_sha, ref, sarif = body.get("commit_sha"), body.get("ref"), body.get("sarif")
        if not (isinstance(commit_sha, str) and re.fullmatch(r"[0-9a-f]{40}", commit_sha)):
            raise _HTTPError(422, "Invalid request.\n\nInvalid property /commit_sha.")
        if not (isinstance(ref, str) and re.fullmatch(r"refs/(heads|tags|pull)/.+", ref)):
            raise _HTTPError(422, "Invalid request.\n\nInvalid property /ref.")
        if not isinstance(sarif, str):
            raise _HTTPError(422, "Invalid request.\n\nMissing property /sarif.")
        if len(sarif) > 10 * 1024 * 1024:
            raise _HTTPError(413, "Payload Too Large")
        try:
            decoded = json.loads(gzip.decompress(base64.b64decode(sarif, validate=True)))
        except (binascii.Error, OSError, EOFError, ValueError):
            raise _HTTPError(400, "Invalid SARIF: the sarif field must be gzip-compressed, base64-encoded JSON.") \
                from None
        sarif_id = _sha("sarif", next(self._ids))[:36]
        r.sarifs.append({"id": sarif_id, "commit_sha": commit_sha, "ref": ref, "sarif": decoded,
                         **{k: body[k] for k in ("checkout_uri", "started_at", "tool_name", "validate") if k in body}})
        return 202, {"id": sarif_id, "url": self._url(f"/repos/{r.full_name}/code-scanning/sarifs/{sarif_id}")}, {}

    def _h_sarif_status(self, tok: _Token | None, owner: str, repo: str, sarif_id: str, **_: Any
                        ) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        for upload in r.sarifs:
            if upload["id"] == sarif_id:
                url = self._url(f"/repos/{r.full_name}/code-scanning/analyses?sarif_id={sarif_id}")
                return 200, {"processing_status": "complete", "analyses_url": url, "errors": None}, {}
        raise _not_found()

    def _h_codeowners_errors(self, tok: _Token | None, owner: str, repo: str, query: dict[str, list[str]],
                             **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        ref = (query.get("ref") or [r.default_branch])[-1]
        errors = r.codeowners_by_ref.get(ref, r.codeowners_errors)
        if errors is None:
            raise _not_found()
        return 200, {"errors": copy.deepcopy(errors)}, {}

    def _h_contents(self, tok: _Token | None, owner: str, repo: str, file_path: str,
                    query: dict[str, list[str]], **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        if r.empty:
            raise _HTTPError(404, "This repository is empty.")
        ref = (query.get("ref") or [r.default_branch])[-1]
        file_path = file_path.strip("/")
        content = r.files.get((ref, file_path))
        if content is None:
            raise _not_found()
        sha = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
        url = self._url(f"/repos/{r.full_name}/contents/{urllib.parse.quote(file_path)}?ref={ref}")
        git_url = self._url(f"/repos/{r.full_name}/git/blobs/{sha}")
        html = self._html(f"/{r.full_name}/blob/{ref}/{urllib.parse.quote(file_path)}")
        encoded = base64.encodebytes(content).decode() if len(content) <= 1024 * 1024 else ""
        return 200, {"type": "file", "encoding": "base64" if encoded or not content else "none",
                     "size": len(content), "name": file_path.rsplit("/", 1)[-1], "path": file_path,
                     "content": encoded, "sha": sha, "url": url, "git_url": git_url, "html_url": html,
                     "download_url": self._html(f"/{r.full_name}/raw/{ref}/{urllib.parse.quote(file_path)}"),
                     "_links": {"self": url, "git": git_url, "html": html}}, {}

    def _h_git_tree(self, tok: _Token | None, owner: str, repo: str, tree_sha: str,
                    query: dict[str, list[str]], **_: Any) -> tuple[int, Any, dict[str, str]]:
        r = self._visible_repo(owner, repo, tok)
        if r.empty:
            raise _HTTPError(409, "Git Repository is empty.")
        ref = next((b for b, sha in r.branches.items() if sha == tree_sha or b == tree_sha), None)
        if ref is None:
            raise _not_found()
        recursive = bool(query.get("recursive"))
        entries: list[dict[str, Any]] = []
        folders: set[str] = set()
        for (branch, path), content in sorted(r.files.items()):
            if branch != ref or (not recursive and "/" in path):
                continue
            parts = path.split("/")
            folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
            sha = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
            entries.append({"path": path, "mode": "100644", "type": "blob", "sha": sha, "size": len(content),
                            "url": self._url(f"/repos/{r.full_name}/git/blobs/{sha}")})
        for folder in sorted(folders):
            sha = _sha("tree", r.full_name, folder)
            entries.append({"path": folder, "mode": "040000", "type": "tree", "sha": sha,
                            "url": self._url(f"/repos/{r.full_name}/git/trees/{sha}")})
        entries.sort(key=lambda e: e["path"])
        sha = r.branches[ref]
        return 200, {"sha": sha, "url": self._url(f"/repos/{r.full_name}/git/trees/{sha}"), "tree": entries,
                     "truncated": False}, {}

    # ------------------------------------------------------------------ GraphQL

    def _graphql(self, tok: _Token | None, body: Any) -> tuple[int, Any, dict[str, str]]:
        if tok is None:
            raise _HTTPError(401, "This endpoint requires you to be authenticated.")
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return 200, {"errors": [{"message": "A query attribute must be specified and must be a string."}]}, {}
        try:
            document = graphql.parse(body["query"])
        except graphql.GraphQLError as err:
            return 200, {"errors": [{"message": f"Parse error: {err.message}"}]}, {}
        variables = body.get("variables") or {}
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, gql.FragmentDefinitionNode)}
        operations = [d for d in document.definitions if isinstance(d, gql.OperationDefinitionNode)]
        name = body.get("operationName")
        op = next((o for o in operations if name is None or (o.name and o.name.value == name)), None)
        if op is None or op.operation != gql.OperationType.QUERY:
            return 200, {"errors": [{"message": "FakeGitHub answers GraphQL queries only."}]}, {}
        for definition in op.variable_definitions or ():
            var = definition.variable.name.value
            if var not in variables and definition.default_value is not None:
                variables[var] = graphql.value_from_ast_untyped(definition.default_value)
        ctx = _GQLContext(self, tok, fragments, variables)
        data = ctx.select(_GQLQueryRoot(), op.selection_set, [])
        result: dict[str, Any] = {"data": data}
        if ctx.errors:
            result["errors"] = ctx.errors
        return 200, result, {}

    def _gql_repository(self, owner: str, name: str) -> _Repo | None:
        return self._repos.get(f"{owner}/{name}".lower())


def load_webhook_example(action: str = "opened", event: str = "pull_request", index: int = 0) -> dict[str, Any]:
    """The ``index``-th real ``event`` payload with this ``action`` from @octokit/webhooks-examples (MIT).

    Needs ``tests/fakes/fetch_specs.sh`` to have run; raises FileNotFoundError saying so otherwise.
    """
    path = OCTOKIT_CACHE / "webhooks-examples" / "api.github.com" / "index.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run tests/fakes/fetch_specs.sh")
    events = json.loads(path.read_text(encoding="utf-8"))
    examples = [e for group in events if group["name"] == event for e in group["examples"]
                if e.get("action") == action]
    if len(examples) <= index:
        raise LookupError(f"no {event}.{action} example number {index} in @octokit/webhooks-examples")
    return copy.deepcopy(examples[index])


class _GQLQueryRoot:
    """Marker for the GraphQL query root."""


class _GQLContext:
    """Resolves a GraphQL selection against the fake's state, one object type at a time."""

    def __init__(self, fake: FakeGitHub, tok: _Token, fragments: dict[str, gql.FragmentDefinitionNode],
                 variables: dict[str, Any]) -> None:
        self.fake = fake
        self.tok = tok
        self.fragments = fragments
        self.variables = variables
        self.errors: list[dict[str, Any]] = []

    def select(self, obj: Any, selection_set: gql.SelectionSetNode, path: list[str | int]) -> dict[str, Any]:
        typename, fields = self._fields_of(obj)
        out: dict[str, Any] = {}
        for node in self._collect(selection_set, typename):
            key = node.alias.value if node.alias else node.name.value
            args = {a.name.value: graphql.value_from_ast_untyped(a.value, self.variables) for a in node.arguments or ()}
            if node.name.value == "__typename":
                out[key] = typename
                continue
            resolver = fields.get(node.name.value)
            if resolver is None:
                self.errors.append({"path": [*path, key], "message":
                                    f"FakeGitHub does not implement field '{node.name.value}' on type '{typename}'",
                                    "extensions": {"code": "undefinedField", "typeName": typename,
                                                   "fieldName": node.name.value}})
                out[key] = None
                continue
            value = resolver(**args)
            out[key] = self._complete(value, node.selection_set, [*path, key])
        return out

    def _complete(self, value: Any, selection_set: gql.SelectionSetNode | None, path: list[str | int]) -> Any:
        if value is None or selection_set is None:
            return value
        if isinstance(value, list):
            return [self._complete(v, selection_set, [*path, i]) for i, v in enumerate(value)]
        return self.select(value, selection_set, path)

    def _collect(self, selection_set: gql.SelectionSetNode, typename: str) -> Iterator[gql.FieldNode]:
        for sel in selection_set.selections:
            if isinstance(sel, gql.FieldNode):
                yield sel
            elif isinstance(sel, gql.InlineFragmentNode):
                if sel.type_condition is None or self._type_matches(sel.type_condition.name.value, typename):
                    yield from self._collect(sel.selection_set, typename)
            elif isinstance(sel, gql.FragmentSpreadNode):
                frag = self.fragments[sel.name.value]
                if self._type_matches(frag.type_condition.name.value, typename):
                    yield from self._collect(frag.selection_set, typename)

    @staticmethod
    def _type_matches(condition: str, typename: str) -> bool:
        interfaces = {"Node", "RepositoryInfo", "GitObject", "RuleSource", "RepositoryOwner", "Actor",
                      "UniformResourceLocatable"}
        return condition == typename or condition in interfaces

    # Each object type: (typename, {field: resolver(**args)}).
    def _fields_of(self, obj: Any) -> tuple[str, dict[str, Callable[..., Any]]]:
        if isinstance(obj, _GQLQueryRoot):
            return "Query", {
                "repository": self._q_repository,
                "organization": self._q_organization,
                "viewer": lambda: {"__typename": "User", "login": self.tok.login},
                "rateLimit": lambda **_: {"__typename": "RateLimit", "limit": 5000, "cost": 1,
                                          "remaining": self.tok.graphql_remaining, "resetAt": "2026-11-27T13:00:00Z",
                                          "used": 5000 - self.tok.graphql_remaining, "nodeCount": 0},
            }
        if isinstance(obj, _Repo):
            return "Repository", self._repository_fields(obj)
        if isinstance(obj, dict):
            typename = obj.get("__typename", "Object")
            fields: dict[str, Callable[..., Any]] = {}
            for key, value in obj.items():
                if key.endswith("__fn"):
                    fields[key.removesuffix("__fn")] = value
                elif key != "__typename":
                    fields[key] = lambda v=value, **_: v
            return typename, fields
        raise TypeError(f"cannot resolve GraphQL object {obj!r}")

    def _q_repository(self, owner: str, name: str, **_: Any) -> _Repo | None:
        repo = self.fake._gql_repository(owner, name)
        if repo is not None and self.tok.repos is not None and repo.full_name.lower() not in self.tok.repos \
                and repo.visibility != "public":
            repo = None
        if repo is None:
            self.errors.append({"type": "NOT_FOUND", "path": ["repository"], "locations": [],
                                "message": f"Could not resolve to a Repository with the name '{owner}/{name}'."})
        return repo

    def _q_organization(self, login: str, **_: Any) -> dict[str, Any] | None:
        repos = sorted((r for r in self.fake._repos.values() if r.owner.lower() == login.lower()), key=lambda r: r.id)
        if not repos and login.lower() not in self.fake._org_rulesets:
            self.errors.append({"type": "NOT_FOUND", "path": ["organization"], "locations": [],
                                "message": f"Could not resolve to an Organization with the login of '{login}'."})
            return None

        def repositories(first: int | None = None, after: str | None = None, isArchived: bool | None = None,
                         **_: Any) -> dict[str, Any]:
            chosen = [r for r in repos if isArchived is None or r.archived == isArchived]
            return _connection(chosen, first, after)

        return {"__typename": "Organization", "login": login, "repositories__fn": repositories}

    def _repository_fields(self, repo: _Repo) -> dict[str, Callable[..., Any]]:
        def ref(qualifiedName: str, **_: Any) -> dict[str, Any] | None:
            branch = qualifiedName.removeprefix("refs/heads/")
            return self._ref(repo, branch) if branch in repo.branches else None

        def codeowners(refName: str | None = None, **_: Any) -> dict[str, Any] | None:
            if repo.codeowners_errors is None:
                return None
            return {"__typename": "RepositoryCodeowners", "errors": [
                {"__typename": "RepositoryCodeownersError", "line": e["line"], "column": e["column"],
                 "kind": e["kind"], "message": e["message"], "path": e["path"], "source": e["source"],
                 "suggestion": e["suggestion"]} for e in repo.codeowners_errors]}

        def protection_rules(first: int | None = None, after: str | None = None, **_: Any) -> dict[str, Any]:
            if self.tok.kind != "admin":
                return _connection([], first, after)
            return _connection([self._bpr(repo, b) for b in sorted(repo.protection)], first, after)

        def rulesets(first: int | None = None, after: str | None = None, includeParents: bool = True,
                     **_: Any) -> dict[str, Any]:
            return _connection([self._ruleset_node(rs) for rs in self.fake._all_rulesets(repo, includeParents)],
                               first, after)

        return {
            "id": lambda: f"R_{_sha('repo', repo.id)[:12]}", "databaseId": lambda: repo.id,
            "name": lambda: repo.name, "nameWithOwner": lambda: repo.full_name,
            "owner": lambda: {"__typename": self.fake._owner_kind(repo.owner), "login": repo.owner},
            "url": lambda: self.fake._html(f"/{repo.full_name}"),
            "visibility": lambda: repo.visibility.upper(), "isPrivate": lambda: repo.visibility != "public",
            "isArchived": lambda: repo.archived, "isEmpty": lambda: repo.empty, "isFork": lambda: repo.fork,
            "isDisabled": lambda: False, "isLocked": lambda: False,
            "viewerPermission": lambda: "ADMIN" if self.tok.kind == "admin" else "READ",
            "defaultBranchRef": lambda: (self._ref(repo, repo.default_branch)
                                         if repo.default_branch in repo.branches else None),
            "ref": ref, "codeowners": codeowners, "branchProtectionRules": protection_rules, "rulesets": rulesets,
            "pushedAt": lambda: repo.pushed_at,
            "repositoryTopics": lambda first=None, after=None, **_: _connection(
                [{"__typename": "RepositoryTopic", "topic": {"__typename": "Topic", "name": t}} for t in repo.topics],
                first, after),
            "object": lambda expression=None, oid=None, **_: self._git_object(repo, expression),
        }

    def _git_object(self, repo: _Repo, expression: str | None) -> dict[str, Any] | None:
        """``Repository.object(expression: "REV:path")``: a Blob or a Tree of the fake's files (REV: HEAD, a branch)."""
        if not expression or ":" not in expression:
            return None
        rev, _, path = expression.partition(":")
        branch = repo.default_branch if rev == "HEAD" else rev.removeprefix("refs/heads/")
        path = path.strip("/")
        files = {p: c for (b, p), c in repo.files.items() if b == branch}
        if path in files:
            return self._blob_node(files[path])
        prefix = f"{path}/" if path else ""
        children: dict[str, dict[str, Any]] = {}
        for name, content in sorted(files.items()):
            if not name.startswith(prefix):
                continue
            head, sep, _rest = name[len(prefix):].partition("/")
            if head in children:
                continue
            child = f"{prefix}{head}"
            children[head] = {"__typename": "TreeEntry", "name": head, "path": child,
                              "type": "tree" if sep else "blob", "mode": 16384 if sep else 33188,
                              "object": (self._git_object(repo, f"{branch}:{child}") if sep
                                         else self._blob_node(content))}
        if not children:
            return None
        return {"__typename": "Tree", "oid": _sha("tree", repo.full_name, path), "entries": list(children.values())}

    @staticmethod
    def _blob_node(content: bytes) -> dict[str, Any]:
        binary = b"\0" in content[:8000]
        return {"__typename": "Blob", "oid": hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest(),
                "byteSize": len(content), "isBinary": binary,
                "isTruncated": len(content) > 512 * 1024,
                "text": None if binary else content[:512 * 1024].decode("utf-8", "replace")}

    def _ref(self, repo: _Repo, branch: str) -> dict[str, Any]:
        classic = repo.protection.get(branch)
        rules = self.fake._active_rules_for(repo, branch)

        def rules_conn(first: int | None = None, after: str | None = None, **_: Any) -> dict[str, Any]:
            return _connection([self._rule_node(repo, rule) for rule in rules], first, after)

        return {
            "__typename": "Ref", "name": branch, "prefix": "refs/heads/",
            "id": f"REF_{_sha(repo.full_name, branch)[:12]}",
            "target": {"__typename": "Commit", "oid": repo.branches[branch]},
            "refUpdateRule": None if classic is None else self._ref_update_rule(repo, branch),
            "branchProtectionRule": (self._bpr(repo, branch)
                                     if classic is not None and self.tok.kind == "admin" else None),
            "rules__fn": rules_conn,
        }

    def _ref_update_rule(self, repo: _Repo, branch: str) -> dict[str, Any]:
        p = self.fake._protection_json(repo, branch)
        reviews = p.get("required_pull_request_reviews")
        checks = p.get("required_status_checks")
        return {
            "__typename": "RefUpdateRule", "pattern": branch,
            "requiredApprovingReviewCount": reviews["required_approving_review_count"] if reviews else None,
            "requiresCodeOwnerReviews": bool(reviews and reviews["require_code_owner_reviews"]),
            "requiredStatusCheckContexts": list(checks["contexts"]) if checks else [],
            "requiresConversationResolution": p["required_conversation_resolution"]["enabled"],
            "requiresLinearHistory": p["required_linear_history"]["enabled"],
            "requiresSignatures": p["required_signatures"]["enabled"],
            "allowsForcePushes": p["allow_force_pushes"]["enabled"],
            "allowsDeletions": p["allow_deletions"]["enabled"],
            "viewerAllowedToDismissReviews": self.tok.kind == "admin",
            "viewerCanPush": self.tok.kind in ("admin", "github_token", "read"),
        }

    def _bpr(self, repo: _Repo, branch: str) -> dict[str, Any]:
        p = self.fake._protection_json(repo, branch)
        reviews = p.get("required_pull_request_reviews")
        checks = p.get("required_status_checks")
        return {
            "__typename": "BranchProtectionRule", "id": f"BPR_{_sha(repo.full_name, branch)[:12]}",
            "pattern": branch, "isAdminEnforced": p["enforce_admins"]["enabled"],
            "requiresApprovingReviews": reviews is not None,
            "requiredApprovingReviewCount": reviews["required_approving_review_count"] if reviews else None,
            "requiresCodeOwnerReviews": bool(reviews and reviews["require_code_owner_reviews"]),
            "dismissesStaleReviews": bool(reviews and reviews["dismiss_stale_reviews"]),
            "requireLastPushApproval": bool(reviews and reviews["require_last_push_approval"]),
            "requiresStatusChecks": checks is not None,
            "requiresStrictStatusChecks": bool(checks and checks["strict"]),
            "requiredStatusCheckContexts": list(checks["contexts"]) if checks else [],
            "requiresCommitSignatures": p["required_signatures"]["enabled"],
            "requiresLinearHistory": p["required_linear_history"]["enabled"],
            "allowsForcePushes": p["allow_force_pushes"]["enabled"],
            "allowsDeletions": p["allow_deletions"]["enabled"],
            "requiresConversationResolution": p["required_conversation_resolution"]["enabled"],
            "lockBranch": p["lock_branch"]["enabled"], "restrictsPushes": p.get("restrictions") is not None,
            "bypassPullRequestAllowances__fn": lambda first=None, after=None, **_: _connection(
                self._allowances(reviews), first, after),
        }

    @staticmethod
    def _allowances(reviews: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        allow = (reviews or {}).get("bypass_pull_request_allowances") or {}
        kinds = (("users", "User", "login"), ("teams", "Team", "slug"), ("apps", "App", "slug"))
        return [{"__typename": "BypassPullRequestAllowance", "id": f"BPA_{kind}_{i}",
                 "actor": {"__typename": kind, "databaseId": a.get("id"), key: a.get(key)}}
                for field_name, kind, key in kinds for i, a in enumerate(allow.get(field_name) or [])]

    def _ruleset_node(self, rs: dict[str, Any]) -> dict[str, Any]:
        return {
            "__typename": "RepositoryRuleset", "id": f"RRS_{_sha('ruleset', rs['id'])[:12]}",
            "databaseId": rs["id"], "name": rs["name"], "enforcement": rs["enforcement"].upper(),
            "target": rs["target"].upper(), "updatedAt": CREATED_AT,
            "conditions": {"__typename": "RepositoryRuleConditions", "refName": (
                {"__typename": "RefNameConditionTarget",
                 "include": list(((rs.get("conditions") or {}).get("ref_name") or {}).get("include") or []),
                 "exclude": list(((rs.get("conditions") or {}).get("ref_name") or {}).get("exclude") or [])}
                if (rs.get("conditions") or {}).get("ref_name") is not None else None)},
            "source": {"__typename": "Organization" if rs["source_type"] == "Organization" else "Repository",
                       "login": rs["source"], "nameWithOwner": rs["source"]},
            "bypassActors__fn": lambda first=None, after=None, **_: _connection(
                [{"__typename": "RepositoryRulesetBypassActor", "actor": None, "id": f"BA_{i}",
                  "deployKey": a.get("actor_type") == "DeployKey", "enterpriseOwner": False,
                  "bypassMode": str(a.get("bypass_mode", "always")).upper(),
                  "repositoryRoleDatabaseId": a.get("actor_id") if a.get("actor_type") == "RepositoryRole" else None,
                  "organizationAdmin": a.get("actor_type") == "OrganizationAdmin"}
                 for i, a in enumerate(rs["bypass_actors"] if self.tok.kind == "admin" else [])], first, after),
            "rules__fn": lambda first=None, after=None, **_: _connection(
                [self._rule_node(None, {"type": r["type"], "parameters": r.get("parameters"),
                                        "ruleset_id": rs["id"]}) for r in rs["rules"]], first, after),
        }

    def _rule_node(self, repo: _Repo | None, rule: dict[str, Any]) -> dict[str, Any]:
        params = rule.get("parameters")
        gql_params = None
        if params is not None:
            kind = "".join(part.title() for part in rule["type"].split("_")) + "Parameters"
            gql_params = {"__typename": kind, **{_camel(k): _camel_value(v) for k, v in params.items()}}
        ruleset = None
        if repo is not None:
            for rs in self.fake._all_rulesets(repo):
                if rs["id"] == rule["ruleset_id"]:
                    ruleset = self._ruleset_node(rs)
        return {"__typename": "RepositoryRule", "type": rule["type"].upper(), "parameters": gql_params,
                "repositoryRuleset": ruleset, "id": f"RR_{_sha(rule['type'], rule['ruleset_id'])[:12]}"}


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def _camel_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_camel_value(v) for v in value]
    if isinstance(value, dict):
        return {_camel(k): _camel_value(v) for k, v in value.items()}
    return value


def _connection(items: list[Any], first: int | None, after: str | None) -> dict[str, Any]:
    start = int(base64.b64decode(after).decode().split(":")[1]) if after else 0
    size = min(first or 100, 100)
    chunk = items[start:start + size]
    end = start + len(chunk)
    return {
        "__typename": "Connection", "totalCount": len(items), "nodes": chunk,
        "edges": [{"__typename": "Edge", "node": n, "cursor": base64.b64encode(f"cursor:{start + i + 1}".encode())
                   .decode()} for i, n in enumerate(chunk)],
        "pageInfo": {"__typename": "PageInfo", "hasNextPage": end < len(items), "hasPreviousPage": start > 0,
                     "startCursor": base64.b64encode(f"cursor:{start}".encode()).decode() if chunk else None,
                     "endCursor": base64.b64encode(f"cursor:{end}".encode()).decode() if chunk else None},
    }


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("token", "bearer") and value.strip() else None


def _etags(header: str | None) -> set[str]:
    return {part.strip() for part in header.split(",")} if header else set()


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(query[name][-1])
    except (KeyError, IndexError, ValueError):
        return default


def _flag(query: dict[str, list[str]], name: str) -> bool | None:
    values = query.get(name)
    return None if not values else values[-1].lower() == "true"


def _reset() -> int:
    return int(time.time()) // 3600 * 3600 + 3600


class _Handler(BaseHTTPRequestHandler):
    """Hands each HTTP request to the bound ``FakeGitHub``."""

    fake: FakeGitHub
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, data, out = self.fake._handle(self.command, self.path, headers, raw)
        self.send_response(status)
        for key, value in out.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""
