"""Format evidence before parsing: joblib's compressed files, corrupt headers, old-protocol built-ins, and
protocol 0/1 pickles told apart from text by structure (no trial parse of source files)."""

from __future__ import annotations

import io
import lzma
import pickle
import struct
import zlib
from pathlib import Path

import pytest

from annexa.model import Location, Status
from annexa.scan.modelfiles import DEFAULT_ALLOWED_GLOBALS, Limits, scan_stream
from annexa.scan.modelfiles.sniff import maybe_old_pickle, weight_evidence
from tests.support import make_checkout, run_rule

EVIL = b"cposix\nsystem\n(Vecho hi\ntR."
"""A protocol 0 pickle calling posix.system (written by hand, never unpickled)."""
STATE = pickle.dumps({"weights": [1.0, 2.0], "classes": ["a", "b"]}, protocol=4)


def _scan(data: bytes, limits: Limits | None = None) -> tuple[str, tuple[str, ...], list[tuple[str, str]]]:
    report = scan_stream(io.BytesIO(data), len(data), limits or Limits(), DEFAULT_ALLOWED_GLOBALS)
    return report.format, report.formats, [(i.kind.value, i.message) for i in report.issues]


def _zfile(data: bytes) -> bytes:
    return b"ZF" + hex(len(data)).encode().ljust(19) + zlib.compress(data)


COMPRESSORS = {
    "zlib": zlib.compress,
    "lzma": lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE),
    "joblib-zfile": _zfile,
    "xz": lzma.compress,
}


@pytest.mark.parametrize("fmt", sorted(COMPRESSORS))
def test_compressed_joblib_files_are_decompressed_and_walked(fmt: str) -> None:
    assert _scan(COMPRESSORS[fmt](STATE)) == (fmt, (fmt, "pickle"), [])
    found, formats, issues = _scan(COMPRESSORS[fmt](b"\x80\x02" + EVIL))
    assert (found, formats) == (fmt, (fmt, "pickle"))
    assert issues == [("unsafe-global", "imports posix.system (a known code-execution gadget)")]


def test_compressed_stream_is_bounded() -> None:
    bomb = zlib.compress(b"\x80\x04" + b"N" * 5_000_000 + b".")
    assert _scan(bomb, Limits(max_bytes=1_000_000))[2] == [
        ("limit", "more than 1000000 bytes decompressed or read from members")]


def test_truncated_zlib_stream_is_corrupt() -> None:
    assert _scan(zlib.compress(STATE)[:-8])[2] == [
        ("malformed", "zlib stream cannot be decompressed: zlib stream ends before its end marker")]


def test_lz4_joblib_file_is_recognised_but_undecided() -> None:
    fmt, _, issues = _scan(b"\x04\x22\x4d\x18" + b"\x64\x40\xa7" + bytes(64))
    assert (fmt, issues) == ("lz4", [("unsupported", "lz4 archive: its members cannot be inspected")])


@pytest.mark.parametrize(("data", "message"), [
    (struct.pack("<Q", 1_000_000) + b'{"a": {"dtype": "F32", "shape": [1]',
     "safetensors header of 1000000 bytes runs past the end of the file"),
    (struct.pack("<Q", 2**40) + b'{"a": 1}', "safetensors header of 1099511627776 bytes runs past the end of the file"),
    (struct.pack("<Q", 12) + b'{"a": nope}x', "safetensors header is not valid JSON (Expecting value: line 1 column 7 "
                                              "(char 6))"),
])
def test_inconsistent_safetensors_is_a_failing_corrupt_file(tmp_path: Path, data: bytes, message: str) -> None:
    [result] = run_rule("weights-safe-format", make_checkout(tmp_path, {"m.safetensors": data}))
    assert (result.status, result.location) == (Status.FAIL, Location("m.safetensors"))
    assert result.evidence["issues"][0]["message"] == message


VALUES = [{1, 2}, frozenset({3}), bytearray(b"\x00\xff"), 1 + 2j, slice(1, 9, 2), b"\x00raw", range(4),
          {"nested": [{1}, b"x", (1.5, None)]}]


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("value", VALUES, ids=[type(v).__name__ for v in VALUES])
def test_plain_builtins_in_every_protocol_are_safe(protocol: int, value: object) -> None:
    for fix_imports in (True, False):  # True writes the Python 2 names (__builtin__.set, _codecs.encode)
        data = pickle.dumps(value, protocol=protocol, fix_imports=fix_imports)
        assert _scan(data)[::2] == ("pickle", []), data


PROTOCOL_0 = [pickle.dumps(v, protocol=p) for p in (0, 1) for v in
              ({"a": 1}, [1, 2], (1, "x"), None, 7, 2**70, 1.5, "text", {1, 2}, b"b")] + [EVIL]
TEXT = [b"class Model:\n    pass\n", b"import os\n", b"Introduction\n", b"cat\n", b"(define x)\n", b"Version 1\n",
        b"N/A\n", b"Sure.\n", b'{"a": 1}\n', b"[PAD]\n[UNK]\n", b"I think\n", b"SELECT 1;\n", b"V8 engine\n"]


@pytest.mark.parametrize("data", PROTOCOL_0)
def test_real_protocol_0_and_1_pickles_have_the_structure_checked(data: bytes) -> None:
    assert maybe_old_pickle(data)
    assert _scan(data)[0] == "pickle"


@pytest.mark.parametrize("data", TEXT)
def test_text_and_source_files_are_not_trial_parsed(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    import annexa.scan.modelfiles.scanner as scanner

    calls: list[bytes] = []
    monkeypatch.setattr(scanner, "probe_pickle", lambda head, complete: calls.append(head) or False)
    structured = maybe_old_pickle(data)
    _scan(data)
    assert calls == ([data] if structured else [])
    assert weight_evidence(data, probe=False) is None


def test_source_tree_gets_no_trial_parse_and_a_pickle_named_txt_is_still_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import annexa.scan.modelfiles.pickles as pickles
    import annexa.scan.modelfiles.scanner as scanner

    files: dict[str, str | bytes] = {f"src/m{i}.py": f"import os\nclass C{i}:\n    x = {i}\n" for i in range(50)}
    files.update({f"docs/p{i}.md": f"Notes {i}\n" for i in range(50)})
    files["data/cache.txt"] = EVIL
    real = scanner.probe_pickle
    calls: list[bytes] = []

    def counting(head: bytes, complete: bool) -> bool:
        calls.append(head)
        return real(head, complete)

    monkeypatch.setattr(scanner, "probe_pickle", counting)
    monkeypatch.setattr(pickles, "probe_pickle", counting)  # what the rule imports when it classifies
    results = run_rule("weights-safe-format", make_checkout(tmp_path, files))
    assert [(r.status, r.location) for r in results] == [(Status.FAIL, Location("data/cache.txt"))]
    assert calls == [EVIL]


@pytest.mark.parametrize(("head", "why"), [
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 5\n", "Git LFS pointer"),
    (b"\x80\x04K\x01.", "pickle content"),
    (b"\x13\x37 opaque", "binary content of no recognised format"),
    (b"the\nof\nand\n", None),
    ("naïve café\n".encode(), None),
])
def test_weight_evidence(head: bytes, why: str | None) -> None:
    assert weight_evidence(head, probe=False) == why
