"""The pickle globals real checkpoints need, kept as data; everything else fails.

Based on what PyTorch's ``weights_only`` unpickler accepts, plus numpy array reconstruction and joblib's
array wrapper. Extend it per repository with the rule parameter ``allow_globals``.
"""

from __future__ import annotations

_TORCH_STORAGES = (
    "Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
    "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4",
)  # fmt: skip

_TORCH_DTYPES = (
    "float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
    "complex64", "complex128", "qint8", "quint8", "qint32", "float8_e4m3fn", "float8_e5m2",
    "uint16", "uint32", "uint64",
)  # fmt: skip

_TORCH_REBUILD = (
    "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_sparse_tensor",
    "_rebuild_meta_tensor_no_storage", "_rebuild_nested_tensor", "_rebuild_parameter",
    "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_wrapper_subclass",
    "_rebuild_device_tensor_from_numpy",
)  # fmt: skip

DEFAULT_ALLOWED_GLOBALS: frozenset[str] = frozenset(
    {
        "collections.OrderedDict",
        "builtins.set",
        "builtins.frozenset",
        "builtins.slice",
        "builtins.range",
        "builtins.complex",
        "builtins.bytearray",
        "__builtin__.set",
        "__builtin__.frozenset",
        "__builtin__.slice",
        "__builtin__.complex",
        "__builtin__.bytearray",
        "__builtin__.xrange",
        "_codecs.encode",
        "torch.Size",
        "torch.device",
        "torch.Tensor",
        "torch.nn.parameter.Parameter",
        "torch._tensor._rebuild_from_type_v2",
        "torch.storage.UntypedStorage",
        "torch.storage.TypedStorage",
        "torch.serialization._get_layout",
        "torch.strided",
        "torch.sparse_coo",
        "torch.per_tensor_affine",
        "torch.per_channel_affine",
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray._reconstruct",
        "numpy._core.multiarray.scalar",
        "numpy.dtypes.Float64DType",
        "numpy.dtypes.Float32DType",
        "numpy.dtypes.Int64DType",
        "joblib.numpy_pickle.NumpyArrayWrapper",
    }
    | {f"torch.{kind}Storage" for kind in _TORCH_STORAGES}
    | {f"torch.{kind}Tensor" for kind in _TORCH_STORAGES[:10]}
    | {f"torch.{dtype}" for dtype in _TORCH_DTYPES}
    | {f"torch._utils.{name}" for name in _TORCH_REBUILD}
)
"""Fully qualified ``module.name`` globals a pickle may import."""

KNOWN_GADGETS: frozenset[str] = frozenset(
    {
        "os", "posix", "nt", "subprocess", "sys", "builtins.eval", "builtins.exec", "builtins.compile",
        "builtins.open", "builtins.getattr", "builtins.__import__", "builtins.apply", "__builtin__.eval",
        "__builtin__.exec", "__builtin__.getattr", "__builtin__.__import__", "importlib", "pkgutil",
        "runpy", "marshal", "pip", "code", "pty", "shutil", "socket", "webbrowser", "pydoc", "timeit",
        "ctypes", "asyncio", "multiprocessing", "torch.hub", "torch.utils.collect_env",
        "torch.storage._load_from_bytes",
        "numpy.load", "pickle", "_pickle", "dill", "cloudpickle", "joblib.load", "operator.attrgetter",
        "operator.methodcaller", "functools.partial", "types.FunctionType", "types.CodeType", "bdb", "pdb",
        "uuid._get_command_stdout", "mailcap", "logging", "requests", "urllib", "httplib", "http",
    }
)  # fmt: skip
"""Modules and names known to reach code execution, I/O or networking; used only to word messages."""


def is_known_gadget(name: str) -> bool:
    """True when ``name`` or one of its parent modules is a known code-execution gadget."""
    parts = name.split(".")
    return any(".".join(parts[:i]) in KNOWN_GADGETS for i in range(1, len(parts) + 1))
