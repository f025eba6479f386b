"""The run: load config, policies and catalog; evaluate every required rule; build the report."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from annexa.catalog import Policy, RuleSpec, builtin_dir, load_catalog, load_policies
from annexa.config import CONFIG_NAME, Config, load_config
from annexa.facts import Facts
from annexa.model import Finding, Location, Result, Severity, Status, fingerprint
from annexa.paths import match_any
from annexa.platforms.applicability import applicability
from annexa.report import PolicyStatus, Report, RequirementStatus, RunInfo, control_statuses, rollup
from annexa.rules import registry
from annexa.rules.base import RuleContext
from annexa.waivers import covers, waiver_problems


@dataclass(frozen=True)
class Inputs:
    """What a run is judged against: the config, the policies and the rule catalog."""

    config: Config
    policies: tuple[Policy, ...]
    catalog: Mapping[str, RuleSpec]


def load_inputs(
    root: Path,
    config_file: Path | None = None,
    policy_dirs: Sequence[Path] | None = None,
    fail_on: Severity | None = None,
) -> Inputs:
    """Load and cross-check config, policies and catalog; every problem raises with file, line and field."""
    catalog = load_catalog()
    path = config_file or root / CONFIG_NAME
    rule_params = {rule: set(spec.params) for rule, spec in catalog.items()}
    config = load_config(path, _display(path, root), rule_params) if config_file or path.exists() else Config()
    if policy_dirs is None:
        policy_dirs = [builtin_dir("policies") if p == "builtin" else root / p for p in config.policies]
    policies = load_policies(list(policy_dirs), catalog, root)
    if fail_on is not None:
        config = replace(config, fail_on=fail_on)
    return Inputs(config, tuple(policies), catalog)


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
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


def _groups(inputs: Inputs) -> list[_Group]:
    groups: dict[tuple[str, str], _Group] = {}
    for policy in inputs.policies:
        for req in policy.requirements:
            spec = inputs.catalog[req.rule]
            params = {**spec.defaults(), **req.params, **inputs.config.params.get(req.rule, {})}
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


def run_check(inputs: Inputs, facts: Facts, run: RunInfo, today: dt.date | None = None) -> Report:
    """Evaluate every rule the policies require against ``facts`` and build the report."""
    today = today or dt.datetime.now(dt.UTC).date()
    facts = replace(facts, policies=inputs.policies)
    implementations = registry()
    cache: dict[str, Any] = {}
    valid_waivers = [
        w for w in inputs.config.waivers if not waiver_problems(w, today, _max_waiver_days(inputs))
    ]
    findings: list[Finding] = []
    by_requirement: dict[tuple[str, str], list[Status]] = {}
    for group in _groups(inputs):
        spec = inputs.catalog[group.rule]
        fn = implementations.get(group.rule)
        gate = applicability(spec, facts)
        if gate is not None:
            results: list[Result] = [gate]
        elif fn is None:
            results = [
                Result(Status.UNKNOWN, f"{group.rule} is not implemented in annexa {run.platform} checks yet",
                       evidence={"needs": "a newer annexa"})
            ]
        else:
            ctx = RuleContext(spec, facts, inputs.config, group.params, today, cache)
            results = _run_rule(fn, ctx)
        test_paths = _test_paths(group.params)
        for result in results:
            in_tests = result.location is not None and match_any(inputs.config.path_class("tests"),
                                                                 result.location.path)
            if in_tests and test_paths == "skip":
                continue
            finding = _finding(result, group, spec, facts)
            if in_tests and isinstance(test_paths, Severity) and test_paths.rank < finding.severity.rank:
                finding = replace(finding, severity=test_paths,
                                  evidence={**finding.evidence, "test_path": f"severity lowered to {test_paths.value}"})
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
    return Report(
        run=run,
        fail_on=inputs.config.fail_on,
        findings=tuple(findings),
        policies=policies,
        controls=control_statuses(findings),
        rules={rule: spec for rule, spec in inputs.catalog.items() if rule in used},
    )


def _test_paths(params: Mapping[str, Any]) -> str | Severity:
    """How a content rule treats files in the ``tests`` path class: ``check``, ``skip`` or a lower severity."""
    value = params.get("test_paths", "check")
    if value in ("check", "skip"):
        return str(value)
    try:
        return Severity(value)
    except ValueError:
        return "check"


def _max_waiver_days(inputs: Inputs) -> int:
    spec = inputs.catalog["waivers-valid"]
    return int({**spec.defaults(), **inputs.config.params.get("waivers-valid", {})}.get("max_days", 365))


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
        remediation=spec.fix,
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
