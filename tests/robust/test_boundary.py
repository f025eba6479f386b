"""Issue 14: the checkout is a boundary, special files are never opened, any path at any depth is handled."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import pytest

from annexa import cli
from annexa.collect.checkout import Checkout
from annexa.errors import InputError, UnreadableFile
from annexa.model import Location, Status, fingerprint
from annexa.redact import escape_path, redact_report
from annexa.safeio import read_input
from tests.support import make_checkout, run_rule

SECRET_FILE = "/etc/passwd"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_config_symlink_out_of_the_checkout_is_refused_naming_the_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".annexa.yml").symlink_to(SECRET_FILE)
    code, text = run(["check", str(tmp_path)], capsys)
    assert code == 2
    assert text == "error: .annexa.yml: symbolic link to a file outside the checkout; not followed\n"


def test_policy_symlink_out_of_the_checkout_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yml").symlink_to(SECRET_FILE)
    (tmp_path / ".annexa.yml").write_text("policies: [policies]\n")
    code, text = run(["check", str(tmp_path)], capsys)
    assert (code, text) == (2, "error: policies/p.yml: symbolic link to a file outside the checkout; not followed\n")


def test_policy_folder_symlinked_out_of_the_checkout_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "p.yml").write_text("id: X\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "policies").symlink_to(outside)
    with pytest.raises(InputError, match=r"^policies/p.yml: symbolic link to a file outside the checkout"):
        read_input(repo / "policies" / "p.yml", "policies/p.yml", repo)


def test_symlink_inside_the_checkout_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.yml").write_text("fail_on: high\n")
    (tmp_path / ".annexa.yml").symlink_to("real.yml")
    assert read_input(tmp_path / ".annexa.yml", ".annexa.yml", tmp_path) == b"fail_on: high\n"


@pytest.mark.parametrize("name", [".annexa.yml", "settings.json"])
def test_fifo_inputs_are_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    os.mkfifo(tmp_path / name)
    args = ["check", str(tmp_path)] + (["--settings", str(tmp_path / name)] if name == "settings.json" else [])
    start = time.monotonic()
    if name == ".annexa.yml":
        code, text = run(args, capsys)
        assert (code, text) == (2, "error: .annexa.yml: is a FIFO (named pipe); not read\n")
    else:
        with pytest.raises(InputError, match=r"settings.json: is a FIFO \(named pipe\); not read$"):
            read_input(tmp_path / name, str(tmp_path / name))
    assert time.monotonic() - start < 30


def test_checkout_never_opens_special_files(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"src/a.py": "x = 1\n"})
    os.mkfifo(tmp_path / "src" / "pipe.py")
    assert checkout.files() == ("src/a.py", "src/pipe.py")
    with pytest.raises(UnreadableFile) as caught:
        checkout.read_text("src/pipe.py")
    assert caught.value.reason == "a FIFO (named pipe); not read"


def test_fifo_gitattributes_is_unknown_not_a_hang(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"models/w.pt": b"\x00raw weights"})
    os.mkfifo(tmp_path / ".gitattributes")
    start = time.monotonic()
    for rule in ("weights-in-lfs", "weights-lfs-attributes"):
        [result] = run_rule(rule, checkout)
        assert result.status is Status.UNKNOWN
        assert result.message == ("Git could not tell which files go to LFS: .gitattributes is a FIFO (named "
                                  "pipe), not a file; git cannot read its attributes")
    assert time.monotonic() - start < 30


def test_non_utf8_names_are_fingerprinted_and_escaped(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path)
    os.makedirs(root + b"/models")
    with open(root + b"/models/w\xff.pt", "wb") as handle:
        handle.write(pickle.dumps({"a": 1}))
    checkout = Checkout(tmp_path)
    assert checkout.files() == ("models/w\udcff.pt",)
    assert len(fingerprint("weights-safe-format", Location("models/w\udcff.pt"), "k")) == 32
    assert escape_path("models/w\udcff.pt") == "models/w\\xff.pt"
    results = run_rule("weights-safe-format", checkout)
    assert [(r.status, r.location.path if r.location else None) for r in results] == [
        (Status.PASS, "models/w\udcff.pt")]


def _deep(root: Path, name: bytes, depth: int, leaf: bytes, content: bytes) -> None:
    fd = os.open(root, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir(name, dir_fd=fd)
        inner = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    out = os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(out, content)
    os.close(out)
    os.close(fd)


def _remove_deep(root: Path, name: str) -> None:
    """Remove a deep chain of folders iteratively (pytest's own clean-up recurses), moving each level up."""
    top = root / name
    while top.exists():
        entries = os.listdir(top)
        for entry in entries:
            if entry != name:
                os.unlink(top / entry)
        if name in entries:
            os.rename(top / name, root / "_next")
            os.rmdir(top)
            os.rename(root / "_next", top)
        else:
            os.rmdir(top)


def test_a_thousand_levels_deep_tree_is_walked_without_recursion(tmp_path: Path) -> None:
    _deep(tmp_path, b"d", 1000, b"deep.py", b"x = 1\n")
    try:
        assert Checkout(tmp_path).files() == ("/".join(["d"] * 1000) + "/deep.py",)
    finally:
        _remove_deep(tmp_path, "d")


def test_a_pickle_past_the_os_path_limit_is_unknown_with_its_path(tmp_path: Path) -> None:
    _deep(tmp_path, b"L" * 200, 25, b"evil.pkl", b"\x80\x04cos\nsystem\n(S'id'\ntR.")
    path = "/".join(["L" * 200] * 25) + "/evil.pkl"
    try:
        checkout = Checkout(tmp_path)
        assert checkout.files() == (path,)
        [result] = run_rule("weights-safe-format", checkout)
        assert (result.status, result.location) == (Status.UNKNOWN, Location(path))
        assert result.message == (f"{path} could not be read: path longer than the operating system allows; "
                                  "not read")
    finally:
        _remove_deep(tmp_path, "L" * 200)


def test_over_long_policy_entry_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".annexa.yml").write_text(f"policies: [{'a' * 256}]\n")
    code, text = run(["check", str(tmp_path)], capsys)
    assert (code, text) == (2, f"error: {tmp_path / ('a' * 256)}: cannot be read: File name too long\n")


def test_output_directory_and_empty_base_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").mkdir()
    assert run(["check", str(tmp_path), "--output", str(tmp_path / "out")], capsys) == (
        2, f"error: --output {tmp_path / 'out'}: is a directory; name a file\n")
    assert run(["check", str(tmp_path), "--base", ""], capsys) == (
        2, "error: --base: empty; name a git ref or commit (or leave --base out for a full scan)\n")


def test_every_format_renders_a_non_utf8_path_escaped() -> None:
    from dataclasses import replace

    from annexa.render import FORMATS, render
    from tests.render.conftest import canonical_report

    report = canonical_report()
    first = replace(report.findings[0], location=Location("models/w\udcff.pt", 3),
                    message="models/w\udcff.pt is bad")
    report = replace(report, findings=(first, *report.findings[1:]))
    assert redact_report(report).findings[0].location == Location("models/w\\xff.pt", 3)
    for fmt in FORMATS:
        out = render(report, fmt)
        out.encode("utf-8")
        assert "w\\xff.pt" in out or "w\\\\xff.pt" in out, fmt
