"""Rules of the content family: secrets, semgrep-backed code patterns, PII in training data, dataset cards and
security scans in CI. Scanners run once per run (``ctx.memo``) and only over what a pull request adds."""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import yaml

from annexa.catalog import load_catalog
from annexa.errors import UnreadableFile
from annexa.fixes import secret_fix
from annexa.model import Location, Result, Status
from annexa.paths import match_any
from annexa.rules.base import (
    PENDING_EVIDENCE,
    Prefetch,
    RuleContext,
    RuleFn,
    coverage_gaps,
    failed,
    not_applicable,
    passed,
    unknown,
    unreadable,
)
from annexa.rules.torch_default import relief, split_default_safe
from annexa.scan import Skipped
from annexa.yamlio import compose_all_limited

if TYPE_CHECKING:  # the scanners are imported where they run: a check with nothing to scan never loads them
    from annexa.scan.pii import PiiFileScan
    from annexa.scan.secrets import SecretScan
    from annexa.scan.semgrep import Match, SemgrepRun

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
    from annexa.scan.secrets import SecretScanError, scan_files

    added = {f: ctx.added_lines(f) for f in files}
    max_bytes = int(ctx.params.get("max_file_bytes") or 20_000_000)
    baseline = str(ctx.params.get("baseline") or "")
    base, pr_mode = ctx.facts.base, ctx.facts.change is not None
    test_data = [f for f in files if ctx.in_class(f, "tests")]
    try:
        scan: SecretScan = ctx.memo(
            f"content:secrets:{max_bytes}:{baseline}:{sorted(exclude)}:{base and base.commit}:{pr_mode}",
            lambda: scan_files(checkout, files, added, max_bytes, baseline, test_data, base,
                               pragmas_from_base=pr_mode))
    except SecretScanError as exc:
        yield unknown(f"The secret scanner could not run: {exc}", "detect-secrets 1.5 installed", error=str(exc))
        return
    for hit in scan.hits:
        pending = {PENDING_EVIDENCE: "the allowlist pragma this change adds is not honoured"} \
            if hit.pragma_ignored else {}
        yield failed(f"{hit.type} at {hit.path}:{hit.line} (sha256 {hit.digest}…); revoke it and remove it"
                     + (" (an allowlist pragma added by the change itself does not silence it)"
                        if hit.pragma_ignored else ""),
                     Location(hit.path, hit.line), key=f"{hit.type}:{hit.digest}", fix=secret_fix(hit.type),
                     type=hit.type, file=hit.path, line=hit.line, hash=f"sha256:{hit.digest}", **pending)
    gaps = coverage_gaps(scan.skipped, "files the secret scanner can read (UTF-8 text within max_file_bytes)")
    yield from gaps
    if not scan.hits and (scan.files or not gaps):
        yield passed(f"No secrets in {scan.files:,} files ({scan.lines:,} lines, {_mode(ctx)})",
                     files=scan.files, lines=scan.lines, bytes=scan.bytes, scope=_mode(ctx),
                     baselined=len(scan.baselined), **_skips(scan.skipped))


# --- semgrep-backed rules --------------------------------------------------------------------------------------


def _semgrep_job(ctx: RuleContext) -> tuple[str, Callable[[], SemgrepRun]] | None:
    """The run's one semgrep process, as a memo key and the call that runs it (the engine starts it early)."""
    checkout = ctx.checkout
    if checkout is None:
        return None
    files = ctx.scoped_files()

    def run() -> SemgrepRun:
        from annexa.scan.semgrep import run_semgrep

        return run_semgrep(checkout, files, load_catalog())

    return "content:semgrep", run


def _semgrep(ctx: RuleContext) -> SemgrepRun | None:
    job = _semgrep_job(ctx)
    return None if job is None else ctx.memo(*job)


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
    yield from coverage_gaps(run.skipped, "Python files semgrep can read and parse")
    matches = [m for m in run.matches.get(ctx.rule.id, []) if _introduced(ctx, m)]
    matches, relied = split_default_safe(ctx, matches)
    if relied:
        yield relief(ctx, relied, engine="semgrep", semgrep_version=run.version)
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
    if not matches and not relied:
        yield passed(f"No match in {len(run.targets):,} Python files ({_mode(ctx)})", files=len(run.targets),
                     engine="semgrep", semgrep_version=run.version, scope=_mode(ctx),
                     without_rule_words=run.ruled_out, **_skips(run.skipped))


# --- PII in training data --------------------------------------------------------------------------------------


def check_training_data_pii_free(ctx: RuleContext) -> Iterable[Result]:
    """Training data files hold no e-mail, phone, card, IBAN, SSN or IP values (added rows in PR mode)."""
    checkout = ctx.checkout
    extensions = tuple(f".{e.lstrip('.').lower()}" for e in ctx.params.get("extensions") or ())
    types = set(ctx.params.get("types") or ())
    limit = int(ctx.params.get("max_locations_per_file") or 20)
    private_ips = bool(ctx.params.get("private_ips"))
    files = [f for f in ctx.scoped_files("training_data") if f.lower().endswith(extensions)]
    if checkout is None or not files:
        yield not_applicable("No training data files to scan")
        return
    from annexa.scan.pii import scan_file, scan_parquet

    skipped: list[Skipped] = []
    totals: Counter[str] = Counter()
    scanned = size = rows = 0
    for path in files:
        try:
            if checkout.is_symlink(path):
                skipped.append(Skipped(path, "symbolic link; its target is scanned on its own"))
                continue
            if path.lower().endswith(".parquet"):
                result = scan_parquet(checkout, path, limit, private_ips)
            else:
                result = scan_file(checkout, path, ctx.added_lines(path), limit, private_ips)
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
    "personal_data": re.compile(r"\b(personal(?: and sensitive)?[ _-](data|information)|pii)\b", re.I),
}
"""What a dataset card must state, each found by its label (case-insensitive)."""

HF_CARD_KEYS: Mapping[str, tuple[str, ...]] = {
    "source": ("source_datasets",),
    "license": ("license", "license_name", "license_link"),
    "legal_basis": ("legal_basis",),
    "personal_data": ("personal_data", "pii"),
}
"""Front-matter keys of a Hugging Face dataset card (``README.md`` with YAML metadata) that state a field."""

HF_CARD_MARKERS = ("dataset_info", "configs", "license", "task_categories", "pretty_name", "size_categories",
                   "source_datasets", "language")
"""Front-matter keys that make a README a Hugging Face dataset card."""

NOT_DATA_SUFFIXES = (".py", ".pyc", ".pyi", ".sh", ".bash", ".zsh", ".ps1", ".bat", ".cmd", ".ipynb", ".js", ".ts",
                     ".r", ".jl", ".pl", ".rb", ".go", ".lua")
"""Scripts (download, preparation and loading scripts): a folder holding only these is not a dataset."""

NOT_DATA_NAMES = frozenset({"license", "license.md", "license.txt", "requirements.txt", "makefile", "dockerfile"})


def check_dataset_card_present(ctx: RuleContext) -> Iterable[Result]:
    """Every dataset folder (or a parent inside the training data) has a card stating the required facts.

    Card names match in any case (``readme.md``); a Hugging Face dataset card states fields in its YAML front
    matter too. A folder that holds only scripts and cards is not a dataset."""
    checkout = ctx.checkout
    names = tuple(ctx.params.get("card_names") or ())
    lowered = [n.lower() for n in names]
    every = ctx.files_in("training_data")
    cards: dict[str, str] = {}
    for f in sorted(every, key=lambda f: _card_rank(f, lowered)):
        if posixpath.basename(f).lower() in lowered:
            cards.setdefault(posixpath.dirname(f), f)
    data = [f for f in every if _is_data(f, lowered)]
    if ctx.facts.change is not None:
        changed = [f for f in ctx.scoped_files("training_data") if posixpath.basename(f).lower() in lowered]
        data = [f for f in data if ctx.in_scope(f) or any(_card_dir(c) in _parents(f) for c in changed)]
    if checkout is None or not data:
        yield not_applicable("No dataset folders")
        return
    folders = sorted({posixpath.dirname(f) for f in data})
    for folder in folders:
        card = next((cards[d] for d in _parents_of_dir(folder) if d in cards), None)
        if card is None:
            yield failed(f"Dataset folder {folder}/ has no dataset card ({' or '.join(names[:2])})",
                         Location(folder), key="no-card", folder=folder, expected=list(names))
            continue
        try:
            text = checkout.read_text(card)
        except UnreadableFile as exc:
            yield unreadable(exc)
            continue
        meta = _front_matter(text)
        kind = "hugging-face" if any(k in meta for k in HF_CARD_MARKERS) else "markdown"
        missing = [name for name, pattern in CARD_FIELDS.items()
                   if not pattern.search(text) and not any(meta.get(k) for k in HF_CARD_KEYS[name])]
        if missing:
            yield failed(f"Dataset card {card} does not state: {', '.join(m.replace('_', ' ') for m in missing)}",
                         Location(card), key="missing:" + ",".join(missing), folder=folder, card=card,
                         missing=missing, card_format=kind)
        else:
            yield passed(f"Dataset folder {folder}/ has a complete card ({card})", Location(card),
                         folder=folder, card=card, fields=list(CARD_FIELDS), card_format=kind)


def _card_rank(path: str, lowered: list[str]) -> tuple[int, str]:
    base = posixpath.basename(path).lower()
    return (lowered.index(base) if base in lowered else len(lowered), path)


def _is_data(path: str, lowered: list[str]) -> bool:
    """True for a file that can be data: not a card, a dotfile, a script or a licence/requirements file."""
    base = posixpath.basename(path).lower()
    return not (base in lowered or base.startswith(".") or base.endswith(NOT_DATA_SUFFIXES) or base in NOT_DATA_NAMES)


def _front_matter(text: str) -> dict[str, Any]:
    """The YAML front matter of a card (``---`` ... ``---`` at its top), or ``{}``."""
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    try:
        meta = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return {}
    return {str(k): v for k, v in meta.items()} if isinstance(meta, dict) else {}


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


def _ci_construct(node: yaml.Node) -> Any:
    """The Python value of one composed CI document (GitLab's tags read as plain values)."""
    loader = _CiLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()

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


def _github_texts(doc: Mapping[Any, Any]) -> Iterator[tuple[str, str]]:
    """("uses", action or workflow reference) and ("run", script) of every job and step."""
    for job in (doc.get("jobs") or {}).values():
        if not isinstance(job, Mapping):
            continue
        if isinstance(job.get("uses"), str):
            yield "uses", job["uses"]
        for step in job.get("steps") or ():
            if isinstance(step, Mapping):
                yield from ((k, str(step[k])) for k in ("uses", "run") if isinstance(step.get(k), str))


_GITLAB_RESERVED = {"stages", "variables", "workflow", "include", "default", "image", "services", "before_script",
                    "after_script", "cache", "spec"}


def _gitlab_rule_on_mr(rule: Any) -> bool | None:
    """What one ``rules:`` entry decides for a merge request pipeline: run, skip, or None (does not match)."""
    if not isinstance(rule, Mapping):
        return None
    when = str(rule.get("when") or "on_success")
    condition = rule.get("if")
    if condition is None:
        return when != "never"
    cond = str(condition)
    if "merge_request" not in cond or "!=" in cond or "!~" in cond or "||" in cond:
        return None  # another condition (a branch, a tag, ...) or "not a merge request": no match on an MR
    return when != "never"


def _gitlab_runs_on_mr(job: Mapping[str, Any]) -> bool:
    """Whether a job runs in merge request pipelines: ``except:`` naming them excludes it; ``only:`` must name
    them; ``rules:`` are read in order, the first that matches a merge request pipeline decides."""
    if "except" in job and any("merge_request" in s for s in _strings(job["except"])):
        return False
    if "only" in job and not any("merge_request" in s for s in _strings(job["only"])):
        return False
    rules = job.get("rules")
    if isinstance(rules, list):
        for rule in rules:
            decided = _gitlab_rule_on_mr(rule)
            if decided is not None:
                return decided
        return False
    return True


def _gitlab_texts(doc: Mapping[Any, Any]) -> Iterator[tuple[str, str]]:
    """("include", template or image reference) and ("run", script line) of jobs run on merge requests."""
    yield from (("include", s) for s in _strings(doc.get("include")))
    for name, job in doc.items():
        if name in _GITLAB_RESERVED or not isinstance(job, Mapping) or str(name).startswith("."):
            continue
        if _gitlab_runs_on_mr(job):
            yield from (("include", s) for s in _strings({k: job.get(k) for k in
                                                          ("image", "trigger", "extends", "component")}))
            yield from (("run", s) for s in _strings(job.get("script")))


_QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")
_NOT_RUNNING = {"echo", "printf", "cat", "true", ":", "#"}


def _runs_tool(script: str, needle: str) -> bool:
    """True when a command of ``script`` invokes ``needle`` (not when it is only echoed, quoted or commented)."""
    word = re.compile(r"(?<![\w.-])" + re.escape(needle.lower()) + r"(?![\w-])")
    for raw in script.lower().splitlines():
        line = _QUOTED.sub("''", raw).split(" #", 1)[0]
        if line.lstrip().startswith("#"):
            continue
        for command in re.split(r"&&|\|\||[;|]|\$\(", line):
            words = command.split()
            if words and words[0] not in _NOT_RUNNING and word.search(command):
                return True
    return False


def _tools_in(
    texts: Iterable[tuple[str, str]], patterns: Mapping[str, Sequence[str]]
) -> dict[str, list[tuple[str, str]]]:
    """For each kind of check, the tools found and the step text each was found in: a ``uses:``/include that
    names the tool, or a command that invokes it."""
    found: dict[str, list[tuple[str, str]]] = {}
    for where, text in texts:
        low = text.lower()
        for kind, needles in patterns.items():
            for needle in needles:
                hit = _runs_tool(text, needle) if where == "run" else needle.lower() in low
                if hit and all(t != needle for t, _ in found.get(kind, [])):
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


def _local_workflow(ref: str) -> str | None:
    """The path of a reusable workflow in this repository (``uses: ./.github/workflows/x.yml``), else None."""
    ref = ref.strip()
    if not ref.startswith("./"):
        return None
    path = ref[2:].split("@", 1)[0]
    return path if path.startswith(".github/workflows/") else None


def _github_reached(docs: Mapping[str, list[Mapping[Any, Any]]]) -> list[tuple[str, Mapping[Any, Any]]]:
    """The workflows that run on pull requests, then the reusable workflows of this repository that they call
    (``jobs.<id>.uses: ./.github/workflows/x.yml``, followed through further calls, each file once)."""
    reached = [(path, doc) for path, file_docs in docs.items() for doc in file_docs
               if _github_triggers(doc) & set(_PR_TRIGGERS)]
    seen = {path for path, _ in reached}
    i = 0
    while i < len(reached):
        for kind, ref in _github_texts(reached[i][1]):
            called = _local_workflow(ref) if kind == "uses" else None
            if called is not None and called not in seen and called in docs:
                seen.add(called)
                reached.extend((called, doc) for doc in docs[called])
        i += 1
    return reached


def _ci_platform(checkout: Any, platform: str, files: list[str], patterns: Mapping[str, Sequence[str]]) -> Result:
    found: dict[str, list[str]] = {}
    where: dict[str, Location] = {}
    errors: list[str] = []
    docs: dict[str, list[Mapping[Any, Any]]] = {}
    sources: dict[str, str] = {}
    for path in files:
        try:
            text = checkout.read_text(path)
            # composed once within the size, depth and alias limits (libyaml), then constructed from the nodes
            docs[path] = [d for d in map(_ci_construct, compose_all_limited(text)) if isinstance(d, Mapping)]
            sources[path] = text
        except UnreadableFile as exc:
            errors.append(f"{path}: {exc.reason}")
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            errors.append(f"{path}:{mark.line + 1 if mark else '?'}: not valid YAML")
    if platform == "github":
        reached = _github_reached(docs)
        texts_of = [(path, list(_github_texts(doc))) for path, doc in reached]
    else:
        texts_of = [(path, list(_gitlab_texts(doc))) for path, file_docs in docs.items() for doc in file_docs]
    for path, texts in texts_of:
        for kind, tools in _tools_in(texts, patterns).items():
            found.setdefault(kind, []).extend(t for t, _ in tools if t not in found.get(kind, []))
            where.setdefault(kind, Location(path, _line_of(sources[path], tools[0][1])))
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
    elsewhere = _off_pr_tools(docs, {p for p, _ in texts_of}, patterns, found) if platform == "github" else []
    note = "".join(f"; {tool} runs in {path} only on {on}" for tool, path, on in elsewhere[:3])
    if elsewhere:
        evidence["not_on_pull_requests"] = [{"tool": t, "file": p, "on": on} for t, p, on in elsewhere]
    return failed(f"{platform} CI does not run annexa or a {' and a '.join(missing)} on {what}{note}",
                  Location(main), key=f"{platform}:missing:{','.join(missing)}", **evidence, missing=missing)


def _off_pr_tools(docs: Mapping[str, list[Mapping[Any, Any]]], reached: set[str],
                  patterns: Mapping[str, Sequence[str]], found: Mapping[str, list[str]]) -> list[tuple[str, str, str]]:
    """(tool, workflow, its triggers) for each scanner of a missing kind that a workflow runs on other events
    than pull requests (``push``, ``schedule``, ``workflow_dispatch``): what an engineer would move or extend."""
    out: list[tuple[str, str, str]] = []
    for path, file_docs in docs.items():
        if path in reached:
            continue
        for doc in file_docs:
            on = ", ".join(sorted(_github_triggers(doc))) or "no event"
            for kind, tools in _tools_in(list(_github_texts(doc)), patterns).items():
                if kind not in found:
                    out.extend((tool, path, on) for tool, _ in tools if all(tool != t for t, _, _ in out))
    return out


_SEMGREP_RULES = ("torch-load-unsafe", "unsafe-deserialization", "yaml-unsafe-load", "tls-verification-disabled",
                  "llm-output-executed", "langchain-dangerous-option", "remote-code-disabled",
                  "model-revision-pinned")

PREFETCH: dict[str, Prefetch] = dict.fromkeys(_SEMGREP_RULES, _semgrep_job)
"""semgrep runs in its own process: the engine starts it before the other rules and reads it last."""

RULES: dict[str, RuleFn] = {
    "no-secrets-in-change": check_no_secrets_in_change,
    **dict.fromkeys(_SEMGREP_RULES, check_semgrep_rule),
    "training-data-pii-free": check_training_data_pii_free,
    "dataset-card-present": check_dataset_card_present,
    "security-checks-in-ci": check_security_checks_in_ci,
}
