"""The checkout: safe reads and the diff against --base."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.collect.checkout import Checkout
from annexa.errors import CollectError, UnreadableFile
from tests.support import git_commit_all, make_checkout


def test_diff_reports_added_lines_new_untracked_renamed_and_removed(tmp_path: Path) -> None:
    make_checkout(
        tmp_path,
        {"a.py": "one\ntwo\nthree\n", "gone.txt": "bye\n", "moved.txt": "x\n" * 20, "spaced name.py": "a\n"},
        git=True,
    )
    (tmp_path / "a.py").write_text("one\nTWO\nthree\nfour\n")
    (tmp_path / "gone.txt").unlink()
    (tmp_path / "moved.txt").rename(tmp_path / "renamed.txt")
    (tmp_path / "spaced name.py").write_text("a\nb\n")
    (tmp_path / "ünïcode.py").write_text("new\n")
    git_commit_all(tmp_path, "change")
    (tmp_path / "untracked.py").write_text("u\n")
    change = Checkout(tmp_path).diff("HEAD~1")
    assert change.files["a.py"].added_lines == frozenset({2, 4})
    assert change.files["a.py"].status == "modified"
    assert change.files["gone.txt"].status == "removed"
    assert change.files["renamed.txt"].previous_path == "moved.txt"
    assert change.files["spaced name.py"].added_lines == frozenset({2})
    assert (change.files["ünïcode.py"].status, change.files["ünïcode.py"].added_lines) == ("added", None)
    assert change.files["untracked.py"].status == "added"
    assert change.files["untracked.py"].added_lines is None
    assert not change.touches("gone.txt")


def test_unknown_base_and_non_git_are_clear_errors(tmp_path: Path) -> None:
    make_checkout(tmp_path / "g", {"a": "1\n"}, git=True)
    with pytest.raises(CollectError, match="--base nope: no such commit"):
        Checkout(tmp_path / "g").diff("nope")
    make_checkout(tmp_path / "plain", {"a": "1\n"})
    with pytest.raises(CollectError, match="needs a git checkout"):
        Checkout(tmp_path / "plain").diff("HEAD")


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"\xff\xfe\x00a", "binary content"), (b"caf\xe9\n", r"not valid UTF-8 \(byte 3\)"),
     (b"x" * 50, "larger than 10 bytes")],
)
def test_read_text_refuses_what_is_not_text(tmp_path: Path, content: bytes, reason: str) -> None:
    checkout = make_checkout(tmp_path, {"f.py": content})
    with pytest.raises(UnreadableFile, match=reason):
        checkout.read_text("f.py", limit=10 if len(content) == 50 else 1000)


def test_files_lists_tracked_and_untracked_not_ignored(tmp_path: Path) -> None:
    make_checkout(tmp_path, {".gitignore": "*.log\n", "a.py": "1\n"}, git=True)
    (tmp_path / "b.py").write_text("2\n")
    (tmp_path / "debug.log").write_text("3\n")
    checkout = Checkout(tmp_path)
    assert checkout.files() == (".gitignore", "a.py", "b.py")
    assert checkout.head_commit() is not None and checkout.branch() == "main"


def test_broken_symlink_is_unreadable(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {})
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    with pytest.raises(UnreadableFile, match="broken"):
        checkout.read_bytes("dangling", 10)
