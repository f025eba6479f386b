"""A line-aware view of CI files (GitHub workflows, composite actions, GitLab CI) built on PyYAML's node tree.

Files are only composed (``yaml.compose_all`` with the safe loader), never constructed: no tag is ever
resolved to an object, GitLab's ``!reference`` tags are harmless, and every node keeps its line. Files under
``.github/`` are read as GitHub Actions reads them (duplicate keys, merge keys and custom tags refused, so the rules
report them unknown); other CI files as GitLab does (a repeated key keeps its last value).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import yaml

from annexa.collect.checkout import Checkout
from annexa.errors import UnreadableFile
from annexa.yamlio import GITHUB, GITLAB, YamlLimitError, compose_all_limited

CiKind = Literal["workflow", "action", "gitlab"]

SHA_RE = re.compile(r"[0-9a-fA-F]{40}")
"""A full git commit id."""

EXPRESSION_RE = re.compile(r"\$\{\{(.*?)\}\}", re.S)
"""A GitHub Actions expression ``${{ ... }}``; group 1 is its body."""


@dataclass(frozen=True)
class CiFile:
    """One parsed CI file: its kind, its text and its YAML documents as composed nodes."""

    path: str
    kind: CiKind
    text: str
    docs: tuple[yaml.Node, ...]

    @property
    def root(self) -> yaml.Node | None:
        """The document that holds the configuration (GitLab's ``spec:`` header document is skipped)."""
        for doc in reversed(self.docs):
            if isinstance(doc, yaml.MappingNode) and get(doc, "spec") is None:
                return doc
        return self.docs[-1] if self.docs else None

    def locate(self, node: yaml.Node, needle: str, start: int = 0) -> tuple[int, int] | None:
        """Line of ``needle`` in the source text of ``node`` (searching from offset ``start`` of that text).

        Returns ``(line, next_start)``, or ``None`` when the source spells it differently (folded or escaped).
        """
        raw = self.text[node.start_mark.index : node.end_mark.index]
        pos = raw.find(needle, start)
        if pos < 0:
            return None
        return node.start_mark.line + 1 + raw.count("\n", 0, pos), pos + len(needle)


@dataclass(frozen=True)
class CiYamlError:
    """A CI file that is not valid YAML, with the line the parser stopped at."""

    path: str
    line: int | None
    problem: str


def is_ci_yaml(path: str) -> bool:
    """True for YAML paths of the ``ci`` class that a CI system reads (not scripts, not nested workflow folders)."""
    name = path.rsplit("/", 1)[-1]
    if not name.endswith((".yml", ".yaml")):
        return False
    if path.startswith(".github/"):
        return kind_by_name(path) is not None
    return True


def kind_by_name(path: str) -> CiKind | None:
    """What a CI path holds, judged by its name alone (``None``: decided by content)."""
    name = path.rsplit("/", 1)[-1]
    if path.startswith(".github/workflows/") and path.count("/") == 2:
        return "workflow"
    if path.startswith(".github/") and name in ("action.yml", "action.yaml"):
        return "action"
    if name.endswith(".gitlab-ci.yml") or path.startswith(".gitlab/"):
        return "gitlab"
    return None


def _kind_by_content(root: yaml.Node | None) -> CiKind:
    if get(root, "runs") is not None:
        return "action"
    if get(root, "jobs") is not None and get(root, "on") is not None:
        return "workflow"
    return "gitlab"


def load_ci_file(checkout: Checkout, path: str) -> CiFile | CiYamlError:
    """Read and compose one CI file; unreadable files raise ``UnreadableFile``."""
    text = checkout.read_text(path)
    try:
        docs = tuple(compose_all_limited(text, GITHUB if path.startswith(".github/") else GITLAB))
    except YamlLimitError as exc:
        return CiYamlError(path, exc.line, f"refused: {exc.message}" + (f" at {exc.field}" if exc.field else ""))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return CiYamlError(path, mark.line + 1 if mark else None, str(exc.problem or exc.context or "invalid YAML"))
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        return CiYamlError(path, None, str(exc) or type(exc).__name__)
    kind = kind_by_name(path)
    probe = CiFile(path, "gitlab", text, docs)
    return CiFile(path, kind or _kind_by_content(probe.root), text, docs)


def read_ci_file(checkout: Checkout, path: str) -> CiFile | CiYamlError | UnreadableFile:
    """Like ``load_ci_file`` but returns the ``UnreadableFile`` instead of raising it (for memoising)."""
    try:
        return load_ci_file(checkout, path)
    except UnreadableFile as exc:
        return exc


# --- node helpers -------------------------------------------------------------------------------------------


def line(node: yaml.Node) -> int:
    """1-based line where a node starts."""
    return node.start_mark.line + 1


def items(node: yaml.Node | None) -> list[tuple[yaml.Node, yaml.Node]]:
    """The (key, value) pairs of a mapping node; empty for anything else."""
    return list(node.value) if isinstance(node, yaml.MappingNode) else []


def entry(node: yaml.Node | None, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    """The (key node, value node) pair for a scalar key of a mapping."""
    for k, v in items(node):
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    return None


def get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value node under ``key`` of a mapping node."""
    found = entry(node, key)
    return found[1] if found else None


def text(node: yaml.Node | None) -> str | None:
    """The string of a scalar node (``None`` for mappings, sequences and absent nodes)."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def seq(node: yaml.Node | None) -> list[yaml.Node]:
    """The items of a sequence node; empty for anything else."""
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def walk_scalars(node: yaml.Node | None) -> Iterator[yaml.ScalarNode]:
    """Every scalar under ``node`` (aliases are visited once)."""
    seen: set[int] = set()
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            yield current
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(reversed(current.value))
        elif isinstance(current, yaml.MappingNode):
            for k, v in reversed(current.value):
                stack.extend((v, k))


# --- GitHub Actions structure ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of a job or composite action."""

    index: int
    node: yaml.Node

    @property
    def line(self) -> int:
        """Line of the step's first key."""
        return line(self.node)

    @property
    def uses(self) -> str | None:
        """The ``uses:`` reference, stripped."""
        value = text(get(self.node, "uses"))
        return value.strip() if value is not None else None

    @property
    def label(self) -> str:
        """The step's name or id, else its position."""
        return text(get(self.node, "name")) or text(get(self.node, "id")) or f"step {self.index + 1}"


@dataclass(frozen=True)
class Job:
    """One job of a workflow (``steps`` empty for a reusable-workflow call)."""

    id: str
    key: yaml.Node
    node: yaml.Node

    @property
    def line(self) -> int:
        """Line of the job id."""
        return line(self.key)

    @property
    def steps(self) -> list[Step]:
        """The job's steps."""
        return [Step(i, s) for i, s in enumerate(seq(get(self.node, "steps"))) if isinstance(s, yaml.MappingNode)]


def jobs(ci: CiFile) -> list[Job]:
    """The jobs of a workflow, in file order."""
    return [
        Job(str(k.value), k, v)
        for k, v in items(get(ci.root, "jobs"))
        if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.MappingNode)
    ]


def action_steps(ci: CiFile) -> list[Step]:
    """The steps of a composite action (empty for JavaScript and Docker actions)."""
    nodes = seq(get(get(ci.root, "runs"), "steps"))
    return [Step(i, s) for i, s in enumerate(nodes) if isinstance(s, yaml.MappingNode)]


def triggers(ci: CiFile) -> list[str]:
    """The events a workflow runs on."""
    value = get(ci.root, "on")
    if isinstance(value, yaml.ScalarNode):
        named = [value]
    elif isinstance(value, yaml.SequenceNode):
        named = [v for v in value.value if isinstance(v, yaml.ScalarNode)]
    else:
        named = [k for k, _ in items(value) if isinstance(k, yaml.ScalarNode)]
    return [str(n.value) for n in named if n.value]


def env_values(*scopes: yaml.Node | None) -> dict[str, str]:
    """The ``env:`` variables of nested scopes (workflow, job, step), inner scopes winning."""
    merged: dict[str, str] = {}
    for scope in scopes:
        for k, v in items(get(scope, "env")):
            value = text(v)
            if isinstance(k, yaml.ScalarNode) and value is not None:
                merged[str(k.value)] = value
    return merged


def expressions(ci: CiFile, node: yaml.Node, fallback: int) -> list[tuple[str, int]]:
    """Every ``${{ }}`` body in a scalar with the line it is on (``fallback`` when the source folds it)."""
    value = text(node)
    if value is None:
        return []
    found: list[tuple[str, int]] = []
    cursor = 0
    for match in EXPRESSION_RE.finditer(value):
        where = ci.locate(node, match.group(0), cursor)
        if where is None:
            found.append((match.group(1), fallback))
        else:
            found.append((match.group(1), where[0]))
            cursor = where[1]
    return found


def script_lines(ci: CiFile, node: yaml.Node, fallback: int) -> list[tuple[str, int]]:
    """The lines of a shell script scalar, each with its line in the file (``fallback`` when folded)."""
    value = text(node)
    if value is None:
        return []
    out: list[tuple[str, int]] = []
    cursor = 0
    for raw_line in value.splitlines():
        stripped = raw_line.strip()
        if not stripped:
            continue
        where = ci.locate(node, stripped, cursor)
        if where is None:
            out.append((raw_line, fallback))
        else:
            out.append((raw_line, where[0]))
            cursor = where[1]
    return out
