"""Rules of the model files family: model files that run code when loaded (``weights-safe-format``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from annexa.errors import UnreadableFile
from annexa.model import Location, Result
from annexa.rules.base import RuleContext, RuleFn, failed, not_applicable, passed, unknown, unreadable

if TYPE_CHECKING:  # the model file scanner is imported where a file is read: a tree without any never loads it
    from annexa.scan.modelfiles import Issue, Limits, Report

_MESSAGE_ISSUES = 8
"""Issues spelled out in a message; evidence lists up to ``_EVIDENCE_ISSUES``."""
_EVIDENCE_ISSUES = 100


@dataclass(frozen=True)
class WeightFiles:
    """Files named like weights, split by their bytes: weights, text files that only bear the name, and files
    that could not be read (each with the reason)."""

    weights: tuple[str, ...]
    evidence: Mapping[str, str]
    not_weights: tuple[str, ...]
    unreadable: Mapping[str, str]


def _probe(head: bytes, complete: bool) -> bool:
    from annexa.scan.modelfiles.pickles import probe_pickle
    from annexa.scan.modelfiles.sniff import maybe_old_pickle

    return maybe_old_pickle(head) and probe_pickle(head, complete)


def weight_files(ctx: RuleContext) -> WeightFiles:
    """Every file of the ``weights`` path class classified once per run by its first bytes (``ctx.memo``).

    A file is a weight when its bytes are a model, pickle or archive format, a Git LFS pointer, or binary of no
    known format; a text file named ``.bin`` (a vocabulary, a config) is not. Every weights rule uses this
    one answer, so they never disagree; a file that cannot be read is neither, and its rule says ``unknown``.
    """
    checkout = ctx.checkout

    def classify() -> WeightFiles:
        named = ctx.files_in("weights")
        if not named:
            return WeightFiles((), {}, (), {})
        from annexa.scan.modelfiles import HEAD
        from annexa.scan.modelfiles.sniff import weight_evidence

        weights: list[str] = []
        evidence: dict[str, str] = {}
        text: list[str] = []
        unreadable_: dict[str, str] = {}
        for path in named:
            assert checkout is not None
            if checkout.content_hint(path) == "binary":
                weights.append(path)
                evidence[path] = "binary content (as the platform API reports it)"
                continue
            try:
                head = checkout.read_bytes(path, _PROBE_BYTES)
            except UnreadableFile as exc:
                unreadable_[path] = exc.reason
                continue
            except OSError as exc:
                unreadable_[path] = exc.strerror or str(exc)
                continue
            why = weight_evidence(head[:HEAD], _probe(head, len(head) < _PROBE_BYTES))
            if why is None:
                text.append(path)
            else:
                weights.append(path)
                evidence[path] = why
        return WeightFiles(tuple(weights), evidence, tuple(text), unreadable_)

    if checkout is None:
        return WeightFiles((), {}, (), {})
    return ctx.memo("weights:classified", classify)


_PROBE_BYTES = 64 * 1024
"""Bytes read to classify a weight-named file (enough for a protocol 0 pickle trial parse)."""


def check_weights_safe_format(ctx: RuleContext) -> Iterable[Result]:
    """Every weight file, and every other file whose bytes are a model or pickle format, loads no code."""
    checkout = ctx.checkout
    if checkout is None:
        yield not_applicable("No checkout to scan for model files")
        return
    if not ctx.scoped_files():
        yield not_applicable("No model weight or pickle files to check")
        return
    from annexa.scan.modelfiles import DEFAULT_ALLOWED_GLOBALS, HEAD, scan_stream

    limits = limits_from(ctx.params)
    allowed = DEFAULT_ALLOWED_GLOBALS | frozenset(ctx.params.get("allow_globals") or ())
    found = False
    classified = weight_files(ctx)
    named_only = set(classified.not_weights)
    for path in ctx.scoped_files():
        weight = ctx.in_class(path, "weights") and path not in named_only
        try:
            if not weight and not _worth_scanning(checkout.read_bytes(path, HEAD)):
                continue
            with checkout.open(path) as handle:
                report = scan_stream(handle, checkout.size(path), limits, allowed)
        except UnreadableFile as exc:
            if weight:
                found = True
                yield unreadable(exc)
            continue
        except OSError as exc:
            found = found or weight
            if weight:
                yield unknown(f"{path} could not be read: {exc.strerror or exc}", "a readable file", Location(path))
            continue
        if not weight and not _reportable(report):
            continue
        found = True
        yield judge(path, report)
    if not found:
        yield not_applicable("No model weight or pickle files to check")


def judge(path: str, report: Report) -> Result:
    """One result for one scanned file."""
    from annexa.scan.modelfiles import Format

    where = Location(path)
    evidence: dict[str, Any] = {
        "format": report.format,
        "formats": list(report.formats),
        "members": report.members,
    }
    if report.notes:
        evidence["notes"] = list(report.notes)
    if report.imports:
        evidence["imports"] = list(report.imports[:_EVIDENCE_ISSUES])
    if report.unsafe:
        issues = report.unsafe + report.undecided
        shown = "; ".join(_describe(i) for i in issues[:_MESSAGE_ISSUES])
        more = f" (and {len(issues) - _MESSAGE_ISSUES} more)" if len(issues) > _MESSAGE_ISSUES else ""
        evidence["issues"] = [_evidence(i) for i in issues[:_EVIDENCE_ISSUES]]
        globals_ = sorted({i.global_name for i in issues if i.global_name})
        if globals_:
            evidence["globals"] = globals_
        key = "; ".join(sorted({f"{i.kind.value}:{i.global_name or i.member}" for i in report.unsafe}))
        return failed(f"{path} ({report.format}) is unsafe to load: {shown}{more}", where, key=key, **evidence)
    if report.undecided:
        first = report.undecided[0]
        needs = _needs(first)
        evidence["issues"] = [_evidence(i) for i in report.undecided[:_EVIDENCE_ISSUES]]
        return unknown(f"{path}: {_describe(first)}", needs, where, **evidence)
    if report.format == Format.UNKNOWN.value and not report.model_content:
        return unknown(
            f"{path}: its bytes are not a model format annexa recognises, so it cannot be shown to be safe",
            "a recognised model format (safetensors, GGUF, ONNX, npy, HDF5, pickle or an archive of them)",
            where,
            **evidence,
        )
    what = "every pickle global it names is on the allowlist" if report.imports else "no code-carrying content"
    return passed(f"{path} ({report.format}) loads no code: {what}", where, **evidence)


def limits_from(params: Mapping[str, Any]) -> Limits:
    """Scan bounds from the rule parameters (catalog defaults, overridden in ``.annexa.yml``)."""
    from annexa.scan.modelfiles import Limits

    default = Limits()
    return Limits(
        max_depth=int(params.get("max_depth") or default.max_depth),
        max_members=int(params.get("max_members") or default.max_members),
        max_bytes=int(params.get("max_bytes") or default.max_bytes),
        max_ratio=float(params.get("max_ratio") or default.max_ratio),
        max_header=int(params.get("max_header_bytes") or default.max_header),
    )


def _worth_scanning(head: bytes) -> bool:
    """A file outside the weights class is scanned when its first bytes are a model, pickle or archive."""
    from annexa.scan.modelfiles import Format, sniff
    from annexa.scan.modelfiles.sniff import maybe_old_pickle

    fmt = sniff(head)
    if fmt in (Format.UNKNOWN, Format.LFS_POINTER):
        return maybe_old_pickle(head)
    return True


def _reportable(report: Report) -> bool:
    """A file outside the weights class is reported when it imports code, or is well-formed model content."""
    from annexa.scan.modelfiles import Kind

    if any(i.kind in (Kind.UNSAFE_GLOBAL, Kind.UNSAFE_CALL) for i in report.issues):
        return True
    return report.model_content and not any(i.kind is Kind.MALFORMED for i in report.issues)


def _describe(issue: Issue) -> str:
    where = issue.where()
    return f"{issue.message} ({where})" if where else issue.message


def _needs(issue: Issue) -> str:
    from annexa.scan.modelfiles import Kind

    if issue.kind is Kind.LFS_POINTER:
        return "git lfs pull"
    if issue.kind is Kind.UNSUPPORTED:
        return "the content in a format annexa can inspect (zip, tar, gzip, bzip2, xz)"
    return "a recognised model format"


def _evidence(issue: Issue) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": issue.kind.value, "message": issue.message}
    if issue.member:
        out["member"] = issue.member
    if issue.offset is not None:
        out["offset"] = issue.offset
    if issue.global_name:
        out["global"] = issue.global_name
    return out


RULES: dict[str, RuleFn] = {"weights-safe-format": check_weights_safe_format}
