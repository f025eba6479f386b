"""Regex-first PII detection for training data: e-mail addresses, phone numbers, payment cards (Luhn), IBANs
(mod-97), US social security numbers (valid ranges) and IP addresses.

Files are streamed in newline-aligned blocks, so size does not matter; only masked values leave this module.
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from annexa.collect.checkout import Checkout
from annexa.errors import UnreadableFile

BLOCK = 8 * 1024 * 1024
"""Bytes read per block; blocks end at a newline."""

BINARY_SNIFF = 8192

TYPES = ("email", "phone", "payment_card", "iban", "us_ssn", "ip_address")
"""Every PII type, in the order overlapping matches are resolved (a card is not also a phone number)."""

_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+-]{1,64}$")
_EMAIL_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])")
_CARD = re.compile(r"(?<![\d.-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\d-])")
_IBAN = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])")
_SSN = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")
_PHONE = re.compile(
    r"(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w-])"
    r"|(?<![\w(+-])(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f:]*::|(?:[0-9A-Fa-f]{1,4}:){7})[0-9A-Fa-f:]{3,39}(?![\w:])")

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "BR": 29, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GI": 23, "GL": 18, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18,
    "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26, "UA": 29,
}  # fmt: skip
"""IBAN lengths of the SEPA countries and a few more; other country codes are not reported."""


def luhn_ok(digits: str) -> bool:
    """True when ``digits`` pass the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """True when ``iban`` (no spaces) has its country's length and a valid mod-97 check."""
    if IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


VOIDED_SSNS = frozenset({"078-05-1120", "219-09-9999"})
"""SSNs the SSA voided after they were printed in advertising."""


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """True for a US SSN in the ranges the SSA issues (not 000/666/9xx, group 00 or serial 0000)."""
    if f"{area}-{group}-{serial}" in VOIDED_SSNS:
        return False
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _mask_tail(value: str, keep: int) -> str:
    shown = value[-keep:] if keep else ""
    return re.sub(r"[A-Za-z0-9]", "*", value[: len(value) - keep]) + shown


def mask(kind: str, value: str) -> str:
    """A masked rendering that shows the type and shape of a value but never enough to recover it."""
    if kind == "email":
        local, _, domain = value.partition("@")
        tld = domain.rsplit(".", 1)[-1]
        return f"{local[:1]}***@{domain[:1]}***.{tld}"
    if kind == "ip_address":
        return value.split(".")[0] + ".*.*.*" if "." in value else value.split(":")[0] + ":****"
    if kind == "iban":
        return value[:2] + "**" + _mask_tail(value[4:], 0)[:-2] + value[-2:]
    return _mask_tail(value, 4 if kind == "payment_card" else 2)


@dataclass(frozen=True)
class PiiHit:
    """One PII value found at one line (1-based; a row number for Parquet); only the masked value is kept."""

    type: str
    line: int
    masked: str


@dataclass
class PiiFileScan:
    """Counts per type over a file, its first locations, and how much was read."""

    path: str
    counts: Counter[str] = field(default_factory=Counter)
    first: list[PiiHit] = field(default_factory=list)
    bytes: int = 0
    lines: int = 0
    skipped: str | None = None
    lossy_utf8: bool = False


def _emails(text: str) -> Iterator[tuple[int, int]]:
    at = text.find("@")
    while at != -1:
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if local and domain and not local.group().startswith(".") and not local.group().endswith("."):
            yield local.start(), domain.end()
            at = text.find("@", domain.end())
        else:
            at = text.find("@", at + 1)


_CARD_BRANDS = (
    (re.compile(r"4"), (13, 16, 19)),  # Visa
    (re.compile(r"5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)"), (16,)),  # Mastercard
    (re.compile(r"3[47]"), (15,)),  # American Express
    (re.compile(r"6(?:011|5|4[4-9])"), (16, 17, 18, 19)),  # Discover
    (re.compile(r"3(?:0[0-5]|[68])"), (14, 15, 16)),  # Diners Club
    (re.compile(r"35"), (16, 17, 18, 19)),  # JCB
)
"""Issuer prefixes and the lengths each issues: a Luhn-valid number of another shape is not a card."""


def _card(m: re.Match[str]) -> bool:
    digits = re.sub(r"[ -]", "", m.group())
    brand = any(prefix.match(digits) and len(digits) in lengths for prefix, lengths in _CARD_BRANDS)
    return brand and len(set(digits)) > 1 and luhn_ok(digits)


def _phone(m: re.Match[str]) -> bool:
    return 8 <= sum(c.isdigit() for c in m.group()) <= 15


def _ip(m: re.Match[str]) -> bool:
    try:
        ip = ipaddress.ip_address(m.group())
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_reserved or ip.is_link_local)


_VERSION_BEFORE = re.compile(
    r"(?:\b(?:version|ver|release|rev|build|v)[\"']?\s*[:=]?|==|>=|<=|~=|!=|\^|~)\s*[\"']?$", re.IGNORECASE
)
"""What precedes a version number (``version 1.2.3.4``, ``torch==2.1.0.1``, ``"version": "1.0.0.3"``)."""


def is_version(text: str, start: int, end: int) -> bool:
    """True when the dotted quad ``text[start:end]`` is a version string, not an IPv4 address: four single-digit
    parts (``1.2.3.4``), or a version word or comparison right before it. (annexa's own heuristic: presidio and
    the stdlib have none.)"""
    parts = text[start:end].split(".")
    if len(parts) == 4 and all(len(p) == 1 for p in parts):
        return True
    return bool(_VERSION_BEFORE.search(text, max(0, start - 24), start))


def is_personal_ip(value: str) -> bool:
    """True for a globally routable address (``ipaddress``' ``is_global``): private networks (10/8, 172.16/12,
    192.168/16, fc00::/7), loopback, link-local, shared (100.64/10) and documentation ranges (192.0.2/24,
    198.51.100/24, 203.0.113/24, 2001:db8::/32) identify no person outside the network they belong to."""
    try:
        return ipaddress.ip_address(value).is_global
    except ValueError:
        return False


_DIGIT_RUN = re.compile(r"\d[\d .()+-]{5,}\d")
"""Stage one: runs of digits and separators long enough to hold a card, SSN, phone number or IPv4 address."""

_IPV6_HINT = re.compile(r":(?::|[0-9A-Fa-f]{1,4}:)")
"""Stage one for IPv6 (starts with a literal, so it is fast): ``::`` or ``:hex:``."""

_DIGIT_KINDS: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool], Callable[[str, int], bool]], ...] = (
    ("payment_card", _CARD, _card, lambda run, n: n >= 13),
    ("us_ssn", _SSN, lambda m: ssn_ok(*m.groups()), lambda run, n: n >= 9 and run.count("-") >= 2),
    ("ip_address", _IPV4, _ip, lambda run, n: run.count(".") >= 3),
    ("phone", _PHONE, _phone, lambda run, n: n >= 8),
)
"""Stage two for digit runs: (type, precise pattern, validator, cheap gate on the run and its digit count)."""

PRIORITY = {kind: rank for rank, kind in enumerate(("payment_card", "iban", "us_ssn", "email", "ip_address", "phone"))}
"""Where matches overlap, the type ranked first is kept (a card number is not also a phone number)."""


def _candidates(text: str, private_ips: bool = False) -> Iterator[tuple[str, int, int]]:
    for kind, start, end in _raw_candidates(text):
        if kind == "ip_address":
            if "." in text[start:end] and is_version(text, start, end):
                continue
            if not private_ips and not is_personal_ip(text[start:end]):
                continue
        yield kind, start, end


def _raw_candidates(text: str) -> Iterator[tuple[str, int, int]]:
    limit = len(text)
    for run in _DIGIT_RUN.finditer(text):
        group = run.group()
        digits = len(group) - len(group.translate(_NOT_DIGITS))
        start, end = max(run.start() - 1, 0), min(run.end() + 1, limit)
        for kind, pattern, valid, gate in _DIGIT_KINDS:
            if gate(group, digits):
                for m in pattern.finditer(text, start, end):
                    if valid(m):
                        yield kind, m.start(), m.end()
    for start, end in _emails(text):
        yield "email", start, end
    for m in _IBAN.finditer(text):
        if (m.start() == 0 or not text[m.start() - 1].isalnum()) and iban_ok(m.group().replace(" ", "")):
            yield "iban", m.start(), m.end()
    pos = 0
    for hint in _IPV6_HINT.finditer(text):
        if hint.start() < pos:
            continue
        left = max(0, hint.start() - 39)
        for m in _IPV6.finditer(text, left, min(hint.end() + 39, limit)):
            if m.start() <= hint.start() < m.end() and _ip(m):
                yield "ip_address", m.start(), m.end()
                pos = m.end()
                break


_NOT_DIGITS = {ord(c): None for c in "0123456789"}


def find_pii(text: str, private_ips: bool = False) -> Iterator[tuple[str, int, int]]:
    """Every (type, start, end) in ``text``, in text order; overlapping spans keep the higher-priority type.

    IP addresses are reported only when globally routable, unless ``private_ips``; version strings never."""
    starts: list[int] = []
    kept: list[tuple[int, int, str]] = []
    for kind, start, end in sorted(set(_candidates(text, private_ips)), key=lambda c: (PRIORITY[c[0]], c[1])):
        i = bisect.bisect_left(starts, start)
        if (i > 0 and kept[i - 1][1] > start) or (i < len(kept) and kept[i][0] < end):
            continue
        starts.insert(i, start)
        kept.insert(i, (start, end, kind))
    for start, end, kind in kept:
        yield kind, start, end


class _Lines:
    """Maps offsets in a block to line numbers."""

    def __init__(self, text: str, numbers: list[int] | None, first: int) -> None:
        self.text = text
        self.numbers = numbers
        self.first = first
        self.pos = 0
        self.index = 0

    def line_of(self, offset: int) -> int:
        self.index += self.text.count("\n", self.pos, offset)
        self.pos = offset
        return self.numbers[self.index] if self.numbers is not None else self.first + self.index


def scan_text(
    result: PiiFileScan, text: str, first_line: int, max_hits: int, numbers: list[int] | None = None,
    private_ips: bool = False,
) -> None:
    """Add the PII of ``text`` (starting at ``first_line``, or at the explicit line ``numbers``) to ``result``."""
    lines = _Lines(text, numbers, first_line)
    for kind, start, end in find_pii(text, private_ips):
        result.counts[kind] += 1
        if len(result.first) < max_hits:
            result.first.append(PiiHit(kind, lines.line_of(start), mask(kind, text[start:end])))


def _blocks(handle: BinaryIO) -> Iterator[bytes]:
    pending = b""
    while True:
        chunk = handle.read(BLOCK)
        if not chunk:
            break
        data = pending + chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            pending = data
            if len(pending) < 4 * BLOCK:
                continue
            cut = len(pending)
        yield data[:cut]
        pending = data[cut:]
    if pending:
        yield pending


def scan_file(
    checkout: Checkout, path: str, wanted: frozenset[int] | None, max_hits: int, private_ips: bool = False
) -> PiiFileScan:
    """Scan a text file (only the ``wanted`` lines when given); binary files are skipped with the reason."""
    result = PiiFileScan(path)
    line = 1
    with checkout.open(path) as handle:
        for index, raw in enumerate(_blocks(handle)):
            if index == 0 and b"\0" in raw[:BINARY_SNIFF]:
                result.skipped = "binary content (NUL bytes); not a text data file"
                return result
            result.bytes += len(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("utf-8", "replace")
                result.lossy_utf8 = True
            count = text.count("\n") + (0 if text.endswith("\n") else 1)
            if wanted is None:
                scan_text(result, text, line, max_hits, private_ips=private_ips)
            else:
                rows = text.splitlines()
                keep = [i for i in range(len(rows)) if line + i in wanted]
                if keep:
                    scan_text(result, "\n".join(rows[i] for i in keep), line, max_hits, [line + i for i in keep],
                              private_ips)
            line += count
    result.lines = line - 1
    return result


def scan_parquet(checkout: Checkout, path: str, max_hits: int, private_ips: bool = False) -> PiiFileScan:
    """Scan the string cells of a Parquet file row by row (row numbers are reported as lines).

    Raises ``ModuleNotFoundError`` when pyarrow is not installed, ``UnreadableFile`` when the file is not Parquet.
    """
    import pyarrow.parquet as pq

    result = PiiFileScan(path)
    row = 0
    with checkout.open(path) as handle:
        try:
            reader = pq.ParquetFile(handle)
            batches = reader.iter_batches(batch_size=10_000)
            result.bytes = checkout.size(path)
            for batch in batches:
                records = batch.to_pylist()
                text = "\n".join(json.dumps(r, ensure_ascii=False, default=str) for r in records)
                scan_text(result, text, row + 1, max_hits, private_ips=private_ips)
                row += len(records)
        except (OSError, ValueError) as exc:
            raise UnreadableFile(path, f"not a readable Parquet file: {exc}") from exc
    result.lines = row
    return result
