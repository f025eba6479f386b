"""Scan one file: sniff its format, walk containers with bounds, check every member; never load anything."""

from __future__ import annotations

import bz2
import gzip
import io
import itertools
import lzma
import os
import re
import struct
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from annexa.scan.modelfiles.formats import (
    check_gguf,
    check_keras_config,
    check_onnx,
    check_safetensors,
    keras_configs_in,
    read_npy_header,
)
from annexa.scan.modelfiles.pickles import Global, PickleWalk, probe_pickle, walk_pickle
from annexa.scan.modelfiles.records import Issue, Kind, Limits, Report
from annexa.scan.modelfiles.sniff import HEAD, MODEL_FORMATS, ZFILE_HEADER, Format, maybe_old_pickle, sniff
from annexa.scan.modelfiles.stream import Budget, Charged, Inflating, LimitExceeded, Prefixed, Stream, Truncated

PROBE = 64 * 1024
"""Bytes a trial parse of a protocol 0/1 pickle looks at."""
WINDOW = 16 * 1024 * 1024
"""Bytes of an HDF5 file searched (at each end) for a Keras model config."""
_STORAGE = re.compile(r"(^|/)data/\d+$")
_LEGACY_RECORDS = re.compile(r"(^|/)(storages|tensors)$")
_ELEMENT_SIZE = {
    f"torch.{kind}Storage": size
    for kind, size in (
        ("Float", 4), ("Double", 8), ("Half", 2), ("BFloat16", 2), ("Long", 8), ("Int", 4), ("Short", 2),
        ("Char", 1), ("Byte", 1), ("Bool", 1), ("ComplexFloat", 8), ("ComplexDouble", 16), ("QInt8", 1),
        ("QUInt8", 1), ("QInt32", 4), ("QUInt4x2", 1), ("QUInt2x4", 1),
    )
}  # fmt: skip
_DECOMPRESS: dict[Format, Callable[..., io.BufferedIOBase]] = {
    Format.GZIP: lambda s: gzip.GzipFile(fileobj=s),
    Format.BZIP2: bz2.BZ2File,
    Format.XZ: lzma.LZMAFile,
    Format.ZLIB: lambda s: io.BufferedReader(Inflating(s, zlib.decompressobj())),
    Format.LZMA: lambda s: io.BufferedReader(Inflating(s, lzma.LZMADecompressor(lzma.FORMAT_ALONE))),
    Format.JOBLIB_ZFILE: lambda s: io.BufferedReader(Inflating(_skipped(s, ZFILE_HEADER), zlib.decompressobj())),
}
"""Compressed streams walked like files: gzip, bzip2, xz, and joblib's zlib, LZMA-alone and old ``ZF`` files."""
_ARCHIVE_ERRORS = (
    struct.error, KeyError, IndexError, TypeError, AssertionError, zipfile.BadZipFile, tarfile.TarError,
    zlib.error, lzma.LZMAError, OSError, EOFError, ValueError,
    NotImplementedError, Truncated, RuntimeError,
)  # fmt: skip


class _Scan:
    """The state of one file's scan: bounds, allowlist, issues and formats seen."""

    def __init__(self, limits: Limits, allowed: frozenset[str]) -> None:
        self.limits = limits
        self.allowed = allowed
        self.budget = Budget(limits.max_bytes)
        self.members = 0
        self.issues: list[Issue] = []
        self.formats: list[str] = []
        self.notes: list[str] = []
        self.imports: set[str] = set()

    def add(self, issues: list[Issue]) -> None:
        self.issues.extend(issues)

    def issue(self, kind: Kind, message: str, member: str, offset: int | None = None) -> None:
        self.issues.append(Issue(kind, message, member, offset))

    # dispatch ----------------------------------------------------------------------------------------------

    def scan(self, raw: BinaryIO, member: str, depth: int, size: int | None, top: bool) -> Format:
        """Sniff and check one file or member; ``top`` means ``raw`` is the seekable file itself."""
        head = _read_full(raw, HEAD)
        fmt = sniff(head)
        if fmt is Format.UNKNOWN and maybe_old_pickle(head):
            if len(head) == HEAD:
                head += _read_full(raw, PROBE - HEAD)
            if probe_pickle(head, complete=len(head) < PROBE or size == len(head)):
                fmt = Format.PICKLE
        self.formats.append(fmt.value)
        if top:
            raw.seek(0)
            stream = Stream(raw, seekable=True, size=size)
        else:
            stream = Stream(io.BufferedReader(Prefixed(head, raw), CHUNK_SIZE), size=size)
        if fmt is Format.PICKLE and _LEGACY_RECORDS.search(member):
            self.legacy_records(stream, member)
        elif fmt is Format.PICKLE:
            self.pickles(stream, member, lenient=bool(_STORAGE.search(member)))
        elif fmt is Format.ZIP:
            self.nested(stream, raw if top else None, member, depth, self.zip)
        elif fmt is Format.TAR and depth >= self.limits.max_depth:
            self.issue(Kind.LIMIT, f"archive nested deeper than {self.limits.max_depth} levels", member)
        elif fmt is Format.TAR:
            self.tar(raw if top else stream, member, depth)  # type: ignore[arg-type]
        elif fmt in _DECOMPRESS:
            self.decompress(stream, member, depth, fmt)
        elif fmt in (Format.SEVEN_ZIP, Format.ZSTD, Format.LZ4):
            self.issue(Kind.UNSUPPORTED, f"{fmt.value} archive: its members cannot be inspected", member, 0)
        elif fmt is Format.SAFETENSORS:
            self.add(check_safetensors(stream, member, self.limits.max_header))
        elif fmt is Format.NPY:
            self.npy(stream, member)
        elif fmt is Format.GGUF:
            self.add(check_gguf(stream, member, self.limits.max_header))
        elif fmt is Format.ONNX:
            issues, parsed = check_onnx(stream, member)
            if parsed:
                self.add(issues)
            else:
                fmt = Format.UNKNOWN
                self.formats[-1] = fmt.value
        elif fmt is Format.HDF5:
            self.hdf5(stream, member)
        elif fmt is Format.LFS_POINTER:
            self.issue(Kind.LFS_POINTER, "Git LFS pointer: the model content is not pulled", member)
        if top and fmt is not Format.ZIP and size is not None and size > 22:
            raw.seek(0)
            if zipfile.is_zipfile(raw):
                self.notes.append("a zip archive is appended to the file")
                raw.seek(0)
                self.zip(raw, member, depth)
        return fmt

    def nested(
        self,
        stream: Stream,
        seekable: BinaryIO | None,
        member: str,
        depth: int,
        walk: Callable[[BinaryIO, str, int], None],
    ) -> None:
        """Walk an archive; a nested one is spooled to a temporary file (bounded by the byte budget)."""
        if depth >= self.limits.max_depth:
            self.issue(Kind.LIMIT, f"archive nested deeper than {self.limits.max_depth} levels", member)
            return
        if seekable is not None:
            walk(seekable, member, depth)
            return
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
            while chunk := stream.read(CHUNK_SIZE):
                spool.write(chunk)
            spool.seek(0)
            walk(spool, member, depth)  # type: ignore[arg-type]

    def decompress(self, stream: Stream, member: str, depth: int, fmt: Format) -> None:
        if depth >= self.limits.max_depth:
            self.issue(Kind.LIMIT, f"archive nested deeper than {self.limits.max_depth} levels", member)
            return
        child = _join(member, f"<{fmt.value}>")
        try:
            with _DECOMPRESS[fmt](stream) as inner:
                self.scan(Charged(inner, self.budget), child, depth + 1, None, top=False)  # type: ignore[arg-type]
        except LimitExceeded:
            raise
        except _ARCHIVE_ERRORS as exc:
            self.issue(Kind.MALFORMED, f"{fmt.value} stream cannot be decompressed: {exc}", child)

    # pickles -----------------------------------------------------------------------------------------------

    def pickles(self, stream: Stream, member: str, lenient: bool) -> None:
        """One pickle, then any pickles that follow it (legacy torch files are several in a row)."""
        first = True
        while True:
            walk = walk_pickle(stream, self.allowed, member)
            self.imports |= walk.globals
            kept = [i for i in walk.issues if (first and not lenient) or i.kind is not Kind.MALFORMED]
            self.add(kept)
            if not walk.stopped:
                return
            nxt = stream.peek(3)
            if len(nxt) < 3 or nxt[0] != 0x80 or not 2 <= nxt[1] <= 5:
                return
            first = False

    def one_pickle(self, stream: Stream, member: str) -> PickleWalk:
        walk = walk_pickle(stream, self.allowed, member)
        self.imports |= walk.globals
        self.add(walk.issues)
        return walk

    def legacy_records(self, stream: Stream, member: str) -> None:
        """Legacy torch tar ``storages`` / ``tensors``: a count, then pickled records each followed by raw bytes.

        Every record pickle is walked, as ``torch.load`` unpickles each one.
        """
        walk = self.one_pickle(stream, member)
        count = walk.result
        if not walk.stopped or not isinstance(count, int) or isinstance(count, bool):
            return
        if count < 0 or count > self.limits.max_members:
            self.issue(Kind.LIMIT, f"legacy torch record count {count} out of bounds", member, 0)
            return
        storages = member.endswith("storages")
        for _ in range(count):
            at = stream.pos
            walk = self.one_pickle(stream, member)
            record = walk.result
            if not walk.stopped:
                return
            if storages:
                kind = record[2] if isinstance(record, tuple) and len(record) == 3 else None
                size = _ELEMENT_SIZE.get(kind.name) if isinstance(kind, Global) else None
                if size is None:
                    self.issue(Kind.MALFORMED, "legacy torch storage record without a known storage type", member, at)
                    return
                stream.skip(int.from_bytes(stream.exact(8), "little", signed=True) * size)
            else:
                (ndim,) = struct.unpack("<i", stream.exact(4))
                stream.skip(4 + 16 * max(ndim, 0) + 8)
        if storages and stream.peek(1):
            self.one_pickle(stream, member)

    def npy(self, stream: Stream, member: str) -> None:
        issues, is_object = read_npy_header(stream, member)
        self.add(issues)
        if is_object:
            self.pickles(stream, member, lenient=False)

    def hdf5(self, stream: Stream, member: str) -> None:
        """Keras ``model_config`` JSON in the first and last bytes of an HDF5 file."""
        window = stream.read(WINDOW) + stream.tail(WINDOW)
        found = False
        for config in keras_configs_in(window):
            found = True
            self.add(check_keras_config(config, member, self.allowed))
        if not found and b"model_config" in window:
            self.issue(Kind.UNSUPPORTED, "HDF5 Keras model_config attribute could not be read", member)
        elif not found and b'"class_name": "Lambda"' in window:
            self.issue(Kind.LAMBDA_LAYER, "Lambda layer in a Keras HDF5 file", member)

    # archives ----------------------------------------------------------------------------------------------

    def zip(self, handle: BinaryIO, member: str, depth: int) -> None:
        try:
            archive = zipfile.ZipFile(handle)
            infos = archive.infolist()
        except _ARCHIVE_ERRORS as exc:
            self.issue(Kind.MALFORMED, f"corrupt zip archive: {exc}", member)
            return
        with archive:
            infos = self.zip_bounds(infos, member)
            names = {i.filename for i in infos}
            if "config.json" in names and ("metadata.json" in names or "model.weights.h5" in names):
                self.keras_zip(archive, member)
            for info in infos:
                if info.is_dir():
                    continue
                child = _join(member, info.filename)
                if info.file_size > 1024 * 1024 and info.file_size > self.limits.max_ratio * max(info.compress_size, 1):
                    ratio = info.file_size / max(info.compress_size, 1)
                    self.issue(Kind.LIMIT, f"compression ratio {ratio:.0f}:1 (zip bomb); member not read", child)
                    continue
                encrypted = bool(info.flag_bits & 0x1)
                if encrypted:
                    # Loaders such as PyTorch's ignore the flag: read the bytes as they are.
                    info.flag_bits &= ~0x1
                try:
                    with archive.open(info) as data:
                        found = self.scan(Charged(data, self.budget), child, depth + 1, info.file_size, top=False)  # type: ignore[arg-type]
                    if encrypted and found is Format.UNKNOWN:
                        self.issue(Kind.UNSUPPORTED, "encrypted zip member cannot be inspected", child)
                except LimitExceeded:
                    raise
                except _ARCHIVE_ERRORS as exc:
                    self.issue(Kind.MALFORMED, f"zip member cannot be read: {exc}", child)

    def zip_bounds(self, infos: list[zipfile.ZipInfo], member: str) -> list[zipfile.ZipInfo]:
        """Member count, declared size, duplicate names and overlapping entries (bomb constructions)."""
        self.members += len(infos)
        if self.members > self.limits.max_members:
            self.issue(Kind.LIMIT, f"more than {self.limits.max_members} archive members", member)
            infos = infos[: max(0, self.limits.max_members - (self.members - len(infos)))]
        declared = sum(i.file_size for i in infos)
        if declared > self.limits.max_bytes:
            self.issue(Kind.LIMIT, f"zip declares {declared} uncompressed bytes (zip bomb); not read", member)
            return []
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            self.issue(Kind.MALFORMED, "zip has duplicate member names (loaders disagree on which is read)", member)
        ordered = sorted(infos, key=lambda i: i.header_offset)
        for a, b in itertools.pairwise(ordered):
            if a.header_offset + a.compress_size > b.header_offset:
                self.issue(Kind.LIMIT, "zip members overlap (zip bomb construction); not read", member)
                return []
        return infos

    def keras_zip(self, archive: zipfile.ZipFile, member: str) -> None:
        import json

        child = _join(member, "config.json")
        try:
            with archive.open("config.json") as handle:
                data = handle.read(self.limits.max_header + 1)
            self.budget.charge(len(data))
            config = json.loads(data)
        except (ValueError, *_ARCHIVE_ERRORS) as exc:
            self.issue(Kind.MALFORMED, f"Keras config.json cannot be read: {exc}", child)
            return
        self.formats.append("keras")
        self.add(check_keras_config(config, child, self.allowed))

    def tar(self, handle: BinaryIO, member: str, depth: int) -> None:
        try:
            with tarfile.open(fileobj=handle, mode="r|") as archive:
                for info in archive:
                    self.members += 1
                    if self.members > self.limits.max_members:
                        self.issue(Kind.LIMIT, f"more than {self.limits.max_members} archive members", member)
                        return
                    if not info.isfile():
                        continue
                    child = _join(member, info.name)
                    data = archive.extractfile(info)
                    if data is None:
                        continue
                    try:
                        self.scan(Charged(data, self.budget), child, depth + 1, info.size, top=False)  # type: ignore[arg-type]
                    except LimitExceeded:
                        raise
                    except _ARCHIVE_ERRORS as exc:
                        self.issue(Kind.MALFORMED, f"tar member cannot be read: {exc}", child)
        except LimitExceeded:
            raise
        except _ARCHIVE_ERRORS as exc:
            self.issue(Kind.MALFORMED, f"corrupt tar archive: {exc}", member)


CHUNK_SIZE = 1024 * 1024


def _read_full(raw: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    while n > 0 and (data := raw.read(n)):
        parts.append(data)
        n -= len(data)
    return b"".join(parts)


def _skipped(stream: Stream, n: int) -> Stream:
    stream.exact(n)
    return stream


def _join(member: str, name: str) -> str:
    return f"{member}/{name}" if member else name


def scan_stream(handle: BinaryIO, size: int, limits: Limits, allowed: frozenset[str]) -> Report:
    """Scan an open, seekable binary file of ``size`` bytes."""
    state = _Scan(limits, allowed)
    fmt = Format.UNKNOWN
    try:
        fmt = state.scan(handle, "", 0, size, top=True)
    except LimitExceeded as exc:
        state.issue(Kind.LIMIT, str(exc), "")
    except Truncated as exc:
        state.issue(Kind.MALFORMED, f"truncated: {exc}", "")
    except _ARCHIVE_ERRORS as exc:
        state.issue(Kind.MALFORMED, f"cannot be parsed: {exc}", "")
    except Exception as exc:  # fail closed: a scanner fault is a finding, never a pass or a crash
        state.issue(Kind.MALFORMED, f"scanner could not finish: {type(exc).__name__}: {exc}", "")
    if fmt is Format.UNKNOWN and state.formats and state.formats[0] != Format.UNKNOWN.value:
        fmt = Format(state.formats[0])
    model = any(f in MODEL_FORMATS or f == "keras" for f in state.formats)
    return Report(
        format=fmt.value,
        formats=tuple(dict.fromkeys(state.formats)),
        issues=_dedupe(state.issues),
        members=state.members,
        model_content=model,
        notes=tuple(state.notes),
        imports=tuple(sorted(state.imports)),
    )


def scan_path(path: Path, limits: Limits | None = None, allowed: frozenset[str] | None = None) -> Report:
    """Scan a file on disk (see ``scan_stream``)."""
    from annexa.scan.modelfiles.allowlist import DEFAULT_ALLOWED_GLOBALS

    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        return scan_stream(handle, size, limits or Limits(), allowed or DEFAULT_ALLOWED_GLOBALS)


def _dedupe(issues: list[Issue]) -> tuple[Issue, ...]:
    seen: set[tuple[str, str, str]] = set()
    out: list[Issue] = []
    for issue in issues:
        key = (issue.kind.value, issue.member, issue.message)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return tuple(out)
