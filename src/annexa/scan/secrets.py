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
import multiprocessing
import os
import re
from bisect import bisect_right
from collections.abc import Container, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import accumulate
from pathlib import Path
from typing import Any

from annexa.collect.base_revision import BaseFiles
from annexa.collect.checkout import Checkout
from annexa.errors import AnnexaError, CollectError, UnreadableFile

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

BASELINE = ".secrets.baseline"


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


@dataclass(frozen=True)
class Skipped:
    """A file that was not scanned, and why."""

    path: str
    reason: str


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

    def __init__(self, baseline: Mapping[str, set[str]] | None = None) -> None:
        self._baseline = baseline or {}
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
            self._specific = [(p, [_block_pattern(r) for r in p.denylist]) for p in specific
                              if hasattr(p, "denylist") and p not in self._assignment]
            self._per_line = [p for p in specific if not hasattr(p, "denylist")]
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
        honoured; the hit is then marked ``pragma_ignored``.

        Format-specific detectors first run their patterns over the whole text at C speed, and only the lines
        they match are analysed one by one; the generic detectors (keywords, entropy) see only lines that hold a
        quote or a secret-like word, after detect-secrets' heuristic filters.
        """
        numbers = sorted(set(wanted))
        text = "".join(lines)
        ends = list(accumulate(len(line) for line in lines))
        candidates: dict[int, list[Any]] = {}
        for plugin, patterns in self._specific:
            for pattern in patterns:
                for match in pattern.finditer(text):
                    group = candidates.setdefault(bisect_right(ends, match.start()) + 1, [])
                    if plugin not in group:
                        group.append(plugin)
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
            for hit, known in self._best(path, number, found):
                yield (replace(hit, pragma_ignored=True) if ignored else hit), known

    def _best(self, path: str, line: int, found: dict[tuple[str, str], str]) -> Iterator[tuple[SecretHit, bool]]:
        """One hit per value: annexa's vendor detectors first, then detect-secrets' specific ones, then generic."""
        kept: list[str] = []
        for (kind, value), reported in sorted(found.items(), key=lambda item: (self._rank(item[0][0]), item[0])):
            if any(value in k or k in value for k in kept):
                continue
            if kind == "Hex High Entropy String" and len(value) in DIGEST_LENGTHS:
                continue
            kept.append(value)
            listed = self._baseline.get(path, set())
            known = any(hashlib.sha1(v.encode("utf-8", "surrogatepass")).hexdigest() in listed
                        for v in {value, reported})
            yield SecretHit(kind, path, line, short_hash(value)), known

    def _rank(self, kind: str) -> int:
        if kind in GENERIC_TYPES:
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


def _annexa_names() -> set[str]:
    from annexa.scan.secret_plugins import ANNEXA_PLUGINS

    return {plugin.__name__ for plugin in ANNEXA_PLUGINS}


def _whole(plugin: Any, line: str, reported: str) -> str:
    """The full token when a detect-secrets pattern only captures its prefix (``ghp``, ``glpat``)."""
    if len(reported) >= MIN_SECRET:
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
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return {}, f"{name}: not a detect-secrets baseline ({type(exc).__name__}: {exc})"
    return allowed, None


def notebook_lines(raw: list[str]) -> list[int] | None:
    """Lines of a notebook file that hold cell sources or text outputs (``None``: not parseable JSON).

    Each extracted string line is located in the raw file, in document order, by its JSON-escaped form;
    image and other binary outputs are never located, so never scanned.
    """
    try:
        doc = json.loads("".join(raw))
    except ValueError:
        return None
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
"""Above this many bytes to scan, files are split between worker processes (one per CPU)."""


def scan_files(
    checkout: Checkout,
    paths: Iterable[str],
    added: Mapping[str, frozenset[int] | None],
    max_bytes: int,
    baseline_name: str = BASELINE,
    base: BaseFiles | None = None,
    pragmas_from_base: bool = False,
) -> SecretScan:
    """Scan ``paths`` (only the ``added`` lines where a set is given; ``None`` means every line).

    PR mode: ``base`` gives the baseline, and with ``pragmas_from_base`` an allow-pragma on a line the change adds
    (every line of an ``added`` ``None`` file) is not honoured; one already on a base line is.

    Large scans run in one worker process per CPU, each over a contiguous share of the files (by size), so the
    hits keep the order of ``paths``.
    """
    allowed, problem = load_baseline(checkout, baseline_name, base)
    out = SecretScan()
    if problem:
        out.skipped.append(Skipped(baseline_name, f"baseline ignored: {problem}"))
    todo = [p for p in paths if p != baseline_name]
    sizes = [_size(checkout, p) for p in todo]
    workers = min(os.cpu_count() or 1, 8)
    if workers > 1 and sum(sizes) > PARALLEL_BYTES:
        batches = _shares(todo, sizes, workers)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(len(batches), mp_context=context) as pool:
            parts = list(pool.map(_scan_batch, [str(checkout.root)] * len(batches), batches,
                                  [{p: added.get(p) for p in b} for b in batches], [max_bytes] * len(batches),
                                  [allowed] * len(batches), [pragmas_from_base] * len(batches)))
        for part in parts:
            out.hits += part.hits
            out.baselined += part.baselined
            out.skipped += part.skipped
            out.files += part.files
            out.lines += part.lines
            out.bytes += part.bytes
        return out
    _scan_into(out, checkout, todo, added, max_bytes, allowed, pragmas_from_base)
    return out


def _size(checkout: Checkout, path: str) -> int:
    try:
        return 0 if checkout.is_symlink(path) else checkout.size(path)
    except (UnreadableFile, OSError):
        return 0


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


def _scan_batch(
    root: str, paths: list[str], added: Mapping[str, frozenset[int] | None], max_bytes: int,
    allowed: Mapping[str, set[str]], pragmas_from_base: bool = False,
) -> SecretScan:
    """One worker's share of a parallel scan."""
    out = SecretScan()
    _scan_into(out, Checkout(Path(root)), paths, added, max_bytes, allowed, pragmas_from_base)
    return out


def _scan_into(
    out: SecretScan, checkout: Checkout, paths: Iterable[str], added: Mapping[str, frozenset[int] | None],
    max_bytes: int, allowed: Mapping[str, set[str]], pragmas_from_base: bool = False,
) -> None:
    with SecretScanner(allowed) as scanner:
        for path in paths:
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
            only = added.get(path)
            if only is not None:
                wanted = [n for n in wanted if n in only]
            out.files += 1
            filename = str(checkout.root / path)
            untrusted: Container[int] = (() if not pragmas_from_base else _EVERY_LINE if only is None else only)
            for hit, known in scanner.scan_lines(path, filename, lines, wanted, untrusted):
                (out.baselined if known else out.hits).append(hit)


def _read_lines(checkout: Checkout, path: str, max_bytes: int, out: SecretScan) -> list[str] | None:
    try:
        if checkout.is_symlink(path):
            out.skipped.append(Skipped(path, "symbolic link; its target is scanned on its own"))
            return None
        size = checkout.size(path)
        if size > max_bytes:
            out.skipped.append(Skipped(path, f"{size:,} bytes, over the {max_bytes:,}-byte limit"))
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
