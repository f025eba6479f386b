"""The dashboard's data: the latest full-repository run of every repository, trends and changes, from run records.

Input is the run records' bodies (``annexa.report/v1`` JSON, as stored in the history); output is one compact,
JSON-serialisable mapping that the page renders. Pull-request runs judge a change, not the repository, so only
runs without a pull request count here. Each repository's last result is carried forward in time.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

STATUSES = ("fail", "unknown", "waived", "pass", "not_applicable")
"""Status codes used in the page: the index in this tuple; -1 where a rule, policy or control did not run."""
_CODE = {s: i for i, s in enumerate(STATUSES)}
SEVERITIES = ("critical", "high", "medium", "low", "info")
_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}

MAX_FINDINGS_PER_REPO = 60
"""Failing/unknown/waived findings embedded per repository for the drill-down (the rest are counted)."""
MAX_CHANGES = 2000
"""New and fixed failures listed (most recent repositories first); the rest are counted."""
EXPIRY_DAYS = 30


def _code(status: str | None) -> int:
    return _CODE.get(status or "", -1)


def _when(record: Mapping[str, Any]) -> str:
    return str(record.get("run", {}).get("started_at") or "")


def _day(stamp: str) -> str:
    return stamp[:10]


def _rule_status(findings: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Per rule the rolled-up status code (the lowest code, i.e. the worst, wins)."""
    out: dict[str, int] = {}
    for finding in findings:
        code = _code(finding.get("status"))
        rule = str(finding.get("rule"))
        if code >= 0 and (rule not in out or code < out[rule]):
            out[rule] = code
    return out


def _failing(record: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(f.get("fingerprint")): f for f in record.get("findings", ()) if f.get("status") == "fail"}


def _location(finding: Mapping[str, Any]) -> tuple[str, int | None]:
    loc = finding.get("location") or {}
    return str(loc.get("path") or ""), loc.get("line")


def build_data(records: Iterable[Mapping[str, Any]], now: dt.datetime | None = None) -> dict[str, Any]:
    """The page's data from run record bodies (any order, any repositories)."""
    now = now or dt.datetime.now(dt.UTC)
    runs = sorted((r for r in records if not r.get("run", {}).get("pull_request")), key=_when)
    by_repo: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    policies: dict[str, str] = {}
    controls: dict[str, str] = {}
    rules: set[str] = set()
    for record in runs:
        by_repo[str(record["run"].get("repository"))].append(record)
        for p in record.get("policies", ()):
            policies.setdefault(str(p["id"]), str(p.get("title") or p["id"]))
        for c in record.get("controls", ()):
            controls.setdefault(str(c["id"]), str(c.get("title") or ""))
        rules.update(str(f.get("rule")) for f in record.get("findings", ()))
    policy_ids = sorted(policies)
    control_ids = sorted(controls, key=_control_key)
    rule_ids = sorted(rules)
    rule_index = {r: i for i, r in enumerate(rule_ids)}

    repos = [
        _repo(name, history, policy_ids, control_ids, rule_ids, rule_index)
        for name, history in sorted(by_repo.items())
    ]
    return {
        "schema": "annexa.dashboard/v1",
        "generated_at": now.isoformat(timespec="seconds"),
        "statuses": list(STATUSES),
        "severities": list(SEVERITIES),
        "policies": [{"id": p, "title": policies[p]} for p in policy_ids],
        "controls": [{"id": c, "title": controls[c]} for c in control_ids],
        "rules": rule_ids,
        "repos": repos,
        "trend": _trend(runs, policy_ids),
        "changes": _changes(by_repo),
        "waivers": _waivers(by_repo, now.date()),
        "unknowns": _unknowns(by_repo),
    }


def _control_key(control: str) -> tuple[Any, ...]:
    parts = control.replace("A.", "").split(".")
    return (not control.startswith("A."), *[int(p) if p.isdigit() else 0 for p in parts])


def _repo(
    name: str,
    history: list[Mapping[str, Any]],
    policy_ids: list[str],
    control_ids: list[str],
    rule_ids: list[str],
    rule_index: Mapping[str, int],
) -> dict[str, Any]:
    last = history[-1]
    run = last.get("run", {})
    meta = run.get("meta") or {}
    by_policy = {str(p["id"]): _code(p.get("status")) for p in last.get("policies", ())}
    by_control = {str(c["id"]): _code(c.get("status")) for c in last.get("controls", ())}
    by_rule = _rule_status(last.get("findings", ()))
    fail_on = _SEVERITY_RANK.get(str(last.get("fail_on") or "high"), 1)
    shown = [f for f in last.get("findings", ()) if f.get("status") in ("fail", "unknown", "waived")]
    shown.sort(key=lambda f: (_code(f.get("status")), _SEVERITY_RANK.get(str(f.get("severity")), 9)))
    findings = []
    for f in shown[:MAX_FINDINGS_PER_REPO]:
        path, line = _location(f)
        findings.append([rule_index.get(str(f.get("rule")), -1), _code(f.get("status")),
                         str(f.get("severity") or ""), str(f.get("message") or "")[:400], path, line,
                         str((f.get("evidence") or {}).get("needs") or "")[:200]])
    counts = Counter(f.get("status") for f in last.get("findings", ()))
    blocking = sum(
        1 for f in last.get("findings", ())
        if f.get("status") == "fail" and _SEVERITY_RANK.get(str(f.get("severity")), 9) <= fail_on
    )
    return {
        "name": name,
        "at": _when(last),
        "commit": run.get("commit"),
        "platform": run.get("platform"),
        "verdict": last.get("verdict"),
        "team": str(meta.get("team") or ""),
        "topics": [str(t) for t in meta.get("topics") or ()],
        "visibility": str(meta.get("visibility") or ""),
        "p": [by_policy.get(p, -1) for p in policy_ids],
        "c": [by_control.get(c, -1) for c in control_ids],
        "r": [by_rule.get(r, -1) for r in rule_ids],
        "blocking": blocking,
        "fail": counts.get("fail", 0),
        "unknown": counts.get("unknown", 0),
        "waived": counts.get("waived", 0),
        "runs": len(history),
        "findings": findings,
        "more": max(0, len(shown) - MAX_FINDINGS_PER_REPO),
    }


def _trend(runs: list[Mapping[str, Any]], policy_ids: list[str]) -> dict[str, Any]:
    """Per day, the share of repositories passing each policy and overall, each repository's last run carried."""
    current: dict[str, Mapping[str, Any]] = {}
    days: list[str] = []
    series: list[list[float]] = []
    overall: list[float] = []
    counted: list[int] = []

    def snapshot(day: str) -> None:
        total = len(current)
        passing: Counter[str] = Counter()
        ok = 0
        for record in current.values():
            statuses = {str(p["id"]): p.get("status") for p in record.get("policies", ())}
            for p in policy_ids:
                if statuses.get(p) in ("pass", "not_applicable", "waived"):
                    passing[p] += 1
            ok += record.get("verdict") == "pass"
        days.append(day)
        series.append([round(100 * passing[p] / total, 1) if total else 0.0 for p in policy_ids])
        overall.append(round(100 * ok / total, 1) if total else 0.0)
        counted.append(total)

    for i, record in enumerate(runs):
        current[str(record["run"].get("repository"))] = record
        day = _day(_when(record))
        if i + 1 == len(runs) or _day(_when(runs[i + 1])) != day:
            snapshot(day)
    return {"days": days, "policies": series, "overall": overall, "repos": counted}


def _changes(by_repo: Mapping[str, list[Mapping[str, Any]]]) -> dict[str, Any]:
    """New and fixed failures, and policies that regressed or recovered, between each repository's last two runs."""
    new: list[list[Any]] = []
    fixed: list[list[Any]] = []
    regressed: list[list[Any]] = []
    recovered: list[list[Any]] = []
    order = sorted(by_repo.items(), key=lambda kv: _when(kv[1][-1]), reverse=True)
    for name, history in order:
        if len(history) < 2:
            continue
        before, after = history[-2], history[-1]
        was, now = _failing(before), _failing(after)
        for key in now.keys() - was.keys():
            f = now[key]
            new.append([name, f.get("rule"), f.get("severity"), str(f.get("message") or "")[:300], *_location(f)])
        for key in was.keys() - now.keys():
            f = was[key]
            fixed.append([name, f.get("rule"), f.get("severity"), str(f.get("message") or "")[:300], *_location(f)])
        old = {str(p["id"]): p.get("status") for p in before.get("policies", ())}
        for p in after.get("policies", ()):
            prior, status = old.get(str(p["id"])), p.get("status")
            if prior == "pass" and status in ("fail", "unknown"):
                regressed.append([name, p["id"], prior, status, _when(after)])
            elif prior in ("fail", "unknown") and status == "pass":
                recovered.append([name, p["id"], prior, status, _when(after)])
    return {
        "new": new[:MAX_CHANGES], "new_total": len(new),
        "fixed": fixed[:MAX_CHANGES], "fixed_total": len(fixed),
        "regressed": regressed, "recovered": recovered,
    }


def _waivers(by_repo: Mapping[str, list[Mapping[str, Any]]], today: dt.date) -> list[list[Any]]:
    """Waivers in force in each repository's last run that expire within 30 days (soonest first)."""
    out: list[list[Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for name, history in by_repo.items():
        for f in history[-1].get("findings", ()):
            waiver = (f.get("evidence") or {}).get("waiver")
            if f.get("status") != "waived" or not isinstance(waiver, Mapping):
                continue
            try:
                expires = dt.date.fromisoformat(str(waiver.get("expires")))
            except ValueError:
                continue
            days = (expires - today).days
            key = (name, str(f.get("rule")), str(waiver.get("ticket")))
            if days <= EXPIRY_DAYS and key not in seen:
                seen.add(key)
                path, _ = _location(f)
                out.append([name, f.get("rule"), path, expires.isoformat(), days, waiver.get("approved_by"),
                            waiver.get("ticket")])
    return sorted(out, key=lambda w: (w[4], w[0]))


def _unknowns(by_repo: Mapping[str, list[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Unknown results of the last runs grouped by what would resolve them (``evidence.needs``)."""
    groups: dict[str, dict[str, Any]] = {}
    for name, history in by_repo.items():
        for f in history[-1].get("findings", ()):
            if f.get("status") != "unknown":
                continue
            needs = str((f.get("evidence") or {}).get("needs") or "not stated")[:200]
            group = groups.setdefault(needs, {"needs": needs, "count": 0, "repos": set(), "rules": set()})
            group["count"] += 1
            group["repos"].add(name)
            group["rules"].add(str(f.get("rule")))
    return [
        {"needs": g["needs"], "count": g["count"], "repos": len(g["repos"]), "rules": sorted(g["rules"]),
         "examples": sorted(g["repos"])[:5]}
        for g in sorted(groups.values(), key=lambda g: (-len(g["repos"]), g["needs"]))
    ]
