"""Ownership rules: a valid CODEOWNERS, sensitive paths owned by security, weights owned by the model owners."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from annexa.codeowners import LOCATIONS, MAX_BYTES, CodeOwners, CodeOwnersFile, OwnerMatch, find_file, parse
from annexa.config import SENSITIVE_CLASSES
from annexa.errors import UnreadableFile
from annexa.model import Location, Result
from annexa.rules.base import RuleContext, RuleFn, failed, not_applicable, passed, unknown, unreadable

_NAME = {"github": "GitHub", "gitlab": "GitLab"}

MAX_LISTED = 1000
"""Bad CODEOWNERS lines reported one by one; beyond this, one finding counts the rest."""


@dataclass(frozen=True)
class _Loaded:
    """The CODEOWNERS of this run: where it is, and its parse or why it could not be read."""

    file: CodeOwnersFile
    owners: CodeOwners | None
    error: UnreadableFile | None
    lines: tuple[str, ...] = ()

    @property
    def platform_evidence(self) -> dict[str, Any]:
        """Which semantics were applied, and why."""
        return {"platform": self.file.platform, "platform_reason": self.file.platform_reason}


def _load(ctx: RuleContext) -> _Loaded | None:
    """Find, read and parse the CODEOWNERS once per run; ``None`` without a checkout."""
    checkout = ctx.checkout
    if checkout is None:
        return None

    def compute() -> _Loaded:
        located = find_file(checkout, ctx.facts.platform)
        if located.path is None:
            return _Loaded(located, None, None)
        try:
            text = checkout.read_text(located.path, MAX_BYTES)
        except UnreadableFile as exc:
            return _Loaded(located, None, exc)
        return _Loaded(located, parse(text, located.platform), None, tuple(text.split("\n")))

    return ctx.memo("ownership:codeowners", compute)


def check_codeowners_valid(ctx: RuleContext) -> Iterable[Result]:
    """A CODEOWNERS the platform reads exists, every line of it parses, and no other CODEOWNERS is ignored."""
    loaded = _load(ctx)
    if loaded is None:
        yield unknown("CODEOWNERS cannot be checked without a checkout", "a checkout of the repository")
        return
    located = loaded.file
    name = _NAME[located.platform]
    platform = loaded.platform_evidence
    for path, why in located.ignored:
        yield failed(f"{path} is not used: {why}", Location(path), key="ignored", reason=why, used=located.path,
                     **platform)
    if located.path is None:
        yield failed(f"No CODEOWNERS file that {name} reads: add one at "
                     f"{' or '.join(LOCATIONS[located.platform])}", None, key="missing",
                     searched=list(LOCATIONS[located.platform]), **platform)
        return
    if loaded.error is not None:
        yield failed(f"{located.path} cannot be used: {loaded.error.reason}", Location(located.path),
                     key="unreadable", reason=loaded.error.reason, **platform)
        return
    owners = loaded.owners
    if owners is None:
        return
    bad = list(_problems(ctx, loaded, located.path, owners))
    yield from bad[:MAX_LISTED]
    if len(bad) > MAX_LISTED:
        yield failed(f"{located.path} has {len(bad) - MAX_LISTED:,} more bad lines, not listed one by one",
                     Location(located.path), key="more", unlisted=len(bad) - MAX_LISTED, **platform)
    if not owners.entries and not bad:
        yield failed(f"{located.path} assigns no code owners: it has no rule lines", Location(located.path),
                     key="empty", **platform)
    elif not bad and not located.ignored:
        evidence: dict[str, Any] = {"rules": len(owners.entries), **platform}
        if owners.sections:
            evidence["sections"] = sorted({s.name for s in owners.sections})
        if _platform_errors(ctx, located) is not None:
            evidence["platform_errors"] = 0
        yield passed(f"{located.path} is valid under {name} semantics ({len(owners.entries)} rules)",
                     Location(located.path), **evidence)


def _platform_errors(ctx: RuleContext, located: CodeOwnersFile) -> tuple[Mapping[str, object], ...] | None:
    """CODEOWNERS errors GitHub reported through its API, or ``None`` when not known (or not on GitHub)."""
    settings = ctx.facts.settings
    if (settings is None or settings.platform != "github" or located.platform != "github"
            or not settings.codeowners_errors.known):
        return None
    return settings.codeowners_errors.value


def _problems(ctx: RuleContext, loaded: _Loaded, file: str, owners: CodeOwners) -> Iterable[Result]:
    """One failure per bad line: GitHub's own errors where it reported them, annexa's parse otherwise."""
    located = loaded.file
    platform = loaded.platform_evidence
    reported: set[tuple[str, int]] = set()
    for error in _platform_errors(ctx, located) or ():
        path = str(error.get("path") or file)
        line = _int(error.get("line"))
        kind = str(error.get("kind") or "error")
        message = (str(error.get("message") or "").strip().splitlines() or [kind])[0][:300]
        source = _source(error, loaded).strip()[:200]
        if line is not None:
            reported.add((path, line))
        detail: dict[str, Any] = {"kind": kind, "source": source, "reported_by": "github", **platform}
        for extra in ("column", "suggestion"):
            if error.get(extra) is not None:
                detail[extra] = error[extra] if extra == "column" else str(error[extra])[:200]
        yield failed(f"{path}:{line or '?'}: GitHub reports {kind}: {message}", Location(path, line),
                     key=f"github:{kind}:{source}", **detail)
    for problem in owners.errors:
        if (file, problem.line) in reported:
            continue
        yield failed(f"{file}:{problem.line}: {problem.message}", Location(file, problem.line),
                     key=f"{problem.kind}:{problem.text}", kind=problem.kind, source=problem.text, **platform)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _ownership(ctx: RuleContext, files: list[str], role: str, what: str) -> Iterable[Result]:
    """One result per file: owned by at least one of the ``role`` owners through a required CODEOWNERS line."""
    required = ctx.config.owners_of(role)
    if not required:
        yield unknown(f"No {role} owners are configured, so the owners of {what} cannot be judged",
                      f"owners.{role} in .annexa.yml")
        return
    loaded = _load(ctx)
    if loaded is None:
        return
    if loaded.error is not None:
        yield unreadable(loaded.error)
        return
    wanted = {o.casefold() for o in required}
    base: dict[str, Any] = {"required_owners": list(required), "codeowners": loaded.file.path,
                            **loaded.platform_evidence}
    rejected = _rejected_owners(ctx, loaded)
    for path in files:
        where = Location(path)
        if loaded.owners is None:
            yield failed(f"{path} has no code owner: there is no CODEOWNERS file", where, key="unowned",
                         owners=[], **base)
            continue
        matches, dropped = _effective(loaded.owners.owners_of(path), rejected)
        evidence = {**base, **_match_evidence(matches)}
        if dropped:
            evidence["rejected_by_github"] = dropped
        owning = [m for m in matches if not m.optional and wanted & {o.casefold() for o in m.owners}]
        if owning:
            decided = owning[0]
            yield passed(f"{path} is owned by {', '.join(_shown(decided.owners))} "
                         f"({loaded.file.path}:{decided.line})", where, **evidence)
        elif any(o.casefold() in wanted for d in dropped for o in d["owners"]):
            yield failed(f"{path} is assigned to {' or '.join(required)} by {loaded.file.path}:{dropped[0]['line']}, "
                         "but GitHub reports that owner as unknown or invalid, so it is never asked to review", where,
                         key="rejected-owner", **evidence)
        else:
            yield failed(_why_not(path, loaded.file.path or "CODEOWNERS", matches, required), where,
                         key="wrong-owner" if any(m.owners for m in matches) else "unowned", **evidence)


def _source(error: Mapping[str, object], loaded: _Loaded) -> str:
    """The CODEOWNERS line an API error is about, unstripped: its ``source``, or else that line of the file read."""
    source = error.get("source")
    if isinstance(source, str) and source.strip():
        return source
    line = _int(error.get("line"))
    if line is not None and line <= len(loaded.lines) and error.get("path") in (None, loaded.file.path):
        return loaded.lines[line - 1].rstrip("\r")
    return ""


def _rejected_owners(ctx: RuleContext, loaded: _Loaded) -> dict[int, set[str]]:
    """Owners GitHub's CODEOWNERS errors say it does not use (unknown or invalid), by line, case-folded."""
    rejected: dict[int, set[str]] = {}
    for error in _platform_errors(ctx, loaded.file) or ():
        line, column = _int(error.get("line")), _int(error.get("column"))
        source = _source(error, loaded)
        if line is None or column is None or "owner" not in str(error.get("kind")):
            continue
        token = source[column - 1 :].split(maxsplit=1)
        if token:
            rejected.setdefault(line, set()).add(token[0].casefold())
    return rejected


def _effective(matches: tuple[OwnerMatch, ...],
               rejected: dict[int, set[str]]) -> tuple[tuple[OwnerMatch, ...], list[dict[str, Any]]]:
    """The matches without the owners GitHub rejected, and what was dropped from which line."""
    kept: list[OwnerMatch] = []
    dropped: list[dict[str, Any]] = []
    for match in matches:
        bad = rejected.get(match.line, set())
        gone = [o for o in match.owners if o.casefold() in bad]
        if gone:
            dropped.append({"line": match.line, "owners": gone})
            match = replace(match, owners=tuple(o for o in match.owners if o.casefold() not in bad))
        kept.append(match)
    return tuple(kept), dropped


def _match_evidence(matches: tuple[OwnerMatch, ...]) -> dict[str, Any]:
    """Effective owners and the deciding line(s) of one path."""
    owners = sorted({o for m in matches if not m.optional for o in m.owners})
    evidence: dict[str, Any] = {"owners": owners}
    if len(matches) == 1 and matches[0].section is None:
        evidence.update(line=matches[0].line, pattern=matches[0].pattern[:200])
    elif matches:
        evidence["sections"] = [
            {"section": m.section, "line": m.line, "pattern": m.pattern[:200], "owners": list(m.owners),
             "optional": m.optional, "approvals": m.approvals}
            for m in matches
        ]
    return evidence


def _why_not(path: str, file: str, matches: tuple[OwnerMatch, ...], required: tuple[str, ...]) -> str:
    need = " or ".join(required)
    if not matches:
        return f"{path} has no code owner: no line of {file} matches it (needs {need})"
    wanted = {o.casefold() for o in required}
    if any(wanted & {o.casefold() for o in m.owners} for m in matches):
        optional = next(m for m in matches if wanted & {o.casefold() for o in m.owners})
        return (f"{path} is owned by {need} only in optional section [{optional.section}] "
                f"({file}:{optional.line}), so their approval is not required")
    owned = [m for m in matches if m.owners and not m.optional]
    if not owned:
        last = matches[0]
        return f"{path} is left without owners by {file}:{last.line} (`{last.pattern[:200]}` has no owners)"
    lines = ", ".join(f"{file}:{m.line}" for m in owned)
    owners = sorted({o for m in owned for o in m.owners})
    return f"{path} is owned by {', '.join(_shown(owners))} ({lines}), none of {need}"


def _shown(owners: Iterable[str]) -> list[str]:
    listed = list(owners)
    return listed[:5] + ([f"and {len(listed) - 5} more"] if len(listed) > 5 else [])


def check_sensitive_paths_owned(ctx: RuleContext) -> Iterable[Result]:
    """Every file of the sensitive path classes (CI, CODEOWNERS, config, policies) is owned by the security owners."""
    if ctx.checkout is None:
        yield unknown("Sensitive paths cannot be checked without a checkout", "a checkout of the repository")
        return
    classes = tuple(ctx.params.get("classes") or SENSITIVE_CLASSES)
    files = sorted({f for cls in classes for f in ctx.files_in(cls)})
    if not files:
        yield not_applicable(f"No files in the sensitive path classes ({', '.join(classes)})", classes=list(classes))
        return
    yield from _ownership(ctx, files, "security", "sensitive paths")


def check_weights_codeowned(ctx: RuleContext) -> Iterable[Result]:
    """Every model weight file (in PR mode: every changed one) is owned by the model owners.

    When the change edits the CODEOWNERS in use, every weight file is checked, since the edit can unown any.
    """
    loaded = _load(ctx)
    if loaded is None:
        yield unknown("Weight ownership cannot be checked without a checkout", "a checkout of the repository")
        return
    edited = loaded.file.path is not None and ctx.in_scope(loaded.file.path)
    from annexa.rules.model_files import weight_files  # weights by content, shared with the other weights rules

    classified = weight_files(ctx)
    named = list(classified.weights) + sorted(classified.unreadable)
    weights = named if edited else [w for w in named if ctx.in_scope(w)]
    if not weights:
        yield not_applicable("No model weight files to check")
        return
    yield from _ownership(ctx, weights, "models", "model weights")


RULES: dict[str, RuleFn] = {
    "codeowners-valid": check_codeowners_valid,
    "sensitive-paths-owned": check_sensitive_paths_owned,
    "weights-codeowned": check_weights_codeowned,
}
