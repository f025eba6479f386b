"""Pickle opcode analysis: every import and call is checked against an allowlist; nothing is unpickled.

The walker follows the opcodes the way ``pickle.Unpickler`` would, but on a symbolic stack: strings, small
ints and tuples are kept, imports become ``Global`` values, calls become ``_Call`` values, everything else
is opaque. So ``STACK_GLOBAL`` arguments that travel through the memo are resolved, and ``REDUCE`` /
``NEWOBJ`` / ``BUILD`` on something other than an allowed import are findings too. Large byte strings are
skipped, not read. joblib's raw array bytes after a ``NumpyArrayWrapper`` are stepped over.
"""

from __future__ import annotations

import codecs
import io
import pickletools
import struct
from dataclasses import dataclass, field

from annexa.scan.modelfiles.allowlist import is_known_gadget
from annexa.scan.modelfiles.records import Issue, Kind
from annexa.scan.modelfiles.stream import Stream, Truncated

SMALL = 64 * 1024
"""Byte and string arguments up to this size are read; larger ones are skipped."""
LINE_LIMIT = 1024 * 1024
MAX_OBJECTS = 5_000_000
"""Stack plus memo entries before the walk stops (bounded memory)."""

_OPS: dict[int, pickletools.OpcodeInfo] = {ord(op.code): op for op in pickletools.opcodes}
_JOBLIB_WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"


@dataclass(frozen=True)
class Global:
    name: str


@dataclass(frozen=True)
class _Call:
    func: object
    args: object


class _Opaque:
    def __repr__(self) -> str:
        return "<value>"


class _Dict(dict[str, object]):
    """A dict whose small string-keyed part is tracked (joblib wrapper state)."""


OPAQUE = _Opaque()


MAX_ISSUES = 100
"""Issues reported for one pickle before its walk stops (a hostile pickle can repeat one problem per opcode)."""


class _Stop(Exception):
    """Ends the walk of one pickle after an issue that makes the rest meaningless."""


@dataclass
class PickleWalk:
    """What the walk of one pickle found."""

    issues: list[Issue] = field(default_factory=list)
    globals: set[str] = field(default_factory=set)
    protocol: int = 0
    opcodes: int = 0
    stopped: bool = False
    result: object = None


def _keep(value: object) -> object:
    if isinstance(value, str):
        return value if len(value) <= 256 else OPAQUE
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else OPAQUE
    return OPAQUE


class _Walker:
    def __init__(self, stream: Stream, allowed: frozenset[str], member: str, walk: PickleWalk) -> None:
        self.s = stream
        self.allowed = allowed
        self.member = member
        self.walk = walk
        self.stack: list[object] = []
        self.meta: list[list[object]] = []
        self.memo: dict[int, object] = {}
        self.offset = 0

    def issue(self, kind: Kind, message: str, name: str | None = None, fatal: bool = False) -> None:
        self.walk.issues.append(Issue(kind, message, self.member, self.offset, name))
        if len(self.walk.issues) >= MAX_ISSUES:
            self.walk.issues.append(Issue(Kind.LIMIT, f"more than {MAX_ISSUES} issues in one pickle; the rest is "
                                          "not walked", self.member, self.offset, None))
            raise _Stop
        if fatal:
            raise _Stop

    def push(self, value: object) -> None:
        self.stack.append(value)

    def pop(self) -> object:
        if not self.stack:
            self.issue(Kind.MALFORMED, "pickle stack underflow", fatal=True)
        return self.stack.pop()

    def pop_mark(self) -> list[object]:
        if not self.meta:
            self.issue(Kind.MALFORMED, "pickle MARK missing", fatal=True)
        items = self.stack
        self.stack = self.meta.pop()
        return items

    def top(self) -> object:
        if not self.stack:
            self.issue(Kind.MALFORMED, "pickle stack underflow", fatal=True)
        return self.stack[-1]

    def imported(self, module: object, name: object) -> Global:
        if not isinstance(module, str) or not isinstance(name, str):
            self.issue(
                Kind.UNSAFE_GLOBAL,
                f"imports a global whose name is not a plain string ({_shown(module)}, {_shown(name)})",
                "?",
            )
            return Global("?")
        full = f"{module}.{name}"
        self.walk.globals.add(full)
        if full not in self.allowed:
            why = "a known code-execution gadget" if is_known_gadget(full) else "not on the allowlist"
            self.issue(Kind.UNSAFE_GLOBAL, f"imports {full} ({why})", full)
        return Global(full)

    def called(self, func: object, how: str) -> None:
        if not isinstance(func, Global):
            self.issue(Kind.UNSAFE_CALL, f"{how} calls a computed object ({_describe(func)}), not an imported global")

    # argument decoding -------------------------------------------------------------------------------

    def arg(self, op: pickletools.OpcodeInfo) -> object:
        desc = op.arg
        if desc is None:
            return None
        name, n = desc.name, desc.n
        if n >= 0:
            data = self.s.exact(n)
            if name == "float8":
                return OPAQUE
            signed = name == "int4"
            return int.from_bytes(data, "little", signed=signed)
        if n == pickletools.UP_TO_NEWLINE:
            return self.line_arg(name)
        width = {pickletools.TAKEN_FROM_ARGUMENT1: 1, pickletools.TAKEN_FROM_ARGUMENT4: 4}.get(n, 8)
        if n == pickletools.TAKEN_FROM_ARGUMENT4U:
            width = 4
        signed = n == pickletools.TAKEN_FROM_ARGUMENT4
        size = int.from_bytes(self.s.exact(width), "little", signed=signed)
        if size < 0:
            self.issue(Kind.MALFORMED, f"negative length {size} in {op.name}", fatal=True)
        if size > SMALL:
            self.s.skip(size)
            return OPAQUE
        data = self.s.exact(size)
        if name.startswith("long"):
            return int.from_bytes(data, "little", signed=True) if size <= 8 else OPAQUE
        if name.startswith("unicodestring"):
            try:
                return data.decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                self.issue(Kind.MALFORMED, f"invalid UTF-8 in {op.name}", fatal=True)
        if name.startswith("string"):
            return data.decode("latin-1")
        return OPAQUE

    def line_arg(self, name: str) -> object:
        if name == "stringnl_noescape_pair":
            first, second = self.s.line(4096), self.s.line(4096)
            if first is None or second is None:
                self.issue(Kind.MALFORMED, "over-long module or global name", fatal=True)
            assert first is not None and second is not None
            return (first[:-1].decode("utf-8", "replace"), second[:-1].decode("utf-8", "replace"))
        raw = self.s.line(LINE_LIMIT)
        if raw is None:
            return OPAQUE
        text = raw[:-1]
        try:
            if name == "decimalnl_short":
                return (text == b"01") if text in (b"00", b"01") else int(text)
            if name == "decimalnl_long":
                return int(text.rstrip(b"L"))
            if name == "floatnl":
                float(text)
                return OPAQUE
            if name == "stringnl":
                if len(text) < 2 or text[:1] not in (b"'", b'"') or text[-1:] != text[:1]:
                    raise ValueError("unquoted STRING")
                decoded: bytes = codecs.escape_decode(text[1:-1])[0]
                return decoded.decode("latin-1")
            if name == "unicodestringnl":
                return text.decode("raw-unicode-escape")
            return text.decode("latin-1")
        except (ValueError, UnicodeDecodeError) as exc:
            self.issue(Kind.MALFORMED, f"invalid argument ({exc})", fatal=True)
        return OPAQUE

    # the walk ------------------------------------------------------------------------------------------

    def run(self) -> None:
        while True:
            self.offset = self.s.pos
            code = self.s.read(1)
            if not code:
                self.issue(Kind.MALFORMED, "pickle truncated: the stream ends before STOP", fatal=True)
            op = _OPS.get(code[0])
            if op is None:
                self.issue(Kind.MALFORMED, f"unknown pickle opcode 0x{code[0]:02x}", fatal=True)
            assert op is not None
            value = self.arg(op)
            self.walk.opcodes += 1
            if op.name == "STOP":
                self.walk.stopped = True
                self.walk.result = self.stack[-1] if self.stack else None
                return
            self.step(op.name, value)
            if len(self.stack) + len(self.memo) > MAX_OBJECTS:
                self.issue(Kind.LIMIT, f"more than {MAX_OBJECTS} objects on the pickle stack and memo", fatal=True)

    def step(self, name: str, value: object) -> None:
        push = self.push
        if name == "PROTO":
            assert isinstance(value, int)
            self.walk.protocol = value
            if value > 5:
                self.issue(Kind.MALFORMED, f"unsupported pickle protocol {value}", fatal=True)
        elif name in ("FRAME",):
            pass
        elif name in ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING",
                      "SHORT_BINSTRING", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"):  # fmt: skip
            push(_keep(value))
        elif name in ("FLOAT", "BINFLOAT", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8",
                      "EMPTY_LIST", "EMPTY_SET", "NEXT_BUFFER"):  # fmt: skip
            push(OPAQUE)
        elif name == "EMPTY_DICT":
            push(_Dict())
        elif name == "NONE":
            push(None)
        elif name in ("NEWTRUE", "NEWFALSE"):
            push(name == "NEWTRUE")
        elif name == "EMPTY_TUPLE":
            push(())
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            count = int(name[-1])
            items = [self.pop() for _ in range(count)][::-1]
            push(tuple(items))
        elif name == "TUPLE":
            marked = self.pop_mark()
            push(tuple(marked) if len(marked) <= 16 else OPAQUE)
        elif name in ("LIST", "FROZENSET"):
            self.pop_mark()
            push(OPAQUE)
        elif name == "DICT":
            pairs = self.pop_mark()
            built = _Dict()
            for key, val in zip(pairs[::2], pairs[1::2], strict=False):
                if isinstance(key, str) and len(built) < 64:
                    built[key] = val
            push(built)
        elif name == "APPEND":
            self.pop()
            self.top()
        elif name in ("APPENDS", "ADDITEMS"):
            self.pop_mark()
            self.top()
        elif name == "SETITEM":
            val, key = self.pop(), self.pop()
            target = self.top()
            if isinstance(target, _Dict) and isinstance(key, str) and len(target) < 64:
                target[key] = val
        elif name == "SETITEMS":
            new = self.pop_mark()
            target = self.top()
            if isinstance(target, _Dict):
                for key, val in zip(new[::2], new[1::2], strict=False):
                    if isinstance(key, str) and len(target) < 64:
                        target[key] = val
        elif name == "POP":
            self.pop()
        elif name == "POP_MARK":
            self.pop_mark()
        elif name == "DUP":
            push(self.top())
        elif name == "MARK":
            self.meta.append(self.stack)
            self.stack = []
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            assert isinstance(value, int)
            self.memo[value] = self.top()
        elif name == "MEMOIZE":
            self.memo[len(self.memo)] = self.top()
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            assert isinstance(value, int)
            if value not in self.memo:
                self.issue(Kind.MALFORMED, f"memo key {value} read before it is written", fatal=True)
            push(self.memo[value])
        elif name == "GLOBAL":
            assert isinstance(value, tuple)
            push(self.imported(value[0], value[1]))
        elif name == "STACK_GLOBAL":
            qual, module = self.pop(), self.pop()
            push(self.imported(module, qual))
        elif name == "INST":
            assert isinstance(value, tuple)
            inst_args = self.pop_mark()
            push(_Call(self.imported(value[0], value[1]), tuple(inst_args)))
        elif name == "OBJ":
            obj_items = self.pop_mark()
            if not obj_items:
                self.issue(Kind.MALFORMED, "OBJ without a class", fatal=True)
            self.called(obj_items[0], "OBJ")
            push(_Call(obj_items[0], tuple(obj_items[1:])))
        elif name == "REDUCE":
            args, func = self.pop(), self.pop()
            self.called(func, "REDUCE")
            push(_Call(func, args))
        elif name == "NEWOBJ":
            args, cls = self.pop(), self.pop()
            self.called(cls, "NEWOBJ")
            push(_Call(cls, args))
        elif name == "NEWOBJ_EX":
            self.pop()
            args, cls = self.pop(), self.pop()
            self.called(cls, "NEWOBJ_EX")
            push(_Call(cls, args))
        elif name == "BUILD":
            state = self.pop()
            target = self.top()
            if isinstance(target, Global):
                self.issue(Kind.UNSAFE_CALL, f"BUILD overwrites attributes of the imported {target.name}", target.name)
            elif isinstance(target, _Call) and _is_wrapper(target) and isinstance(state, _Dict):
                self.joblib_array(state)
        elif name in ("PERSID", "BINPERSID"):
            if name == "BINPERSID":
                self.pop()
            push(OPAQUE)
        elif name in ("EXT1", "EXT2", "EXT4"):
            name = f"copyreg.ext:{value}"
            self.issue(Kind.UNSAFE_GLOBAL, f"imports extension-registry global {name}", name)
            push(Global(name))
        elif name == "READONLY_BUFFER":
            self.top()
        else:
            self.issue(Kind.MALFORMED, f"unhandled pickle opcode {name}", fatal=True)

    def joblib_array(self, state: _Dict) -> None:
        """Step over the raw bytes joblib writes right after a ``NumpyArrayWrapper``."""
        dtype = state.get("dtype")
        itemsize, is_object = _dtype_size(dtype)
        if is_object:
            inner = PickleWalk()
            _Walker(self.s, self.allowed, self.member, inner).guarded_run()
            self.walk.issues.extend(inner.issues)
            self.walk.globals |= inner.globals
            return
        shape = state.get("shape")
        if isinstance(shape, int):
            shape = (shape,)
        if itemsize is None or not isinstance(shape, tuple) or not all(isinstance(d, int) for d in shape):
            self.issue(Kind.MALFORMED, "joblib array wrapper with a shape or dtype that cannot be read", fatal=True)
        assert isinstance(shape, tuple) and itemsize is not None
        if "numpy_array_alignment_bytes" in state:
            self.s.skip(self.s.exact(1)[0])
        count = 1
        for dim in shape:
            count *= dim
        self.s.skip(count * itemsize)

    def guarded_run(self) -> None:
        try:
            self.run()
        except _Stop:
            pass
        except Truncated as exc:
            self.walk.issues.append(Issue(Kind.MALFORMED, f"pickle truncated: {exc}", self.member, self.offset))


def _is_wrapper(call: _Call) -> bool:
    return isinstance(call.func, Global) and call.func.name == _JOBLIB_WRAPPER


def _dtype_size(dtype: object) -> tuple[int | None, bool]:
    """Item size and object-ness of a pickled ``numpy.dtype('f8', ...)`` call."""
    if not (isinstance(dtype, _Call) and isinstance(dtype.args, tuple) and dtype.args):
        return None, False
    spec = dtype.args[0]
    if not isinstance(spec, str) or not spec:
        return None, False
    kind, digits = spec[0], spec[1:]
    if kind == "O":
        return None, True
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:  # never int() of '²' or 5,000 digits
        return None, False
    return int(digits) * (4 if kind == "U" else 1), False


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else _describe(value)


def _describe(value: object) -> str:
    calls = 0
    while isinstance(value, _Call):  # iterative and bounded: a pickle can nest calls as deep as it is long
        if calls == 3:
            return "the result of calling " * calls + "a call nested deeper still"
        calls += 1
        value = value.func
    if isinstance(value, Global):
        base = value.name
    else:
        base = type(value).__name__ if not isinstance(value, _Opaque) else "an opaque value"
    return "the result of calling " * calls + base


def walk_pickle(stream: Stream, allowed: frozenset[str], member: str = "") -> PickleWalk:
    """Walk one pickle from the stream's position to its STOP; every problem becomes an issue."""
    walk = PickleWalk()
    _Walker(stream, allowed, member, walk).guarded_run()
    return walk


def probe_pickle(head: bytes, complete: bool) -> bool:
    """True when ``head`` parses as a pickle (protocol 0/1 have no magic).

    ``complete`` says ``head`` is the whole file; otherwise a long clean run of opcodes also counts.
    """
    walk = PickleWalk()
    walker = _Walker(Stream(io.BytesIO(head)), frozenset(), "", walk)
    try:
        walker.run()
    except (_Stop, Truncated):
        pass
    except (struct.error, ValueError, AssertionError):
        return False
    if walk.stopped:
        return walk.opcodes >= 2
    broken = [i for i in walk.issues if i.kind is Kind.MALFORMED and not i.message.startswith("pickle truncated")]
    return not complete and not broken and (walk.opcodes >= 64 or bool(walk.globals))
