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
from typing import TYPE_CHECKING, Any, Literal

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

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


def load_document(path: Path, display: str | None = None, root: Path | None = None, *,
                  shipped: bool = False) -> Document:
    """Parse ``path``; unreadable or unparseable input raises ``InputError`` naming file and line.

    The file is opened through ``safeio.read_input``: links out of ``root`` (default: the file's folder) and
    special files are refused. A ``shipped`` file (annexa's own package data, checked by the tests) is read by
    libyaml alone, without the limits and the line of every value that input from a repository gets.
    """
    name = display or str(path)
    raw = read_input(path, name, root, MAX_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(name, None, "", f"not valid UTF-8 (byte {exc.start})") from exc
    parse = _parse_shipped if shipped else parse_document
    if path.suffix.lower() == ".json":
        parse = parse_json_document
    return replace(parse(text, name), sha256=hashlib.sha256(raw).hexdigest())


def _parse_shipped(text: str, name: str) -> Document:
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: no Python objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(name, mark.line + 1 if mark else None, "", f"not valid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise InputError(name, None, "", f"not valid YAML: {exc}") from exc
    return Document(name, _plain(data), {})


MAX_BYTES = 2 * 1024 * 1024
"""Largest YAML/JSON document read (GitLab's own default ``max_yaml_size_bytes`` is 2 MB)."""

MAX_DEPTH = 150
"""Deepest nesting of collections (GitLab's default ``max_yaml_depth`` is 150)."""

MAX_ALIASES = 1_000
"""Most alias uses (``*name``) in one file."""

MAX_NODES = 200_000
"""Most values in one file once every alias is expanded (billion-laughs documents expand past this at once)."""


class YamlLimitError(yaml.YAMLError):
    """A document past one of the limits above, or using a feature refused; ``line`` is where it was crossed."""

    def __init__(self, message: str, line: int | None, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.field = field


class DuplicateKeyError(YamlLimitError):
    """A mapping that states one key twice (PyYAML would silently keep the last value)."""


MAX_INT_DIGITS = 4_300
"""Longest integer read (Python's own ``int`` string-conversion limit): past it is an error, never a ValueError."""

_CORE = "tag:yaml.org,2002:"
_MERGE = _CORE + "merge"
_INT = _CORE + "int"
_PLAIN_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp"))
"""Explicit tags GitHub Actions' reader accepts; it rejects every other tag (``Unexpected tag '!x'``)."""

DuplicateKeys = Literal["refuse", "last"]


@dataclass(frozen=True)
class Dialect:
    """What one reader of YAML accepts beyond the limits.

    ``duplicates``: ``refuse`` (GitHub Actions: "'x' is already defined"; annexa's own files), or ``last``
    (GitLab CI, whose Ruby reader keeps the last value: the composed mapping then keeps only the last pair, so
    the rules see what GitLab runs). ``github``: refuse merge keys (``<<``) and tags other than the plain core
    ones, which GitHub Actions does not support. ``huge_ints``: refuse integers past ``MAX_INT_DIGITS`` (needed
    wherever the document is constructed into Python values). ``redefine_anchors``: a later ``&a`` replaces an
    earlier one, as the YAML spec and GitHub allow (PyYAML refuses it).
    """

    duplicates: DuplicateKeys = "refuse"
    github: bool = False
    huge_ints: bool = True
    redefine_anchors: bool = False


STRICT = Dialect()
"""annexa's own files (config, policies, settings snapshots): every refusal on."""

CONSTRUCTED = Dialect(duplicates="last")
"""Limits only, for text a caller then constructs with PyYAML itself (which keeps the last of a repeated key)."""

GITHUB = Dialect(duplicates="refuse", github=True, huge_ints=False, redefine_anchors=True)
"""GitHub workflows and composite actions, composed only (never constructed)."""

GITLAB = Dialect(duplicates="last", github=False, huge_ints=False, redefine_anchors=True)
"""GitLab CI files, composed only."""


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


class _LimitedComposer(Composer):
    """A composer (events to nodes) with a depth, alias, duplicate-key and tag budget.

    It replaces PyYAML's ``Composer`` methods (same recursion, once per nesting level, so ``MAX_DEPTH`` bounds
    it) and counts the nodes it makes: without aliases that count is the document's whole size.
    """

    dialect: Dialect = STRICT

    def _limits_init(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._depth = 0
        self._aliases = 0
        self._nodes = 0
        self._path: list[Any] = []
        self._tags: dict[tuple[str, tuple[bool, bool]], str] = {}

    def _field(self, *more: Any) -> str:
        parts = [p.value if isinstance(p, yaml.ScalarNode) else p for p in self._path[1:] if p is not None]
        return ".".join(str(p) for p in (*parts, *more))

    def compose_document(self) -> yaml.Node | None:
        self.get_event()  # type: ignore[attr-defined]
        self._nodes = 0
        node = self.compose_node(None, None)
        self.get_event()  # type: ignore[attr-defined]
        self.anchors = {}
        return node

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]
        kind = event.__class__
        if kind is yaml.AliasEvent:
            self.get_event()  # type: ignore[attr-defined]
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlLimitError(f"more than {MAX_ALIASES:,} aliases", _line(event.start_mark))
            if event.anchor not in self.anchors:
                raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
            return self.anchors[event.anchor]
        anchor = event.anchor
        if anchor is not None and anchor in self.anchors:
            if not self.dialect.redefine_anchors:
                raise ComposerError(f"found duplicate anchor {anchor!r}; first occurrence",
                                    self.anchors[anchor].start_mark, "second occurrence", event.start_mark)
            del self.anchors[anchor]
        if self._depth >= MAX_DEPTH:
            raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels", _line(event.start_mark))
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlLimitError(f"more than {MAX_NODES:,} values", _line(event.start_mark))
        tag = event.tag
        if self.dialect.github and tag is not None and tag != "!" and tag not in _PLAIN_TAGS:
            self._path.append(index)
            raise YamlLimitError(f"tag {tag.replace(_CORE, '!!')!r} (GitHub Actions rejects YAML tags)",
                                 _line(event.start_mark), self._field())
        if kind is yaml.ScalarEvent:
            return self._scalar(event, anchor, index)
        self._depth += 1
        self._path.append(index)
        try:
            if kind is yaml.SequenceStartEvent:
                return self._sequence(event, anchor)
            return self._mapping(event, anchor)
        finally:
            self._depth -= 1
            self._path.pop()

    def _scalar(self, event: Any, anchor: str | None, index: Any) -> yaml.ScalarNode:
        self.get_event()  # type: ignore[attr-defined]
        tag = event.tag
        if tag is None or tag == "!":
            key = (event.value, event.implicit)
            tag = self._tags.get(key)
            if tag is None:
                tag = self._tags[key] = self.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[attr-defined]
        if self.dialect.huge_ints and tag == _INT and len(event.value) > MAX_INT_DIGITS:
            self._path.append(index)
            raise YamlLimitError(f"an integer of {len(event.value):,} digits (at most {MAX_INT_DIGITS:,})",
                                 _line(event.start_mark), self._field())
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        if anchor is not None:
            self.anchors[anchor] = node
        return node

    def _sequence(self, start: Any, anchor: str | None) -> yaml.SequenceNode:
        self.get_event()  # type: ignore[attr-defined]
        tag = start.tag
        if tag is None or tag == "!":
            tag = self.resolve(yaml.SequenceNode, None, start.implicit)  # type: ignore[attr-defined]
        node = yaml.SequenceNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        items = node.value
        while not self.check_event(yaml.SequenceEndEvent):  # type: ignore[attr-defined]
            items.append(self.compose_node(node, len(items)))
        node.end_mark = self.get_event().end_mark  # type: ignore[attr-defined]
        return node

    def _mapping(self, start: Any, anchor: str | None) -> yaml.MappingNode:
        self.get_event()  # type: ignore[attr-defined]
        tag = start.tag
        if tag is None or tag == "!":
            tag = self.resolve(yaml.MappingNode, None, start.implicit)  # type: ignore[attr-defined]
        node = yaml.MappingNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        pairs = node.value
        seen: dict[str, yaml.Node] = {}
        repeated = False
        while not self.check_event(yaml.MappingEndEvent):  # type: ignore[attr-defined]
            key = self.compose_node(node, None)
            value = self.compose_node(node, key)
            pairs.append((key, value))
            if not isinstance(key, yaml.ScalarNode):
                continue
            if key.tag == _MERGE:
                if self.dialect.github:
                    raise YamlLimitError("merge key '<<' (GitHub Actions does not support merge keys)",
                                         _line(key.start_mark), self._field())
                continue
            name = str(key.value)
            if name in seen:
                if self.dialect.duplicates == "refuse":
                    raise DuplicateKeyError(f"duplicate key {name!r} (first at line {_line(seen[name].start_mark)})",
                                            _line(key.start_mark), self._field(name))
                repeated = True
            else:
                seen[name] = key
        node.end_mark = self.get_event().end_mark  # type: ignore[attr-defined]
        if repeated:
            node.value = _last_of_each(pairs)
        return node


def _last_of_each(pairs: list[tuple[yaml.Node, yaml.Node]]) -> list[tuple[yaml.Node, yaml.Node]]:
    """The pairs of a mapping with only the last of each repeated scalar key (as GitLab reads it)."""
    last = {str(k.value): i for i, (k, _) in enumerate(pairs) if isinstance(k, yaml.ScalarNode) and k.tag != _MERGE}
    return [(k, v) for i, (k, v) in enumerate(pairs)
            if not isinstance(k, yaml.ScalarNode) or k.tag == _MERGE or last[str(k.value)] == i]


class _PyLimited(_LimitedComposer, Reader, Scanner, Parser, SafeConstructor, Resolver):
    """The pure-Python scanner and parser (used when PyYAML was built without libyaml)."""

    def __init__(self, text: str, dialect: Dialect) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._limits_init(dialect)


_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)
"""libyaml's scanner and parser (about 10x faster than PyYAML's own) when PyYAML was built with it."""

_LimitedLoader: Any
if _CParser is not None:

    class _CLimited(_LimitedComposer, _CParser, SafeConstructor, Resolver):  # type: ignore[misc]
        """libyaml's events composed by PyYAML's Python composer, so every limit above still applies."""

        def __init__(self, text: str, dialect: Dialect) -> None:
            _CParser.__init__(self, text)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._limits_init(dialect)

    _LimitedLoader = _CLimited
else:  # pragma: no cover - PyYAML without libyaml
    _LimitedLoader = _PyLimited


def compose_all_limited(text: str, dialect: Dialect = CONSTRUCTED, *, pure: bool = False) -> list[yaml.Node]:
    """Every document of ``text`` as composed nodes, within the size, depth, alias and expansion limits.

    Raises ``YamlLimitError`` past a limit (also for an alias cycle, and for what ``dialect`` refuses),
    ``yaml.YAMLError`` for invalid YAML. ``pure`` forces the pure-Python parser (for tests and measurements).
    """
    if len(text) > MAX_BYTES:
        raise YamlLimitError(f"larger than {MAX_BYTES:,} characters", None)
    loader = (_PyLimited if pure else _LimitedLoader)(text, dialect)
    try:
        docs: list[yaml.Node] = []
        while loader.check_node():
            before = loader._aliases
            node = loader.get_node()
            if node is not None:
                if loader._aliases > before:
                    check_expansion(node)  # only aliases make a document larger than the nodes composed
                docs.append(node)
        return docs
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in str(exc.problem or exc.context or ""):
            mark = exc.problem_mark or exc.context_mark
            raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels", _line(mark)) from exc
        raise
    finally:
        loader.dispose()


def check_expansion(root: yaml.Node) -> None:
    """Refuse alias cycles, documents that expand past ``MAX_NODES`` values and aliases that nest deeper than
    ``MAX_DEPTH`` once expanded (a chain of aliases to deep values; iterative, memoised)."""
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
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
            if not isinstance(node, yaml.ScalarNode):
                height = 1 + max((heights[id(c)] for c in children), default=0)
                if height > MAX_DEPTH:
                    raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels once aliases are expanded",
                                         node.start_mark.line + 1)
                heights[key] = height
            else:
                heights[key] = 0
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
        docs = compose_all_limited(text, STRICT)
        if len(docs) > 1:
            raise InputError(name, docs[1].start_mark.line + 1, "", "more than one YAML document")
        node = docs[0] if docs else None
        data = _construct(node)
    except YamlLimitError as exc:
        raise InputError(name, exc.line, exc.field, f"refused: {exc.message}") from exc
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


class _JsonRefused(ValueError):
    """A JSON value ``json`` would accept that annexa refuses (a repeated key, a huge integer, NaN)."""


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _JsonRefused(f"duplicate key {key!r}")
        out[key] = value
    return out


def _json_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _JsonRefused(f"an integer of {len(digits.lstrip('-')):,} digits (at most {MAX_INT_DIGITS:,})")
    return int(digits)


def _json_constant(name: str) -> Any:
    raise _JsonRefused(f"{name} is not a JSON number")


def parse_json_document(text: str, name: str) -> Document:
    """Parse JSON text with JSON's own rules into a ``Document``; repeated keys and huge integers are errors.

    The text is also composed as YAML (JSON is YAML) under the same limits, for the line of every value and
    for the line of a limit crossed; when only the JSON reader accepts it, values have no line.
    """
    lines: dict[JsonPath, int] = {}
    try:
        docs = compose_all_limited(text, STRICT)
        if len(docs) == 1:
            _index(docs[0], (), lines)
    except YamlLimitError as exc:
        raise InputError(name, exc.line, exc.field, f"refused: {exc.message}") from exc
    except (yaml.YAMLError, ValueError, TypeError):
        lines = {}  # JSON that PyYAML reads differently: the JSON reader below decides, without lines
    try:
        data = json.loads(text, object_pairs_hook=_json_pairs, parse_int=_json_int, parse_constant=_json_constant)
    except _JsonRefused as exc:
        raise InputError(name, None, "", f"refused: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(name, exc.lineno, "", f"not valid JSON: {exc.msg} (column {exc.colno})") from exc
    except RecursionError as exc:
        raise InputError(name, None, "", f"refused: nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise InputError(name, None, "", f"not valid JSON: {str(exc)[:200]}") from exc
    return Document(name, data, lines)


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


def _closest(errors: Iterable[jsonschema.ValidationError]) -> jsonschema.ValidationError | None:
    """The error of the one alternative whose shape (type) the value has, or ``None`` when not exactly one has."""
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for error in errors:
        branches.setdefault(error.relative_schema_path[0] if error.relative_schema_path else None, []).append(error)
    shaped = [errs for errs in branches.values()
              if not any(e.validator in ("type", "enum", "const") and not e.relative_path for e in errs)]
    if len(shaped) != 1:
        return None
    return max(shaped[0], key=lambda e: len(e.relative_path))


def to_input_error(doc: Document, error: jsonschema.ValidationError) -> InputError:
    """Turn a schema error into a message that names the field a person has to fix.

    A value matching none of several shapes (``oneOf``) is reported by the shape it came closest to, so that
    ``{"value": 1001}`` reads "1001 is greater than the maximum of 1000", not "... is not valid under any".
    """
    for _ in range(MAX_DEPTH):
        if error.validator not in ("oneOf", "anyOf") or not error.context:
            break
        closest = _closest(error.context)
        if closest is None:
            break
        error = closest
    where = list(error.absolute_path)
    if "propertyNames" in error.relative_schema_path and isinstance(error.instance, str):
        where.append(error.instance)  # a key that is itself wrong: name the key, on its own line
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
