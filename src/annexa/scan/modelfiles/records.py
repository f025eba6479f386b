"""Frozen records the model-file scanner returns: limits, issues and the report of one file."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """Why a model file is a problem. ``UNDECIDED`` kinds make a verdict unknown, all others make it fail."""

    UNSAFE_GLOBAL = "unsafe-global"
    UNSAFE_CALL = "unsafe-call"
    OBJECT_DTYPE = "object-dtype"
    LAMBDA_LAYER = "lambda-layer"
    FOREIGN_MODULE = "foreign-module"
    EXTERNAL_DATA = "external-data"
    CUSTOM_OP = "custom-op"
    TEMPLATE_CODE = "template-code"
    MALFORMED = "malformed"
    LIMIT = "limit"
    LFS_POINTER = "lfs-pointer"
    UNRECOGNISED = "unrecognised"
    UNSUPPORTED = "unsupported"


UNDECIDED = frozenset({Kind.LFS_POINTER, Kind.UNRECOGNISED, Kind.UNSUPPORTED})
"""Issues that mean "could not decide" rather than "unsafe"."""


@dataclass(frozen=True)
class Limits:
    """Bounds of one scan: container depth, members, bytes decompressed or read from members, ratio."""

    max_depth: int = 4
    max_members: int = 100_000
    max_bytes: int = 4 * 1024**3
    max_ratio: float = 250.0
    max_header: int = 100 * 1024**2


@dataclass(frozen=True)
class Issue:
    """One reason a model file is unsafe or undecided, with where it is.

    ``member`` is the path inside containers (``"outer.zip/archive/data.pkl"``), empty for the file itself;
    ``offset`` is the byte offset inside that member (or file).
    """

    kind: Kind
    message: str
    member: str = ""
    offset: int | None = None
    global_name: str | None = None

    @property
    def undecided(self) -> bool:
        """True when the issue means "could not decide", not "unsafe"."""
        return self.kind in UNDECIDED

    def where(self) -> str:
        """Human-readable position: member and byte offset."""
        parts = []
        if self.member:
            parts.append(f"in {self.member}")
        if self.offset is not None:
            parts.append(f"at byte {self.offset}")
        return " ".join(parts)


@dataclass(frozen=True)
class Report:
    """The outcome of scanning one file.

    ``format`` is the format of the file itself; ``formats`` every format seen, members included;
    ``model_content`` is true when the file or a member is a model or pickle format; ``imports`` lists every
    pickle global the file names, allowed or not.
    """

    format: str
    formats: tuple[str, ...]
    issues: tuple[Issue, ...]
    members: int
    model_content: bool
    notes: tuple[str, ...] = field(default=())
    imports: tuple[str, ...] = field(default=())

    @property
    def unsafe(self) -> tuple[Issue, ...]:
        """Issues that make the file fail."""
        return tuple(i for i in self.issues if not i.undecided)

    @property
    def undecided(self) -> tuple[Issue, ...]:
        """Issues that leave the verdict open."""
        return tuple(i for i in self.issues if i.undecided)
