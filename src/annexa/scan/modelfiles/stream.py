"""Forward-only byte streams with positions, cheap skipping, and a shared budget of bytes read from members."""

from __future__ import annotations

import io
from typing import Any, BinaryIO

CHUNK = 1024 * 1024


class LimitExceeded(Exception):
    """A scan bound (bytes, members, depth) was reached."""


class Truncated(Exception):
    """The stream ended before a structure it announced."""


class Budget:
    """Bytes that may still be decompressed or read from archive members during one scan."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, n: int) -> None:
        """Account for ``n`` more bytes; raises ``LimitExceeded`` past the limit."""
        self.used += n
        if self.used > self.limit:
            raise LimitExceeded(f"more than {self.limit} bytes decompressed or read from members")


class Charged(io.RawIOBase):
    """A raw stream that charges every byte read to a budget (for decompressed or member data)."""

    def __init__(self, inner: BinaryIO, budget: Budget) -> None:
        self._inner = inner
        self._budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        self._budget.charge(len(data))
        buffer[: len(data)] = data
        return len(data)


class Prefixed(io.RawIOBase):
    """Bytes already read (``head``) followed by the rest of a stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Stream:
    """A positioned reader over a binary file object; ``seekable`` streams skip without reading."""

    def __init__(self, raw: BinaryIO, seekable: bool = False, size: int | None = None) -> None:
        self._raw = raw
        self._seekable = seekable
        self._back = b""
        self.size = size
        self.pos = 0

    def _get(self, n: int) -> bytes:
        if self._back:
            out, self._back = self._back[:n], self._back[n:]
            return out
        return self._raw.read(n)

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer only at the end)."""
        parts: list[bytes] = []
        want = n
        while want > 0:
            data = self._get(want)
            if not data:
                break
            parts.append(data)
            want -= len(data)
        out = b"".join(parts)
        self.pos += len(out)
        return out

    def peek(self, n: int) -> bytes:
        """The next ``n`` bytes (fewer at the end) without consuming them."""
        data = self.read(n)
        self._back = data + self._back
        self.pos -= len(data)
        return data

    def exact(self, n: int) -> bytes:
        """Exactly ``n`` bytes; raises ``Truncated`` at the end of the stream."""
        data = self.read(n)
        if len(data) < n:
            raise Truncated(f"stream ends at byte {self.pos}, {n - len(data)} bytes short")
        return data

    def skip(self, n: int) -> None:
        """Move ``n`` bytes forward; raises ``Truncated`` when the stream is shorter."""
        if self._seekable and self.size is not None and not self._back:
            if self.pos + n > self.size:
                self._raw.seek(self.size)
                self.pos = self.size
                raise Truncated(f"stream ends at byte {self.size}, {n} bytes announced")
            self._raw.seek(n, io.SEEK_CUR)
            self.pos += n
            return
        left = n
        while left > 0:
            got = len(self.read(min(left, CHUNK)))
            if got == 0:
                raise Truncated(f"stream ends at byte {self.pos}, {left} bytes short")
            left -= got

    def line(self, limit: int) -> bytes | None:
        """Bytes up to and including the next newline; ``None`` when longer than ``limit`` (then skipped)."""
        if not self._back:
            data = self._raw.readline(limit + 1)
            self.pos += len(data)
            if data.endswith(b"\n"):
                return data
            if len(data) <= limit:
                raise Truncated(f"stream ends at byte {self.pos} inside a line")
            while self.exact(1) != b"\n":
                pass
            return None
        out = bytearray()
        while True:
            c = self.read(1)
            if not c:
                raise Truncated(f"stream ends at byte {self.pos} inside a line")
            out += c
            if c == b"\n":
                return bytes(out)
            if len(out) > limit:
                while self.exact(1) != b"\n":
                    pass
                return None

    def tail(self, n: int) -> bytes:
        """The last ``n`` bytes of a seekable stream (empty otherwise); the position is kept."""
        if not self._seekable or self.size is None:
            return b""
        here = self._raw.tell()
        self._raw.seek(max(0, self.size - n))
        data = self._raw.read(n)
        self._raw.seek(here)
        return data


class Inflating(io.RawIOBase):
    """A compressed stream without a file wrapper of its own (raw zlib, or LZMA "alone"), decompressed as read.

    ``decompressor`` is a ``zlib.decompressobj()`` or an ``lzma.LZMADecompressor``; each read produces at most
    the size asked for, so a small input never expands into memory all at once.
    """

    def __init__(self, inner: BinaryIO | Stream, decompressor: Any) -> None:
        self._inner = inner
        self._d = decompressor

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        d = self._d
        while not d.eof:
            if hasattr(d, "unconsumed_tail"):  # zlib
                data = d.unconsumed_tail or self._inner.read(CHUNK)
                if not data:
                    raise Truncated("zlib stream ends before its end marker")
                out = d.decompress(data, len(buffer))
            else:  # lzma
                data = self._inner.read(CHUNK) if d.needs_input else b""
                if d.needs_input and not data:
                    raise Truncated("lzma stream ends before its end marker")
                out = d.decompress(data, max_length=len(buffer))
            if out:
                buffer[: len(out)] = out
                return len(out)
        return 0
