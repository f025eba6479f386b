"""Files of the base revision, read with git: what a change is judged by, never what it brings.

In PR mode (``annexa ci``, ``annexa check --base REF``) the config, the policies in the repository and the secrets
baseline come from the base revision, so a change cannot loosen the rules it is checked against. Files are read
with ``git ls-tree`` and ``git cat-file`` (bounded size, with a timeout): nothing is checked out and nothing in the
repository is executed (no hooks, filters or textconv: ``cat-file blob`` returns the stored bytes).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from annexa.errors import CollectError, UnreadableFile

MAX_BYTES = 2 * 1024 * 1024
"""Largest base file read (config, policies and baselines are small)."""

TIMEOUT = 20.0
"""Seconds one git command may take."""

MAX_FILES = 500
"""Most files listed under one folder of the base revision."""


@dataclass(frozen=True)
class BaseEntry:
    """One file of the base revision: its path, git mode and size."""

    path: str
    mode: str
    size: int


class BaseFiles:
    """Read-only files of a base revision; ``read_bytes`` is ``None`` for a path the base does not have.

    ``BaseRevision`` reads a local git commit; ``annexa ci`` falls back to the platform's contents API when the
    checkout lacks the base commit (a shallow clone).
    """

    commit: str
    label: str

    def read_bytes(self, path: str, limit: int = MAX_BYTES) -> bytes | None:
        """The stored bytes of ``path``, or ``None`` when absent."""
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        """True when the base has a file at ``path``."""
        raise NotImplementedError

    def files_under(self, folder: str) -> list[str]:
        """Regular files directly in ``folder`` (sorted); empty when there is no folder."""
        raise NotImplementedError

    def read_text(self, path: str, limit: int = MAX_BYTES) -> str | None:
        """The file as UTF-8 text (``None`` when absent); binary or invalid UTF-8 raises ``UnreadableFile``."""
        data = self.read_bytes(path, limit)
        if data is None:
            return None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(path, f"not valid UTF-8 in the base revision (byte {exc.start})") from exc

    @contextmanager
    def materialise(self, paths: Iterable[str]) -> Iterator[Path]:
        """A temporary folder holding the base's copies of ``paths`` at their repository paths (absent ones are
        left out), for loaders that read from disk; removed on exit. Nothing is checked out."""
        with tempfile.TemporaryDirectory(prefix="annexa-base-") as tmp:
            top = Path(tmp)
            for path in paths:
                check_path(path)
                data = self.read_bytes(path)
                if data is None:
                    continue
                target = top / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            yield top


class BaseRevision(BaseFiles):
    """Read-only access to one commit of a local git repository. Paths are repository-relative POSIX strings."""

    def __init__(self, root: Path, commit: str, label: str | None = None) -> None:
        self.root = root
        self.commit = commit
        self.label = label or commit[:12]

    @classmethod
    def open(cls, root: Path, rev: str) -> BaseRevision:
        """The commit ``rev`` names in the repository at ``root``; raises ``CollectError`` when it is not there."""
        try:
            out = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
        except CollectError:
            raise CollectError(f"base revision {rev}: no such commit in {root}") from None
        commit = out.decode("ascii", "replace").strip()
        if not commit:
            raise CollectError(f"base revision {rev}: not in the repository at {root}")
        label = rev if rev == commit else f"{rev} ({commit[:12]})"
        return cls(root, commit, label)

    def entry(self, path: str) -> BaseEntry | None:
        """The base's entry for ``path``, or ``None`` when the base has no file there."""
        check_path(path)
        out = _git(self.root, "ls-tree", "-l", "-z", "--full-tree", self.commit, "--", path)
        for record in out.split(b"\0"):
            entry = _parse(record)
            if entry is not None and entry.path == path:
                return entry
        return None

    def exists(self, path: str) -> bool:
        """True when the base revision has a file (blob) at ``path``."""
        entry = self.entry(path)
        return entry is not None and entry.mode != "040000"

    @classmethod
    def parents(cls, root: Path, rev: str = "HEAD") -> list[str]:
        """The parent commits of ``rev`` as the local repository knows them (none in a shallow clone's tip)."""
        try:
            out = _git(root, "rev-list", "--parents", "-n", "1", "--end-of-options", rev)
        except CollectError:
            return []
        return out.decode("ascii", "replace").split()[1:]

    def files_under(self, folder: str) -> list[str]:
        """Regular files directly in ``folder`` of the base revision (sorted); empty when there is no folder."""
        check_path(folder)
        out = _git(self.root, "ls-tree", "-l", "-z", "--full-tree", self.commit, "--", folder.rstrip("/") + "/")
        entries = [e for e in (_parse(r) for r in out.split(b"\0")) if e is not None and e.mode.startswith("100")]
        if len(entries) > MAX_FILES:
            raise CollectError(f"{folder}/ in the base revision has more than {MAX_FILES} files")
        return sorted(e.path for e in entries)

    def read_bytes(self, path: str, limit: int = MAX_BYTES) -> bytes | None:
        """The stored bytes of ``path`` (``None`` when absent); symlinks and oversize files raise ``UnreadableFile``."""
        entry = self.entry(path)
        if entry is None:
            return None
        if not entry.mode.startswith("100"):
            kind = "a symbolic link" if entry.mode == "120000" else "not a regular file"
            raise UnreadableFile(path, f"{kind} in the base revision {self.label}; not read")
        if entry.size > limit:
            raise UnreadableFile(path, f"{entry.size:,} bytes in the base revision, over the {limit:,}-byte limit")
        return _git(self.root, "cat-file", "blob", f"{self.commit}:{path}")


def check_path(path: str) -> None:
    """Refuse anything but a plain repository-relative path (no ``..``, no leading ``/`` or ``-``)."""
    parts = PurePosixPath(path).parts
    if not path or path.startswith("/") or ".." in parts or path.startswith("-"):
        raise CollectError(f"{path!r}: not a repository-relative path")


def _parse(record: bytes) -> BaseEntry | None:
    if not record:
        return None
    meta, _, name = record.partition(b"\t")
    fields = meta.split()
    if len(fields) != 4:
        return None
    mode, _kind, _sha, size = (f.decode("ascii", "replace") for f in fields)
    return BaseEntry(name.decode("utf-8", "surrogateescape"), mode, int(size) if size.isdigit() else 0)


def _git(root: Path, *args: str) -> bytes:
    """Run one read-only git command; no pager, no replace objects, no lazy fetch from a promisor remote."""
    command = ["git", "--no-pager", "--no-replace-objects", "-c", "core.quotepath=off", *args]
    env = {**os.environ, "GIT_NO_LAZY_FETCH": "1", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        done = subprocess.run(command, cwd=root, capture_output=True, check=False, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired as exc:
        raise CollectError(f"git {args[0]} took longer than {TIMEOUT:.0f}s") from exc
    except OSError as exc:
        raise CollectError(f"git could not run: {exc}") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise CollectError(f"git {args[0]} failed: {detail}")
    return done.stdout
