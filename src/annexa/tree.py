"""File trees the rules read through: a checkout on disk, or a tree read from a platform's API.

Rules see one interface (the :class:`~annexa.collect.checkout.Checkout` methods: ``files``, ``matching``,
``exists``, ``size``, ``open``, ``read_bytes``, ``read_text``, ``blobs``). :class:`ApiTree` is backed by a listing of
every path with its size (``git/trees?recursive=1``) and the contents of the few files the org scan fetched
(CODEOWNERS, CI files, ``.gitattributes``, config, policies, and blobs small enough to be LFS pointers); those are
written under a private folder so that git's own attribute matching works on them. Reading any other file raises
:class:`~annexa.errors.UnreadableFile` saying that a checkout is needed, which rules turn into ``unknown``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from annexa.collect.checkout import Checkout
from annexa.errors import UnreadableFile

NOT_FETCHED = "content not read by the org scan (run annexa check on a checkout)"


class ApiTree(Checkout):
    """A repository tree from the platform API: every path and size, the contents of fetched files."""

    def __init__(self, sizes: Mapping[str, int], contents: Mapping[str, bytes], symlinks: Iterable[str] = (),
                 truncated: bool = False, binary: Iterable[str] = ()) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="annexa-tree-")
        root = Path(self._scratch.name)
        for path, data in contents.items():
            target = root / path
            if not target.resolve().is_relative_to(root.resolve()):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        super().__init__(root)
        self.sizes = dict(sizes)
        self.fetched = frozenset(contents)
        self.symlinks = frozenset(symlinks)
        self.binary = frozenset(binary) - self.fetched
        """Files the platform reports as binary (their bytes were not fetched)."""
        self.truncated = truncated
        """True when the platform cut the listing short (very large trees): rules over all files are unknown."""

    def close(self) -> None:
        """Remove the private folder."""
        self._scratch.cleanup()

    @property
    def is_git(self) -> bool:
        """An API tree is not a git work tree (blob facts come from the listing)."""
        return False

    @property
    def _files(self) -> tuple[str, ...]:
        return tuple(sorted(self.sizes))

    def exists(self, path: str) -> bool:
        """True when ``path`` is a file of the tree."""
        return path in self.sizes

    def is_symlink(self, path: str) -> bool:
        """True when the tree lists ``path`` as a symbolic link."""
        return path in self.symlinks

    def size(self, path: str) -> int:
        """The blob size the platform reports."""
        if path not in self.sizes:
            raise UnreadableFile(path, "not in the repository tree")
        return self.sizes[path]

    def _resolve(self, path: str) -> str:
        if path not in self.fetched:
            raise UnreadableFile(path, NOT_FETCHED)
        return super()._resolve(path)

    def content_hint(self, path: str) -> str | None:
        """``"binary"`` for files the platform reports as binary and the scan did not fetch."""
        return "binary" if path in self.binary else None

    def blobs(self, paths: Iterable[str]) -> dict[str, bytes | int]:
        """For listed ``paths``: the bytes when fetched (small enough to be an LFS pointer), else the size."""
        out: dict[str, bytes | int] = {}
        for path in paths:
            if path not in self.sizes:
                continue
            if path in self.fetched:
                out[path] = (Path(self.root) / path).read_bytes()
            else:
                out[path] = self.sizes[path]
        return out

    def repository_name(self) -> str:
        """Set by the scanner; the folder name is meaningless here."""
        return os.path.basename(self.root)
