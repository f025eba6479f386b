"""Header checks for formats that carry no pickle of their own: safetensors, npy, GGUF, ONNX, Keras, HDF5.

Each reads only what it needs (a header, a config) from a ``Stream`` and returns issues.
"""

from __future__ import annotations

import ast
import itertools
import json
import posixpath
import re
import struct
from collections.abc import Iterator
from typing import Any

from annexa.scan.modelfiles.records import Issue, Kind
from annexa.scan.modelfiles.stream import Stream, Truncated

SAFETENSORS_DTYPES: dict[str, int | None] = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8, "C64": 8,
    "F4": None, "F6_E2M3": None, "F6_E3M2": None,
}  # fmt: skip
"""safetensors dtypes and their item sizes (``None``: sub-byte, size not checked)."""

ONNX_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training", "com.microsoft",
     "com.microsoft.nchwc", "com.microsoft.experimental", "com.ms.internal.nhwc"}
)  # fmt: skip
"""Operator domains built into ONNX runtimes; any other domain needs a custom-op library."""

KERAS_ROOTS = frozenset({"keras", "tf_keras", "keras_hub", "keras_nlp", "keras_cv"})
"""Top-level modules a Keras config may reference."""

_TEMPLATE_RISKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("dunder attribute", re.compile(r"__\w+")),
    ("attr filter", re.compile(r"\|\s*attr\b|\battr\s*\(")),
    ("escaped underscore", re.compile(r"\\x5f|\\u005f|\\137", re.I)),
    ("%c format building names", re.compile(r"%c")),
    ("template import", re.compile(r"\{%-?\s*(import|include|extends|from)\b")),
    ("Python internals", re.compile(r"\b(mro|func_globals|f_globals|gi_frame|co_code|os\.popen|subprocess)\b")),
)
_TEMPLATE_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_KERAS_CONFIG = re.compile(rb'\{\s*"(class_name|module)"\s*:')


def _issue(kind: Kind, message: str, member: str, offset: int | None = None, name: str | None = None) -> Issue:
    return Issue(kind, message, member, offset, name)


# safetensors -------------------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key in safetensors header")
    return dict(pairs)


def check_safetensors(s: Stream, member: str, max_header: int) -> list[Issue]:
    """Validate the header (length, JSON, dtypes, shapes, offsets inside the file); data is never read."""
    (n,) = struct.unpack("<Q", s.exact(8))
    if s.size is not None and 8 + n > s.size:
        return [_issue(Kind.MALFORMED, f"safetensors header of {n} bytes runs past the end of the file", member, 0)]
    if n > max_header:
        return [_issue(Kind.LIMIT, f"safetensors header of {n} bytes exceeds {max_header}", member, 0)]
    try:
        header = json.loads(s.exact(n), object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        return [_issue(Kind.MALFORMED, f"safetensors header is not valid JSON ({exc})", member, 8)]
    if not isinstance(header, dict):
        return [_issue(Kind.MALFORMED, "safetensors header is not a JSON object", member, 8)]
    data_len = None if s.size is None else s.size - 8 - n
    problems: list[str] = []
    spans: list[tuple[int, int, str]] = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                problems.append("__metadata__ must map strings to strings")
            continue
        problem = _tensor_problem(info, data_len)
        if problem:
            problems.append(f"tensor {name!r}: {problem}")
        else:
            begin, end = info["data_offsets"]
            spans.append((begin, end, name))
    spans.sort()
    for (_, end, first), (begin, _, second) in itertools.pairwise(spans):
        if begin < end:
            problems.append(f"tensors {first!r} and {second!r} overlap")
        elif begin > end:
            problems.append(f"{begin - end} bytes between tensors {first!r} and {second!r} belong to no tensor")
    covered = spans[-1][1] if spans else 0
    if spans and spans[0][0] > 0:
        problems.append(f"{spans[0][0]} bytes before the first tensor belong to no tensor")
    if data_len is not None and covered < data_len and not problems:
        problems.append(f"{data_len - covered} bytes after the last tensor belong to no tensor")
    return [_issue(Kind.MALFORMED, f"safetensors header: {p}", member, 8) for p in problems[:20]]


def _tensor_problem(info: object, data_len: int | None) -> str | None:
    if not isinstance(info, dict) or set(info) - {"dtype", "shape", "data_offsets"}:
        return "entry must have exactly dtype, shape and data_offsets"
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in SAFETENSORS_DTYPES:
        return f"unknown dtype {dtype!r}"
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        return "shape must be a list of non-negative integers"
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1]
    ):
        return "data_offsets must be two ordered non-negative integers"
    if data_len is not None and offsets[1] > data_len:
        return f"data ends at {offsets[1]}, past the {data_len} data bytes of the file"
    size = SAFETENSORS_DTYPES[dtype]
    if size is not None:
        count = 1
        for d in shape:
            count *= d
        if count * size != offsets[1] - offsets[0]:
            return f"{offsets[1] - offsets[0]} bytes for {count} {dtype} values"
    return None


# numpy .npy ---------------------------------------------------------------------------------------------


def read_npy_header(s: Stream, member: str) -> tuple[list[Issue], bool]:
    """Parse the ``.npy`` header with a literal parser; returns issues and whether the dtype holds objects."""
    s.exact(6)
    major = s.exact(2)[0]
    if major not in (1, 2, 3):
        return [_issue(Kind.MALFORMED, f"unsupported .npy version {major}", member, 6)], False
    length = int.from_bytes(s.exact(2 if major == 1 else 4), "little")
    if length > 1024 * 1024:
        return [_issue(Kind.LIMIT, f".npy header of {length} bytes", member, 8)], False
    raw = s.exact(length)
    try:
        header = ast.literal_eval(raw.decode("utf-8" if major == 3 else "latin-1"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        return [_issue(Kind.MALFORMED, f".npy header is not a literal dict ({exc})", member, 10)], False
    if not isinstance(header, dict) or not {"descr", "fortran_order", "shape"} <= set(header):
        return [_issue(Kind.MALFORMED, ".npy header lacks descr, fortran_order or shape", member, 10)], False
    if _has_object(header["descr"]):
        message = f".npy array of object dtype {header['descr']!r}: loading it runs pickle (allow_pickle=True)"
        return [_issue(Kind.OBJECT_DTYPE, message, member, 10)], True
    return [], False


def _has_object(descr: object, depth: int = 0) -> bool:
    if depth > 32:
        return True
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, (list, tuple)):
        return any(_has_object(part, depth + 1) for part in descr)
    return False


# GGUF ----------------------------------------------------------------------------------------------------

_GGUF_SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def check_gguf(s: Stream, member: str, max_header: int) -> list[Issue]:
    """Walk the GGUF key/value header (tensor data is never read) and check chat templates."""
    s.exact(4)
    version = struct.unpack("<I", s.exact(4))[0]
    if version not in (1, 2, 3):
        return [_issue(Kind.MALFORMED, f"unsupported GGUF version {version}", member, 4)]
    wide = version >= 2
    count_fmt = "<Q" if wide else "<I"
    s.exact(8 if wide else 4)
    (kv_count,) = struct.unpack(count_fmt, s.exact(8 if wide else 4))
    issues: list[Issue] = []

    def length() -> int:
        (n,) = struct.unpack(count_fmt, s.exact(8 if wide else 4))
        if s.pos + n > max_header:
            raise _HeaderLimit
        return int(n)

    def skip_value(vtype: int, depth: int) -> None:
        if vtype in _GGUF_SCALARS:
            s.skip(_GGUF_SCALARS[vtype])
        elif vtype == 8:
            s.skip(length())
        elif vtype == 9 and depth < 4:
            (itype,) = struct.unpack("<I", s.exact(4))
            count = length() if itype in (8, 9) else int(struct.unpack(count_fmt, s.exact(8 if wide else 4))[0])
            if itype in _GGUF_SCALARS:
                s.skip(count * _GGUF_SCALARS[itype])
            else:
                for _ in range(count):
                    skip_value(itype, depth + 1)
        else:
            raise ValueError(f"GGUF value type {vtype}")

    try:
        for _ in range(kv_count):
            key_len = length()
            key = s.exact(key_len).decode("utf-8", "replace") if key_len <= 4096 else "?"
            if key_len > 4096:
                s.skip(key_len)
            (vtype,) = struct.unpack("<I", s.exact(4))
            if key.startswith("tokenizer.chat_template") and vtype == 8:
                where = s.pos
                text = s.exact(length()).decode("utf-8", "replace")
                for risk in template_risks(text):
                    issues.append(_issue(Kind.TEMPLATE_CODE, f"chat template {key!r} uses {risk}", member, where))
            else:
                skip_value(vtype, 0)
    except _HeaderLimit:
        issues.append(_issue(Kind.LIMIT, f"GGUF header larger than {max_header} bytes", member, s.pos))
    except (ValueError, struct.error) as exc:
        issues.append(_issue(Kind.MALFORMED, f"GGUF header: {exc}", member, s.pos))
    return issues


class _HeaderLimit(Exception):
    pass


def template_risks(text: str) -> list[str]:
    """Jinja constructs in a chat template's code blocks that can reach Python internals."""
    code = " ".join(_TEMPLATE_CODE.findall(text))
    return [label for label, pattern in _TEMPLATE_RISKS if pattern.search(code)]


# ONNX ----------------------------------------------------------------------------------------------------


class _Proto:
    """A minimal streaming protobuf reader for the ONNX fields that matter."""

    def __init__(self, s: Stream, member: str) -> None:
        self.s = s
        self.member = member
        self.issues: list[Issue] = []
        self.nodes: list[tuple[str, str, int]] = []
        self.functions: set[tuple[str, str]] = set()

    def varint(self) -> int:
        value = 0
        for shift in range(0, 70, 7):
            byte = self.s.exact(1)[0]
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
        raise ValueError("varint too long")

    def fields(self, end: int | None) -> Iterator[tuple[int, int, int]]:
        """Yield (field, wire type, payload length or varint value); unconsumed payloads are skipped."""
        while end is None or self.s.pos < end:
            if end is None and not self.s.peek(1):
                return
            key = self.varint()
            field, wire = key >> 3, key & 7
            if wire == 0:
                yield field, wire, self.varint()
            elif wire == 2:
                n = self.varint()
                start = self.s.pos
                if end is not None and start + n > end:
                    raise ValueError(f"field {field} runs past its message")
                yield field, wire, n
                if self.s.pos == start:
                    self.s.skip(n)
                elif self.s.pos != start + n:
                    raise ValueError("inconsistent message length")
            elif wire in (1, 5):
                self.s.skip(8 if wire == 1 else 4)
            else:
                raise ValueError(f"unsupported wire type {wire}")
        if end is not None and self.s.pos != end:
            raise ValueError("message overruns its length")

    def text(self, n: int) -> str:
        if n > 4096:
            return "?"
        return self.s.exact(n).decode("utf-8", "replace")

    def model(self) -> None:
        for field, wire, n in self.fields(None):
            if wire != 2:
                continue
            end = self.s.pos + n
            if field == 7:
                self.graph(end, 0)
            elif field == 20:
                for sub, sub_wire, m in self.fields(end):
                    if sub in (1, 2) and sub_wire == 2:
                        self.graph(self.s.pos + m, 1)
            elif field == 25:
                self.function(end)

    def graph(self, end: int, depth: int) -> None:
        if depth > 32:
            raise ValueError("graphs nested too deep")
        for field, wire, n in self.fields(end):
            if wire != 2:
                continue
            if field == 1:
                self.node(self.s.pos + n, depth)
            elif field == 5:
                self.tensor(self.s.pos + n)
            elif field == 15:
                for sub, sub_wire, m in self.fields(self.s.pos + n):
                    if sub in (1, 2) and sub_wire == 2:
                        self.tensor(self.s.pos + m)

    def node(self, end: int, depth: int) -> str:
        offset = self.s.pos
        op_type, domain = "", ""
        for field, wire, n in self.fields(end):
            if wire != 2:
                continue
            if field == 4:
                op_type = self.text(n)
            elif field == 7:
                domain = self.text(n)
            elif field == 5:
                self.attribute(self.s.pos + n, depth)
        self.nodes.append((domain, op_type, offset))
        return op_type

    def attribute(self, end: int, depth: int) -> None:
        for field, wire, n in self.fields(end):
            if wire != 2:
                continue
            if field in (6, 11):
                self.graph(self.s.pos + n, depth + 1)
            elif field in (5, 10):
                self.tensor(self.s.pos + n)

    def function(self, end: int) -> None:
        name, domain = "", ""
        for field, wire, n in self.fields(end):
            if wire != 2:
                continue
            if field == 1:
                name = self.text(n)
            elif field == 10:
                domain = self.text(n)
            elif field == 7:
                self.node(self.s.pos + n, 1)
        self.functions.add((domain, name))

    def tensor(self, end: int) -> None:
        tensor_name = ""
        for field, wire, n in self.fields(end):
            if wire != 2:
                continue
            if field == 8:
                tensor_name = self.text(n)
            elif field == 13:
                offset = self.s.pos
                key, value = "", ""
                for sub, _, m in self.fields(self.s.pos + n):
                    if sub == 1:
                        key = self.text(m)
                    elif sub == 2:
                        value = self.text(m)
                if key == "location" and leaves_folder(value):
                    self.issues.append(
                        _issue(
                            Kind.EXTERNAL_DATA,
                            f"tensor {tensor_name!r} reads external data from {value!r}, outside the model folder",
                            self.member,
                            offset,
                        )
                    )


def leaves_folder(location: str) -> bool:
    """True when an external-data location is absolute, a URL, or climbs out of the model's folder."""
    path = location.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path) or "://" in path or "\0" in path:
        return True
    norm = posixpath.normpath(path)
    return norm == ".." or norm.startswith("../")


def check_onnx(s: Stream, member: str) -> tuple[list[Issue], bool]:
    """Parse an ONNX model; returns issues and whether it parsed as protobuf at all."""
    proto = _Proto(s, member)
    try:
        proto.model()
    except (ValueError, Truncated) as exc:
        return [*proto.issues, _issue(Kind.MALFORMED, f"ONNX protobuf: {exc}", member, s.pos)], False
    for domain, op_type, offset in proto.nodes:
        if domain not in ONNX_DOMAINS and (domain, op_type) not in proto.functions:
            proto.issues.append(
                _issue(
                    Kind.CUSTOM_OP,
                    f"operator {domain}.{op_type} is in custom domain {domain!r}: it needs a native custom-op library",
                    member,
                    offset,
                    f"{domain}.{op_type}",
                )
            )
    return proto.issues, True


# Keras ---------------------------------------------------------------------------------------------------


def check_keras_config(config: object, member: str, allowed_modules: frozenset[str]) -> list[Issue]:
    """Lambda layers and references to modules outside Keras in a Keras model config."""
    issues: list[Issue] = []
    todo: list[tuple[object, int, bool]] = [(config, 0, False)]
    while todo:
        item, depth, in_lambda = todo.pop()
        if depth > 256:
            issues.append(_issue(Kind.LIMIT, "Keras config nested more than 256 levels", member))
            break
        if isinstance(item, list):
            todo.extend((v, depth + 1, in_lambda) for v in item)
            continue
        if not isinstance(item, dict):
            continue
        cls = item.get("class_name")
        lambda_layer = cls == "Lambda" or (cls == "__lambda__" and not in_lambda)
        todo.extend((v, depth + 1, in_lambda or lambda_layer) for v in item.values())
        inner = item.get("config")
        layer = inner.get("name") if isinstance(inner, dict) else None
        if lambda_layer:
            label = f"Lambda layer {layer!r}" if isinstance(layer, str) else "Lambda function"
            message = f"{label} (keras.layers.Lambda) runs serialized Python code"
            issues.append(_issue(Kind.LAMBDA_LAYER, message, member, name="keras.layers.Lambda"))
        module = item.get("module")
        if isinstance(module, str) and module.split(".")[0] not in KERAS_ROOTS:
            target = inner if cls == "function" and isinstance(inner, str) else cls
            full = f"{module}.{target}" if isinstance(target, str) else module
            if full not in allowed_modules and module not in allowed_modules:
                issues.append(_issue(Kind.FOREIGN_MODULE, f"Keras config references {full}, outside Keras", member,
                                     name=full))  # fmt: skip
    return issues


def keras_configs_in(window: bytes) -> Iterator[object]:
    """JSON model configs embedded in raw HDF5 bytes (the ``model_config`` attribute)."""
    decoder = json.JSONDecoder()
    text = window.decode("latin-1")
    done = 0
    for match in _KERAS_CONFIG.finditer(window):
        if match.start() < done:
            continue
        try:
            value, end = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        done = end
        yield value
