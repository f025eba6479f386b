"""Opening files annexa is given (config, policies, settings) without leaving their checkout or blocking.

A symlink is followed only when its target stays inside the boundary (the checkout, else the folder that holds
the link); FIFOs, devices and sockets are never opened; reads are bounded. Errors name the path given, never
the content or the target of a link.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from annexa.errors import AnnexaError, InputError

INPUT_LIMIT = 8 * 1024 * 1024
"""Config, policy and settings files larger than this are refused (no real one comes close)."""

_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


def kind_of(mode: int) -> str:
    """A person's name for a file type that is not a regular file."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _inside(path: str, boundary: str) -> bool:
    return path == boundary or path.startswith(boundary.rstrip(os.sep) + os.sep)


def read_input(path: Path, display: str, root: Path | None = None, limit: int = INPUT_LIMIT) -> bytes:
    """The bytes of an input file, refusing links out of ``root`` (default: the file's folder) and special files."""
    lexical = os.path.abspath(path)
    boundary = os.path.realpath(root) if root is not None else os.path.realpath(os.path.dirname(lexical))
    if root is not None and not _inside(lexical, os.path.abspath(root)):
        boundary = os.path.realpath(os.path.dirname(lexical))
    try:
        link = os.lstat(lexical)
        real = os.path.realpath(lexical)
        if (stat.S_ISLNK(link.st_mode) or real != lexical) and not _inside(real, boundary):
            raise InputError(display, None, "", "symbolic link to a file outside the checkout; not followed")
        target = os.stat(real)
    except InputError:
        raise
    except OSError as exc:
        raise InputError(display, None, "", f"cannot be read: {_reason(exc)}") from exc
    if not stat.S_ISREG(target.st_mode):
        raise InputError(display, None, "", f"is {kind_of(target.st_mode)}; not read")
    if target.st_size > limit:
        raise InputError(display, None, "", f"{target.st_size:,} bytes, over the {limit:,}-byte input limit")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        raise InputError(display, None, "", f"cannot be read: {_reason(exc)}") from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise InputError(display, None, "", "is not a regular file; not read")
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(display, None, "", f"cannot be read: {_reason(exc)}") from exc
    if len(data) > limit:
        raise InputError(display, None, "", f"over the {limit:,}-byte input limit")
    return data


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    return (exc.strerror or type(exc).__name__).lower()


def is_file(path: Path) -> bool:
    """``Path.is_file`` that answers ``False`` for names the OS refuses (too long, bad bytes)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def check_usage(base: str | None, output: Path | None) -> None:
    """Usage errors of ``check`` that argparse cannot see: an empty ``--base``, an ``--output`` folder."""
    if base is not None and not base.strip():
        raise AnnexaError("--base: empty; name a git ref or commit (or leave --base out for a full scan)")
    if output is not None and output.is_dir():
        raise AnnexaError(f"--output {output}: is a directory; name a file")


def write_output(path: Path, text: str) -> None:
    """Write a report file; a failure is a usage error naming the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", errors="backslashreplace")
    except OSError as exc:
        raise AnnexaError(f"--output {path}: cannot be written: {_reason(exc)}") from exc
