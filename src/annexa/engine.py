"""The run: load config, policies and catalog; evaluate every required rule; build the report."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from annexa.catalog import Policy, RuleSpec, builtin_dir, load_catalog, load_policies
from annexa.collect.base_revision import BaseFiles
from annexa.config import CONFIG_NAME, Config, load_config
from annexa.errors import InputError, InputErrors
from annexa.facts import ChangeSet, Facts
from annexa.model import Finding, Location, Result, Severity, Status, fingerprint
from annexa.paths import match_any
from annexa.platforms.applicability import applicability
from annexa.redact import redact_report
from annexa.report import PendingChange, PolicyStatus, Report, RequirementStatus, RunInfo, control_statuses, rollup
from annexa.rules import prefetchers, registry
from annexa.rules.base import PENDING_EVIDENCE, RuleContext, RuleFn
from annexa.waivers import covers, waiver_problems


@dataclass(frozen=True)
class Inputs:
    """What a run is judged against: the config, the policies and the rule catalog.

    In PR mode (``base`` given to ``load_inputs``) they come from the base revision; ``rules_from`` says where
    they came from, and ``base`` is the revision the change's own edits to them are compared with.
    """

    config: Config
    policies: tuple[Policy, ...]
    catalog: Mapping[str, RuleSpec]
    rules_from: str | None = None
    base: BaseFiles | None = None
    config_from_base: bool = False
    policies_from_base: bool = False


def load_inputs(
    root: Path,
    config_file: Path | None = None,
    policy_dirs: Sequence[Path] | None = None,
    fail_on: Severity | None = None,
    base: BaseFiles | None = None,
) -> Inputs:
    """Load and cross-check config, policies and catalog; every problem raises with file, line and field.

    With ``base`` (PR mode) the config and the repository's policy files are read from the base revision, so the
    change is judged by the rules it is merged into; only on a first run (no config in the base) is the change's
    config used. ``config_file`` and ``policy_dirs`` given by the operator are used as given.
    """
    catalog = load_catalog()
    rule_params = {rule: spec.params for rule, spec in catalog.items()}
    config, config_from_base, said = _config(root, config_file, base, rule_params)
    policies_from_base = False
    if policy_dirs is not None:
        policies = load_policies(list(policy_dirs), catalog, root)
        said.append("policies from the command line")
    elif base is None:
        policies = load_policies([_policy_dir(root, p) for p in config.policies], catalog, root)
    else:
        policies, policies_from_base = _base_policies(config, base, catalog, root, strict=config_from_base)
    if fail_on is not None:
        config = replace(config, fail_on=fail_on)
    return Inputs(config, tuple(policies), catalog, "; ".join(said) if base is not None else None, base,
                  config_from_base, policies_from_base)


def _policy_dir(root: Path, name: str) -> Path:
    return builtin_dir("policies") if name == "builtin" else root / name


def _config(
    root: Path, config_file: Path | None, base: BaseFiles | None, rule_params: Mapping[str, Mapping[str, Any]]
) -> tuple[Config, bool, list[str]]:
    """The config, whether it came from the base revision, and what to say about where it came from."""
    if config_file is not None:
        return load_config(config_file, _display(config_file, root), rule_params), False, [
            f"config from the command line ({config_file})"]
    path = root / CONFIG_NAME
    if base is not None and base.exists(CONFIG_NAME):
        with base.materialise([CONFIG_NAME]) as top:
            config = load_config(top / CONFIG_NAME, CONFIG_NAME, rule_params)
        return config, True, [f"config, waivers and secrets baseline from the base revision {base.label}"]
    config = load_config(path, _display(path, root), rule_params) if path.exists() else Config()
    if base is None:
        return config, False, []
    if path.exists():
        return config, False, [f"first run: the base revision {base.label} has no {CONFIG_NAME}, so the change's "
                               f"{CONFIG_NAME} is used"]
    return config, False, [f"no {CONFIG_NAME} in the base revision {base.label} or the change: built-in defaults"]


def _base_policy_files(base: BaseFiles, name: str) -> list[str]:
    name = name.strip("/").removeprefix("./")
    if base.exists(name):
        return [name]
    return [f for f in base.files_under(name) if f.endswith((".yml", ".yaml"))]


def _base_policies(
    config: Config, base: BaseFiles, catalog: Mapping[str, RuleSpec], root: Path, strict: bool
) -> tuple[list[Policy], bool]:
    """The policies the config names: builtin from the package, the others from the base revision.

    ``strict`` (the config came from the base): a folder missing from the base is an error. On a first run a
    folder the base does not have yet is read from the change. Also returns whether any came from the base.
    """
    files = {p: _base_policy_files(base, p) for p in config.policies if p != "builtin"}
    local = [p for p, names in files.items() if not names]
    if strict and local:
        raise InputErrors([InputError(config.source or CONFIG_NAME, None, "policies",
                                      f"{name} has no policy files in the base revision {base.label}")
                           for name in local])
    with base.materialise([f for names in files.values() for f in names]) as top:
        folders = [builtin_dir("policies")] if "builtin" in config.policies else []
        folders += [top / f for names in files.values() for f in names]
        policies = load_policies(folders, catalog, top) if folders else []
    if local:
        policies += load_policies([root / p for p in local], catalog, root)
    return policies, any(files.values())


def _display(path: Path, root: Path) -> str:
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return str(path)


@dataclass
class _Group:
    """One rule run with one parameter set, on behalf of one or more policy requirements."""

    rule: str
    params: dict[str, Any]
    severity: Severity
    controls: list[str]
    policies: list[str]
    statuses: list[Status]


def resolve_params(spec: RuleSpec, requirement: Mapping[str, Any], config: Config) -> dict[str, Any]:
    """A rule's parameters: catalog defaults, overridden by the policy requirement, overridden by the config."""
    return {**spec.defaults(), **requirement, **config.params.get(spec.id, {})}


def rule_params(inputs: Inputs, rule: str) -> list[dict[str, Any]]:
    """Every distinct parameter set ``rule`` runs with in this run (as ``run_check`` resolves them); when no
    policy requires the rule, its defaults with the config's ``params``."""
    spec = inputs.catalog[rule]
    found = [resolve_params(spec, req.params, inputs.config)
             for policy in inputs.policies for req in policy.requirements if req.rule == rule]
    distinct = {json.dumps(p, sort_keys=True, default=str): p for p in found}
    return list(distinct.values()) or [resolve_params(spec, {}, inputs.config)]


def max_waiver_days(inputs: Inputs) -> int:
    """The longest a waiver may run: the strictest ``waivers-valid.max_days`` any requirement runs with, so a
    waiver the report calls invalid never waives a finding."""
    return min(int(p.get("max_days") or 365) for p in rule_params(inputs, "waivers-valid"))


def _groups(inputs: Inputs) -> list[_Group]:
    groups: dict[tuple[str, str], _Group] = {}
    for policy in inputs.policies:
        for req in policy.requirements:
            spec = inputs.catalog[req.rule]
            params = resolve_params(spec, req.params, inputs.config)
            key = (req.rule, json.dumps(params, sort_keys=True, default=str))
            group = groups.get(key)
            if group is None:
                groups[key] = _Group(req.rule, params, req.severity, list(req.controls), [policy.id], [])
                continue
            if req.severity.rank > group.severity.rank:
                group.severity = req.severity
            group.controls += [c for c in req.controls if c not in group.controls]
            if policy.id not in group.policies:
                group.policies.append(policy.id)
    return list(groups.values())


def run_check(
    inputs: Inputs,
    facts: Facts,
    run: RunInfo,
    today: dt.date | None = None,
    overrides: Mapping[str, RuleFn] | None = None,
) -> Report:
    """Evaluate every rule the policies require against ``facts`` and build the report.

    ``overrides`` replaces some rule implementations for this run (the org scan answers content rules, whose
    files it does not read, with ``unknown``).
    """
    today = today or dt.datetime.now(dt.UTC).date()
    facts = replace(facts, policies=inputs.policies)
    implementations = {**registry(), **(overrides or {})}
    cache: dict[str, Any] = {}
    valid_waivers = [w for w in inputs.config.waivers if not waiver_problems(w, today, max_waiver_days(inputs))]
    findings: list[Finding] = []
    by_requirement: dict[tuple[str, str], list[Status]] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="annexa-prefetch") as pool:
        for group, spec, results in _evaluate(inputs, facts, run, today, implementations, overrides, cache, pool):
            test_paths = _test_paths(group.params)
            for result in results:
                in_tests = result.location is not None and match_any(inputs.config.path_class("tests"),
                                                                     result.location.path)
                if in_tests and test_paths == "skip":
                    continue
                finding = _finding(result, group, spec, facts)
                if in_tests and isinstance(test_paths, Severity) and test_paths.rank < finding.severity.rank:
                    finding = replace(finding, severity=test_paths, evidence={
                        **finding.evidence, "test_path": f"severity lowered to {test_paths.value}"})
                finding = _apply_waivers(finding, valid_waivers)
                findings.append(finding)
                group.statuses.append(finding.status)
            for policy in group.policies:
                by_requirement.setdefault((policy, group.rule), []).extend(group.statuses)
    findings = _distinct_fingerprints(sorted(findings, key=_finding_order))
    policies = tuple(
        PolicyStatus(
            id=p.id,
            title=p.title,
            version=p.version,
            digest=p.digest,
            owner=p.owner,
            status=rollup(s for r in p.requirements for s in by_requirement.get((p.id, r.rule), [])),
            requirements=tuple(
                RequirementStatus(
                    r.rule, r.severity, r.controls, rollup(by_requirement.get((p.id, r.rule), [])), r.text
                )
                for r in p.requirements
            ),
        )
        for p in inputs.policies
    )
    used = {f.rule for f in findings}
    return redact_report(Report(
        run=run,
        fail_on=inputs.config.fail_on,
        findings=tuple(findings),
        policies=policies,
        controls=control_statuses(findings),
        rules={rule: spec for rule, spec in inputs.catalog.items() if rule in used},
        pending_changes=tuple(pending_changes(inputs, facts.change, findings)),
        rules_from=inputs.rules_from,
    ))


def _evaluate(
    inputs: Inputs,
    facts: Facts,
    run: RunInfo,
    today: dt.date,
    implementations: Mapping[str, RuleFn],
    overrides: Mapping[str, RuleFn] | None,
    cache: dict[str, Any],
    pool: ThreadPoolExecutor,
) -> Iterator[tuple[_Group, RuleSpec, list[Result]]]:
    """Each rule group with its results. Scans that wait on another process (``prefetchers``) start first in
    ``pool``, and the rules that read them are evaluated last, so semgrep runs while the other rules (the secret
    scan's workers among them) use the second core."""
    builtin = registry()
    early = {rule: job for rule, job in prefetchers().items() if implementations.get(rule) is builtin.get(rule)}
    waiting: list[tuple[_Group, RuleSpec, RuleContext]] = []
    for group in _groups(inputs):
        spec = inputs.catalog[group.rule]
        fn = implementations.get(group.rule)
        gate = None if overrides and group.rule in overrides else applicability(spec, facts)
        if gate is not None:
            yield group, spec, [gate]
            continue
        if fn is None:
            yield group, spec, [Result(Status.UNKNOWN, f"{group.rule} is not implemented in annexa {run.platform} "
                                       "checks yet", evidence={"needs": "a newer annexa"})]
            continue
        ctx = RuleContext(spec, facts, inputs.config, group.params, today, cache)
        prefetch = early.get(group.rule)
        if prefetch is not None and _start_prefetch(prefetch, ctx, pool):
            waiting.append((group, spec, ctx))
        else:
            yield group, spec, _run_rule(fn, ctx)
    for group, spec, ctx in waiting:
        yield group, spec, _run_rule(implementations[group.rule], ctx)


def _start_prefetch(prefetch: Any, ctx: RuleContext, pool: ThreadPoolExecutor) -> bool:
    """Start a rule's slow scan in ``pool`` under its memo key (once per key); False when there is none."""
    try:
        job = prefetch(ctx)
    except Exception:
        return False  # the rule itself will meet (and report) the same problem
    if job is None:
        return False
    key, compute = job
    if key not in ctx.cache:
        ctx.cache[key] = pool.submit(compute)
    return True


def pending_changes(inputs: Inputs, change: ChangeSet | None, findings: Sequence[Finding] = ()) -> list[PendingChange]:
    """The change's edits to what judges it that this run did not apply: they take effect only after merge."""
    if change is None or inputs.base is None:
        return []
    owners = ", ".join(inputs.config.owners_of("security")) or "the security owners"
    after = f"takes effect only after merge and needs review by {owners}"
    base = inputs.base.label
    pending: list[PendingChange] = []
    edited = sorted({*change.files, *(c.previous_path for c in change.files.values() if c.previous_path)})
    folders = [p.strip("/").removeprefix("./") for p in inputs.config.policies if p != "builtin"]
    baselines = {str(p.get("baseline")) for p in rule_params(inputs, "no-secrets-in-change") if p.get("baseline")}
    for path in edited:
        if path == CONFIG_NAME or match_any(inputs.config.path_class("config"), path):
            if inputs.config_from_base:
                pending.append(PendingChange(path, "config", f"{path} is edited by this change; this run used the "
                                             f"base revision's config ({base}): the edit {after}"))
        elif inputs.policies_from_base and (any(path == f or path.startswith(f + "/") for f in folders)
                                            or match_any(inputs.config.path_class("policies"), path)):
            pending.append(PendingChange(path, "policy", f"{path} (a policy) is edited by this change; this run used "
                                         f"the base revision's policies ({base}): the edit {after}"))
        elif path in baselines:
            pending.append(PendingChange(path, "secrets-baseline", f"{path} (the secrets baseline) is edited by this "
                                         f"change; this run used the base revision's ({base}): the edit {after}"))
    for f in findings:
        note = f.evidence.get(PENDING_EVIDENCE)
        if note and f.location is not None:
            pending.append(PendingChange(f.location.path, "allowlist-pragma", f"{f.location}: {note}; it {after}",
                                         f.location.line))
    return pending


def _test_paths(params: Mapping[str, Any]) -> str | Severity:
    """How a content rule treats files in the ``tests`` path class: ``check``, ``skip`` or a lower severity."""
    value = params.get("test_paths", "check")
    if value in ("check", "skip"):
        return str(value)
    try:
        return Severity(value)
    except ValueError:
        return "check"


def _run_rule(fn: Any, ctx: RuleContext) -> list[Result]:
    """Run one rule; a crash becomes an ``unknown`` finding, never a traceback."""
    try:
        results = list(fn(ctx))
    except Exception as exc:
        return [Result(Status.UNKNOWN, f"{ctx.rule.id} could not be evaluated: {type(exc).__name__}: {exc}",
                       evidence={"needs": "a fix in annexa (please report this)", "error": type(exc).__name__})]
    return results or [Result(Status.NOT_APPLICABLE, f"{ctx.rule.id}: nothing to check")]


def _finding(result: Result, group: _Group, spec: RuleSpec, facts: Facts) -> Finding:
    introduced: bool | None = None
    if facts.change is not None:
        introduced = facts.change.introduces(result.location) if result.location else False
    return Finding(
        rule=group.rule,
        status=result.status,
        severity=group.severity,
        message=result.message,
        location=result.location,
        controls=tuple(group.controls),
        policies=tuple(group.policies),
        introduced=introduced,
        fingerprint=fingerprint(group.rule, result.location, result.key or result.message),
        evidence=dict(result.evidence),
        remediation=result.fix or spec.fix,
        fix=result.fix,
    )


def _apply_waivers(finding: Finding, waivers: Sequence[Any]) -> Finding:
    if finding.status is not Status.FAIL:
        return finding
    for waiver in waivers:
        if covers(waiver, finding.rule, finding.location):
            detail = {
                "ticket": waiver.ticket,
                "expires": waiver.expires.isoformat() if waiver.expires else None,
                "approved_by": waiver.approved_by,
                "requested_by": waiver.requested_by,
                "risk": waiver.risk,
                "justification": waiver.justification,
            }
            return replace(finding, status=Status.WAIVED, evidence={**finding.evidence, "waiver": detail})
    return finding


def _distinct_fingerprints(findings: list[Finding]) -> list[Finding]:
    """Give the 2nd, 3rd, ... finding with the same fingerprint (same rule, path and key) its own, by occurrence."""
    seen: dict[str, int] = {}
    distinct: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.location.line or 0) if f.location else 0):
        count = seen.get(finding.fingerprint, 0)
        seen[finding.fingerprint] = count + 1
        if count:
            finding = replace(finding, fingerprint=fingerprint(finding.rule, finding.location,
                                                               f"{finding.fingerprint}#{count}"))
        distinct.append(finding)
    return sorted(distinct, key=_finding_order)


_STATUS_ORDER = {Status.FAIL: 0, Status.UNKNOWN: 1, Status.WAIVED: 2, Status.PASS: 3, Status.NOT_APPLICABLE: 4}


def _finding_order(f: Finding) -> tuple[Any, ...]:
    loc = f.location or Location("")
    return (_STATUS_ORDER[f.status], -f.severity.rank, f.rule, loc.path, loc.line or 0, f.message)
