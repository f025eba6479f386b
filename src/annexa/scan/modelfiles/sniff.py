"""Recognise a file's format from its first bytes, never from its name."""

from __future__ import annotations

import lzma
import re
import struct
import zlib
from enum import StrEnum

HEAD = 4096
"""How many leading bytes sniffing looks at."""


class Format(StrEnum):
    """Formats the scanner recognises."""

    PICKLE = "pickle"
    ZIP = "zip"
    TAR = "tar"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    SEVEN_ZIP = "7z"
    ZSTD = "zstd"
    ZLIB = "zlib"
    LZMA = "lzma"
    LZ4 = "lz4"
    JOBLIB_ZFILE = "joblib-zfile"
    SAFETENSORS = "safetensors"
    GGUF = "gguf"
    ONNX = "onnx"
    HDF5 = "hdf5"
    NPY = "npy"
    LFS_POINTER = "lfs-pointer"
    UNKNOWN = "unknown"


MODEL_FORMATS = frozenset({Format.PICKLE, Format.SAFETENSORS, Format.GGUF, Format.ONNX, Format.HDF5, Format.NPY})
"""Formats that are model or pickle content in themselves (containers only hold them)."""

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_LFS = re.compile(
    rb"version (https://git-lfs\.github\.com/spec/v1|https://hawser\.github\.com/spec/v1|http://git-media\.io/v/2)\n"
    rb"(?:[a-z0-9.-]+ [^\n]*\n)*?oid sha256:[0-9a-f]{64}\n(?:[a-z0-9.-]+ [^\n]*\n)*?size \d+\n"
)
_NAME = rb"[A-Za-z_][\w.]*"
_OLD_PICKLE = re.compile(
    rb"c" + _NAME + rb"\n" + _NAME + rb"\n"          # GLOBAL module\nname\n
    rb"|\((?:[dlt.(}\])NIJKLFSVGU]|[ci]" + _NAME + rb"\n" + _NAME + rb"\n|p\d+\n|q.)"  # MARK, then an opcode
    rb"|[}\])](?:p\d+\n|q.|r....|\(|\.)"          # empty dict/list/tuple, then memo, mark or stop
    rb"|N\.|I(?:\d+|0[01])\n[.p(]|L-?\d+L?\n[.p(]|F-?[\d.]+(?:[eE][-+]?\d+)?\n[.p(]"
    rb"|S(?:'[^'\n]*'|\"[^\"\n]*\")\n[.p(]|V[^\n]*\n[.p(]",
    re.S,
)
_BINARY_OLD = frozenset(b"KJMGUTXBC")
"""Protocol 1 opcodes that can start a pickle of one value; they count only with binary bytes after them."""


def sniff(head: bytes) -> Format:
    """The format announced by ``head`` (the first bytes of a file or member).

    Protocol 0 and 1 pickles have no magic; they are recognised later by a trial parse
    (see ``maybe_old_pickle``).
    """
    if head[:1] == b"\x80" and len(head) > 2 and head[1] <= 5:
        return Format.PICKLE
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return Format.ZIP
    if head.startswith(b"\x1f\x8b"):
        return Format.GZIP
    if head.startswith(b"BZh") and head[3:4].isdigit() and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return Format.BZIP2
    if head.startswith(b"\xfd7zXZ\x00"):
        return Format.XZ
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return Format.SEVEN_ZIP
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return Format.ZSTD
    if head.startswith(b"\x04\x22\x4d\x18"):
        return Format.LZ4
    if _is_zlib(head):
        return Format.ZLIB
    if _is_lzma_alone(head):
        return Format.LZMA
    if head.startswith(b"ZF") and JOBLIB_ZFILE_LENGTH.match(head[2:ZFILE_HEADER]) and _is_zlib(head[ZFILE_HEADER:]):
        return Format.JOBLIB_ZFILE
    if head.startswith(b"GGUF"):
        return Format.GGUF
    if head.startswith(b"\x93NUMPY"):
        return Format.NPY
    if head.startswith(HDF5_MAGIC) or HDF5_MAGIC in (head[512:520], head[1024:1032], head[2048:2056]):
        return Format.HDF5
    if len(head) >= 262 and head[257:262] == b"ustar":
        return Format.TAR
    if _is_safetensors(head):
        return Format.SAFETENSORS
    if head.startswith(b"version ") and _LFS.match(head[:1024]):
        return Format.LFS_POINTER
    if looks_like_onnx(head):
        return Format.ONNX
    return Format.UNKNOWN


ZFILE_HEADER = 2 + 19
"""joblib's old ``ZF`` files: the prefix, then the uncompressed length in hex padded to 19 bytes, then zlib."""
JOBLIB_ZFILE_LENGTH = re.compile(rb"0x[0-9a-fA-F]+L? *$")


def _is_zlib(head: bytes) -> bool:
    """A zlib header (deflate, window <= 32K, check bits) whose first bytes also inflate without error."""
    if len(head) < 8 or head[0] != 0x78 or (head[0] * 256 + head[1]) % 31 or head[1] & 0x20:
        return False
    try:
        zlib.decompressobj().decompress(head[:HEAD], 64)
    except zlib.error:
        return False
    return True


def _is_lzma_alone(head: bytes) -> bool:
    """The legacy ``.lzma`` header joblib's ``compress='lzma'`` writes (``]\\x00``), decoding without error."""
    if len(head) < 14 or not head.startswith(b"]\x00\x00"):
        return False
    try:
        lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(head[:HEAD], max_length=64)
    except lzma.LZMAError:
        return False
    return True


def maybe_old_pickle(head: bytes) -> bool:
    """True when ``head`` starts with the structure of a protocol 0/1 pickle (worth a trial parse).

    These pickles have no magic, but their first opcodes are checkable: ``c<module>\\n<name>\\n`` GLOBAL lines,
    a MARK followed by an opcode (``(dp0``, ``(lp1``), an empty container followed by a memo write, or one
    value followed by STOP. Text and source files (``class Foo:``, ``import os``) do not get a trial parse.
    """
    if not head:
        return False
    if head[0] in _BINARY_OLD:
        return len(head) >= 2 and any(b < 0x20 and b not in b"\n\r\t" for b in head[1:64])
    return _OLD_PICKLE.match(head) is not None


def _is_safetensors(head: bytes) -> bool:
    """An 8-byte little-endian header length, then a JSON object: ``{"`` or ``{}`` (or JSON whitespace).

    A header that starts like one but is inconsistent (longer than the file, not JSON) still sniffs as
    safetensors, so the header check reports the file as corrupt instead of leaving it unrecognised.
    """
    if len(head) < 10:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    if n < 2 or head[8:9] != b"{":
        return False
    return head[9:10] in (b'"', b"}", b" ", b"\n", b"\r", b"\t")


def looks_like_onnx(head: bytes) -> bool:
    """An ONNX ModelProto starts with ``ir_version`` (field 1, varint, 1..15) then another known field."""
    return (
        len(head) >= 4
        and head[0] == 0x08
        and 1 <= head[1] <= 15
        and head[2] in (0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72)
    )


def weight_evidence(head: bytes, probe: bool) -> str | None:
    """Why ``head`` (a file's first bytes) is model weight content, or ``None`` when it is text or empty.

    ``probe`` is the result of a protocol 0/1 pickle trial parse (protocol 0 pickles are ASCII text).
    Binary bytes of no recognised format still count: a weight-named binary blob is not shown to be harmless.
    """
    fmt = sniff(head)
    if fmt is Format.LFS_POINTER:
        return "Git LFS pointer"
    if fmt is not Format.UNKNOWN:
        return f"{fmt.value} content"
    if probe:
        return "pickle content (protocol 0/1)"
    if not head:
        return None
    if not _is_text(head):
        return "binary content of no recognised format"
    return None


_CONTROL = frozenset(range(0x09)) | frozenset(range(0x0E, 0x1B)) | frozenset(range(0x1C, 0x20))
"""Bytes that text files do not contain (everything below 0x20 but tab, newlines, form feed and escape)."""


def _is_text(head: bytes) -> bool:
    if any(b in _CONTROL for b in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:
            return False
    return True
