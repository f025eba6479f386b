"""weights-safe-format: exact verdicts on the generated corpus, bounds, bad input, PR scoping, allowlist."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from annexa.config import Config
from annexa.facts import ChangeSet, FileChange
from annexa.model import Location, Status
from annexa.scan.modelfiles import DEFAULT_ALLOWED_GLOBALS, Format, Kind, Limits, scan_stream, sniff
from tests.modelfiles.corpus import (
    P,
    Sample,
    corpus,
    evil,
    ordered_dict_pickle,
    safetensors,
    torch_data_pkl,
    torch_zip,
)
from tests.support import make_checkout, run_rule

RULE = "weights-safe-format"
SAMPLES = corpus()


def _one(tmp_path: Path, files: dict[str, str | bytes], **kw: object) -> list:  # type: ignore[type-arg]
    return run_rule(RULE, make_checkout(tmp_path, files), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_corpus_sample_gets_its_exact_verdict(tmp_path: Path, sample: Sample) -> None:
    results = _one(tmp_path, {sample.path: sample.data})
    assert [(r.status.value, r.location) for r in results] == [(sample.verdict, Location(sample.path))]
    result = results[0]
    issues = result.evidence.get("issues", [])
    if sample.verdict == "fail":
        assert result.evidence.get("globals", []) == sorted(sample.globals)
        kinds = sorted({i["kind"] for i in issues if i["kind"] not in ("lfs-pointer", "unsupported")})
        if sample.kinds:
            assert kinds == sorted(sample.kinds)
        else:
            assert kinds == ["unsafe-global"]
        for name in sample.globals:
            assert name in result.message
        if sample.member is not None:
            assert sample.member in {i.get("member") for i in issues}
        assert result.location is not None and result.location.line is None
        assert result.key and "byte" not in result.key
    elif sample.verdict == "pass":
        assert issues == []
        assert result.evidence["format"] != "unknown"


def test_every_gadget_of_the_issue_is_in_the_corpus() -> None:
    named = {g for s in SAMPLES for g in s.globals}
    required = {
        "pkgutil.resolve_name", "importlib.import_module", "marshal.loads", "runpy.run_path", "pip.main",
        "torch.hub.load", "code.InteractiveInterpreter", "builtins.getattr",
    }  # fmt: skip
    assert sorted(required - named) == []


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"\x80\x04\x95", Format.PICKLE),
        (b"PK\x03\x04rest", Format.ZIP),
        (b"\x1f\x8b\x08\x00", Format.GZIP),
        (b"BZh91AY&SY", Format.BZIP2),
        (b"\xfd7zXZ\x00\x00", Format.XZ),
        (b"7z\xbc\xaf\x27\x1c\x00", Format.SEVEN_ZIP),
        (b"GGUF\x03\x00\x00\x00", Format.GGUF),
        (b"\x93NUMPY\x01\x00", Format.NPY),
        (b"\x89HDF\r\n\x1a\n", Format.HDF5),
        (safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4), Format.SAFETENSORS),
        (b"\x08\x08\x12\x04test", Format.ONNX),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 12\n", Format.LFS_POINTER),
        (b"# just a readme\n", Format.UNKNOWN),
    ],
)
def test_sniff_recognises_formats_from_bytes(data: bytes, fmt: Format) -> None:
    assert sniff(data) is fmt


def test_finding_names_global_member_and_offset(tmp_path: Path) -> None:
    data = torch_zip(evil("posix", "system", "id"))
    [result] = _one(tmp_path, {"m/evil.pt": data})
    [issue] = result.evidence["issues"]
    assert issue == {
        "kind": "unsafe-global",
        "message": "imports posix.system (a known code-execution gadget)",
        "member": "archive/data.pkl",
        "offset": 2,
        "global": "posix.system",
    }
    assert result.key == "unsafe-global:posix.system"


def test_allow_globals_parameter_extends_the_allowlist(tmp_path: Path) -> None:
    data = P(2).glob("mypkg.layers", "Config").raw(b")R").done()
    [before] = _one(tmp_path / "a", {"m/cfg.pkl": data})
    [after] = _one(tmp_path / "b", {"m/cfg.pkl": data}, params={"allow_globals": ["mypkg.layers.Config"]})
    assert (before.status, before.evidence["globals"]) == (Status.FAIL, ["mypkg.layers.Config"])
    assert after.status is Status.PASS


def test_lfs_pointer_needs_git_lfs_pull(tmp_path: Path) -> None:
    lfs = next(s for s in SAMPLES if s.name == "lfs-pointer")
    [result] = _one(tmp_path, {lfs.path: lfs.data})
    assert (result.status, result.evidence["needs"]) == (Status.UNKNOWN, "git lfs pull")


def test_plain_files_outside_the_weights_class_are_not_reported(tmp_path: Path) -> None:
    results = _one(tmp_path, {"README.md": "# hi\n", "src/app.py": "import os\n", "data/x.csv": "a,b\n1,2\n"})
    assert [(r.status, r.location) for r in results] == [(Status.NOT_APPLICABLE, None)]


def test_archive_outside_weights_without_model_content_is_not_reported(tmp_path: Path) -> None:
    from tests.modelfiles.corpus import zip_of

    results = _one(
        tmp_path, {"docs/site.zip": zip_of([("index.html", b"<html></html>")]), "m/x.pkl": ordered_dict_pickle()}
    )
    assert [(r.status, r.location) for r in results] == [(Status.PASS, Location("m/x.pkl"))]


def test_pull_request_mode_scans_only_changed_files(tmp_path: Path) -> None:
    checkout = make_checkout(
        tmp_path, {"m/old.pkl": evil("os", "system", "x"), "m/new.pt": torch_zip(torch_data_pkl())}
    )
    change = ChangeSet(base="main", files={"m/new.pt": FileChange("m/new.pt", "added", None)})
    results = run_rule(RULE, checkout, change=change)
    assert [(r.status, r.location) for r in results] == [(Status.PASS, Location("m/new.pt"))]


def test_symlink_leaving_the_checkout_is_unknown(tmp_path: Path) -> None:
    outside = tmp_path / "outside.pkl"
    outside.write_bytes(ordered_dict_pickle())
    checkout = make_checkout(tmp_path / "repo", {"README.md": "x"})
    os.symlink(outside, tmp_path / "repo" / "model.pt")
    results = run_rule(RULE, checkout)
    assert [(r.status, r.location) for r in results] == [(Status.UNKNOWN, Location("model.pt"))]
    assert "outside the checkout" in results[0].message


def test_custom_weights_class_is_honoured(tmp_path: Path) -> None:
    config = Config(paths={"weights": ("ckpt/**",)})
    results = _one(tmp_path, {"ckpt/blob": b"\x13\x37 opaque bytes"}, config=config)
    assert [(r.status, r.location) for r in results] == [(Status.UNKNOWN, Location("ckpt/blob"))]


# --- the library directly: bounds and bad input ------------------------------------------------------------


def _scan(data: bytes, size: int | None = None, **limits: int) -> list[tuple[str, str]]:
    report = scan_stream(
        io.BytesIO(data), len(data) if size is None else size, Limits(**limits), DEFAULT_ALLOWED_GLOBALS
    )
    return [(i.kind.value, i.message) for i in report.issues]


def test_member_budget_is_a_finding() -> None:
    data = torch_zip(torch_data_pkl())
    assert _scan(data, max_members=2) == [("limit", "more than 2 archive members")]


def test_byte_budget_is_a_finding() -> None:
    import gzip

    assert _scan(gzip.compress(b"\x80\x02" + b"N" * 10_000 + b"."), max_bytes=4096) == [
        ("limit", "more than 4096 bytes decompressed or read from members")
    ]


def test_file_shorter_than_announced_is_a_finding_not_a_crash() -> None:
    data = safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)
    kinds = _scan(data[:20], size=len(data))
    assert [k for k, _ in kinds] == ["malformed"]


def test_broken_member_does_not_stop_the_walk() -> None:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a/broken.pkl", b"\x80\x02" + b"N" * 2000 + b".")
        z.writestr("b/evil.pkl", evil("posix", "system", "id"))
    data = bytearray(buf.getvalue())
    start = data.find(b"a/broken.pkl") + len(b"a/broken.pkl")
    data[start + 2 : start + 12] = b"\xff" * 10
    issues = _scan(bytes(data))
    assert issues[0][0] == "malformed" and issues[0][1].startswith("zip member cannot be read")
    assert issues[1:] == [("unsafe-global", "imports posix.system (a known code-execution gadget)")]


def test_large_byte_strings_are_skipped_not_read() -> None:
    big = 50 * 1024 * 1024
    data = b"\x80\x04\x8e" + big.to_bytes(8, "little") + b"\0" * big + b"\x94."
    assert _scan(data) == []


def test_every_issue_kind_is_known() -> None:
    assert {k.value for k in Kind} >= {"unsafe-global", "malformed", "limit", "lfs-pointer"}


def test_broken_pickle_lookalike_outside_weights_is_not_reported(tmp_path: Path) -> None:
    results = _one(tmp_path, {"assets/blob.dat": b"\x80\x02\xf0 binary junk", "assets/x.dat": b"\x08\x03\x12garbage"})
    assert [(r.status, r.location) for r in results] == [(Status.NOT_APPLICABLE, None)]


def test_model_named_by_content_outside_weights_is_reported(tmp_path: Path) -> None:
    results = _one(tmp_path, {"assets/tensors.dat": torch_zip(torch_data_pkl())})
    assert [(r.status, r.location, r.evidence["format"]) for r in results] == [
        (Status.PASS, Location("assets/tensors.dat"), "zip")
    ]


def test_scanning_never_executes_the_file(tmp_path: Path) -> None:
    marker = tmp_path / "was-loaded"
    data = P(2).call("builtins", "open", str(marker), "w").done()
    [result] = _one(tmp_path / "repo", {"m/trap.pkl": data})
    assert (result.status, result.evidence["globals"], marker.exists()) == (Status.FAIL, ["builtins.open"], False)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # INST imports and calls in one opcode (protocol 0)
        (b"(S'id'\nios\nsystem\n.", [("unsafe-global", "imports os.system (a known code-execution gadget)")]),
        # OBJ on an imported class
        (
            b"\x80\x02(csubprocess\nPopen\nS'id'\no.",
            [("unsafe-global", "imports subprocess.Popen (a known code-execution gadget)")],
        ),
        # LONG_BINPUT / LONG_BINGET carry the names
        (
            b"\x80\x04\x8c\x05posix\x94r\x07\x00\x00\x000\x8c\x06system\x94j\x07\x00\x00\x00\x8c\x06system\x93.",
            [("unsafe-global", "imports posix.system (a known code-execution gadget)")],
        ),
        # protocol 5 with a frame and an allowed global only
        (b"\x80\x05\x95\x17\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R.", []),
        # a global whose name comes from a call result, not a string
        (
            b"\x80\x04\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R\x8c\x01x\x93.",
            [
                (
                    "unsafe-global",
                    "imports a global whose name is not a plain string "
                    "(the result of calling collections.OrderedDict, 'x')",
                )
            ],
        ),
        # GET of a memo slot never written
        (b"\x80\x02h\x05.", [("malformed", "memo key 5 read before it is written")]),
    ],
    ids=["inst", "obj", "long-memo", "proto5-frame", "computed-name", "missing-memo"],
)
def test_pickle_opcode_walk(data: bytes, expected: list[tuple[str, str]]) -> None:
    assert _scan(data) == expected


def test_passing_checkpoint_lists_the_globals_it_imports(tmp_path: Path) -> None:
    [result] = _one(tmp_path, {"m/model.pt": torch_zip(torch_data_pkl())})
    assert (result.status, result.evidence["imports"], result.evidence["formats"]) == (
        Status.PASS,
        ["collections.OrderedDict", "torch.FloatStorage", "torch._utils._rebuild_tensor_v2"],
        ["zip", "pickle", "unknown"],
    )
    assert result.message == "m/model.pt (zip) loads no code: every pickle global it names is on the allowlist"
