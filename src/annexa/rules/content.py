"""Rules of the content family: secrets, semgrep-backed code patterns, PII in training data, dataset cards and
security scans in CI. Scanners run once per run (``ctx.memo``) and only over what a pull request adds."""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import yaml

from annexa.catalog import load_catalog
from annexa.errors import UnreadableFile
from annexa.model import Location, Result, Status
from annexa.paths import match_any
from annexa.rules.base import RuleContext, RuleFn, failed, not_applicable, passed, unknown, unreadable
from annexa.scan.pii import PiiFileScan, scan_file, scan_parquet
from annexa.scan.secrets import SecretScan, SecretScanError, Skipped, scan_files
from annexa.scan.semgrep import Match, SemgrepRun, run_semgrep

MAX_LISTED = 20
"""Skipped files listed in a result's evidence (the count is always complete)."""


def _skips(skipped: Sequence[Skipped]) -> dict[str, Any]:
    return {"skipped": len(skipped), "skipped_files": [{"path": s.path, "reason": s.reason}
                                                       for s in skipped[:MAX_LISTED]]}


def _mode(ctx: RuleContext) -> str:
    return "added lines of the change" if ctx.facts.change is not None else "full checkout"


# --- secrets ---------------------------------------------------------------------------------------------------


def check_no_secrets_in_change(ctx: RuleContext) -> Iterable[Result]:
    """No credential in the scanned lines (added lines in PR mode); only type, place and a short hash are kept."""
    checkout = ctx.checkout
    exclude = tuple(ctx.params.get("exclude") or ())
    files = [f for f in ctx.scoped_files() if not match_any(exclude, f)]
    if checkout is None or not files:
        yield not_applicable("No files to scan for secrets")
        return
    added = {f: ctx.added_lines(f) for f in files}
    max_bytes = int(ctx.params.get("max_file_bytes") or 20_000_000)
    baseline = str(ctx.params.get("baseline") or "")
    try:
        scan: SecretScan = ctx.memo(f"content:secrets:{max_bytes}:{baseline}:{sorted(exclude)}",
                                    lambda: scan_files(checkout, files, added, max_bytes, baseline))
    except SecretScanError as exc:
        yield unknown(f"The secret scanner could not run: {exc}", "detect-secrets 1.5 installed", error=str(exc))
        return
    for hit in scan.hits:
        yield failed(f"{hit.type} at {hit.path}:{hit.line} (sha256 {hit.digest}…); revoke it and remove it",
                     Location(hit.path, hit.line), key=f"{hit.type}:{hit.digest}",
                     type=hit.type, file=hit.path, line=hit.line, hash=f"sha256:{hit.digest}")
    if not scan.hits:
        yield passed(f"No secrets in {scan.files:,} files ({scan.lines:,} lines, {_mode(ctx)})",
                     files=scan.files, lines=scan.lines, bytes=scan.bytes, scope=_mode(ctx),
                     baselined=len(scan.baselined), **_skips(scan.skipped))


# --- semgrep-backed rules --------------------------------------------------------------------------------------


def _semgrep(ctx: RuleContext) -> SemgrepRun | None:
    checkout = ctx.checkout
    if checkout is None:
        return None
    return ctx.memo("content:semgrep", lambda: run_semgrep(checkout, ctx.scoped_files(), load_catalog()))


def _introduced(ctx: RuleContext, match: Match) -> bool:
    lines = ctx.added_lines(match.path)
    return lines is None or any(n in lines for n in range(match.line, match.end_line + 1))


def _variants(section: Mapping[str, Any] | None) -> dict[str, tuple[str, str]]:
    """Status and needs of each named variant of a rule's semgrep section (a variant fails unless it says)."""
    return {str(v["name"]): (str(v.get("status") or "fail"), str(v.get("needs") or ""))
            for v in (section or {}).get("variants") or ()}


def check_semgrep_rule(ctx: RuleContext) -> Iterable[Result]:
    """One semgrep-backed rule: its matches from the run's single semgrep process (added lines in PR mode)."""
    run = _semgrep(ctx)
    if run is not None and not run.targets and run.skipped:
        yield unknown(f"No Python file could be given to semgrep ({len(run.skipped)} skipped)",
                      "Python files semgrep can scan", **_skips(run.skipped))
        return
    if run is None or not run.targets:
        yield not_applicable("No Python files to scan")
        return
    if run.error:
        yield unknown(f"semgrep could not run: {run.error}", "semgrep able to run offline (pip install semgrep)",
                      error=run.error)
        return
    matches = [m for m in run.matches.get(ctx.rule.id, []) if _introduced(ctx, m)]
    variants = _variants(ctx.rule.semgrep)
    for m in matches:
        where = Location(m.path, m.line, m.end_line)
        status, needs = variants.get(m.variant, ("fail", ""))
        evidence: dict[str, Any] = {"engine": "semgrep", "semgrep_version": run.version}
        if m.variant:
            evidence["variant"] = m.variant
        if status == "unknown":
            yield Result(Status.UNKNOWN, m.message, where, {"needs": needs, **evidence}, m.key)
        else:
            yield failed(m.message, where, key=m.key, **evidence)
    if not matches:
        yield passed(f"No match in {len(run.targets):,} Python files ({_mode(ctx)})", files=len(run.targets),
                     engine="semgrep", semgrep_version=run.version, scope=_mode(ctx), **_skips(run.skipped))


# --- PII in training data --------------------------------------------------------------------------------------


def check_training_data_pii_free(ctx: RuleContext) -> Iterable[Result]:
    """Training data files hold no e-mail, phone, card, IBAN, SSN or IP values (added rows in PR mode)."""
    checkout = ctx.checkout
    extensions = tuple(f".{e.lstrip('.').lower()}" for e in ctx.params.get("extensions") or ())
    types = set(ctx.params.get("types") or ())
    limit = int(ctx.params.get("max_locations_per_file") or 20)
    files = [f for f in ctx.scoped_files("training_data") if f.lower().endswith(extensions)]
    if checkout is None or not files:
        yield not_applicable("No training data files to scan")
        return
    skipped: list[Skipped] = []
    totals: Counter[str] = Counter()
    scanned = size = rows = 0
    for path in files:
        try:
            if checkout.is_symlink(path):
                skipped.append(Skipped(path, "symbolic link; its target is scanned on its own"))
                continue
            if path.lower().endswith(".parquet"):
                result = scan_parquet(checkout, path, limit)
            else:
                result = scan_file(checkout, path, ctx.added_lines(path), limit)
        except ModuleNotFoundError:
            yield unknown(f"{path} is Parquet and pyarrow is not installed", "pyarrow (pip install pyarrow)",
                          Location(path))
            continue
        except UnreadableFile as exc:
            yield unreadable(exc)
            continue
        if result.skipped:
            skipped.append(Skipped(path, result.skipped))
            continue
        scanned += 1
        size += result.bytes
        rows += result.lines
        counts = Counter({k: v for k, v in result.counts.items() if k in types})
        totals.update(counts)
        yield from _pii_failures(path, result, counts, types)
    if not totals:
        yield passed(f"No personal data found in {scanned:,} training data files ({_mode(ctx)})",
                     files=scanned, bytes=size, lines=rows, types=sorted(types), scope=_mode(ctx),
                     **_skips(skipped))


def _pii_failures(path: str, result: PiiFileScan, counts: Counter[str], types: set[str]) -> Iterator[Result]:
    seen: Counter[str] = Counter()
    total = sum(counts.values())
    for hit in result.first:
        if hit.type not in types:
            continue
        label = hit.type.replace("_", " ")
        key = f"{hit.type}:{hit.masked}"
        seen[key] += 1
        yield failed(f"{label} in training data ({hit.masked}); {total:,} PII values in this file",
                     Location(path, hit.line), key=f"{key}#{seen[key]}", type=hit.type, masked=hit.masked,
                     file_counts=dict(sorted(counts.items())), lossy_utf8=result.lossy_utf8)


# --- dataset cards ---------------------------------------------------------------------------------------------

CARD_FIELDS: Mapping[str, re.Pattern[str]] = {
    "source": re.compile(r"\b(source|provenance|origin|collected from)", re.I),
    "license": re.compile(r"\blicen[cs]e", re.I),
    "legal_basis": re.compile(r"\b(legal|lawful)[ _-]basis", re.I),
    "personal_data": re.compile(r"\b(personal[ _-](data|information)|pii)\b", re.I),
}
"""What a dataset card must state, each found by its label (case-insensitive)."""


def check_dataset_card_present(ctx: RuleContext) -> Iterable[Result]:
    """Every dataset folder (or a parent inside the training data) has a card stating the required facts."""
    checkout = ctx.checkout
    names = tuple(ctx.params.get("card_names") or ())
    data = [f for f in ctx.files_in("training_data")
            if posixpath.basename(f) not in names and not posixpath.basename(f).startswith(".")]
    if ctx.facts.change is not None:
        changed = [f for f in ctx.scoped_files("training_data") if posixpath.basename(f) in names]
        data = [f for f in data if ctx.in_scope(f) or any(_card_dir(c) in _parents(f) for c in changed)]
    if checkout is None or not data:
        yield not_applicable("No dataset folders")
        return
    folders = sorted({posixpath.dirname(f) for f in data})
    for folder in folders:
        card = next((c for d in _parents_of_dir(folder) for c in (posixpath.join(d, n) for n in names)
                     if ctx.in_class(c, "training_data") and checkout.exists(c)), None)
        if card is None:
            yield failed(f"Dataset folder {folder}/ has no dataset card ({' or '.join(names[:2])})",
                         Location(folder), key="no-card", folder=folder, expected=list(names))
            continue
        try:
            text = checkout.read_text(card)
        except UnreadableFile as exc:
            yield unreadable(exc)
            continue
        missing = [name for name, pattern in CARD_FIELDS.items() if not pattern.search(text)]
        if missing:
            yield failed(f"Dataset card {card} does not state: {', '.join(m.replace('_', ' ') for m in missing)}",
                         Location(card), key="missing:" + ",".join(missing), folder=folder, card=card,
                         missing=missing)
        else:
            yield passed(f"Dataset folder {folder}/ has a complete card ({card})", Location(card),
                         folder=folder, card=card, fields=list(CARD_FIELDS))


def _card_dir(card: str) -> str:
    return posixpath.dirname(card)


def _parents(path: str) -> list[str]:
    return _parents_of_dir(posixpath.dirname(path))


def _parents_of_dir(folder: str) -> list[str]:
    out = [folder]
    while folder:
        folder = posixpath.dirname(folder)
        out.append(folder)
    return out


# --- security scans in CI --------------------------------------------------------------------------------------


class _CiLoader(yaml.SafeLoader):
    """Safe loader that reads GitLab's custom tags (``!reference``) as plain values."""


def _plain(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_CiLoader.add_multi_constructor("!", _plain)

_PR_TRIGGERS = ("pull_request", "pull_request_target")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _github_triggers(doc: Mapping[Any, Any]) -> set[str]:
    on = doc.get("on", doc.get(True))
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return {str(t) for t in on}
    if isinstance(on, Mapping):
        return {str(t) for t in on}
    return set()


def _github_texts(doc: Mapping[Any, Any]) -> Iterator[str]:
    for job in (doc.get("jobs") or {}).values():
        if not isinstance(job, Mapping):
            continue
        if isinstance(job.get("uses"), str):
            yield job["uses"]
        for step in job.get("steps") or ():
            if isinstance(step, Mapping):
                yield from (str(step[k]) for k in ("uses", "run") if isinstance(step.get(k), str))


_GITLAB_RESERVED = {"stages", "variables", "workflow", "include", "default", "image", "services", "before_script",
                    "after_script", "cache", "spec"}


def _gitlab_runs_on_mr(job: Mapping[str, Any]) -> bool:
    conditions = [job[k] for k in ("rules", "only") if k in job]
    if not conditions:
        return True
    return any("merge_request" in s for c in conditions for s in _strings(c))


def _gitlab_texts(doc: Mapping[Any, Any]) -> Iterator[str]:
    yield from _strings(doc.get("include"))
    for name, job in doc.items():
        if name in _GITLAB_RESERVED or not isinstance(job, Mapping) or str(name).startswith("."):
            continue
        if _gitlab_runs_on_mr(job):
            yield from _strings({k: job.get(k) for k in ("script", "image", "trigger", "extends", "component")})


def _tools_in(texts: Iterable[str], patterns: Mapping[str, Sequence[str]]) -> dict[str, list[tuple[str, str]]]:
    """For each kind of check, the tools found and the step text each was found in."""
    found: dict[str, list[tuple[str, str]]] = {}
    for text in texts:
        low = text.lower()
        for kind, needles in patterns.items():
            for needle in needles:
                if needle.lower() in low and all(t != needle for t, _ in found.get(kind, [])):
                    found.setdefault(kind, []).append((needle, text))
    return found


def _line_of(source: str, step: str) -> int | None:
    """The line of ``source`` where the step text ``step`` starts (its first non-blank line)."""
    first = next((line.strip() for line in step.splitlines() if line.strip()), step)
    pos = source.find(first)
    return None if pos < 0 else source.count("\n", 0, pos) + 1


def check_security_checks_in_ci(ctx: RuleContext) -> Iterable[Result]:
    """CI runs annexa, or both a secret scan and a SAST scan, on pull and merge requests."""
    checkout = ctx.checkout
    if checkout is None:
        yield not_applicable("No checkout to read CI configuration from")
        return
    patterns = {"annexa": list(ctx.params.get("annexa") or ()),
                "secrets": list(ctx.params.get("secret_scanners") or ()),
                "sast": list(ctx.params.get("sast_scanners") or ())}
    ci_files = ctx.files_in("ci")
    platforms = {
        "github": [f for f in ci_files if f.startswith(".github/workflows/") and f.endswith((".yml", ".yaml"))],
        "gitlab": [f for f in ci_files if (f == ".gitlab-ci.yml" or f.startswith(".gitlab/"))
                   and f.endswith((".yml", ".yaml"))],
    }
    if not any(platforms.values()):
        yield failed("No CI configuration (.github/workflows or .gitlab-ci.yml) runs security checks on pull "
                     "requests", key="no-ci")
        return
    for platform, files in platforms.items():
        if files:
            yield _ci_platform(checkout, platform, files, patterns)


def _ci_platform(checkout: Any, platform: str, files: list[str], patterns: Mapping[str, Sequence[str]]) -> Result:
    found: dict[str, list[str]] = {}
    where: dict[str, Location] = {}
    errors: list[str] = []
    for path in files:
        try:
            text = checkout.read_text(path)
            docs = [d for d in yaml.load_all(text, Loader=_CiLoader) if isinstance(d, Mapping)]
        except UnreadableFile as exc:
            errors.append(f"{path}: {exc.reason}")
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            errors.append(f"{path}:{mark.line + 1 if mark else '?'}: not valid YAML")
            continue
        for doc in docs:
            if platform == "github":
                if not _github_triggers(doc) & set(_PR_TRIGGERS):
                    continue
                texts = list(_github_texts(doc))
            else:
                texts = list(_gitlab_texts(doc))
            for kind, tools in _tools_in(texts, patterns).items():
                found.setdefault(kind, []).extend(t for t, _ in tools if t not in found.get(kind, []))
                where.setdefault(kind, Location(path, _line_of(text, tools[0][1])))
    what = "pull requests" if platform == "github" else "merge requests"
    evidence: dict[str, Any] = {"platform": platform, "files": files, "tools": found}
    if "annexa" in found:
        return passed(f"{platform} CI runs annexa on {what}", where["annexa"], **evidence)
    missing = [label for kind, label in (("secrets", "secret scan"), ("sast", "SAST scan")) if kind not in found]
    if not missing:
        return passed(f"{platform} CI runs a secret scan ({found['secrets'][0]}) and a SAST scan "
                      f"({found['sast'][0]}) on {what}", where["secrets"], **evidence)
    main = ".gitlab-ci.yml" if platform == "gitlab" and ".gitlab-ci.yml" in files else files[0]
    if errors:
        return unknown(f"{platform} CI configuration could not be fully read: {'; '.join(errors)}",
                       "valid CI YAML", Location(main), **evidence, errors=errors)
    return failed(f"{platform} CI does not run annexa or a {' and a '.join(missing)} on {what}", Location(main),
                  key=f"{platform}:missing:{','.join(missing)}", **evidence, missing=missing)


_SEMGREP_RULES = ("torch-load-unsafe", "unsafe-deserialization", "yaml-unsafe-load", "tls-verification-disabled",
                  "llm-output-executed", "langchain-dangerous-option", "remote-code-disabled",
                  "model-revision-pinned")

RULES: dict[str, RuleFn] = {
    "no-secrets-in-change": check_no_secrets_in_change,
    **dict.fromkeys(_SEMGREP_RULES, check_semgrep_rule),
    "training-data-pii-free": check_training_data_pii_free,
    "dataset-card-present": check_dataset_card_present,
    "security-checks-in-ci": check_security_checks_in_ci,
}
