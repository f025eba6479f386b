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
from typing import Any

import jsonschema
import yaml

from annexa.errors import InputError, InputErrors
from annexa.safeio import read_input

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
    raw = read_input(path, name, root)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(name, None, "", f"not valid UTF-8 (byte {exc.start})") from exc
    return replace(parse_document(text, name), sha256=hashlib.sha256(raw).hexdigest())


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as the strings they were written as (dates are validated later)."""


_Loader.yaml_constructors = {
    **yaml.SafeLoader.yaml_constructors,
    "tag:yaml.org,2002:timestamp": yaml.SafeLoader.construct_yaml_str,
}


def parse_document(text: str, name: str) -> Document:
    """Parse YAML text (JSON is YAML too) into a ``Document``."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(name, line, "", f"not valid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise InputError(name, None, "", f"not valid YAML: {exc}") from exc
    except (ValueError, TypeError) as exc:
        raise InputError(name, None, "", f"not valid YAML: {exc}") from exc
    lines: dict[JsonPath, int] = {}
    if node is not None:
        _index(node, (), lines)
    return Document(name, _plain(data), lines)


def _index(node: yaml.Node, where: JsonPath, lines: dict[JsonPath, int]) -> None:
    lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*where, str(key.value))
            lines[child] = key.start_mark.line + 1
            _index(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*where, i), lines)


def _plain(value: Any) -> Any:
    """Mapping keys become strings so that one JSON Schema describes YAML and JSON alike."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@cache
def schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in ``annexa/data/schemas``."""
    text = resources.files("annexa").joinpath("data", "schemas", name).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(doc: Document, schema_name: str) -> None:
    """Validate against a shipped schema; every error is reported with its file, line and field."""
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
