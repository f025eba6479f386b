"""``annexa org-scan``: the same rules as ``annexa check``, over every repository of an organisation.

Each repository is read through the API (:mod:`annexa.orgscan.github`) into an :class:`~annexa.tree.ApiTree`, its
settings through the same collector ``annexa ci`` uses, and checked by the engine under the repository's own
``.annexa.yml`` and policies, exactly as ``annexa check`` would. Rules that need file contents the scan does not
read (secrets, semgrep, PII, model bytes) are ``unknown`` naming the checkout they need, never ``pass``.

A state file makes scans incremental (a repository whose push, head and protection fingerprint did not change
since its last scan is skipped: its last record stands) and resumable (``resume=True`` continues an interrupted
scan at the page it stopped in, skipping repositories it had finished). ``shard=(k, n)`` keeps the repositories
whose name hashes to ``k`` of ``n``, so a CI matrix of ``n`` jobs covers the org once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, cast

from gitlab.exceptions import GitlabError

from annexa import codeowners
from annexa.ci import branch_patterns
from annexa.collect.checkout import Checkout
from annexa.collect.github import GitHubClient, SettingsCollector, Unavailable
from annexa.config import CONFIG_NAME, Config, load_config
from annexa.engine import load_inputs, run_check
from annexa.errors import AnnexaError, UnreadableFile
from annexa.facts import Facts
from annexa.model import Result, Status
from annexa.orgscan import github as gh
from annexa.orgscan import gitlab as gl
from annexa.paths import match_any
from annexa.platforms.base import PlatformError
from annexa.platforms.gitlab.client import GitLabClient, describe, quote
from annexa.platforms.gitlab.settings import GitLabSettingsCollector, Tier
from annexa.report import Report, RunInfo
from annexa.rules.base import RuleContext
from annexa.tree import ApiTree

CONTENT_RULES = (
    "no-secrets-in-change", "torch-load-unsafe", "unsafe-deserialization", "yaml-unsafe-load",
    "tls-verification-disabled", "llm-output-executed", "langchain-dangerous-option", "model-revision-pinned",
    "remote-code-disabled", "training-data-pii-free", "weights-safe-format",
)  # fmt: skip
"""Rules over file contents that an org scan does not read: ``unknown``, naming the checkout they need."""
SAVE_EVERY = 2.0
"""Seconds between state file writes during a scan (and after every page)."""
PR_RULES = ("weights-owner-approved",)
"""Rules about a pull request: not applicable to a repository scan."""


@dataclass(frozen=True)
class Filters:
    """Which repositories to scan."""

    names: tuple[str, ...] = ()
    """Name globs (``acme/ml-*`` or ``ml-*``); empty: all."""
    topics: tuple[str, ...] = ()
    visibility: tuple[str, ...] = ()
    only: frozenset[str] | None = None
    """Exact ``owner/name`` list (``--repos FILE``)."""

    def keep(self, repo: Listed) -> bool:
        """True when ``repo`` passes every filter."""
        short = repo.full_name.split("/", 1)[-1]
        last = repo.full_name.rsplit("/", 1)[-1]
        if self.only is not None and repo.full_name.lower() not in self.only:
            return False
        if self.names and not any(match_any(self.names, n) for n in (repo.full_name, short, last)):
            return False
        if self.topics and not set(self.topics) & set(repo.topics):
            return False
        return not self.visibility or repo.visibility in self.visibility


def in_shard(full_name: str, shard: tuple[int, int]) -> bool:
    """True when ``full_name`` belongs to shard ``k`` of ``n`` (1-based; stable across runs and machines)."""
    k, n = shard
    digest = int(hashlib.sha256(full_name.lower().encode()).hexdigest()[:8], 16)
    return digest % n == k - 1


@dataclass
class State:
    """What the last scans of this org left: per repository its fingerprint, and the scan under way."""

    path: Path
    repos: dict[str, dict[str, Any]] = field(default_factory=dict)
    scan: dict[str, Any] | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    """Conditional-request cache (URL: ETag and what the answer said), so unchanged answers cost no rate limit."""

    @classmethod
    def load(cls, path: Path) -> State:
        """Read the state file (a missing file is an empty state; a corrupt one is an error)."""
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AnnexaError(
                f"{path}: the org-scan state file cannot be read ({exc}); delete it to start over") from None
        return cls(path, dict(data.get("repos") or {}), data.get("scan"), dict(data.get("cache") or {}))

    def save(self) -> None:
        """Write atomically (a crash never leaves half a file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        text = json.dumps({"repos": self.repos, "scan": self.scan, "cache": self.cache}, indent=1)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)


@dataclass
class Outcome:
    """What one org scan did."""

    scanned: list[Report] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Repositories that could not be scanned, with why."""
    total: int = 0


Progress = Callable[[str, int, int, int | None], None]
"""``progress(repository, done, total, rate_remaining)``."""


def _content_unknown(ctx: RuleContext) -> Iterable[Result]:
    yield Result(Status.UNKNOWN, f"{ctx.rule.id} reads file contents, which an org scan does not fetch",
                 evidence={"needs": "a checkout: run annexa check (or annexa ci) in the repository"})


def _not_a_pr(ctx: RuleContext) -> Iterable[Result]:
    yield Result(Status.NOT_APPLICABLE, f"{ctx.rule.id} judges pull requests; an org scan checks repositories")


OVERRIDES: Mapping[str, Callable[[RuleContext], Iterable[Result]]] = {
    **{rule: _content_unknown for rule in CONTENT_RULES}, **{rule: _not_a_pr for rule in PR_RULES},
}


def team_of(tree: Checkout, platform: str) -> str:
    """The repository's team for the dashboard's filter: the owners of the CODEOWNERS file's last catch-all line
    (``*``; on GitLab in the first section that has one), space-separated; ``""`` when there is none."""
    found = codeowners.find_file(tree, platform)
    if found.path is None:
        return ""
    try:
        parsed = codeowners.parse(tree.read_text(found.path, codeowners.MAX_BYTES), platform)
    except UnreadableFile:
        return ""
    catch_all = [e for e in parsed.entries if e.compiled.catch_all and not e.exclusion]
    if not catch_all:
        return ""
    section = catch_all[0].section
    last = [e for e in catch_all if e.section == section][-1]
    return " ".join(last.owners)


def scan_repository(client: GitHubClient, listing: gh.RepoListing, today: dt.date | None = None) -> Report:
    """Check one repository from the API with the rules of ``annexa check``."""
    contents = dict(listing.contents)
    sizes: dict[str, int] = {p: len(c) for p, c in contents.items()}
    links: set[str] = set()
    binary: set[str] = set()
    truncated = False
    if listing.head and not listing.empty:
        tree = gh.read_tree(client, listing.full_name, listing.head)
        sizes, links, truncated = tree.sizes, tree.symlinks, tree.truncated
        config = _config(contents)
        extra = [*config.path_class("policies"), *(f"{p}/**" for p in config.policies if p != "builtin"),
                 *(f"{d.rstrip('*').rstrip('/')}/README.md" for d in config.path_class("training_data"))]
        need = gh.wanted_blobs(tree, contents, config.path_class("weights"), extra)
        fetched, binary = gh.read_blobs(client, listing.full_name, need)
        contents.update(fetched)
        contents = {p: c for p, c in contents.items() if p in sizes}
    api_tree = ApiTree(sizes, contents, links, truncated, binary)
    try:
        inputs = load_inputs(api_tree.root)
        patterns = branch_patterns(inputs)
        # the listing answers for the default branch; other branches the policies name need the REST collector
        settings = None if patterns else gh.settings_from_listing(client, listing)
        if settings is None:
            settings = SettingsCollector(client, listing.full_name).collect(patterns)
        facts = Facts(platform="github", checkout=api_tree, settings=settings,
                      pull_request_reason="an org scan checks repositories, not pull requests")
        run = RunInfo(
            id=str(uuid.uuid4()), started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            platform="github", repository=listing.full_name, ref=f"refs/heads/{listing.default_branch}"
            if listing.default_branch else None, commit=listing.head, pull_request=None,
            meta={"team": team_of(api_tree, "github")},
        )
        return run_check(inputs, facts, run, today=today, overrides=OVERRIDES)
    finally:
        api_tree.close()


def _config(contents: Mapping[str, bytes]) -> Config:
    """The repository's ``.annexa.yml`` as far as it decides which files to fetch (defaults when unreadable:
    the full load afterwards reports any error in it)."""
    if CONFIG_NAME not in contents:
        return Config()
    probe = ApiTree({CONFIG_NAME: len(contents[CONFIG_NAME])}, {CONFIG_NAME: contents[CONFIG_NAME]})
    try:
        return load_config(probe.root / CONFIG_NAME, CONFIG_NAME)
    except AnnexaError:
        return Config()
    finally:
        probe.close()


class Listed(Protocol):
    """What the scan loop needs of a listed repository or project (GitHub's or GitLab's listing)."""

    @property
    def full_name(self) -> str: ...
    @property
    def topics(self) -> tuple[str, ...]: ...
    @property
    def visibility(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...


class Listing(Protocol):
    """A page of a listing."""

    @property
    def repos(self) -> Sequence[Any]: ...
    @property
    def total(self) -> int: ...
    @property
    def rate_remaining(self) -> int | None: ...


def scan_org(
    client: GitHubClient,
    org: str,
    state: State,
    *,
    filters: Filters = Filters(),
    shard: tuple[int, int] = (1, 1),
    resume: bool = False,
    full: bool = False,
    record: Callable[[Report, Mapping[str, Any]], None] | None = None,
    progress: Progress | None = None,
    today: dt.date | None = None,
    workers: int = 4,
) -> Outcome:
    """Scan the org; ``record(report, meta)`` is called for every repository scanned, in listing order.

    Up to ``workers`` repositories of a page are read and checked at once (GitHub asks for few concurrent
    requests; four stays far below its secondary limits), with an :class:`~annexa.orgscan.github.OrgScanClient`
    (one connection per thread); any other client is used by one worker.
    """
    if not isinstance(client, gh.OrgScanClient):
        workers = 1  # a plain client shares one PyGithub connection, which is not safe across threads
    security = gh.org_security(client, org, state.cache)

    def pages(cursor: str | None) -> Iterator[tuple[str | None, gh.Page]]:
        for start, page in gh.list_pages(client, org, cursor):
            for repo in page.repos:
                if isinstance(security, str):
                    repo.security_reason = security
                else:
                    repo.security = security.get(repo.full_name.lower())
                # a change of secret scanning or push protection is a change of the repository too
                seen = json.dumps([repo.fingerprint, repo.security, repo.security_reason], sort_keys=True)
                repo.fingerprint = hashlib.sha256(seen.encode()).hexdigest()
            yield start, page

    return _scan(pages, lambda listing: scan_repository(client, listing, today), org, state, filters=filters,
                 shard=shard, resume=resume, full=full, record=record, progress=progress, workers=workers)


def scan_group(
    client: GitLabClient,
    group: str,
    state: State,
    *,
    filters: Filters = Filters(),
    shard: tuple[int, int] = (1, 1),
    resume: bool = False,
    full: bool = False,
    record: Callable[[Report, Mapping[str, Any]], None] | None = None,
    progress: Progress | None = None,
    today: dt.date | None = None,
    workers: int = 4,
) -> Outcome:
    """Scan every non-archived project of a GitLab group and its subgroups, ``workers`` projects at once."""
    tier = Tier()
    return _scan(lambda _cursor: gl.list_pages(client, group),
                 lambda listing: scan_project(client, listing, today, tier), group, state, filters=filters,
                 shard=shard, resume=resume, full=full, record=record, progress=progress, workers=workers)


def _scan(
    pages: Callable[[str | None], Iterable[tuple[str | None, Listing]]],
    scan_one: Callable[[Any], Report],
    org: str,
    state: State,
    *,
    filters: Filters,
    shard: tuple[int, int],
    resume: bool,
    full: bool,
    record: Callable[[Report, Mapping[str, Any]], None] | None,
    progress: Progress | None,
    workers: int,
) -> Outcome:
    outcome = Outcome()
    scan = state.scan if resume and state.scan and not state.scan.get("finished") else None
    if scan is None:
        scan = {"id": str(uuid.uuid4()), "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "org": org, "shard": list(shard), "cursor": None, "done": []}
    elif scan.get("org") != org or list(scan.get("shard") or []) != list(shard):
        raise AnnexaError(f"--resume: the unfinished scan in {state.path} is of {scan.get('org')} shard "
                          f"{scan.get('shard')}, not {org} shard {list(shard)}")
    state.scan = scan
    done: set[str] = set(scan["done"])
    count = 0
    saved = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        with pool:
            for start_cursor, page in pages(scan.get("cursor")):
                outcome.total = page.total
                scan["cursor"] = start_cursor
                listed: Sequence[Listed] = page.repos
                chosen = [r for r in listed if in_shard(r.full_name, shard) and filters.keep(r)
                          and r.full_name not in done]
                changed = [r for r in chosen
                           if full or (state.repos.get(r.full_name) or {}).get("fingerprint") != r.fingerprint]
                futures = {r.full_name: pool.submit(scan_one, r) for r in changed}
                count += len(listed) - len(chosen)
                for listing in chosen:
                    count += 1
                    name = listing.full_name
                    future = futures.get(name)
                    if future is None:
                        outcome.unchanged.append(name)
                    else:
                        try:
                            report = future.result()
                        except (Unavailable, PlatformError, AnnexaError) as exc:
                            outcome.failed[name] = getattr(exc, "reason", None) or str(exc)
                        except GitlabError as exc:
                            outcome.failed[name] = describe(exc, name)
                        else:
                            meta = {**report.run.meta, "topics": list(listing.topics),
                                    "visibility": listing.visibility}
                            if record is not None:
                                record(report, meta)
                            outcome.scanned.append(report)
                            state.repos[name] = {"fingerprint": listing.fingerprint,
                                                 "scanned_at": report.run.started_at, "verdict": report.verdict}
                    done.add(name)
                    # the state file is rewritten at most every SAVE_EVERY seconds and after each page: an
                    # interruption redoes at most that much work (saving after every repository cost more than
                    # the scan itself on large unchanged organisations)
                    if time.monotonic() - saved >= SAVE_EVERY:
                        scan["done"] = sorted(done)
                        state.save()
                        saved = time.monotonic()
                    if progress is not None:
                        progress(name, count, page.total, page.rate_remaining)
                scan["done"] = sorted(done)
                state.save()
                saved = time.monotonic()
    except BaseException:
        # interrupted (Ctrl-C, a rate limit that cannot be waited out): drop the queued repositories and keep
        # what was done for --resume
        pool.shutdown(wait=False, cancel_futures=True)
        scan["done"] = sorted(done)
        state.save()
        raise
    scan["finished"] = True
    scan["cursor"] = None
    state.save()
    return outcome


def scan_project(client: GitLabClient, listing: gl.ProjectListing, today: dt.date | None = None,
                 tier: Tier | None = None) -> Report:
    """Check one GitLab project from the API with the rules of ``annexa check``."""
    name = listing.full_name
    ref = listing.default_branch
    reads: dict[str, gl.Read] = {}
    tree = gl.Listing([], set(), False)
    if ref and not listing.empty:
        tree = gl.read_tree(client, name, ref)
        listed = set(tree.paths)
        fixed = [p for p in gl.FIXED_FILES if p in listed]
        fixed += [p for p in tree.paths if p.startswith(gl.FIXED_PREFIXES) and p not in fixed]
        for path in fixed:
            got = gl.read_file(client, name, path, ref, gl.TEXT_LIMIT)
            if got is not None and got.complete:
                reads[path] = got
        config = _config({p: r.data for p, r in reads.items()})
        weights = config.path_class("weights")
        extra = [*config.path_class("policies"), *(f"{p}/**" for p in config.policies if p != "builtin"),
                 *(f"{d.rstrip('*').rstrip('/')}/README.md" for d in config.path_class("training_data"))]
        weight_reads = 0
        for path in tree.paths:
            if path in reads or path in tree.symlinks:
                continue
            base = path.rsplit("/", 1)[-1]
            if match_any(weights, path):
                weight_reads += 1
                if weight_reads > gl.WEIGHT_READS:
                    continue
                got = gl.read_file(client, name, path, ref, gl.HEAD_BYTES)
            elif base == ".gitattributes" or match_any(extra, path):
                got = gl.read_file(client, name, path, ref, gl.TEXT_LIMIT)
                got = got if got is not None and got.complete else None
            else:
                continue
            if got is not None:
                reads[path] = got
    api_tree = gl.GitLabTree(tree.paths, reads, tree.symlinks, tree.truncated)
    try:
        inputs = load_inputs(api_tree.root)
        listed_fields = {"secret_push_protection_enabled", "pre_receive_secret_detection_enabled"} & set(listing.raw)
        reader = cast(GitLabClient, _Listed(client, listing)) if listed_fields else client
        collector = GitLabSettingsCollector(reader, name)
        if tier is not None:
            collector.tier = tier
        read = collector.collect(branch_patterns(inputs))
        facts = Facts(platform="gitlab", checkout=api_tree, settings=read.settings,
                      settings_reason=read.reason or Facts.settings_reason,
                      pull_request_reason="an org scan checks projects, not merge requests")
        run = RunInfo(
            id=str(uuid.uuid4()), started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            platform="gitlab", repository=name, ref=f"refs/heads/{ref}" if ref else None, commit=None,
            pull_request=None, meta={"team": team_of(api_tree, "gitlab")},
        )
        return run_check(inputs, facts, run, today=today, overrides=OVERRIDES)
    finally:
        api_tree.close()


class _Listed:
    """The client, answering ``GET /projects/:id`` from the group listing when the listing has every field the
    settings collector reads (the push protection attribute too), so a project's settings cost one request less."""

    def __init__(self, client: GitLabClient, listing: gl.ProjectListing) -> None:
        self._client = client
        self._path = f"/projects/{quote(listing.full_name)}"
        self._project = listing.raw

    def get(self, path: str, params: Mapping[str, Any] | None = None, what: str | None = None) -> Any:
        if path == self._path and not params:
            return dict(self._project)
        return self._client.get(path, params, what)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def with_meta(report: Report, meta: Mapping[str, Any]) -> Report:
    """The report with the repository's listing facts (topics, visibility) as ``run.meta``."""
    return replace(report, run=replace(report.run, meta=dict(meta)))


