"""Rules of the workflows family: GitHub Actions workflows, composite actions and GitLab CI files."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from annexa.errors import UnreadableFile
from annexa.fixes import injection_fix
from annexa.model import Location, Result
from annexa.paths import match_any
from annexa.rules.base import RuleContext, RuleFn, failed, not_applicable, passed, unknown, unreadable
from annexa.scan.ci_yaml import (
    EXPRESSION_RE,
    SHA_RE,
    CiFile,
    CiKind,
    CiYamlError,
    Job,
    Step,
    action_steps,
    entry,
    env_values,
    expressions,
    get,
    is_ci_yaml,
    items,
    jobs,
    kind_by_name,
    line,
    read_ci_file,
    script_lines,
    seq,
    text,
    triggers,
    walk_scalars,
)

WORKFLOWS: tuple[CiKind, ...] = ("workflow",)
ALL_CI: tuple[CiKind, ...] = ("workflow", "action", "gitlab")

PRIVILEGED_TRIGGERS = ("pull_request_target", "workflow_run", "issue_comment")
"""Events whose workflows run with the base repository's secrets and a writable token, whoever triggers them."""

MAX_DEPTH = 3
"""How deep local reusable workflows and composite actions are followed."""

Check = Callable[[RuleContext, CiFile], "Outcome"]


@dataclass
class Outcome:
    """What a check found in one file: its problems, or the passing message and evidence."""

    good: str
    evidence: dict[str, Any] = field(default_factory=dict)
    problems: list[Result] = field(default_factory=list)


# --- shared driver -----------------------------------------------------------------------------------------------


def _load(ctx: RuleContext, path: str) -> CiFile | CiYamlError | UnreadableFile:
    checkout = ctx.checkout
    assert checkout is not None
    return ctx.memo(f"ci-yaml:{path}", lambda: read_ci_file(checkout, path))


def _each_file(ctx: RuleContext, kinds: Sequence[CiKind], what: str, check: Check) -> Iterator[Result]:
    """Run ``check`` on every CI file of the given kinds in scope; per-file pass, unknown or unreadable."""
    found = False
    for path in ctx.scoped_files("ci"):
        if not is_ci_yaml(path):
            continue
        loaded = _load(ctx, path)
        kind = loaded.kind if isinstance(loaded, CiFile) else kind_by_name(path)
        if kind is not None and kind not in kinds:
            continue
        found = True
        if isinstance(loaded, UnreadableFile):
            yield unreadable(loaded)
        elif isinstance(loaded, CiYamlError):
            where = f" (line {loaded.line})" if loaded.line else ""
            yield unknown(f"{path} is not valid YAML{where}: {loaded.problem}", "a CI file that parses as YAML",
                          Location(path, loaded.line), yaml_error=loaded.problem)
        else:
            outcome = check(ctx, loaded)
            yield from _unique_keys(outcome.problems)
            if not outcome.problems:
                yield passed(f"{path}: {outcome.good}", Location(path), **outcome.evidence)
    if not found:
        yield not_applicable(f"No {what} in the checkout")


def _unique_keys(problems: list[Result]) -> Iterator[Result]:
    """Number repeated keys (the same tag used twice in one job) so every finding keeps its own fingerprint."""
    seen: dict[tuple[str, str], int] = {}
    for result in problems:
        ident = (result.location.path if result.location else "", result.key)
        seen[ident] = seen.get(ident, 0) + 1
        yield result if seen[ident] == 1 else replace(result, key=f"{result.key}#{seen[ident]}")


# --- GitHub expressions ------------------------------------------------------------------------------------------

_QUOTED_INDEX = re.compile(r"\[\s*'([^']*)'\s*\]")
_ANY_INDEX = re.compile(r"\[[^\]]*\]")
_STRING = re.compile(r"'(?:[^']|'')*'")
_REFERENCE = re.compile(r"(?<![\w.-])(github|env|inputs|needs|steps|matrix)((?:\s*\.\s*[\w*-]+)*)")
_BOOLEAN = re.compile(r"==|!=|<=|>=|<|>|^\s*!|^\s*(?:contains|startsWith|endsWith)\s*\(", re.I)

UNTRUSTED_CONTEXTS = (
    "github.head_ref",
    "github.event.issue.title", "github.event.issue.body",
    "github.event.pull_request.title", "github.event.pull_request.body",
    "github.event.pull_request.head.ref", "github.event.pull_request.head.label",
    "github.event.pull_request.head.repo.default_branch",
    "github.event.comment.body", "github.event.review.body", "github.event.review_comment.body",
    "github.event.discussion.title", "github.event.discussion.body",
    "github.event.pages.*.page_name",
    "github.event.commits.*.message", "github.event.commits.*.author.email", "github.event.commits.*.author.name",
    "github.event.commits.*.committer.email", "github.event.commits.*.committer.name",
    "github.event.head_commit.message", "github.event.head_commit.author.email", "github.event.head_commit.author.name",
    "github.event.head_commit.committer.email", "github.event.head_commit.committer.name",
    "github.event.workflow_run.head_branch", "github.event.workflow_run.display_title",
    "github.event.workflow_run.head_commit.message", "github.event.workflow_run.head_commit.author.email",
    "github.event.workflow_run.head_commit.author.name", "github.event.workflow_run.pull_requests.*.head.ref",
    "github.event.merge_group.head_commit.message", "github.event.merge_group.head_commit.author.email",
    "github.event.merge_group.head_commit.author.name",
)  # fmt: skip
"""Expression contexts whose text an outside contributor chooses (GitHub's security hardening guide)."""

PR_HEAD_CONTEXTS = (
    "github.head_ref",
    "github.event.pull_request.head.sha", "github.event.pull_request.head.ref",
    "github.event.pull_request.merge_commit_sha", "github.event.pull_request.head.repo.full_name",
    "github.event.pull_request.head.repo.clone_url", "github.event.pull_request.head.repo.html_url",
    "github.event.workflow_run.head_sha", "github.event.workflow_run.head_branch",
    "github.event.pull_request.head.repo.ssh_url", "github.event.pull_request.head.repo.git_url",
    "github.event.workflow_run.head_repository.full_name", "github.event.workflow_run.head_repository.clone_url",
    "github.event.workflow_run.head_repository.ssh_url", "github.event.workflow_run.head_repository.git_url",
    "github.event.workflow_run.head_repository.html_url", "github.event.workflow_run.head_commit.id",
    "github.event.workflow_run.pull_requests.*.head.sha", "github.event.workflow_run.pull_requests.*.head.ref",
)  # fmt: skip
"""Expression contexts that name the pull request's own commit, branch or fork."""


def _references(body: str) -> list[str]:
    """The ``github.*``, ``env.*`` and ``inputs.*`` references of an expression body, as dotted paths."""
    body = _QUOTED_INDEX.sub(r".\1", body)
    body = _ANY_INDEX.sub(".*", body)
    body = _STRING.sub("''", body)
    return [m.group(1) + re.sub(r"\s+", "", m.group(2)) for m in _REFERENCE.finditer(body)]


def _split_top(body: str, operator: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(body):
        c = body[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and body.startswith(operator, i):
            parts.append(body[start:i])
            start = i + len(operator)
            i += len(operator)
            continue
        i += 1
    parts.append(body[start:])
    return parts


def _strip_parens(operand: str) -> str:
    """Drop parentheses that enclose the whole operand (one pass: linear however many layers there are)."""
    operand = operand.strip()
    partner: dict[int, int] = {}
    opened: list[int] = []
    for i, c in enumerate(operand):
        if c == "(":
            opened.append(i)
        elif c == ")" and opened:
            partner[opened.pop()] = i
    start, end = 0, len(operand) - 1
    while start < end and operand[start] == "(" and partner.get(start) == end:
        start, end = start + 1, end - 1
        while start <= end and operand[start].isspace():
            start += 1
        while end >= start and operand[end].isspace():
            end -= 1
    return operand[start : end + 1]


class Unreducible(Exception):
    """An expression nested too deeply to follow."""


MAX_NESTING = 32


def _value_operands(body: str, depth: int = 0) -> list[str]:
    """The parts of an expression whose value can become its result (booleans and guard conditions dropped)."""
    if depth > MAX_NESTING:
        raise Unreducible(body[:80])
    body = _STRING.sub("''", _ANY_INDEX.sub(".*", _QUOTED_INDEX.sub(r".\1", body)))
    values: list[str] = []
    for alternative in _split_top(body, "||"):
        last = _strip_parens(_split_top(alternative, "&&")[-1])
        if last.lstrip().startswith("!"):
            continue  # a negation is a boolean, never the text of an operand
        if ("||" in last or "&&" in last) and last.strip() != body.strip():
            values.extend(_value_operands(last, depth + 1))
        elif not _BOOLEAN.search(last):
            values.append(last)
    return values


def _matches(ref: str, pattern: str, prefix: bool) -> bool:
    """``ref`` names ``pattern`` (``*`` matches any segment); with ``prefix`` also an object that contains it."""
    have, want = ref.split("."), pattern.split(".")
    if len(have) > len(want) or (len(have) < len(want) and not prefix):
        return False
    return all(h == w or "*" in (h, w) for h, w in zip(have, want, strict=False))


def _untrusted_refs(body: str, patterns: Sequence[str], env_taint: set[str]) -> list[str]:
    """References in an expression body whose attacker-chosen text becomes the expression's value."""
    found: list[str] = []
    for operand in _value_operands(body):
        for ref in _references(operand):
            tainted_env = ref.startswith("env.") and ref[4:] in env_taint
            if tainted_env or (ref.startswith("github") and any(_matches(ref, p, prefix=True) for p in patterns)):
                found.append(ref)
    return found


def _pr_head_refs(value: str, inputs: set[str], env_taint: set[str]) -> list[str]:
    """What in a value names the pull request's code: a PR-head context, a tainted input or env, ``refs/pull/``."""
    found = [f"literal {m.group(0)}" for m in re.finditer(r"(?:refs/)?\bpull/(?:\$\{\{.*?\}\}|[^\s'\"])*", value)]
    for body in EXPRESSION_RE.findall(value):
        for ref in _references(body):
            if (
                (ref.startswith("inputs.") and ref[7:] in inputs)
                or (ref.startswith("env.") and ref[4:] in env_taint)
                or any(_matches(ref, p, prefix=False) for p in PR_HEAD_CONTEXTS)
            ):
                found.append(ref)
    return found


def _unfollowed(value: str) -> list[str]:
    """References to job or step outputs and matrix values in a value: where they come from is not followed."""
    return [
        ref for body in EXPRESSION_RE.findall(value) for ref in _references(body)
        if ref.startswith(("needs.", "steps.", "matrix."))
    ]


def _evidence_text(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= 200 else value[:197] + "..."


# --- workflow-permissions-scoped ---------------------------------------------------------------------------------


def _permission_levels(ci: CiFile, key: yaml.Node, value: yaml.Node, scope: str) -> tuple[Any, list[Result]]:
    """Summarise one ``permissions:`` value and the problems it has (``write-all``, writes for every job)."""
    problems: list[Result] = []
    where = "the whole workflow" if scope == "(workflow)" else f"job {scope}"
    if isinstance(value, yaml.ScalarNode):
        level = str(value.value)
        if level == "write-all":
            problems.append(failed(f"{where} grants `permissions: write-all` to the GITHUB_TOKEN",
                                   Location(ci.path, line(key)), key=f"write-all:{scope}", job=scope))
        elif level not in ("read-all", ""):
            problems.append(failed(f"{where} sets an unrecognised `permissions: {level}`",
                                   Location(ci.path, line(key)), key=f"invalid:{scope}", job=scope, value=level))
        return level or {}, problems
    levels: dict[str, str] = {}
    for k, v in items(value):
        name, level = str(k.value), text(v) or ""
        levels[name] = level
        if level == "write" and scope == "(workflow)":
            problems.append(failed(
                f"the workflow grants `{name}: write` to every job; grant it only to the job that needs it",
                Location(ci.path, line(k)), key=f"top-level-write:{name}", scope=name,
            ))
    return levels, problems


def _check_permissions(ctx: RuleContext, ci: CiFile) -> Outcome:
    top = entry(ci.root, "permissions")
    problems: list[Result] = []
    top_levels: Any = None
    if top is not None:
        top_levels, found = _permission_levels(ci, top[0], top[1], "(workflow)")
        problems += found
    job_writes: dict[str, list[str]] = {}
    for job in jobs(ci):
        own = entry(job.node, "permissions")
        if own is None:
            if top is None:
                problems.append(failed(
                    f"job {job.id} runs with the repository's default token permissions: "
                    "neither the workflow nor the job sets `permissions:`",
                    Location(ci.path, job.line), key=f"missing:{job.id}", job=job.id,
                ))
            continue
        levels, found = _permission_levels(ci, own[0], own[1], job.id)
        problems += found
        writes = sorted(k for k, v in levels.items() if v == "write") if isinstance(levels, dict) else []
        if writes:
            job_writes[job.id] = writes
    return Outcome("the GITHUB_TOKEN permissions are set explicitly and writes are limited to jobs",
                   {"workflow_permissions": top_levels, "job_writes": job_writes}, problems)


def check_workflow_permissions_scoped(ctx: RuleContext) -> Iterable[Result]:
    """Every workflow sets token permissions (top level or per job), never ``write-all``, writes per job only."""
    return _each_file(ctx, WORKFLOWS, "GitHub Actions workflows", _check_permissions)


# --- actions-pinned ----------------------------------------------------------------------------------------------

_DIGEST = re.compile(r"@sha256:[0-9a-fA-F]{64}$")
_SEMVER = re.compile(r"\d+\.\d+\.\d+")


def _uses_problem(ref: str, allow: Sequence[str]) -> tuple[str, str | None]:
    """How a ``uses:`` reference is pinned: (kind, problem or ``None``)."""
    if ref.startswith("./"):
        return "local", None
    if ref.startswith("docker://"):
        if _DIGEST.search(ref):
            return "digest", None
        return "docker", "a Docker image by tag, not by `@sha256:` digest"
    if "${{" in ref:
        return "expression", "built from an expression, so what runs cannot be known"
    name, sep, version = ref.rpartition("@")
    if not sep:
        return "unversioned", "without any version"
    if SHA_RE.fullmatch(version):
        return "sha", None
    if match_any(tuple(allow), name):
        return "allowed", None
    return "tag", f"at `{version}`, a tag or branch that can be moved to other code"


def _pin_github(ci: CiFile, allow: Sequence[str]) -> tuple[list[Result], dict[str, int]]:
    counts: dict[str, int] = {}
    problems: list[Result] = []
    refs: list[tuple[str, str, yaml.Node, str]] = []
    if ci.kind == "workflow":
        for job in jobs(ci):
            called = get(job.node, "uses")
            if text(called) is not None and called is not None:
                refs.append((job.id, f"job {job.id}", called, "reusable workflow"))
            refs += [(job.id, f"job {job.id}, {s.label}", n, "action")
                     for s in job.steps if (n := get(s.node, "uses")) and text(n) is not None]
    else:
        refs += [("", s.label, n, "action")
                 for s in action_steps(ci) if (n := get(s.node, "uses")) and text(n) is not None]
        image = get(get(ci.root, "runs"), "image")
        if (text(image) or "").startswith("docker://") and image is not None:
            refs.append(("", "runs.image", image, "image"))
    for owner, where, node, what in refs:
        ref = (text(node) or "").strip()
        kind, problem = _uses_problem(ref, allow)
        counts[kind] = counts.get(kind, 0) + 1
        if problem:
            problems.append(failed(f"{where} uses the {what} `{ref}` {problem}; pin a full commit SHA",
                                   Location(ci.path, line(node)), key=f"uses:{owner}:{ref}", uses=ref, pinning=kind))
    return problems, counts


def _gitlab_includes(ci: CiFile) -> Iterator[yaml.Node]:
    """Every include entry: top-level ``include:`` and child pipelines' ``trigger: include:``."""
    holders = [ci.root, *(get(v, "trigger") for _, v in items(ci.root))]
    for holder in holders:
        node = get(holder, "include")
        if node is None:
            continue
        yield from seq(node) if isinstance(node, yaml.SequenceNode) else [node]


def _include_problem(node: yaml.Node, component_releases: bool) -> tuple[str, yaml.Node, str | None, str]:
    """How one GitLab include is pinned: (kind, node to point at, problem or ``None``, what it names)."""
    if isinstance(node, yaml.ScalarNode):
        value = str(node.value)
        if value.startswith(("http://", "https://")):
            return "remote", node, "is a remote URL whose content can change at any time", value
        return "local", node, None, value
    remote, project, component = get(node, "remote"), get(node, "project"), get(node, "component")
    if remote is not None:
        integrity = text(get(node, "integrity")) or ""
        if integrity.startswith("sha256-"):
            return "integrity", remote, None, text(remote) or ""
        return "remote", remote, "is a remote URL without an `integrity:` hash", text(remote) or ""
    if project is not None:
        ref_node = get(node, "ref")
        ref = text(ref_node)
        name = text(project) or ""
        files = " ".join(s.value for s in walk_scalars(get(node, "file")))
        named = f"{name} {files}".strip()
        if ref is None or ref_node is None:
            return "project", project, "has no `ref:`, so it follows the default branch", named
        if SHA_RE.fullmatch(ref.strip()):
            return "sha", ref_node, None, named
        return "project", ref_node, f"is at `ref: {ref}`, a branch or tag that can be moved", named
    if component is not None:
        name = text(component) or ""
        _, _, version = name.rpartition("@")
        if SHA_RE.fullmatch(version) or (component_releases and _SEMVER.fullmatch(version)):
            return "sha" if SHA_RE.fullmatch(version) else "release", component, None, name
        detail = f"is at `{version}`, not a commit SHA" if "@" in name else "has no version"
        return "component", component, detail, name
    return "local", node, None, text(get(node, "local")) or text(get(node, "template")) or ""


def _pin_gitlab(ci: CiFile, component_releases: bool) -> tuple[list[Result], dict[str, int]]:
    counts: dict[str, int] = {}
    problems: list[Result] = []
    for node in _gitlab_includes(ci):
        kind, where, problem, name = _include_problem(node, component_releases)
        counts[kind] = counts.get(kind, 0) + 1
        if problem:
            problems.append(failed(f"`include:` of {kind} `{name}` {problem}; pin it to a full commit SHA",
                                   Location(ci.path, line(where)), key=f"include:{name}",
                                   include=name, pinning=kind))
    return problems, counts


def _check_pinned(ctx: RuleContext, ci: CiFile) -> Outcome:
    if ci.kind == "gitlab":
        problems, counts = _pin_gitlab(ci, bool(ctx.params.get("component_releases_pinned")))
    else:
        problems, counts = _pin_github(ci, list(ctx.params.get("allow") or []))
    return Outcome("every action, reusable workflow and include is pinned to an immutable version",
                   {"references": counts}, problems)


def check_actions_pinned(ctx: RuleContext) -> Iterable[Result]:
    """Actions, reusable workflows, Docker images and GitLab includes are pinned to a commit SHA or digest."""
    return _each_file(ctx, ALL_CI, "CI files", _check_pinned)


# --- untrusted-checkout-blocked ----------------------------------------------------------------------------------

_SAME_REPO = re.compile(
    r"head\.repo\.full_name\s*==\s*github\.repository\b|github\.repository\s*==\s*github\.event\.\S*head\.repo\.full_name"
    r"|head_repository\.full_name\s*==\s*github\.repository\b|github\.repository\s*==\s*\S*head_repository\.full_name"
    r"|head(?:\.repo|_repository)\.fork\s*==\s*false|!\s*github\.event\.\S*head(?:\.repo|_repository)\.fork\b"
)
_MAINTAINER = re.compile(r"author_association|\.labels\b|event\.label\.|github\.(?:triggering_)?actor\b")
_FETCH_PR = re.compile(r"\b(?:gh|hub)\s+pr\s+checkout\b")
_GIT = re.compile(
    r"\bgit\b[^;&|\n]*?\b(?:fetch|checkout|switch|pull|clone|reset|worktree|merge|rebase|cherry-pick|am)\b"
)
"""A git command that brings commits into the working tree."""
_SHELL_VAR = re.compile(r"\$\{?([A-Za-z_]\w*)")


def _inside(path: str) -> str | None:
    """A ``./`` reference as a checkout path; ``None`` when it would leave the checkout."""
    parts = path.split("/")
    return None if path.startswith("/") or ".." in parts else path


_NEGATE_AFTER = re.compile(r"\s*(?:==\s*false\b|!=\s*true\b)", re.I)
_KEEP_AFTER = re.compile(r"\s*(?:==\s*true\b|!=\s*false\b)", re.I)
_NEGATE_BEFORE = re.compile(r"(?:\bfalse\s*==|\btrue\s*!=)\s*$", re.I)


def _negated(cond: str, start: int, end: int) -> bool:
    """Whether the comparison at ``cond[start:end]`` is inverted by the operators around it and around each
    parenthesised group enclosing it (``!``, ``== false``, ``!= true``): an odd count means it is negated."""
    spans = [(start, end)]
    stack: list[int] = []
    for i, c in enumerate(cond):
        if c == "(":
            stack.append(i)
        elif c == ")" and stack:
            opened = stack.pop()
            if opened < start and i >= end:
                spans.append((opened, i + 1))
    spans.sort(key=lambda span: span[1] - span[0])
    flips = 0
    for left, right in spans:
        before, after = cond[:left], cond[right:]
        if before.rstrip().endswith("!") or _NEGATE_BEFORE.search(before):
            flips += 1
        if _NEGATE_AFTER.match(after):
            flips += 1
        elif not _KEEP_AFTER.match(after) and re.match(r"\s*(?:==|!=)", after):
            return True  # compared with something else: not a plain guard
    return flips % 2 == 1


def _guard(conditions: Sequence[str | None]) -> tuple[str, str] | None:
    """The strongest guard among ``if:`` conditions: same-repository (forks excluded) or maintainer-only.
    A negated or inverted comparison (``!(a == b)``, ``(a == b) == false``) is no guard."""
    best: tuple[str, str] | None = None
    for cond in conditions:
        if not cond or "||" in cond:
            continue
        body = cond.strip()
        if body.startswith("${{") and body.endswith("}}"):
            body = body[3:-2]
        same = [m for m in _SAME_REPO.finditer(body) if not _negated(body, m.start(), m.end())]
        if same:
            return "same-repository", _evidence_text(cond)
        if _MAINTAINER.search(body):
            best = best or ("maintainer", _evidence_text(cond))
    return best


@dataclass(frozen=True)
class _Context:
    """Where a scan of steps stands: the privileged triggers, tainted inputs, enclosing ``if:``s, the caller."""

    triggers: tuple[str, ...]
    inputs: frozenset[str] = frozenset()
    conditions: tuple[str | None, ...] = ()
    via: str | None = None
    depth: int = 0


class _Untrusted:
    """Follows a privileged workflow through its jobs, local reusable workflows and local composite actions."""

    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx
        self.problems: list[Result] = []
        self.guarded: list[dict[str, str]] = []
        self.accept_maintainer = bool(ctx.params.get("accept_maintainer_guard"))

    def report(self, ci: CiFile, where: int, key: str, message: str, state: _Context, **evidence: Any) -> None:
        guard = _guard(state.conditions)
        detail: dict[str, Any] = {"triggers": list(state.triggers), **evidence}
        if state.via:
            detail["via"] = state.via
        if guard and (guard[0] == "same-repository" or self.accept_maintainer):
            self.guarded.append({"location": f"{ci.path}:{where}", "guard": guard[0], "condition": guard[1]})
            return
        if guard:
            detail["guard"] = {"kind": guard[0], "condition": guard[1]}
            message += f"; its `if:` only limits who triggers it ({guard[1]}), not which code runs"
        key = f"{state.via or ''}|{key}"
        if evidence.get("needs"):
            self.problems.append(unknown(message, str(detail.pop("needs")), Location(ci.path, where), **detail))
        else:
            self.problems.append(failed(message, Location(ci.path, where), key=key, **detail))

    def workflow(self, ci: CiFile, state: _Context) -> None:
        for job in jobs(ci):
            inner = _Context(state.triggers, state.inputs, (*state.conditions, text(get(job.node, "if"))),
                             state.via, state.depth)
            called = get(job.node, "uses")
            if called is not None and text(called) is not None:
                self.called_workflow(ci, job.id, job.node, called, inner)
            else:
                self.steps(ci, job.id, job.steps, (ci.root, job.node), inner)

    def called_workflow(self, ci: CiFile, job: str, call: yaml.Node, node: yaml.Node, state: _Context) -> None:
        ref = (text(node) or "").strip()
        if not ref.startswith("./"):
            self.report(ci, line(node), f"call:{job}:{ref}",
                        f"job {job} calls `{ref}` from another repository in a privileged workflow; "
                        "whether it checks out the pull request's code cannot be read offline",
                        state, job=job, uses=ref, needs=f"the source of {ref.rpartition('@')[0] or ref}")
            return
        if state.depth >= MAX_DEPTH:
            return
        path = _inside(ref[2:].split("@", 1)[0])
        checkout = self.ctx.checkout
        target = _load(self.ctx, path) if path and checkout is not None and checkout.exists(path) else None
        if not isinstance(target, CiFile):
            self.report(ci, line(node), f"call:{job}:{ref}",
                        f"job {job} calls the local workflow `{ref}`, which could not be read", state,
                        job=job, uses=ref, needs=f"a readable {path or ref}")
            return
        tainted = frozenset(
            str(k.value) for k, v in items(get(call, "with")) if _pr_head_refs(text(v) or "", set(state.inputs), set())
        )
        self.workflow(target, _Context(state.triggers, tainted, state.conditions,
                                       state.via or f"{ci.path}:{line(node)}", state.depth + 1))

    def steps(self, ci: CiFile, job: str, steps: list[Step], scopes: tuple[yaml.Node | None, ...],
              state: _Context) -> None:
        for step in steps:
            env = env_values(*scopes, step.node)
            env_taint = {k for k, v in env.items() if _pr_head_refs(v, set(state.inputs), set())}
            inner = _Context(state.triggers, state.inputs, (*state.conditions, text(get(step.node, "if"))),
                             state.via, state.depth)
            self.step(ci, job, step, env_taint, inner)

    def step(self, ci: CiFile, job: str, step: Step, env_taint: set[str], state: _Context) -> None:
        uses = step.uses or ""
        inputs = set(state.inputs)
        where = f"job {job}, {step.label}"
        if uses.split("@", 1)[0].lower() == "actions/checkout":
            for name in ("ref", "repository"):
                found = entry(get(step.node, "with"), name)
                value = (text(found[1]) if found else None) or ""
                refs = _pr_head_refs(value, inputs, env_taint)
                if refs and found:
                    self.report(ci, line(found[0]), f"checkout:{job}:{step.label}:{name}",
                                f"{where} checks out the pull request's code (`{name}: {value.strip()}`) in a "
                                f"workflow run by {', '.join(state.triggers)}", state,
                                job=job, step=step.label, checkout=f"{name}: {_evidence_text(value)}", names=refs)
                    return
                hidden = _unfollowed(value)
                if hidden and found:
                    self.report(ci, line(found[0]), f"checkout:{job}:{step.label}:{name}",
                                f"{where} checks out `{name}: {value.strip()}`, a value computed elsewhere "
                                "(a job or step output, a matrix) that annexa cannot follow", state,
                                job=job, step=step.label, checkout=f"{name}: {_evidence_text(value)}",
                                needs=f"where {hidden[0]} comes from (set the ref from a trusted context)")
                    return
        elif uses and not uses.startswith(("./", "docker://")):
            passed_in = [
                str(k.value) for k, v in items(get(step.node, "with"))
                if _pr_head_refs(text(v) or "", inputs, env_taint)
            ]
            if passed_in or "checkout" in uses.split("@", 1)[0].lower():
                source = uses.rpartition("@")[0] or uses
                what = f"is given the pull request's head ({', '.join(passed_in)})" if passed_in else \
                    "looks like a checkout action"
                self.report(ci, step.line, f"action:{job}:{step.label}:{uses}",
                            f"{where} uses the remote action `{uses}`, which {what}, in a privileged workflow; "
                            "whether it fetches the pull request's code cannot be read offline", state,
                            job=job, step=step.label, uses=uses, needs=f"the source of {source}")
                return
        run = entry(step.node, "run")
        if run is not None:
            for command, number in script_lines(ci, run[1], line(run[0])):
                refs = _pr_head_refs(command, inputs, env_taint)
                refs += [f"${v}" for v in _SHELL_VAR.findall(command) if v in env_taint]
                if _FETCH_PR.search(command) or (_GIT.search(command) and refs):
                    self.report(ci, number, f"run:{job}:{step.label}:{command.strip()}",
                                f"{where} fetches the pull request's code (`{_evidence_text(command)}`) in a "
                                f"workflow run by {', '.join(state.triggers)}", state,
                                job=job, step=step.label, command=_evidence_text(command), names=refs)
                    return
        if uses.startswith("./") and state.depth < MAX_DEPTH:
            self.local_action(ci, step, env_taint, state)

    def local_action(self, ci: CiFile, step: Step, env_taint: set[str], state: _Context) -> None:
        folder = (step.uses or "")[2:].strip("/")
        candidates = [_inside(f"{folder}/{name}" if folder else name) for name in ("action.yml", "action.yaml")]
        path = next((c for c in candidates if c and self.ctx.checkout and self.ctx.checkout.exists(c)), None)
        target = _load(self.ctx, path) if path else None
        if not isinstance(target, CiFile):
            return
        tainted = frozenset(
            str(k.value) for k, v in items(get(step.node, "with"))
            if _pr_head_refs(text(v) or "", set(state.inputs), env_taint)
        )
        inner = _Context(state.triggers, tainted, state.conditions, state.via or f"{ci.path}:{step.line}",
                         state.depth + 1)
        self.steps(target, step.label, action_steps(target), (), inner)


def _check_untrusted(ctx: RuleContext, ci: CiFile) -> Outcome:
    on = triggers(ci)
    privileged = tuple(t for t in on if t in PRIVILEGED_TRIGGERS)
    if not privileged:
        return Outcome("no privileged trigger (pull_request_target, workflow_run, issue_comment)",
                       {"triggers": sorted(on)})
    scan = _Untrusted(ctx)
    scan.workflow(ci, _Context(privileged))
    evidence: dict[str, Any] = {"triggers": list(privileged)}
    if scan.guarded:
        evidence["guarded"] = scan.guarded
    good = "privileged workflow that never checks out or runs the pull request's code"
    if scan.guarded:
        good = "privileged workflow that checks out pull request code only behind a guard"
    return Outcome(good, evidence, scan.problems)


def check_untrusted_checkout_blocked(ctx: RuleContext) -> Iterable[Result]:
    """Privileged workflows never check out or fetch the pull request's code."""
    return _each_file(ctx, WORKFLOWS, "GitHub Actions workflows", _check_untrusted)


# --- script-injection-blocked ------------------------------------------------------------------------------------

UNTRUSTED_GITLAB_VARIABLES = (
    "CI_MERGE_REQUEST_TITLE", "CI_MERGE_REQUEST_DESCRIPTION", "CI_COMMIT_MESSAGE", "CI_COMMIT_TITLE",
    "CI_COMMIT_DESCRIPTION", "CI_COMMIT_TAG_MESSAGE", "CI_COMMIT_AUTHOR", "CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME",
)  # fmt: skip
"""GitLab predefined variables whose text the author of a commit, branch or merge request chooses."""

_SECOND_EVAL = re.compile(r"\beval\b|\b(?:ba|da|k|z)?sh\s+(?:-[a-zA-Z]+\s+)*-[a-zA-Z]*c\b")
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+|local\s+|readonly\s+)?([A-Za-z_]\w*)=(.*)$")
_GITLAB_SCRIPTS = ("before_script", "script", "after_script")


_WRITES_OUTPUT = re.compile(r"GITHUB_OUTPUT|::set-output|core\.setOutput|core\.exportVariable|GITHUB_ENV")
_ENV_WRITE = re.compile(r"\b([A-Za-z_]\w*)=.*>>\s*\"?\$\{?GITHUB_ENV")


class _Flow:
    """Follows values between steps and jobs: step outputs, job outputs, ``matrix`` and ``$GITHUB_ENV``.
    Each is ``tainted`` (untrusted text flows into it), ``unknown`` (the flow cannot be followed: an action's
    output, a computed matrix) or clean."""

    def __init__(self, ci: CiFile, patterns: Sequence[str]) -> None:
        self.ci = ci
        self.patterns = patterns
        self.jobs = {j.id: j for j in jobs(ci)} if ci.kind == "workflow" else {}
        self._steps: dict[str, dict[str, str]] = {}

    def _text_taint(self, value: str, env_taint: set[str], steps: Mapping[str, str], job: Job | None) -> str:
        worst = "clean"
        for body in EXPRESSION_RE.findall(value):
            for kind in self.kinds(body, env_taint, steps, job).values():
                worst = kind if kind == "tainted" else (kind if worst == "clean" else worst)
        if any(v in env_taint for v in _SHELL_VAR.findall(value)):
            worst = "tainted"
        return worst

    def step_outputs(self, job: Job | None, steps: list[Step], scopes: tuple[yaml.Node | None, ...]) -> dict[str, str]:
        """For each step id, whether what it writes to its outputs carries untrusted text."""
        key = job.id if job else ""
        if key in self._steps:
            return self._steps[key]
        found: dict[str, str] = {}
        self._steps[key] = found
        for step in steps:
            ident = text(get(step.node, "id"))
            if not ident:
                continue
            env = env_values(*scopes, step.node)
            env_taint = {k for k, v in env.items() if self._text_taint(v, set(), found, job) == "tainted"}
            run = text(get(step.node, "run"))
            script = text(get(get(step.node, "with"), "script"))
            scripted = (step.uses or "").startswith("actions/github-script@")
            body = run if run is not None else script if scripted else None
            if body is None:
                action = (step.uses or "").split("@", 1)[0].lower()
                found[ident] = "unknown" if step.uses and not action.startswith(_PLAIN_OUTPUTS) else "clean"
            elif _WRITES_OUTPUT.search(body):
                found[ident] = self._text_taint(body, env_taint, found, job)
            else:
                found[ident] = "clean"
        return found

    def kinds(self, body: str, env_taint: set[str], steps: Mapping[str, str], job: Job | None) -> dict[str, str]:
        """The references of a value operand that carry untrusted text, and how (tainted or unknown)."""
        found: dict[str, str] = {}
        for operand in _value_operands(body):
            for ref in _references(operand):
                parts = ref.split(".")
                untrusted = ref.startswith("github") and any(_matches(ref, p, prefix=True) for p in self.patterns)
                if untrusted or (ref.startswith("env.") and ref[4:] in env_taint):
                    found[ref] = "tainted"
                elif parts[0] == "steps" and len(parts) >= 3 and parts[2] == "outputs":
                    kind = steps.get(parts[1], "unknown")
                    if kind != "clean":
                        found[ref] = kind
                elif parts[0] == "needs" and len(parts) >= 4 and parts[2] == "outputs":
                    kind = self.job_output(parts[1], parts[3])
                    if kind != "clean":
                        found[ref] = kind
                elif parts[0] == "matrix" and job is not None:
                    matrix = get(get(job.node, "strategy"), "matrix")
                    values = [str(n.value) for n in walk_scalars(matrix)] if matrix is not None else []
                    taints = [self._text_taint(v, set(), {}, None) for v in values if "${{" in v]
                    kind = max(taints, key=_RANK.index, default="clean")
                    if kind != "clean":
                        found[ref] = kind
        return found

    def job_output(self, job_id: str, name: str) -> str:
        job = self.jobs.get(job_id)
        if job is None:
            return "unknown"
        value = text(get(get(job.node, "outputs"), name))
        if value is None:
            return "clean"
        steps = self.step_outputs(job, job.steps, (self.ci.root, job.node))
        return self._text_taint(value, set(), steps, job)


_RANK = ("clean", "unknown", "tainted")
_PLAIN_OUTPUTS = ("actions/cache", "actions/setup-", "actions/checkout", "actions/upload-artifact",
                  "actions/download-artifact", "docker/build-push-action", "docker/setup-")
"""Actions whose outputs are cache hits, versions, paths and digests, not text anyone outside chooses."""


def _injection_github(ci: CiFile, patterns: Sequence[str]) -> list[Result]:
    problems: list[Result] = []
    flow = _Flow(ci, patterns)
    groups: list[tuple[Job | None, str, list[Step], tuple[yaml.Node | None, ...]]]
    if ci.kind == "workflow":
        groups = [(j, j.id, j.steps, (ci.root, j.node)) for j in jobs(ci)]
    else:
        groups = [(None, "", action_steps(ci), ())]
    for job, owner, steps, scopes in groups:
        written: set[str] = set()
        for step in steps:
            where = f"job {owner}, {step.label}" if owner else step.label
            try:
                problems.extend(_inject_step(ci, flow, job, owner, step, scopes, written, where))
            except (Unreducible, RecursionError):
                problems.append(unknown(
                    f"{where}: an expression is nested too deeply to follow", "an expression annexa can reduce",
                    Location(ci.path, step.line), job=owner, step=step.label))
    return problems


def _inject_step(ci: CiFile, flow: _Flow, job: Job | None, owner: str, step: Step,
                 scopes: tuple[yaml.Node | None, ...], written: set[str], where: str) -> list[Result]:
    problems: list[Result] = []
    outputs = flow.step_outputs(job, job.steps if job else action_steps(ci), scopes)
    env = env_values(*scopes, step.node)
    env_taint = set(written) | {k for k, v in env.items() if flow._text_taint(v, set(), outputs, job) == "tainted"}
    sinks: list[tuple[str, tuple[yaml.Node, yaml.Node]]] = []
    run = entry(step.node, "run")
    if run is not None:
        sinks.append(("run", run))
        for command, _ in script_lines(ci, run[1], line(run[0])):
            target = _ENV_WRITE.search(command)
            if target and flow._text_taint(command, env_taint, outputs, job) == "tainted":
                written.add(target.group(1))
    script = entry(get(step.node, "with"), "script")
    if script is not None and (step.uses or "").lower().startswith("actions/github-script@"):
        sinks.append(("github-script", script))
    for sink, (key, value) in sinks:
        for body, number in expressions(ci, value, line(key)):
            kinds = flow.kinds(body, env_taint, outputs, job)
            if not kinds:
                continue
            expr = "${{ " + body.strip() + " }}"
            evidence: dict[str, Any] = {"job": owner} if owner else {}
            refs = [r for r, k in kinds.items() if k == "tainted"]
            if not refs:
                problems.append(unknown(
                    f"{where} expands `{expr}` inside `{sink}`, whose value comes from where annexa cannot "
                    "follow (an action's output or a computed matrix)",
                    "a value whose source can be read (pass it through `env:` to be safe)",
                    Location(ci.path, number), **evidence, step=step.label, sink=sink,
                    expression=_evidence_text(expr), contexts=sorted(kinds)))
                continue
            problems.append(failed(
                f"{where} expands `{expr}` inside `{sink}`: the text is pasted into the script before it "
                "runs; pass it through `env:` and use the variable instead",
                Location(ci.path, number), key=f"{owner}:{step.label}:{expr}", fix=injection_fix(body, sink),
                **evidence, step=step.label, sink=sink, expression=_evidence_text(expr), contexts=refs,
            ))
    return problems


def _variable_text(node: yaml.Node) -> str:
    return text(node) or text(get(node, "value")) or ""


def _aliases(scope: yaml.Node | None, tainted: set[str]) -> set[str]:
    """Names of ``variables:`` in a scope whose value expands a tainted variable (followed to a fixpoint)."""
    found = set(tainted)
    pairs = [(str(k.value), _variable_text(v)) for k, v in items(get(scope, "variables"))]
    changed = True
    while changed:
        changed = False
        for name, value in pairs:
            if name not in found and any(v in found for v in _SHELL_VAR.findall(value)):
                found.add(name)
                changed = True
    return found


def _expanded_in_second_eval(command: str, tainted: set[str]) -> list[str]:
    """Tainted variables that the outer shell expands inside text that ``eval``/``sh -c`` parses again."""
    sink = _SECOND_EVAL.search(command)
    if not sink:
        return []
    found: list[str] = []
    rest = command[sink.end():]
    quote: str | None = None
    i = 0
    while i < len(rest):
        c = rest[i]
        if quote == "'":
            quote = None if c == "'" else quote
        elif c == "\\":
            i += 2
            continue
        elif c in "'\"" and quote is None:
            quote = c
        elif c == '"' and quote == '"':
            quote = None
        elif c == "$":
            match = _SHELL_VAR.match(rest, i)
            if match and match.group(1) in tainted:
                found.append(match.group(1))
        i += 1
    return found


def _script_nodes(node: yaml.Node | None) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.ScalarNode):
        yield node
    for item in seq(node):
        yield from _script_nodes(item)


def _injection_gitlab(ci: CiFile, variables: Sequence[str]) -> list[Result]:
    problems: list[Result] = []
    global_taint = _aliases(ci.root, set(variables))
    for key, job in items(ci.root):
        name = str(key.value)
        if not isinstance(job, yaml.MappingNode) and name not in _GITLAB_SCRIPTS:
            continue
        scripts = [(name, job)] if name in _GITLAB_SCRIPTS else [
            (k, n) for k in _GITLAB_SCRIPTS if (n := get(job, k)) is not None]
        if not scripts:
            continue
        tainted = global_taint if name in _GITLAB_SCRIPTS else _aliases(job, global_taint)
        for section, node in scripts:
            for item in _script_nodes(node):
                for command, number in script_lines(ci, item, line(item)):
                    assigned = _ASSIGNMENT.match(command)
                    if assigned and any(v in tainted for v in _SHELL_VAR.findall(assigned.group(2))):
                        tainted = tainted | {assigned.group(1)}
                    hits = _expanded_in_second_eval(command, tainted)
                    if hits:
                        problems.append(failed(
                            f"job {name} {section}: `{_evidence_text(command)}` makes the shell parse "
                            f"${hits[0]} as code a second time; pass it as a quoted argument instead",
                            Location(ci.path, number), key=f"{name}:{section}:{command.strip()}",
                            job=name, section=section, variables=hits, command=_evidence_text(command),
                        ))
    return problems


def _check_injection(ctx: RuleContext, ci: CiFile) -> Outcome:
    if ci.kind == "gitlab":
        extra = list(ctx.params.get("extra_untrusted_variables") or [])
        problems = _injection_gitlab(ci, (*UNTRUSTED_GITLAB_VARIABLES, *extra))
        return Outcome("no merge request or commit text is evaluated a second time by a shell", {}, problems)
    extra = list(ctx.params.get("extra_untrusted_contexts") or [])
    problems = _injection_github(ci, (*UNTRUSTED_CONTEXTS, *extra))
    return Outcome("no attacker-controlled `${{ }}` expression is expanded inside a script", {}, problems)


def check_script_injection_blocked(ctx: RuleContext) -> Iterable[Result]:
    """No attacker-controlled text is pasted into scripts (GitHub expressions, GitLab second evaluation)."""
    return _each_file(ctx, ALL_CI, "CI files", _check_injection)


RULES: dict[str, RuleFn] = {
    "workflow-permissions-scoped": check_workflow_permissions_scoped,
    "actions-pinned": check_actions_pinned,
    "untrusted-checkout-blocked": check_untrusted_checkout_blocked,
    "script-injection-blocked": check_script_injection_blocked,
}
