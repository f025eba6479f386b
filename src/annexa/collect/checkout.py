"""The checkout: listing files and reading them safely (bounded, symlinks never followed outside)."""

from __future__ import annotations

import errno
import os
import re
import stat
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from annexa.errors import CollectError, UnreadableFile
from annexa.facts import ChangeSet, FileChange
from annexa.paths import any_regex
from annexa.safeio import kind_of

TEXT_LIMIT = 4 * 1024 * 1024
"""Text files larger than this are not read whole by text rules."""

GIT_TIMEOUT = 120
"""Seconds any one git command may take (a hostile checkout must not hang a run)."""


class Checkout:
    """A working tree on disk. Paths are repository-relative POSIX strings."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise CollectError(f"{root}: not a directory")
        self.root = root.resolve()
        self._root = str(self.root)
        self._matches: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._folders: dict[str, str | None] = {"": self._root}
        """Real path of each folder seen, ``None`` for one outside the checkout (cached per folder)."""

    @cached_property
    def is_git(self) -> bool:
        """True when the root is the top of a git work tree."""
        try:
            top = self._git("rev-parse", "--show-toplevel").strip()
        except CollectError:
            return False
        return Path(top).resolve() == self.root

    @cached_property
    def _files(self) -> tuple[str, ...]:
        if self.is_git:
            out = self._git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
            names = {name for name in out.split("\0") if name}
            return tuple(sorted(n for n in names if self._listed(n)))
        return tuple(sorted(_walk(self.root)))

    def _listed(self, path: str) -> bool:
        """A git-listed name that is on disk and not a folder; a name the OS cannot stat (too long, bad bytes) is
        kept, so that reading it fails loudly (``unknown`` with the path) instead of it vanishing."""
        try:
            return not stat.S_ISDIR(os.lstat(self.root / path).st_mode)
        except FileNotFoundError:
            return False
        except (OSError, ValueError):
            return True

    def files(self) -> tuple[str, ...]:
        """Every file (tracked, or untracked and not ignored), sorted; symlinks included, folders not."""
        return self._files

    def matching(self, patterns: tuple[str, ...] | list[str]) -> list[str]:
        """Files that match any of the glob ``patterns``; computed once per tree and pattern tuple."""
        key = tuple(patterns)
        found = self._matches.get(key)
        if found is None:
            regex = any_regex(key) if self._files else None
            found = () if regex is None else tuple(f for f in self._files if regex.match(f))
            self._matches[key] = found
        return list(found)

    def exists(self, path: str) -> bool:
        """True when ``path`` is a file (or symlink) of the checkout."""
        try:
            return os.path.lexists(self.root / path) and not self._is_dir(path)
        except (OSError, ValueError):
            return False

    def is_symlink(self, path: str) -> bool:
        """True when ``path`` is a symbolic link."""
        try:
            return stat.S_ISLNK(os.lstat(os.path.join(self._root, path)).st_mode)
        except (OSError, ValueError):
            return False

    def size(self, path: str) -> int:
        """Size in bytes, without following symlinks out of the checkout."""
        return os.stat(self._resolve(path)).st_size

    @contextmanager
    def open(self, path: str) -> Iterator[BinaryIO]:
        """Open a regular file for binary reading; symlinks leaving the checkout raise ``UnreadableFile``."""
        real = self._resolve(path)
        try:
            fd = os.open(real, _OPEN_FLAGS)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise UnreadableFile(path, "not a regular file; not read")
        except OSError as exc:
            raise UnreadableFile(path, _reason(exc)) from exc
        with os.fdopen(fd, "rb") as handle:
            yield handle

    def read_bytes(self, path: str, limit: int) -> bytes:
        """At most ``limit`` bytes from the start of the file."""
        real = self._resolve(path)
        try:
            fd = os.open(real, _OPEN_FLAGS)
        except OSError as exc:
            raise UnreadableFile(path, _reason(exc)) from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UnreadableFile(path, "not a regular file; not read")
            chunks: list[bytes] = []
            left = limit
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 24))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)
        except OSError as exc:
            raise UnreadableFile(path, exc.strerror or str(exc)) from exc
        finally:
            os.close(fd)

    def read_text(self, path: str, limit: int = TEXT_LIMIT) -> str:
        """The whole file as UTF-8 text; binary, non-UTF-8 or over-``limit`` files raise ``UnreadableFile``."""
        data = self.read_bytes(path, limit + 1)
        if len(data) > limit:
            raise UnreadableFile(path, f"larger than {limit} bytes; not read as text")
        if b"\0" in data:
            raise UnreadableFile(path, "binary content (NUL bytes); not read as text")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(path, f"not valid UTF-8 (byte {exc.start})") from exc

    def content_hint(self, path: str) -> str | None:
        """What a tree that cannot hand out a file's bytes knows of them (``"binary"``/``"text"``); a checkout
        reads the bytes themselves, so ``None``."""
        return None

    def blobs(self, paths: Iterable[str]) -> dict[str, bytes | int]:
        """For tracked ``paths``: the blob's bytes when small enough to be an LFS pointer, else its size."""
        from annexa.scan.lfs import staged_blobs

        return staged_blobs(self.root, paths) if self.is_git else {}

    def _is_dir(self, path: str) -> bool:
        return stat.S_ISDIR(os.lstat(self.root / path).st_mode)

    def _resolve(self, path: str) -> str:
        """The real path of a regular file inside the checkout. Fast path: the name itself is a regular file
        (one ``lstat``) in a folder whose real path (cached per folder) is inside the checkout; anything else
        (a symlink, ``..``, a missing file) takes the full resolution and its errors."""
        try:
            mode = os.lstat(os.path.join(self._root, path)).st_mode
        except (OSError, ValueError):
            return str(self._resolve_fully(path))
        folder, _, name = path.rpartition("/")
        if not stat.S_ISREG(mode) or name in ("", ".", ".."):
            return str(self._resolve_fully(path))
        try:
            real_folder = self._folders[folder]
        except KeyError:
            try:
                found = os.path.realpath(os.path.join(self._root, folder), strict=True)
            except (OSError, ValueError, RuntimeError):
                return str(self._resolve_fully(path))
            real_folder = found if Path(found).is_relative_to(self.root) else None
            self._folders[folder] = real_folder
        if real_folder is None:
            return str(self._resolve_fully(path))
        return os.path.join(real_folder, name)

    def _resolve_fully(self, path: str) -> Path:
        full = self.root / path
        try:
            real = full.resolve(strict=True)
        except OSError as exc:
            if exc.errno in (errno.ENAMETOOLONG, errno.EACCES, errno.EPERM):
                raise UnreadableFile(path, _reason(exc)) from exc
            raise UnreadableFile(path, "missing, or a broken or looping symlink") from exc
        except (RuntimeError, ValueError) as exc:
            raise UnreadableFile(path, "missing, or a broken or looping symlink") from exc
        if not real.is_relative_to(self.root):
            raise UnreadableFile(path, "symlink pointing outside the checkout; not followed")
        try:
            mode = os.stat(real).st_mode
        except OSError as exc:
            raise UnreadableFile(path, _reason(exc)) from exc
        if not stat.S_ISREG(mode):
            raise UnreadableFile(path, f"{kind_of(mode)}; not read")
        return real

    def _git(self, *args: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-c", "core.quotepath=off", *args],
                cwd=self.root,
                capture_output=True,
                check=False,
                stdin=subprocess.DEVNULL,
                timeout=GIT_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            raise CollectError(f"git {' '.join(args[:2])} did not finish within {GIT_TIMEOUT} s") from exc
        except OSError as exc:
            raise CollectError(f"git could not run: {exc}") from exc
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip()
            raise CollectError(f"git {' '.join(args[:2])} failed: {detail}")
        return done.stdout.decode("utf-8", "surrogateescape")

    def head_commit(self) -> str | None:
        """The commit checked out, when this is a git checkout with commits."""
        return self._git_or_none("rev-parse", "HEAD")

    def branch(self) -> str | None:
        """The branch checked out (``None`` when detached or not git)."""
        return self._git_or_none("symbolic-ref", "--short", "-q", "HEAD")

    def repository_name(self) -> str:
        """``owner/name`` from the ``origin`` remote, else the folder name."""
        url = self._git_or_none("remote", "get-url", "origin") or ""
        match = re.search(r"[:/]([^/:]+/[^/]+?)(?:\.git)?/?$", url)
        return match.group(1) if match else self.root.name

    def _git_or_none(self, *args: str) -> str | None:
        if not self.is_git:
            return None
        try:
            return self._git(*args).strip() or None
        except CollectError:
            return None

    def diff(self, base: str, head: str | None = None) -> ChangeSet:
        """What the working tree (or the commit ``head``) adds relative to ``base`` (merge base semantics are the
        caller's choice). With ``head`` (``annexa ci`` on a merge commit: ``HEAD^1`` against ``HEAD``) untracked
        files are not part of the change."""
        if not self.is_git:
            raise CollectError(f"{self.root}: --base needs a git checkout")
        try:
            self._git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
        except CollectError as exc:
            raise CollectError(f"--base {base}: no such commit in {self.root}") from exc
        changes: dict[str, FileChange] = {}
        revs = (base,) if head is None else (base, head)
        status_out = self._git("diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv", *revs)
        fields = [f for f in status_out.split("\0") if f]
        i = 0
        while i < len(fields):
            code = fields[i]
            if code.startswith(("R", "C")):
                previous, new = fields[i + 1], fields[i + 2]
                changes[new] = FileChange(new, "renamed", frozenset(), previous_path=previous)
                i += 3
                continue
            path = fields[i + 1]
            kind = {"A": "added", "D": "removed"}.get(code[0], "modified")
            changes[path] = FileChange(path, kind, frozenset() if kind == "modified" else None)
            i += 2
        for path, lines in self._added_lines(revs).items():
            known = changes.get(path)
            if known is not None and known.added_lines is not None:
                changes[path] = FileChange(path, known.status, frozenset(lines), known.previous_path)
        untracked = self._git("ls-files", "-z", "--others", "--exclude-standard") if head is None else ""
        for path in untracked.split("\0"):
            if path:
                changes[path] = FileChange(path, "added", None)
        return ChangeSet(base=base, files=changes)

    def _added_lines(self, revs: tuple[str, ...]) -> dict[str, set[int]]:
        out = self._git("diff", "-U0", "-M", "--no-color", "--no-ext-diff", "--no-textconv", *revs)
        added: dict[str, set[int]] = {}
        current: set[int] | None = None
        for line in out.splitlines():
            if line.startswith("+++ "):
                target = line[4:].rstrip("\t")
                current = None
                if target != "/dev/null":
                    path = _unquote(target)[2:]
                    current = added.setdefault(path, set())
            elif line.startswith("@@") and current is not None:
                match = _HUNK.match(line)
                if match:
                    start = int(match.group(1))
                    count = int(match.group(2)) if match.group(2) is not None else 1
                    current.update(range(start, start + count))
        return added


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
"""Never block on a FIFO swapped in after the check, never follow a link swapped in after resolving."""


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "path longer than the operating system allows; not read"
    return exc.strerror or type(exc).__name__


def _walk(root: Path) -> list[str]:
    """Every non-folder entry under ``root`` (``.git`` left out), iteratively, at any depth.

    Folders whose path is too long to open are entered one level at a time through folder descriptors, so files
    below the operating system's path limit are still listed (and then reported as unreadable, with their path).
    A folder that cannot be listed at all is listed itself, so that reading it fails loudly.
    """
    found: list[str] = []
    stack: list[str] = [""]
    while stack:
        rel = stack.pop()
        try:
            entries = _list_dir(root, rel)
        except OSError:
            if rel:
                found.append(rel)
            continue
        for name, is_dir in entries:
            child = f"{rel}/{name}" if rel else name
            if is_dir:
                if not (name == ".git" and not rel):
                    stack.append(child)
            else:
                found.append(child)
    return found


def _list_dir(root: Path, rel: str) -> list[tuple[str, bool]]:
    """Names in a folder and whether each is a real folder (symlinks are not followed)."""
    full = os.path.join(root, rel) if rel else str(root)
    try:
        with os.scandir(full) as listing:
            return [(e.name, e.is_dir(follow_symlinks=False)) for e in listing]
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in rel.split("/"):
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        with os.scandir(fd) as listing:
            return [(e.name, e.is_dir(follow_symlinks=False)) for e in listing]
    finally:
        os.close(fd)


_HUNK = re.compile(r"@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def _unquote(name: str) -> str:
    """Undo git's C-style quoting of a path in diff headers."""
    if not (name.startswith('"') and name.endswith('"')):
        return name
    raw = name[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return raw.encode("latin-1").decode("utf-8", "surrogateescape")
