"""Recognise a file's format from its first bytes, never from its name."""

from __future__ import annotations

import json
import re
import struct
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
_PICKLE_PROBE_START = frozenset(b"(}]).NIJKLFSVcidlNprGgqh")


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


def maybe_old_pickle(head: bytes) -> bool:
    """True when ``head`` could start a protocol 0/1 pickle (worth a trial parse)."""
    return bool(head) and head[0] in _PICKLE_PROBE_START


def _is_safetensors(head: bytes) -> bool:
    if len(head) < 10:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    if n < 2 or n > 100 * 1024**2 or head[8:9] != b"{":
        return False
    body = head[8 : 8 + n]
    if len(body) == n:
        try:
            return isinstance(json.loads(body.rstrip(b" ")), dict)
        except ValueError:
            return False
    return body[1:2] in (b'"', b"}", b" ", b"\n")


def looks_like_onnx(head: bytes) -> bool:
    """An ONNX ModelProto starts with ``ir_version`` (field 1, varint, 1..15) then another known field."""
    return (
        len(head) >= 4
        and head[0] == 0x08
        and 1 <= head[1] <= 15
        and head[2] in (0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72)
    )
