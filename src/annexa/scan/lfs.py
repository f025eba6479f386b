"""Git LFS pointer files (git-lfs docs/spec.md) and the LFS view of a checkout."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from annexa.errors import AnnexaError
from annexa.safeio import kind_of

POINTER_MAX = 1024
"""git-lfs only treats blobs smaller than this as pointers."""

_VERSIONS = (
    b"https://git-lfs.github.com/spec/v1",
    b"https://hawser.github.com/spec/v1",
    b"http://git-media.io/v/2",
)
_OID = re.compile(rb"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class LfsPointer:
    """A parsed pointer: the object id and the size of the real content."""

    oid: str
    size: int


def parse_pointer(data: bytes) -> LfsPointer | None:
    """The pointer in ``data``, or ``None`` when it is not a valid Git LFS pointer."""
    if len(data) >= POINTER_MAX or not data.startswith(b"version "):
        return None
    fields: dict[bytes, bytes] = {}
    for line in data.rstrip(b"\n").split(b"\n"):
        key, sep, value = line.partition(b" ")
        if not sep or not key or key in fields:
            return None
        fields[key] = value
    if fields.get(b"version") not in _VERSIONS:
        return None
    oid, size = fields.get(b"oid", b""), fields.get(b"size", b"")
    if not _OID.fullmatch(oid) or not size.isdigit():
        return None
    return LfsPointer(oid.decode(), int(size))


def lfs_filtered(root: Path, paths: Iterable[str], is_git: bool) -> dict[str, bool]:
    """Which ``paths`` `.gitattributes` sends to LFS (``filter=lfs``), as git itself decides."""
    names = list(paths)
    if not names:
        return {}
    _check_attribute_files(root, names)
    with tempfile.TemporaryDirectory() as scratch:
        prefix = ["git"] if is_git else ["git", f"--git-dir={scratch}", f"--work-tree={root}"]
        if not is_git:
            _run(["git", "init", "-q", "--bare", scratch], root)
        stdout = _run([*prefix, "check-attr", "-z", "--stdin", "filter"], root,
                      "\0".join(names).encode("utf-8", "surrogateescape") + b"\0")
    fields = stdout.split(b"\0")
    result: dict[str, bool] = {}
    for i in range(0, len(fields) - 2, 3):
        result[fields[i].decode("utf-8", "surrogateescape")] = fields[i + 2] == b"lfs"
    return result


def staged_blobs(root: Path, paths: Iterable[str]) -> dict[str, bytes | int]:
    """For tracked ``paths``: the blob's bytes when small enough to be a pointer, else its size."""
    wanted = set(paths)
    if not wanted:
        return {}
    listing = _run(["git", "ls-files", "-s", "-z"], root)
    blob_of: dict[str, str] = {}
    for entry in listing.split(b"\0"):
        meta, _, raw_name = entry.partition(b"\t")
        name = raw_name.decode("utf-8", "surrogateescape")
        if name in wanted:
            blob_of[name] = meta.split()[1].decode()
    if not blob_of:
        return {}
    batch = _run(["git", "cat-file", "--batch-check"], root,
                 "\n".join(blob_of.values()).encode() + b"\n").decode().splitlines()
    sizes = {line.split()[0]: int(line.split()[2]) for line in batch if len(line.split()) == 3}
    small = [b for b in set(blob_of.values()) if sizes.get(b, POINTER_MAX) < POINTER_MAX]
    contents: dict[str, bytes] = {}
    if small:
        raw = _run(["git", "cat-file", "--batch"], root, "\n".join(small).encode() + b"\n")
        pos = 0
        while pos < len(raw):
            header_end = raw.index(b"\n", pos)
            blob, _, size = raw[pos:header_end].split()
            start = header_end + 1
            contents[blob.decode()] = raw[start : start + int(size)]
            pos = start + int(size) + 1
    return {name: contents.get(blob, sizes.get(blob, 0)) for name, blob in blob_of.items()}


GIT_TIMEOUT = 120
"""Seconds one git command may take."""


class LfsError(AnnexaError):
    """git could not answer an LFS question (timed out, failed, or an attributes file is not a regular file)."""


def _run(command: list[str], root: Path, data: bytes | None = None) -> bytes:
    """Run a git command with a timeout; failures raise ``LfsError`` with git's own words."""
    try:
        done = subprocess.run(command, cwd=root, input=data, capture_output=True, check=False, timeout=GIT_TIMEOUT,
                              stdin=None if data is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise LfsError(f"git {command[1]} did not finish within {GIT_TIMEOUT} s") from exc
    except OSError as exc:
        raise LfsError(f"git could not run: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip()[:500]
        raise LfsError(f"git {' '.join(c for c in command[1:3] if not c.startswith('-'))} failed: {detail}")
    return done.stdout


def _check_attribute_files(root: Path, names: list[str]) -> None:
    """git blocks forever reading a FIFO ``.gitattributes``: refuse any attributes file that is not a regular file."""
    folders = {""}
    for name in names:
        parts = name.split("/")[:-1]
        folders.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    candidates = [f"{folder}/.gitattributes" if folder else ".gitattributes" for folder in sorted(folders)]
    candidates.append(".git/info/attributes")
    for rel in candidates:
        try:
            mode = os.lstat(root / rel).st_mode
            if stat.S_ISLNK(mode):
                mode = os.stat(root / rel).st_mode
        except OSError:
            continue
        if not stat.S_ISREG(mode):
            raise LfsError(f"{rel} is {kind_of(mode)}, not a file; git cannot read its attributes")
