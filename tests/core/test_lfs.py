"""Git LFS pointers and the two LFS rules, on git checkouts and plain folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.collect.checkout import Checkout
from annexa.model import Location, Status
from annexa.scan.lfs import LfsPointer, parse_pointer
from tests.support import git_commit_all, make_checkout, run_rule

OID = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"
POINTER = f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID}\nsize 12345\n"
RAW = b"\x80\x04\x95" + bytes(range(256)) * 8


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (POINTER.encode(), LfsPointer(f"sha256:{OID}", 12345)),
        (POINTER.replace("git-lfs.github.com", "hawser.github.com").encode(), LfsPointer(f"sha256:{OID}", 12345)),
        (POINTER.replace("size 12345", "size 12x").encode(), None),
        (POINTER.replace(OID, OID[:-1]).encode(), None),
        (POINTER.replace("oid", "oid2").encode(), None),
        (b"version https://example.com/spec\noid sha256:" + OID.encode() + b"\nsize 1\n", None),
        (POINTER.encode() + b"x" * 1024, None),
        (RAW, None),
        (b"", None),
    ],
)
def test_parse_pointer(data: bytes, expected: LfsPointer | None) -> None:
    assert parse_pointer(data) == expected


def test_committed_raw_weights_fail_and_pointers_pass(tmp_path: Path) -> None:
    checkout = make_checkout(
        tmp_path,
        {
            ".gitattributes": "*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
            "models/a.safetensors": POINTER,
            "models/b.pt": RAW,
            "README.md": "hi\n",
        },
        git=True,
    )
    results = {r.location.path: r for r in run_rule("weights-in-lfs", checkout) if r.location}
    assert results["models/a.safetensors"].status is Status.PASS
    assert results["models/a.safetensors"].evidence["size"] == 12345
    assert results["models/b.pt"].status is Status.FAIL
    assert results["models/b.pt"].evidence["blob_size"] == len(RAW)
    attrs = {r.location.path: r.status for r in run_rule("weights-lfs-attributes", checkout) if r.location}
    assert attrs == {"models/a.safetensors": Status.PASS, "models/b.pt": Status.FAIL}


def test_pulled_lfs_file_is_judged_by_its_blob_not_the_working_tree(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"m.safetensors": POINTER}, git=True)
    (tmp_path / "m.safetensors").write_bytes(RAW)  # what `git lfs pull` leaves in the working tree
    [result] = run_rule("weights-in-lfs", checkout)
    assert (result.status, result.location) == (Status.PASS, Location("m.safetensors"))


def test_plain_folder_uses_gitattributes_for_untracked_weights(tmp_path: Path) -> None:
    checkout = make_checkout(
        tmp_path,
        {".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n", "w/model.bin": RAW, "w/model.onnx": RAW},
    )
    assert not checkout.is_git
    results = {r.location.path: r.status for r in run_rule("weights-in-lfs", checkout) if r.location}
    assert results == {"w/model.bin": Status.PASS, "w/model.onnx": Status.FAIL}
    results_attr = run_rule("weights-lfs-attributes", checkout)
    [onnx] = [r for r in results_attr if r.location and r.location.path.endswith("onnx")]
    assert onnx.evidence["suggested"] == "*.onnx filter=lfs diff=lfs merge=lfs -text"


def test_no_weights_is_not_applicable(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"a.py": "x = 1\n"})
    assert [r.status for r in run_rule("weights-in-lfs", checkout)] == [Status.NOT_APPLICABLE]
    assert [r.status for r in run_rule("weights-lfs-attributes", checkout)] == [Status.NOT_APPLICABLE]


def test_pr_mode_checks_every_weight_file(tmp_path: Path) -> None:
    """weights-in-lfs has scope: repository: in PR mode what is already there is checked too (the engine marks
    only new.pt as introduced)."""
    make_checkout(tmp_path, {"old.pt": RAW}, git=True)
    (tmp_path / "new.pt").write_bytes(RAW)
    checkout = Checkout(tmp_path)
    change = checkout.diff("HEAD")
    results = run_rule("weights-in-lfs", checkout, change=change)
    assert [(r.location.path if r.location else None, r.status) for r in results] == [
        ("new.pt", Status.FAIL), ("old.pt", Status.FAIL)]


def test_symlink_out_of_checkout_is_unknown_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.pt"
    outside.write_bytes(RAW)
    make_checkout(tmp_path / "repo", {"a.py": "x\n"})
    (tmp_path / "repo" / "link.pt").symlink_to(outside)
    [result] = run_rule("weights-in-lfs", Checkout(tmp_path / "repo"))
    assert (result.status, result.location) == (Status.UNKNOWN, Location("link.pt"))
    assert "outside the checkout" in result.message


def test_git_commit_helper_returns_commit(tmp_path: Path) -> None:
    make_checkout(tmp_path, {"a": "1"})
    assert len(git_commit_all(tmp_path, "one")) == 40


def test_five_gigabyte_weight_file_is_never_read_whole(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"README.md": "x\n"})
    with (tmp_path / "huge.safetensors").open("wb") as handle:
        handle.truncate(5 * 2**30)  # sparse: costs nothing on disk, 5 GiB if read
    [result] = run_rule("weights-in-lfs", Checkout(tmp_path))
    assert (result.status, result.location, result.evidence["size"]) == (
        Status.FAIL, Location("huge.safetensors"), 5 * 2**30,
    )
    assert checkout.root == tmp_path.resolve()


VOCAB = "[PAD]\n[UNK]\nthe\nof\nand\n"
"""A text vocabulary saved under a weights-like name (tokenizers and snapshot tools write such .bin files)."""


def test_weights_are_recognised_by_content_not_name(tmp_path: Path) -> None:
    checkout = make_checkout(
        tmp_path,
        {"tokenizer/vocab.bin": VOCAB, "snapshots/stream.bin": 'data: {"id": "chatcmpl-1"}\n\n',
         "models/model.bin": RAW, "models/pointer.bin": POINTER, "README.md": "hi\n"},
        git=True,
    )
    lfs = {r.location.path: r.status for r in run_rule("weights-in-lfs", checkout) if r.location}
    assert lfs == {"models/model.bin": Status.FAIL, "models/pointer.bin": Status.PASS}
    attrs = {r.location.path: r.status for r in run_rule("weights-lfs-attributes", checkout) if r.location}
    assert attrs == {"models/model.bin": Status.FAIL, "models/pointer.bin": Status.FAIL}


def test_only_text_files_named_like_weights_is_not_applicable_and_says_why(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"tokenizer/vocab.bin": VOCAB, "cfg/model.params": "lr = 0.1\n"})
    for rule_id in ("weights-in-lfs", "weights-lfs-attributes"):
        [result] = run_rule(rule_id, checkout)
        assert (result.status, result.message) == (
            Status.NOT_APPLICABLE, "No model weight files to check (2 weight-named files hold text, not model content)")


def test_weight_named_file_that_cannot_be_read_is_unknown_for_every_weights_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from annexa.errors import UnreadableFile

    checkout = make_checkout(tmp_path, {"models/a.bin": RAW, "models/b.bin": RAW})
    real = Checkout.read_bytes

    def flaky(self: Checkout, path: str, limit: int) -> bytes:
        if path == "models/b.bin":
            raise UnreadableFile(path, "permission denied")
        return real(self, path, limit)

    monkeypatch.setattr(Checkout, "read_bytes", flaky)
    for rule_id in ("weights-in-lfs", "weights-lfs-attributes"):
        got = sorted((r.status.value, r.location.path) for r in run_rule(rule_id, checkout) if r.location)
        assert got == [("fail", "models/a.bin"), ("unknown", "models/b.bin")], rule_id
    safe = [r.location.path for r in run_rule("weights-safe-format", checkout) if r.location]
    assert safe == ["models/a.bin", "models/b.bin"]  # not silently dropped as not-a-weight


def test_one_classification_is_shared_by_the_weights_rules(tmp_path: Path) -> None:
    from tests.content.common import run_rules

    cache: dict[str, object] = {}
    checkout = make_checkout(tmp_path, {"tokenizer/vocab.bin": VOCAB, "models/model.bin": RAW})
    run_rules(["weights-in-lfs", "weights-lfs-attributes", "weights-safe-format"], checkout, cache=cache)
    classified = cache["weights:classified"]
    assert classified.weights == ("models/model.bin",)  # type: ignore[attr-defined]
    assert classified.not_weights == ("tokenizer/vocab.bin",)  # type: ignore[attr-defined]
