"""Secret scanning with detect-secrets (default plugins plus annexa's AI-vendor plugins), values never kept.

A hit keeps the secret's type, file, line and a short SHA-256 prefix; the value itself is dropped as soon as it
is hashed. Only the wanted lines are scanned (the added lines of a pull request); detect-secrets' inline
``pragma: allowlist secret`` / ``allowlist nextline secret`` and its ``.secrets.baseline`` file are honoured.
Notebooks are scanned cell by cell (sources and text outputs), never their base64 images.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import posixpath
import re
import subprocess
import sys
import zlib
from bisect import bisect_right
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import astuple, dataclass, field, replace
from itertools import accumulate
from pathlib import Path
from typing import Any

from annexa.collect.base_revision import BaseFiles
from annexa.collect.checkout import Checkout
from annexa.errors import AnnexaError, CollectError, UnreadableFile
from annexa.scan import Skipped
from annexa.scan.anchors import Anchors, holds, ignores_case, regex_anchors

BINARY_SNIFF = 8192
"""A NUL byte in this many leading bytes marks a file as binary."""

WINDOW = 4096
"""Very long lines (minified code, one-line JSON) are scanned in windows of this many characters ..."""

OVERLAP = 320
"""... overlapping by more than the longest token a plugin matches."""

MIN_LINE = 8
"""Shorter lines cannot hold a credential and are not scanned."""

GENERIC_TYPES = frozenset({"Base64 High Entropy String", "Hex High Entropy String", "Secret Keyword"})
"""Catch-all detectors: only they go through detect-secrets' heuristic filters (UUIDs, indirect references, ...),
and a format-specific detector's hit on the same value wins over them."""

WEAK_TYPES = GENERIC_TYPES | frozenset({
    "Basic Auth Credentials", "Telegram Bot Token", "IBM Cloud IAM Key", "IBM COS HMAC Credentials",
    "Cloudant Credentials", "SoftLayer Credentials", "Artifactory Credentials", "Discord Bot Token",
    "Twilio API Key", "JSON Web Token",
})
"""Detectors whose shapes collide with ordinary text (ids, error names, base64 data, example URLs): their hits
count only where :func:`counts_as_credential` says a real value is assigned to a credential-named target.
Every other detector is vendor-shaped (prefix, length, alphabet, checksum) and counts wherever it matches."""

_KEYWORD_GATE = re.compile(r"key|pass|pwd|secret|contrase", re.IGNORECASE)
"""The keyword detector only reports values next to these words; other lines skip it."""

_ENTROPY_GATE = re.compile(r"[\"'][A-Za-z0-9+/=_-]{8,}[\"']")
"""The entropy detectors only measure quoted strings of the base64 or hex alphabet long enough to reach their
thresholds; other lines skip them."""

_ASSIGNMENT_GATE = re.compile(r"key|pw|pass|token|softlayer|cloudant", re.IGNORECASE)
"""detect-secrets' assignment-style detectors (Cloudant, IBM, SoftLayer) need one of these words on the line."""

_LEADING_ASSERTION = re.compile(r"^(?:\(\?<!(?:[^()]|\([^()]*\))*\)|\(\?:\\s\|=\|:\|\"\|\^\))")
"""A pattern's leading ``(?<!...)`` or ``(?:\\s|=|:|"|^)`` boundary, dropped when nominating lines."""


def _assignment_style(plugin: Any) -> bool:
    return any("(?<=\\W)" in r.pattern for r in getattr(plugin, "denylist", ()))


def _lowered(gate: re.Pattern[str]) -> re.Pattern[str] | None:
    """For a case-insensitive gate of plain lower-case words (``key|pass``): the same words, case-sensitive, to
    search lowered ASCII text with (faster, and the same lines on ASCII text); else ``None``."""
    if not gate.flags & re.IGNORECASE or not re.fullmatch(r"[a-z0-9_]+(\|[a-z0-9_]+)*", gate.pattern):
        return None
    return re.compile(gate.pattern)


def _anchored(pattern: re.Pattern[str]) -> tuple[re.Pattern[str], Anchors, bool]:
    """A nominating pattern with the words every match of it holds, and whether they are lower-case words for
    lowered ASCII text (the pattern ignores case)."""
    fold = ignores_case(pattern)
    return pattern, regex_anchors(pattern.pattern, pattern.flags & re.IGNORECASE), fold


def _block_pattern(regex: re.Pattern[str]) -> re.Pattern[str]:
    """A detector pattern for nominating lines in a whole file: multi-line, without its leading look-behind (a
    looser pattern that keeps the regex engine's fast literal-prefix search); each nominated line is then
    checked by the detector itself."""
    return re.compile(_LEADING_ASSERTION.sub("", regex.pattern), regex.flags | re.MULTILINE)


MIN_SECRET = 8
"""A reported value shorter than this is a captured prefix, not the secret; the whole match is used instead."""

DIGEST_LENGTHS = frozenset({32, 40, 64, 128})
"""A bare hex string of one of these lengths is an MD5/SHA digest or commit id, not a key, unless a specific or
keyword detector also flags it."""

EXCLUDED_PLUGINS = frozenset({"IPPublicDetector"})
"""Default plugins that do not find credentials (a public IP address is not a secret)."""

PER_LINE_RATIO = 8
"""When fewer than one line in this many is wanted (a pull request's added lines), lines are nominated one by
one instead of by searching the whole text."""

BASELINE = ".secrets.baseline"

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
"""The base62 alphabet GitHub encodes its token checksums in."""

_GITHUB_CLASSIC = re.compile(r"gh[pousr]_[A-Za-z0-9]{36}")


def base62(number: int, width: int) -> str:
    """``number`` in base62, left-padded with ``0`` to ``width`` digits."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    return digits.rjust(width, "0")


def github_checksum_ok(token: str) -> bool:
    """True when a ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_`` token carries a valid checksum.

    GitHub's token format (github.blog, "Behind GitHub's new authentication token formats", 2021): the prefix,
    30 random base62 characters, then the CRC32 of those 30 characters in 6 base62 digits. A string of the right
    shape whose checksum does not match was never issued by GitHub (``ghp_xxxx...`` in docs, made-up test
    values). Fine-grained ``github_pat_`` tokens have no published checksum and are matched by shape alone.
    """
    if not _GITHUB_CLASSIC.fullmatch(token):
        return False
    body, check = token[4:-6], token[-6:]
    return base62(zlib.crc32(body.encode("ascii")), 6) == check


class SecretScanError(AnnexaError):
    """detect-secrets could not run (missing, incompatible or broken); the rule becomes ``unknown``."""


@dataclass(frozen=True)
class SecretHit:
    """One secret found at one line. ``digest`` is a 12-hex-digit SHA-256 prefix; the value is never kept."""

    type: str
    path: str
    line: int
    digest: str
    pragma_ignored: bool = False
    """An allow-pragma the change itself adds would have silenced it (not honoured: see ``scan_files``)."""


@dataclass
class SecretScan:
    """The outcome of one scan over many files."""

    hits: list[SecretHit] = field(default_factory=list)
    baselined: list[SecretHit] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: int = 0
    lines: int = 0
    bytes: int = 0


def short_hash(value: str) -> str:
    """The short, stable identity of a secret value (12 hex digits of its SHA-256)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _settings() -> dict[str, Any]:
    """detect-secrets settings: every default plugin but those in ``EXCLUDED_PLUGINS``, plus annexa's own."""
    from detect_secrets import plugins

    from annexa.scan.secret_plugins import ANNEXA_PLUGINS

    names = sorted({plugin.__name__ for plugin in _package_plugins(plugins)} - EXCLUDED_PLUGINS)
    where = f"file://{Path(__file__).with_name('secret_plugins.py').resolve()}"
    ours = [{"name": plugin.__name__, "path": where} for plugin in ANNEXA_PLUGINS]
    return {"plugins_used": [{"name": n} for n in names] + ours}


def _package_plugins(package: Any) -> list[type]:
    from detect_secrets.core.plugins.util import _is_valid_plugin
    from detect_secrets.util.importlib import import_types_from_package

    return list(import_types_from_package(package, filter=lambda x: not _is_valid_plugin(x)))


class SecretScanner:
    """Scans text line by line with one detect-secrets configuration; use as a context manager."""

    def __init__(self, baseline: Mapping[str, set[str]] | None = None, test_data: Iterable[str] = ()) -> None:
        self._baseline = baseline or {}
        self._test_data = frozenset(test_data)
        self._ctx: Any = None

    def __enter__(self) -> SecretScanner:
        try:
            from detect_secrets.core import scan as ds_scan
            from detect_secrets.filters.allowlist import is_line_allowlisted
            from detect_secrets.settings import get_plugins, transient_settings
            from detect_secrets.util.code_snippet import get_code_snippet

            logging.getLogger("detect-secrets").setLevel(logging.CRITICAL)
            self._ctx = transient_settings(_settings())
            self._ctx.__enter__()
            plugins = get_plugins()
            self._ours = {p.secret_type for p in plugins if p.__class__.__name__ in _annexa_names()}
            self._generic = [(p, _KEYWORD_GATE if p.secret_type == "Secret Keyword" else _ENTROPY_GATE)
                             for p in plugins if p.secret_type in GENERIC_TYPES]
            specific = [p for p in plugins if p.secret_type not in GENERIC_TYPES]
            self._assignment = [p for p in specific if _assignment_style(p)]
            self._specific = [(p, [_anchored(_block_pattern(r)) for r in p.denylist]) for p in specific
                              if hasattr(p, "denylist") and p not in self._assignment]
            self._per_line = [p for p in specific if not hasattr(p, "denylist")]
            gates = list({gate.pattern: gate for _, gate in self._generic}.values())
            if self._assignment:
                gates.append(_ASSIGNMENT_GATE)
            self._gates = [(gate, _lowered(gate)) for gate in gates]
        except Exception as exc:
            if self._ctx is not None:
                self._ctx.__exit__(None, None, None)
            raise SecretScanError(f"detect-secrets could not start: {type(exc).__name__}: {exc}") from exc
        self._filtered = ds_scan._is_filtered_out
        self._allowlisted = is_line_allowlisted
        self._scan_line = ds_scan._scan_line
        self._snippet = get_code_snippet
        return self

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(None, None, None)

    def scan_lines(
        self, path: str, filename: str, lines: list[str], wanted: Iterable[int], untrusted: Container[int] = ()
    ) -> Iterator[tuple[SecretHit, bool]]:
        """Hits on the 1-based ``wanted`` lines of ``lines`` (``filename`` is the real path on disk), each with
        whether the baseline lists it. An allow-pragma on an ``untrusted`` line (one the change adds) is not
        honoured; the hit is then marked ``pragma_ignored``."""
        for number, line, found, ignored in self.raw_hits(filename, lines, wanted, untrusted):
            if (any(kind == "Private Key" for kind, _ in found)
                    and not has_key_body(line, lines[number:number + PEM_BODY_LINES])):
                found = {k: v for k, v in found.items() if k[0] != "Private Key"}
            for hit, known in self._best(path, number, line, found):
                yield (replace(hit, pragma_ignored=True) if ignored else hit), known

    def raw_hits(
        self, filename: str, lines: list[str], wanted: Iterable[int], untrusted: Container[int] = ()
    ) -> Iterator[tuple[int, str, dict[tuple[str, str], str], bool]]:
        """Every detector's hits per wanted line, before the credential-context filter: (line number, line text,
        {(type, value): reported value}). Values stay inside this module.

        Format-specific detectors first run their patterns over the whole text at C speed (over each wanted line
        when only a few are wanted), and only the lines they match are analysed one by one; the generic detectors
        (keywords, entropy) see only lines that hold a quote or a secret-like word, after detect-secrets'
        heuristic filters.
        """
        numbers = sorted(set(wanted))
        if len(numbers) * PER_LINE_RATIO < len(lines):
            candidates, gated = self._nominate_lines(lines, numbers)
        else:
            candidates, gated = self._nominate_text(lines)
        if gated is not None:
            numbers = [n for n in numbers if n in gated]
        for number in numbers:
            line = lines[number - 1].rstrip("\r\n")
            specific = candidates.get(number, []) + self._per_line
            if self._assignment and _ASSIGNMENT_GATE.search(line):
                specific += self._assignment
            generic = [p for p, gate in self._generic if gate.search(line)]
            if len(line.strip()) < MIN_LINE or not (specific or generic):
                continue
            context = self._snippet(lines, number)
            ignored = False
            if "allowlist" in line or "allowlist" in (context.previous_line or ""):
                if self._allowlisted(filename=filename, line="" if number in untrusted else line,
                                     context=_NO_PREVIOUS if number - 1 in untrusted else context):
                    continue
                ignored = self._allowlisted(filename=filename, line=line, context=context)
            found: dict[tuple[str, str], str] = {}
            heuristics: bool | None = None  # the line filters are costly: evaluated only once a generic hit needs them
            for chunk in _windows(line):
                for plugin in specific:
                    for secret in plugin.analyze_line(filename=filename, line=chunk, line_number=number,
                                                      context=context):
                        reported = secret.secret_value or ""
                        found.setdefault((secret.type, _whole(plugin, chunk, reported)), reported)
                if not generic or heuristics:
                    continue
                for plugin in generic:
                    for secret in self._scan_line(plugin=plugin, filename=filename, line=chunk,
                                                  line_number=number, context=context):
                        value = secret.secret_value or ""
                        if f"base64,{value[:24]}" in chunk:
                            continue  # an inline data: URI (image), not a credential
                        if heuristics is None:
                            heuristics = self._filtered(["line"], filename=filename, line=line, context=context)
                        if heuristics:
                            break
                        if not self._filtered(["context"], filename=filename, secret=value, plugin=plugin,
                                              line=chunk, context=context):
                            found.setdefault((secret.type, value), value)
            if found:
                yield number, line, found, ignored

    def _nominate_text(self, lines: list[str]) -> tuple[dict[int, list[Any]], set[int] | None]:
        """Lines a format detector's pattern matches, and the lines some gate matches (``None``: every line), by
        searching the whole text at C speed."""
        text = "".join(lines)
        ends: list[int] = []

        def line_of(position: int) -> int:
            if not ends:
                ends.extend(accumulate(map(len, lines)))
            return bisect_right(ends, position) + 1

        lowered = text.lower() if text.isascii() else None
        candidates: dict[int, list[Any]] = {}
        for plugin, patterns in self._specific:
            for pattern, terms, fold in patterns:
                hay = lowered if fold else text
                if hay is not None and not holds(terms, hay):  # a word every match holds is absent: no match
                    continue
                for match in pattern.finditer(text):
                    group = candidates.setdefault(line_of(match.start()), [])
                    if plugin not in group:
                        group.append(plugin)
        if self._per_line:
            return candidates, None
        # A line no gate matches has no detector to run: find the gated lines over the whole text (a gate never
        # matches a line separator, so each match lies in one line, as per line). On ASCII text, a
        # case-insensitive gate of lower-case words is the same search on the lowered text.
        gated = set(candidates)
        for gate, lower_gate in self._gates:
            if lowered is not None and lower_gate is not None:
                gated.update(line_of(match.start()) for match in lower_gate.finditer(lowered))
            else:
                gated.update(line_of(match.start()) for match in gate.finditer(text))
        return candidates, gated

    def _nominate_lines(self, lines: list[str], numbers: list[int]) -> tuple[dict[int, list[Any]], set[int] | None]:
        """The same, line by line, for the few lines wanted (a pull request's added lines of a long file)."""
        candidates: dict[int, list[Any]] = {}
        gated: set[int] = set()
        for number in numbers:
            line = lines[number - 1]
            found = [plugin for plugin, patterns in self._specific
                     if any(pattern.search(line) for pattern, _terms, _fold in patterns)]
            if found:
                candidates[number] = found
                gated.add(number)
            elif any(gate.search(line) for gate, _lower in self._gates):
                gated.add(number)
        return candidates, None if self._per_line else gated

    def _best(self, path: str, number: int, line: str, found: dict[tuple[str, str], str]
              ) -> Iterator[tuple[SecretHit, bool]]:
        """One hit per value: annexa's vendor detectors first, then detect-secrets' specific ones, then generic;
        a value that is not a credential (:func:`counts_as_credential`) silences every other hit on it."""
        kept: list[str] = []
        test_data = path in self._test_data
        for (kind, value), reported in sorted(found.items(), key=lambda item: (self._rank(item[0][0]), item[0])):
            if any(value in k or k in value for k in kept):
                continue
            if not counts_as_credential(kind, value, line, path, test_data):
                kept.append(value)
                continue
            if kind == "Hex High Entropy String" and len(value) in DIGEST_LENGTHS:
                continue
            kept.append(value)
            listed = self._baseline.get(path, set())
            known = any(hashlib.sha1(v.encode("utf-8", "surrogatepass")).hexdigest() in listed
                        for v in {value, reported})
            yield SecretHit(kind, path, number, short_hash(value)), known

    def spans(self, text: str, strict: bool) -> list[tuple[int, int, str]]:
        """See :func:`find_secret_spans`."""
        lines = text.splitlines(keepends=True)
        starts = [0, *accumulate(len(line) for line in lines)]
        taken: list[tuple[int, int, str]] = []
        for number, line, found, _ in self.raw_hits("<text>", lines, range(1, len(lines) + 1)):
            for (kind, value), _ in sorted(found.items(), key=lambda item: (self._rank(item[0][0]), item[0])):
                if strict and not counts_as_credential(kind, value, line, "<text>"):
                    continue
                pos = line.find(value) if value else -1
                while pos >= 0:
                    start, end = starts[number - 1] + pos, starts[number - 1] + pos + len(value)
                    if not any(s < end and start < e for s, e, _ in taken):
                        taken.append((start, end, kind))
                    pos = line.find(value, pos + len(value))
        return sorted(taken)

    def _rank(self, kind: str) -> int:
        if kind in GENERIC_TYPES:
            return 3
        if kind in WEAK_TYPES:
            return 2
        return 0 if kind in self._ours else 1


class _EveryLine:
    """Contains every line number (a file the change adds whole)."""

    def __contains__(self, _line: object) -> bool:
        return True


_EVERY_LINE = _EveryLine()


class _NoPrevious:
    """A code snippet without a previous line, so a ``nextline`` pragma there is not honoured."""

    previous_line = ""


_NO_PREVIOUS: Any = _NoPrevious()


def find_secret_spans(text: str, *, strict: bool = True) -> list[tuple[int, int, str]]:
    """Where the secrets in ``text`` are: sorted, non-overlapping ``(start, end, type)`` offsets into ``text``.

    The public entry point for redacting output. ``strict`` (the default) keeps what ``no-secrets-in-change``
    would report (vendor-shaped keys, private keys, and generic hits assigned to a credential-named target);
    ``strict=False`` keeps every detector hit that detect-secrets' own filters let through, for callers that
    prefer masking a placeholder to leaking a key. Raises :class:`SecretScanError` when detect-secrets cannot run.
    """
    with SecretScanner() as scanner:
        return scanner.spans(text, strict)


def _annexa_names() -> set[str]:
    from annexa.scan.secret_plugins import ANNEXA_PLUGINS

    return {plugin.__name__ for plugin in ANNEXA_PLUGINS}


def _whole(plugin: Any, line: str, reported: str) -> str:
    """The full token when a detect-secrets pattern only captures its prefix (``ghp``, ``glpat``). A URL's
    password is the credential itself: judged alone (``user:pass@localhost`` in docs is a placeholder), never
    widened to ``://user:pass@``."""
    if len(reported) >= MIN_SECRET or getattr(plugin, "secret_type", "") == "Basic Auth Credentials":
        return reported
    for regex in getattr(plugin, "denylist", ()):
        for match in regex.finditer(line):
            if reported in match.groups():
                return str(match.group(0))
    return reported


def _windows(text: str) -> Iterator[str]:
    if len(text) <= WINDOW:
        yield text
        return
    for start in range(0, len(text), WINDOW - OVERLAP):
        yield text[start : start + WINDOW]
        if start + WINDOW >= len(text):
            return


# --- when a generic hit is a credential ------------------------------------------------------------------------
# detect-secrets' heuristic filters (``detect_secrets.filters.heuristic``) are used where they fit; what they do
# not cover (credential-named targets, placeholders, ids of non-secret kinds, recorded data) is annexa's own.

_TARGET = re.compile(
    r"""(?P<name>[A-Za-z_][\w.-]*)                  # an identifier: api_key, x-api-key, os.environ
        (?:\[\s*["']?(?P<key>[\w.-]+)["']?\s*\])?   # a subscript: os.environ["HF_TOKEN"]
        ["'>]?\s*                                   # the closing quote of a JSON/YAML key, an XML tag
        (?::=|=>|\+?=|:|,|\s)\s*                    # the assignment (',' in setenv("K", "v"), ' ' in --flag v)
        (?:(?:Bearer|Basic|Token|token|bearer)\s+)?  # an Authorization scheme
        (?:[rbuf]?["'`])?\s*$""",
    re.VERBOSE,
)
"""The target a value is assigned to, read backwards from the value's position on its line."""

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

CREDENTIAL_WORDS = frozenset({
    "key", "apikey", "secret", "secrets", "token", "password", "passwd", "pwd", "pw", "pass", "passphrase",
    "credential", "credentials", "cred", "creds", "auth", "authorization", "bearer", "pat", "secretkey",
    "accesskey", "privatekey", "authtoken",
})
"""A target whose last word is one of these names a credential (``OPENAI_API_KEY``, ``clientSecret``)."""

NON_SECRET_WORDS = frozenset({
    "id", "ids", "public", "pub", "path", "file", "filename", "dir", "name", "names", "url", "uri", "endpoint",
    "host", "type", "count", "len", "length", "size", "max", "min", "num", "limit", "pad", "bos", "eos", "unk",
    "mask", "sep", "cls", "special", "hash", "digest", "sha", "integrity", "checksum", "fingerprint", "cache",
    "sort", "primary", "foreign", "prefix", "header", "field", "param", "placeholder", "example", "dummy", "fake",
    "mock", "sample", "format", "expiry", "expires", "ttl", "timeout", "usage", "index", "idx", "model", "dataset",
    "repo", "revision", "version", "tokenizer", "hotkey",
})
"""A target naming any of these is not a credential (``public_key``, ``pad_token``, ``key_id``, ``fake_key``)."""

PLACEHOLDER_PARTS = ("xxxx", "****", "....", "your", "example", "changeme", "change_me", "replace", "dummy", "fake",
                     "placeholder", "redacted", "insert", "todo", "sample", "<", ">", "{", "}", "$", "%s", "...")
"""A value holding one of these (case-insensitive) is a placeholder or a template, not a credential."""

_LITERALS = frozenset({"null", "none", "nil", "true", "false", "undefined", "empty", "nan"})

_WORDY = re.compile(r"[A-Za-z]+(?:[ _.:/-][A-Za-z]+)*")
"""Letters and separators only: a word (``ollama``, ``not-needed``) or an identifier (``ModuleNotFoundError``)."""

_NON_SECRET_ID = re.compile(
    r"(?:chatcmpl|cmpl|ft|ftjob|ftckpt|file|asst|thread|run|msg|call|req|resp|batch|vs|org|proj|user|evt|step|"
    r"modr|img|toolu|srvtoolu|cus|sub|pi|ch|prod|price|pk|sha\d*|md5)[-_:]",
    re.IGNORECASE,
)
"""Prefixes of ids and digests that are not secrets: OpenAI/Anthropic object ids in recorded API responses
(``chatcmpl-``, ``ft-``, ``file-``, ``msg_``), Stripe publishable keys (``pk_``), ``sha512-`` integrity values."""

_REPO_ID = re.compile(r"[\w.-]+/[\w.-]+(?:@[\w.-]+)?")
"""A Hugging Face model or dataset id (``meta-llama/Llama-3.1-8B``), a GitHub ``owner/repo``."""

_KEY_FILE = re.compile(r"id_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?|[\w.-]+\.(?:pem|key|crt|cer|p12|pfx|json|txt|env)",
                       re.IGNORECASE)
"""The name of a key file (``id_ed25519``, ``client.pem``), not its content."""

_GLUED = re.compile(r"[A-Za-z0-9+/]")
"""A vendor-shaped match with one of these right before or after it is part of a longer run (base64 audio or
images, minified code), not a key."""

LONGEST_GENERIC = 200
"""A generic value longer than this is data (base64 audio or images, certificates, bundles), not a credential."""

LOCKFILES = frozenset({
    "pnpm-lock.yaml", "uv.lock", "go.sum", "bun.lock", "npm-shrinkwrap.json", "conda-lock.yml", "pdm.lock",
    "pixi.lock", "flake.lock", "mix.lock", "pubspec.lock",
})
"""Lock files detect-secrets' ``is_lock_file`` does not know."""

_RECORDED = re.compile(
    r"(?:^|/)(?:cassettes?|vcr_cassettes|recordings?|__snapshots__|snapshots|__recordings__|\.inline-snapshot)/"
    r"|\.(?:har|snap)$"
    r"|(?:^|/)openapi[^/]*\.(?:ya?ml|json)$",
    re.IGNORECASE,
)
"""Recorded HTTP responses (VCR cassettes, HAR files, snapshots) and OpenAPI descriptions: their example and
recorded values are data about an API, not credentials of this repository."""


_PEM_HEADER = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY")
_KEY_RUN = re.compile(r"[A-Za-z0-9+/=]{20,}")
PEM_BODY_LINES = 4
"""How many lines after a private-key header may hold the first of its key material (an encrypted PEM's
``Proc-Type`` and ``DEK-Info`` headers come first)."""


def has_key_body(line: str, following: Sequence[str]) -> bool:
    """Whether key material follows a PEM private-key header on ``line``: a run of at least 20 base64
    characters with a digit, ``+`` or ``/`` in it, before the ``-----END`` line, on the header's line (a JSON or
    code string with ``\\n`` escapes) or on the next lines. A header around a placeholder
    (``-----BEGIN PRIVATE KEY-----\\nfixture\\n-----END PRIVATE KEY-----``, ``...``, ``<your key>``) is not a
    key. Other private-key formats (PuTTY, no PEM header) always count."""
    header = _PEM_HEADER.search(line)
    if header is None:
        return True
    text = "\n".join([line[header.end():], *following[:PEM_BODY_LINES]]).replace("\\n", "\n")
    end = _PEM_END.search(text)
    body = text[:end.start()] if end else text
    return any(any(c.isdigit() or c in "+/" for c in run) for run in _KEY_RUN.findall(body))


def data_file(path: str) -> bool:
    """True for lock files, recorded responses and API descriptions, where generic hits do not count."""
    from detect_secrets.filters.heuristic import is_lock_file, is_swagger_file

    return (is_lock_file(path) or posixpath.basename(path) in LOCKFILES or is_swagger_file(path)
            or bool(_RECORDED.search(path)))


def credential_target(line: str, value: str) -> str | None:
    """The name ``value`` is assigned to on ``line`` (``api_key`` in ``api_key="..."``), or ``None``."""
    pos = line.find(value)
    if pos < 0:
        return None
    match = _TARGET.search(line[max(0, pos - 160):pos])
    if match is None:
        return None
    return match.group("key") or match.group("name")


def is_credential_name(name: str) -> bool:
    """True when ``name`` names a credential: its last word is a credential word, and no word is a non-secret
    kind (an id, a public key, a path, a tokenizer's special token)."""
    words = [w.lower() for w in _WORDS.findall(name)]
    if not words or any(w in NON_SECRET_WORDS for w in words):
        return False
    return words[-1] in CREDENTIAL_WORDS or "".join(words[-2:]) in CREDENTIAL_WORDS


def is_placeholder(value: str, kind: str = "") -> bool:
    """True when ``value`` is not a credential: a literal, a word, a placeholder, a reference, a template, an id or
    digest of a non-secret kind, a path, or a data blob. Uses detect-secrets' heuristics where they apply."""
    from detect_secrets.filters.heuristic import (
        is_indirect_reference,
        is_not_alphanumeric_string,
        is_potential_uuid,
        is_prefixed_with_dollar_sign,
        is_sequential_string,
        is_templated_secret,
    )

    text = value.strip("\"'` ")
    low = text.lower()
    if len(text) < MIN_SECRET or low in _LITERALS or any(part in low for part in PLACEHOLDER_PARTS):
        return True
    if (is_templated_secret(text) or is_prefixed_with_dollar_sign(text) or is_sequential_string(text)
            or is_potential_uuid(text) or is_not_alphanumeric_string(text)
            or is_indirect_reference(f"secret = {text}")):
        return True
    if (_WORDY.fullmatch(text) or _NON_SECRET_ID.match(text) or _REPO_ID.fullmatch(text)
            or _KEY_FILE.fullmatch(text)):
        return True
    if re.fullmatch(r"[0-9a-fA-F]+", text) and len(text) in DIGEST_LENGTHS and kind != "Secret Keyword":
        return True
    if text.startswith(("/", "./", "../", "~/", "http://", "https://", "file:")) and kind != "Basic Auth Credentials":
        return True
    return len(text) > LONGEST_GENERIC and kind != "JSON Web Token"


def _glued(line: str, value: str) -> bool:
    pos = line.find(value)
    if pos < 0:
        return False
    end = pos + len(value)
    return bool((pos > 0 and _GLUED.match(line[pos - 1])) or (end < len(line) and _GLUED.match(line[end])))


def counts_as_credential(kind: str, value: str, line: str, path: str, test_data: bool = False) -> bool:
    """Whether one hit is a credential a security engineer would revoke.

    Vendor-shaped hits count wherever they stand alone (not inside a longer base64 or alphanumeric run; a
    ``ghp_`` token only with a valid checksum). Hits of a detector in
    ``WEAK_TYPES`` count only outside test data, lock files and recorded responses, when the value is not a
    placeholder, and (but for a URL's password field) when it is assigned to a credential-named target.
    """
    if kind not in WEAK_TYPES:
        if "EXAMPLE" in value.upper():
            return False  # the vendor's documented example (AWS's AKIAIOSFODNN7EXAMPLE)
        return not _glued(line, value) and (kind != "GitHub Token" or github_checksum_ok(value))
    if test_data or data_file(path) or is_placeholder(value, kind):
        return False
    if kind == "Basic Auth Credentials":
        return True
    target = credential_target(line, value)
    return target is not None and is_credential_name(target)


def load_baseline(
    checkout: Checkout, name: str = BASELINE, base: BaseFiles | None = None
) -> tuple[dict[str, set[str]], str | None]:
    """SHA-1 hashes per file from a detect-secrets baseline, skipping entries audited as real secrets.

    With ``base`` (PR mode) the baseline is the base revision's, never the change's. Returns the mapping and,
    when the baseline exists but cannot be used, why.
    """
    try:
        if base is not None:
            text = base.read_text(name) if name else None
        else:
            text = checkout.read_text(name) if name and checkout.exists(name) else None
        if text is None:
            return {}, None
        data = json.loads(text)
        results = data["results"]
        allowed: dict[str, set[str]] = {}
        for path, entries in results.items():
            for entry in entries:
                if entry.get("is_secret") is not True:
                    allowed.setdefault(str(path), set()).add(str(entry["hashed_secret"]))
    except UnreadableFile as exc:
        return {}, f"{name}: {exc.reason}"
    except CollectError as exc:
        return {}, f"{name} in the base revision: {exc}"
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        return {}, f"{name}: not a detect-secrets baseline ({type(exc).__name__}: {str(exc)[:200]})"
    return allowed, None


def notebook_lines(raw: list[str]) -> list[int] | None:
    """Lines of a notebook file that hold cell sources or text outputs (``None``: not parseable JSON).

    Each extracted string line is located in the raw file, in document order, by its JSON-escaped form;
    image and other binary outputs are never located, so never scanned.
    """
    try:
        return _notebook_lines(raw)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than JSON's reader goes: read as text
        return None


def _notebook_lines(raw: list[str]) -> list[int] | None:
    doc = json.loads("".join(raw))
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        return None
    wanted: list[int] = []
    cursor = 0
    for piece in _notebook_texts(doc):
        for text_line in piece.splitlines():
            needle = json.dumps(text_line, ensure_ascii=False)[1:-1]
            if len(needle.strip()) < MIN_LINE:
                continue
            for i in range(cursor, len(raw)):
                if needle in raw[i]:
                    wanted.append(i + 1)
                    cursor = i
                    break
    return sorted(set(wanted))


def _notebook_texts(doc: dict[str, Any]) -> Iterator[str]:
    for cell in doc["cells"]:
        if not isinstance(cell, dict):
            continue
        yield _joined(cell.get("source"))
        for output in cell.get("outputs") or ():
            if not isinstance(output, dict):
                continue
            yield _joined(output.get("text"))
            yield "\n".join(_joined(output.get(k)) for k in ("ename", "evalue"))
            yield _joined(output.get("traceback"))
            for mime, value in (output.get("data") or {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    yield _joined(value) if not isinstance(value, dict) else json.dumps(value)


def _joined(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return ""


PARALLEL_BYTES = 16_000_000
"""Above this many bytes to scan (text files within the size limit), files are split between worker processes."""

WORKER_MODULE = "annexa.scan.secrets_worker"
"""What a worker process runs: the scanner alone (``python -m``), never the CLI."""


def scan_files(
    checkout: Checkout,
    paths: Iterable[str],
    added: Mapping[str, frozenset[int] | None],
    max_bytes: int,
    baseline_name: str = BASELINE,
    test_data: Iterable[str] = (),
    base: BaseFiles | None = None,
    pragmas_from_base: bool = False,
) -> SecretScan:
    """Scan ``paths`` (only the ``added`` lines where a set is given; ``None`` means every line).

    ``test_data`` are the paths of test code and fixtures: generic detectors do not count there (see
    :func:`counts_as_credential`), vendor-shaped keys and private keys do. When the bytes actually to be scanned
    (text files within ``max_bytes`` with lines wanted) exceed ``PARALLEL_BYTES``, one worker process per CPU
    scans a contiguous share of the files (by size), so the hits keep the order of ``paths``; every worker has
    exited when this returns.

    PR mode: ``base`` gives the baseline, and with ``pragmas_from_base`` an allow-pragma on a line the change adds
    (every line of an ``added`` ``None`` file) is not honoured; one already on a base line is.
    """
    allowed, problem = load_baseline(checkout, baseline_name, base)
    out = SecretScan()
    if problem:
        out.skipped.append(Skipped(baseline_name, f"baseline ignored: {problem}"))
    todo = [p for p in paths if p != baseline_name]
    quiet = frozenset(test_data)
    workers = min(os.cpu_count() or 1, 8)
    sizes = [_size(checkout, p, max_bytes) if added.get(p) != frozenset() else 0 for p in todo]
    if workers > 1 and sum(sizes) > PARALLEL_BYTES:
        sizes = [size if size and not _binary(checkout, p) else 0 for p, size in zip(todo, sizes, strict=True)]
    if workers > 1 and sum(sizes) > PARALLEL_BYTES:
        batches = _shares(todo, sizes, workers)
        for part in _run_workers(checkout, batches, added, max_bytes, allowed, quiet, pragmas_from_base):
            out.hits += part.hits
            out.baselined += part.baselined
            out.skipped += part.skipped
            out.files += part.files
            out.lines += part.lines
            out.bytes += part.bytes
        return out
    _scan_into(out, checkout, todo, added, max_bytes, allowed, quiet, pragmas_from_base)
    return out


def _size(checkout: Checkout, path: str, max_bytes: int) -> int:
    """Bytes of ``path`` to scan: 0 for symbolic links, unreadable files and files over ``max_bytes``."""
    try:
        size = 0 if checkout.is_symlink(path) else checkout.size(path)
    except (UnreadableFile, OSError):
        return 0
    return size if size <= max_bytes else 0


def _binary(checkout: Checkout, path: str) -> bool:
    try:
        return b"\0" in checkout.read_bytes(path, BINARY_SNIFF)[:BINARY_SNIFF]
    except (UnreadableFile, OSError):
        return True


def _shares(paths: list[str], sizes: list[int], n: int) -> list[list[str]]:
    """Split ``paths`` into at most ``n`` contiguous runs of about equal total size."""
    target = sum(sizes) / n
    batches: list[list[str]] = [[]]
    total = 0
    for path, size in zip(paths, sizes, strict=True):
        if total >= target * len(batches) and len(batches) < n:
            batches.append([])
        batches[-1].append(path)
        total += size
    return [b for b in batches if b]


def _run_workers(
    checkout: Checkout, batches: list[list[str]], added: Mapping[str, frozenset[int] | None], max_bytes: int,
    allowed: Mapping[str, set[str]], quiet: frozenset[str], pragmas_from_base: bool = False,
) -> list[SecretScan]:
    """Run one ``python -m annexa.scan.secrets_worker`` per batch (a job in JSON on stdin, its scan in JSON on
    stdout: types, places and hashes only, never a value); every process is reaped, killed if need be."""
    import annexa

    src = str(Path(annexa.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for batch in batches:
            job = {"root": str(checkout.root), "paths": batch, "max_bytes": max_bytes,
                   "added": {p: sorted(lines) for p in batch if (lines := added.get(p)) is not None},
                   "allowed": {p: sorted(allowed[p]) for p in batch if p in allowed},
                   "test_data": [p for p in batch if p in quiet], "pragmas_from_base": pragmas_from_base}
            proc = subprocess.Popen([sys.executable, "-m", WORKER_MODULE], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            procs.append(proc)
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(job).encode())
            proc.stdin.close()
        parts = []
        for proc in procs:
            assert proc.stdout is not None and proc.stderr is not None
            data, err = proc.stdout.read(), proc.stderr.read()
            if proc.wait() != 0:
                tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
                raise SecretScanError(f"a secret-scan worker failed (exit {proc.returncode}): {tail[0]}")
            parts.append(scan_from_json(json.loads(data)))
        return parts
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None and not stream.closed:
                    stream.close()


def scan_to_json(scan: SecretScan) -> dict[str, Any]:
    """A scan as JSON (hits hold types, places and hashes only)."""
    return {"hits": [list(astuple(h)) for h in scan.hits], "baselined": [list(astuple(h)) for h in scan.baselined],
            "skipped": [[s.path, s.reason] for s in scan.skipped], "files": scan.files, "lines": scan.lines,
            "bytes": scan.bytes}


def scan_from_json(data: Mapping[str, Any]) -> SecretScan:
    """The inverse of :func:`scan_to_json`."""
    return SecretScan(hits=[SecretHit(*h) for h in data["hits"]], baselined=[SecretHit(*h) for h in data["baselined"]],
                      skipped=[Skipped(*s) for s in data["skipped"]], files=data["files"], lines=data["lines"],
                      bytes=data["bytes"])


def run_worker_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """One worker's share of a parallel scan, from the job :func:`_run_workers` sends."""
    out = SecretScan()
    added: dict[str, frozenset[int] | None] = {p: frozenset(v) for p, v in job["added"].items()}
    allowed = {p: set(v) for p, v in job["allowed"].items()}
    _scan_into(out, Checkout(Path(job["root"])), job["paths"], added, int(job["max_bytes"]), allowed,
               frozenset(job["test_data"]), bool(job.get("pragmas_from_base")))
    return scan_to_json(out)


def _scan_into(
    out: SecretScan, checkout: Checkout, paths: Iterable[str], added: Mapping[str, frozenset[int] | None],
    max_bytes: int, allowed: Mapping[str, set[str]], quiet: frozenset[str] = frozenset(),
    pragmas_from_base: bool = False,
) -> None:
    with ExitStack() as stack:
        scanner: SecretScanner | None = None  # started on the first text file: binaries alone never load it
        for path in paths:
            only = added.get(path)
            if only is not None and not only:
                out.files += 1
                continue
            lines = _read_lines(checkout, path, max_bytes, out)
            if lines is None:
                continue
            wanted: Iterable[int]
            if path.endswith(".ipynb"):
                cells = notebook_lines(lines)
                if cells is None:
                    out.skipped.append(Skipped(path, "notebook is not valid JSON; scanned as plain text"))
                    cells = list(range(1, len(lines) + 1))
                wanted = cells
            else:
                wanted = range(1, len(lines) + 1)
            if only is not None:
                wanted = [n for n in wanted if n in only]
            out.files += 1
            filename = str(checkout.root / path)
            untrusted: Container[int] = (() if not pragmas_from_base else _EVERY_LINE if only is None else only)
            if scanner is None:
                scanner = stack.enter_context(SecretScanner(allowed, quiet))
            for hit, known in scanner.scan_lines(path, filename, lines, wanted, untrusted):
                (out.baselined if known else out.hits).append(hit)


def _read_lines(checkout: Checkout, path: str, max_bytes: int, out: SecretScan) -> list[str] | None:
    try:
        if checkout.is_symlink(path):
            out.skipped.append(Skipped(path, "symbolic link; its target is scanned on its own"))
            return None
        size = checkout.size(path)
        if size > max_bytes:
            binary = b"\0" in checkout.read_bytes(path, BINARY_SNIFF)  # a large binary is no missed text
            out.skipped.append(Skipped(path, "binary content (NUL bytes); not scanned" if binary
                                       else f"{size:,} bytes, over the {max_bytes:,}-byte limit"))
            return None
        data = checkout.read_bytes(path, max_bytes)
    except UnreadableFile as exc:
        out.skipped.append(Skipped(path, exc.reason))
        return None
    except OSError as exc:
        out.skipped.append(Skipped(path, exc.strerror or str(exc)))
        return None
    if b"\0" in data[:BINARY_SNIFF]:
        out.skipped.append(Skipped(path, "binary content (NUL bytes); not scanned"))
        return None
    out.bytes += len(data)
    lines = data.decode("utf-8", "replace").splitlines(keepends=True)
    out.lines += len(lines)
    return lines
