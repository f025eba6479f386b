"""The redaction gate: every string that leaves annexa (reports, errors, logs, run records) passes here.

A value is masked when the secret detectors of ``no-secrets-in-change`` find it, when it is a URL credential
(``scheme://user:pass@``), a credential in a query string (``?password=``, ``token=``, ``access_token=``, ``key=``),
an ``x-access-token:`` form or an ``Authorization`` header value, or when it hashes to a secret a rule of the same
report flagged (its ``sha256:`` prefix in the evidence). Masking replaces the value with ``[redacted]``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from annexa.scan import detector_gate

if TYPE_CHECKING:
    from annexa.report import Report

REDACTED = "[redacted]"

MIN_SECRET = detector_gate.MIN_SECRET
"""Shorter values are never treated as secrets (nothing that short is a credential)."""

_DIGEST_LENGTHS = frozenset({32, 40, 64, 128})
"""Hex strings of these lengths are digests or commit ids; the hex entropy detector's hits on them are kept."""

_GENERIC = frozenset({"Base64 High Entropy String", "Hex High Entropy String", "Secret Keyword"})

_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s/@'\"<>]+)@")
_QUERY = re.compile(
    r"(?i)([?&;](?:password|passwd|pwd|pass|token|access_token|refresh_token|id_token|auth_token|api_key|apikey"
    r"|key|secret|client_secret|sig|signature|private_token|auth|x-amz-signature|x-amz-credential)=)"
    r"([^&#\s'\"<>]+)"
)
_ACCESS_TOKEN = re.compile(r"(?i)(x-access-token:|oauth2:|gitlab-ci-token:)([^@\s'\"<>]+)")
_AUTH_HEADER = re.compile(r"(?i)\b((?:bearer|basic|token)\s+)([A-Za-z0-9._~+/=-]{16,})")
_TOKENS = re.compile(r"[^\s'\"`,;()<>\[\]{}|\\]{8,}")
"""Candidate values for the digest check: runs of characters that are not quotes, brackets or separators."""
_SUB_TOKENS = re.compile(r"[^\s'\"`,;()<>\[\]{}|\\=:@/?&#]{8,}")


def _detector_spans(line: str) -> list[tuple[int, int]]:
    """Where the secret detectors find a value in one line of text.

    This is the ONE call into the secrets scanner's detectors. A line the stored gate says no detector could
    report a value in (``annexa.scan.detector_gate``) does not load them.
    """
    spans: list[tuple[int, int]] = []
    gate = detector_gate.current()
    if gate is not None and not gate.may_hit(line):  # no detector could report a value here
        return spans
    for plugin, patterns in _detectors():
        try:
            found = plugin.analyze_line(filename=detector_gate.OUTPUT_NAME, line=line, line_number=0, context=None)
        except Exception:  # a detector's failure must not stop redaction of the others
            continue
        for secret in found:
            value = secret.secret_value or ""
            if secret.type == "Hex High Entropy String" and len(value) in _DIGEST_LENGTHS:
                continue
            if len(value) < MIN_SECRET:
                whole = _whole_match(patterns, line, value)
                if whole.startswith(value):  # a captured prefix (``ghp``): the token is the whole match
                    value = whole
            if len(value) < MIN_SECRET and (secret.type in _GENERIC or len(value) < 4):
                continue
            start = line.find(value)
            while start != -1:
                spans.append((start, start + len(value)))
                start = line.find(value, start + 1)
    return spans


def _whole_match(patterns: Iterable[re.Pattern[str]], line: str, reported: str) -> str:
    """The full token when a detector only reports a captured prefix (``ghp``, ``glpat``)."""
    for regex in patterns:
        for match in regex.finditer(line):
            if reported and reported in match.groups():
                return str(match.group(0)).strip(" \t=:\"'")
    return reported


@lru_cache(maxsize=1)
def _detectors() -> tuple[tuple[Any, tuple[re.Pattern[str], ...]], ...]:
    """The detect-secrets plugins ``no-secrets-in-change`` uses (annexa's vendor plugins included)."""
    try:
        from detect_secrets.settings import get_plugins, transient_settings

        from annexa.scan.secrets import _settings

        with transient_settings(_settings()):
            plugins = list(get_plugins())
    except Exception:  # without detect-secrets, the URL and query-string masks still apply
        return ()
    return tuple((p, tuple(getattr(p, "denylist", ()))) for p in plugins)


def _pattern_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in _URL_USERINFO.finditer(text):
        user, _, password = match.group(2).partition(":")
        if password:
            start = match.start(2) + len(user) + 1
            spans.append((start, match.end(2)))
        elif len(user) >= 16:
            spans.append((match.start(2), match.end(2)))
    for pattern in (_QUERY, _ACCESS_TOKEN, _AUTH_HEADER):
        for match in pattern.finditer(text):
            if len(match.group(2)) >= 4 and match.group(2) != REDACTED:
                spans.append((match.start(2), match.end(2)))
    return spans


def _digest_spans(text: str, digests: frozenset[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for pattern in (_TOKENS, _SUB_TOKENS):
        for match in pattern.finditer(text):
            token = match.group(0)
            if hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:12] in digests:
                spans.append(match.span())
    return spans


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[str] = []
    last = 0
    for start, end in merged:
        out.append(text[last:start])
        out.append(REDACTED)
        last = end
    out.append(text[last:])
    return "".join(out)


_WINDOW = 4096

_SHIPPED: set[str] = set()
"""Lines of annexa's own shipped text (the rule catalog's prose, the built-in policies): the detectors find
nothing in them (``tests/robust/test_leaks.py`` checks every one), so they are not run on them again."""


def trust_shipped(texts: Iterable[str]) -> None:
    """Record the lines of texts annexa ships (called by the catalog as it loads its own files)."""
    for text in texts:
        _SHIPPED.update(text.splitlines(keepends=True))


def shipped_lines() -> frozenset[str]:
    return frozenset(_SHIPPED)


@lru_cache(maxsize=65536)
def _redact_line(line: str, digests: frozenset[str]) -> str:
    spans = _pattern_spans(line)
    if digests:
        spans += _digest_spans(line, digests)
    if line in _SHIPPED:
        pass  # annexa's own prose: no detector finds anything in it
    elif len(line) <= _WINDOW:
        spans += _detector_spans(line)
    else:  # long lines are looked at in overlapping windows, as the scanner does
        for offset in range(0, len(line), _WINDOW - 320):
            spans += [(a + offset, b + offset) for a, b in _detector_spans(line[offset : offset + _WINDOW])]
    return _mask(line, spans)


def escape_path(text: str) -> str:
    """Undecodable bytes of a file name (kept as surrogates) written as ``\\xNN``, so every output can encode it."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def redact_text(text: str, digests: Iterable[str] = ()) -> str:
    """``text`` with every secret value masked; ``digests`` are 12-hex SHA-256 prefixes of known secrets.

    Undecodable file-name bytes are escaped too (``escape_path``).
    """
    text = escape_path(text)
    if len(text) < MIN_SECRET:
        return text
    known = frozenset(digests)
    return "".join(_redact_line(line, known) for line in text.splitlines(keepends=True))


def redact_json(obj: Any, digests: Iterable[str] = ()) -> Any:
    """A copy of a JSON-like value with every string (mapping keys included) passed through ``redact_text``."""
    known = frozenset(digests) or frozenset(_digests_in(obj))
    with detector_gate.narrowed_to("\n".join(map(escape_path, _strings_in(obj)))):  # as redact_text sees them
        return _walk(obj, known)


def _strings_in(obj: Any) -> Iterator[str]:
    """Every string in a JSON-like value, mapping keys included (iterative)."""
    stack = [obj]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(key, str):
                    yield key
                stack.append(item)
        elif isinstance(value, list | tuple):
            stack.extend(value)


def _walk(obj: Any, digests: frozenset[str]) -> Any:
    # Iterative: report bodies can be deep (evidence holds parsed input), so no recursion on input depth.
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(obj, root, 0)]
    while stack:
        value, parent, slot = stack.pop()
        if isinstance(value, str):
            parent[slot] = redact_text(value, digests)
        elif isinstance(value, Mapping):
            copy: dict[Any, Any] = {}
            parent[slot] = copy
            for key, item in value.items():
                new_key = redact_text(key, digests) if isinstance(key, str) else key
                copy[new_key] = None
                stack.append((item, copy, new_key))
        elif isinstance(value, list | tuple):
            items: list[Any] = [None] * len(value)
            parent[slot] = items
            stack.extend((item, items, i) for i, item in enumerate(value))
        else:
            parent[slot] = value
    return root[0]


_HASH = re.compile(r"^sha256:([0-9a-f]{12})$")


def _digests_in(obj: Any) -> set[str]:
    """12-hex secret digests that findings name in their evidence (``hash: sha256:<12 hex>``)."""
    found: set[str] = set()
    stack = [obj]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key == "hash" and isinstance(item, str) and (match := _HASH.match(item)):
                    found.add(match.group(1))
                else:
                    stack.append(item)
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return found


def redact_report(report: Report) -> Report:
    """A copy of ``report`` whose every message, evidence value, remediation and text is redacted."""
    digests = frozenset(_digests_in([dict(f.evidence) for f in report.findings]))
    every = [*(s for f in report.findings for s in (f.message, f.remediation, *_strings_in(dict(f.evidence)))),
             *(s for p in report.policies for s in (p.title, p.owner, *(r.text for r in p.requirements)))]
    with detector_gate.narrowed_to("\n".join(map(escape_path, every))):  # as redact_text sees them
        return _redacted_report(report, digests)


def _redacted_report(report: Report, digests: frozenset[str]) -> Report:
    def text(value: str) -> str:
        return redact_text(value, digests)

    findings = tuple(
        replace(
            f,
            message=text(f.message),
            location=f.location and replace(f.location, path=escape_path(f.location.path)),
            evidence=_walk(dict(f.evidence), digests),
            remediation=text(f.remediation),
        )
        for f in report.findings
    )
    policies = tuple(
        replace(p, title=text(p.title), owner=text(p.owner),
                requirements=tuple(replace(r, text=text(r.text)) for r in p.requirements))
        for p in report.policies
    )
    return replace(report, findings=findings, policies=policies)
