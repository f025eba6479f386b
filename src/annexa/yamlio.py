"""YAML loading that remembers where each value came from, and JSON Schema errors with file:line."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from annexa.errors import InputError, InputErrors
from annexa.safeio import read_input

if TYPE_CHECKING:
    import jsonschema

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """A parsed YAML (or JSON) file: its data with dates as ISO strings, and the line of every value."""

    path: str
    data: Any
    lines: dict[JsonPath, int]
    sha256: str = ""

    def line(self, where: Iterable[str | int]) -> int | None:
        """The line of the value at ``where``, or of its nearest parent that has one."""
        key = tuple(where)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)


def load_document(path: Path, display: str | None = None, root: Path | None = None) -> Document:
    """Parse ``path``; unreadable or unparseable input raises ``InputError`` naming file and line.

    The file is opened through ``safeio.read_input``: links out of ``root`` (default: the file's folder) and
    special files are refused.
    """
    name = display or str(path)
    raw = read_input(path, name, root, MAX_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(name, None, "", f"not valid UTF-8 (byte {exc.start})") from exc
    return replace(parse_document(text, name), sha256=hashlib.sha256(raw).hexdigest())


MAX_BYTES = 2 * 1024 * 1024
"""Largest YAML/JSON document read (GitLab's own default ``max_yaml_size_bytes`` is 2 MB)."""

MAX_DEPTH = 150
"""Deepest nesting of collections (GitLab's default ``max_yaml_depth`` is 150)."""

MAX_ALIASES = 1_000
"""Most alias uses (``*name``) in one file."""

MAX_NODES = 200_000
"""Most values in one file once every alias is expanded (billion-laughs documents expand past this at once)."""


class YamlLimitError(yaml.YAMLError):
    """A document past one of the limits above; ``line`` is where it was crossed."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _SafeLimited(yaml.SafeLoader):
    """``yaml.SafeLoader`` whose composer keeps a depth and alias budget (it recurses once per nesting level)."""

    _depth = 0
    _aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlLimitError(f"more than {MAX_ALIASES:,} aliases", self.peek_event().start_mark.line + 1)  # type: ignore[no-untyped-call]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark.line + 1)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def compose_all_limited(text: str) -> list[yaml.Node]:
    """Every document of ``text`` as composed nodes, within the size, depth, alias and expansion limits.

    Raises ``YamlLimitError`` past a limit (also for an alias cycle), ``yaml.YAMLError`` for invalid YAML.
    """
    if len(text) > MAX_BYTES:
        raise YamlLimitError(f"larger than {MAX_BYTES:,} characters", None)
    loader = _SafeLimited(text)
    try:
        docs: list[yaml.Node] = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                check_expansion(node)
                docs.append(node)
        return docs
    finally:
        loader.dispose()


def check_expansion(root: yaml.Node) -> None:
    """Refuse alias cycles and documents that expand past ``MAX_NODES`` values (iterative, memoised)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_NODES:
                raise YamlLimitError(f"expands to more than {MAX_NODES:,} values (aliases)", node.start_mark.line + 1)
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YamlLimitError("an alias refers to a value that contains it (cycle)", node.start_mark.line + 1)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
        for child in children:
            if id(child) in on_path:
                raise YamlLimitError("an alias refers to a value that contains it (cycle)",
                                     child.start_mark.line + 1)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it (about 10x faster), else the pure-Python one; both safe."""


class _Loader(_SafeLoader):  # type: ignore[misc]
    """SafeLoader that keeps timestamps as the strings they were written as (dates are validated later)."""


_Loader.yaml_constructors = {
    **yaml.SafeLoader.yaml_constructors,
    "tag:yaml.org,2002:timestamp": yaml.SafeLoader.construct_yaml_str,
}


def parse_document(text: str, name: str) -> Document:
    """Parse YAML text (JSON is YAML too) into a ``Document``."""
    try:
        docs = compose_all_limited(text)
        if len(docs) > 1:
            raise InputError(name, docs[1].start_mark.line + 1, "", "more than one YAML document")
        node = docs[0] if docs else None
        data = _construct(node)
    except YamlLimitError as exc:
        raise InputError(name, exc.line, "", f"refused: {exc.message}") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(name, line, "", f"not valid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise InputError(name, None, "", f"not valid YAML: {exc}") from exc
    except (ValueError, TypeError, RecursionError) as exc:
        detail = str(exc).split(";")[0][:200]
        raise InputError(name, None, "", f"not valid YAML: {type(exc).__name__}: {detail}") from exc
    lines: dict[JsonPath, int] = {}
    if node is not None:
        _index(node, (), lines)
    return Document(name, _plain(data), lines)


def _construct(node: yaml.Node | None) -> Any:
    """The Python value of a composed (already limit-checked) node, timestamps kept as strings."""
    if node is None:
        return None
    loader = _Loader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _index(root: yaml.Node, where: JsonPath, lines: dict[JsonPath, int]) -> None:
    stack: list[tuple[yaml.Node, JsonPath]] = [(root, where)]
    while stack:
        node, at = stack.pop()
        lines.setdefault(at, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*at, str(key.value))
                lines[child] = key.start_mark.line + 1
                stack.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*at, i)) for i, item in enumerate(node.value))


def _plain(value: Any) -> Any:
    """Mapping keys become strings so that one JSON Schema describes YAML and JSON alike (iterative)."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        item, parent, slot = stack.pop()
        if isinstance(item, dict):
            copy: dict[str, Any] = {}
            parent[slot] = copy
            for k, v in item.items():
                copy[str(k)] = None
                stack.append((v, copy, str(k)))
        elif isinstance(item, list):
            items: list[Any] = [None] * len(item)
            parent[slot] = items
            stack.extend((v, items, i) for i, v in enumerate(item))
        else:
            parent[slot] = item
    return root[0]


@cache
def schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in ``annexa/data/schemas``."""
    text = resources.files("annexa").joinpath("data", "schemas", name).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(doc: Document, schema_name: str) -> None:
    """Validate against a shipped schema; every error is reported with its file, line and field.

    jsonschema is imported here, on first use: a run whose inputs are all shipped (and tested) never pays for it.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema(schema_name), format_checker=jsonschema.FormatChecker())
    errors = [to_input_error(doc, e) for e in validator.iter_errors(doc.data)]
    if errors:
        raise InputErrors(sorted(errors, key=lambda e: (e.line or 0, e.field, e.detail)))


def to_input_error(doc: Document, error: jsonschema.ValidationError) -> InputError:
    """Turn a schema error into a message that names the field a person has to fix."""
    where = list(error.absolute_path)
    field_name = ".".join(str(p) for p in where) or "(top level)"
    message = error.message
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        if extra:
            field_name = ".".join([*(str(p) for p in where), extra[0]])
            return InputError(doc.path, doc.line([*where, extra[0]]), field_name, "unknown key")
    return InputError(doc.path, doc.line(where), field_name, message)


def parse_date(value: Any) -> dt.date | None:
    """An ISO date (or the date part of a timestamp); ``None`` when absent or malformed."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
