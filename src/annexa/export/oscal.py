"""The evidence as NIST OSCAL Assessment Results (JSON, OSCAL 1.2.3), built as plain JSON.

One result for the export window; one observation per rule (check) and repository (subject), method TEST,
origin the annexa tool and version, evidence links into ``records.jsonl``; one finding per Annex A control,
``satisfied`` or ``not-satisfied`` (unknown is never satisfied). Control ids only: no ISO text is shipped.
UUIDs are name-based (uuid5), so the same history exports the same document.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from annexa.history import queries

if TYPE_CHECKING:
    from annexa.export.bundle import ExportRequest

OSCAL_VERSION = "1.2.3"
NAMESPACE = uuid.UUID("6f1f5bd2-5b7e-4c61-9a55-3a1d2b0e8a11")
ANNEXA_NS = "https://annexa.dev/ns/oscal"


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def _control_id(control: str) -> str:
    """OSCAL control ids are tokens: ``A.8.4`` -> ``a.8.4``; a management-system clause ``7.5`` -> ``clause-7.5``."""
    token = control.lower().replace(" ", "-")
    return token if token[:1].isalpha() else f"clause-{token}"


def _time(value: str | None, fallback: str) -> str:
    text = value or fallback
    return text if ("+" in text[10:] or text.endswith("Z")) else text + "Z"


def assessment_results(
    request: ExportRequest,
    runs: Sequence[Mapping[str, Any]],
    summaries: Sequence[Mapping[str, Any]],
    connection: Any,
    window: queries.Window,
    version: str,
) -> dict[str, Any]:
    """The OSCAL ``assessment-results`` document of the window."""
    start = f"{request.start.isoformat()}T00:00:00Z"
    end = f"{request.end.isoformat()}T23:59:59Z"
    last_modified = max((str(r["recorded_at"]) for r in runs), default=start)
    tool_uuid = _uuid("tool", "annexa")
    repositories = sorted({str(r["repository"]) for r in runs})
    repo_uuid = {repo: _uuid("repository", repo) for repo in repositories}
    last_run = {str(r["repository"]): r for r in runs}
    components: list[dict[str, Any]] = [{
        "uuid": tool_uuid, "type": "software", "title": "annexa",
        "description": "annexa: ISO 27001:2022 policies as code for AI repositories (the assessing tool).",
        "props": [{"name": "version", "value": version}],
        "status": {"state": "operational"},
    }]
    for repo in repositories:
        components.append({
            "uuid": repo_uuid[repo], "type": "this-system", "title": repo,
            "description": f"Source repository {repo}, assessed on every run recorded in the history.",
            "status": {"state": "operational"},
        })
    origin = {"actors": [{"type": "tool", "actor-uuid": tool_uuid,
                          "props": [{"name": "version", "value": version}]}]}
    rule_controls = queries.rule_controls(connection, window)
    observations: list[dict[str, Any]] = []
    by_control_obs: dict[str, list[str]] = {}
    outcomes: dict[tuple[str, str], dict[str, int]] = {}
    last_at: dict[tuple[str, str], str] = {}
    for row in queries.rule_outcomes(connection, window, request.controls):
        key = (str(row["repository"]), str(row["rule"]))
        outcomes.setdefault(key, {})[str(row["status"])] = int(row["count"])
        last_at[key] = max(last_at.get(key, ""), str(row["last_at"]))
    for (repo, rule), counts in sorted(outcomes.items()):
        obs_uuid = _uuid("observation", repo, rule, start, end)
        worst = next((s for s in ("fail", "unknown", "waived", "pass", "not_applicable") if counts.get(s)), "pass")
        run = last_run.get(repo)
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        observation: dict[str, Any] = {
            "uuid": obs_uuid,
            "title": f"{rule} on {repo}",
            "description": f"annexa check {rule} on repository {repo} between {start} and {end}: {summary}.",
            "props": [{"name": "result", "ns": ANNEXA_NS, "value": worst},
                      *({"name": f"count-{s}", "ns": ANNEXA_NS, "value": str(n)} for s, n in sorted(counts.items()))],
            "methods": ["TEST"],
            "types": ["finding"] if worst in ("fail", "unknown") else ["control-objective"],
            "origins": [origin],
            "subjects": [{"subject-uuid": repo_uuid[repo], "type": "component", "title": repo}],
            "relevant-evidence": [{
                "href": f"../records.jsonl#run={run['run_id']}" if run else "../records.jsonl",
                "description": f"Hash-chained run records of {repo} in this bundle (last run of the window).",
            }],
            "collected": _time(last_at.get((repo, rule)), start),
        }
        observations.append(observation)
        for control in rule_controls.get(rule, set()):
            by_control_obs.setdefault(control, []).append(obs_uuid)
    findings: list[dict[str, Any]] = []
    for s in summaries:
        control = str(s["control"])
        satisfied = s["status_at_end"] == "pass"
        reason = "pass" if satisfied else ("fail" if s["status_at_end"] == "fail" else "other")
        remarks = {"unknown": "Unknown is never satisfied: some check could not be evaluated.",
                   "not_applicable": "No check applied to this control in the window: nothing evidences it."}
        finding: dict[str, Any] = {
            "uuid": _uuid("finding", control, start, end, ",".join(repositories)),
            "title": f"ISO/IEC 27001:2022 Annex A {control}",
            "description": (f"{control}: {s['runs']} evaluations in the window, pass rate "
                            f"{'n/a' if s['pass_rate'] is None else format(s['pass_rate'], '.0%')}, "
                            f"{len(s['open_failures'])} open failures, {len(s['waivers'])} waivers; status at the "
                            f"end of the window: {s['status_at_end']}."),
            "target": {
                "type": "objective-id",
                "target-id": _control_id(control),
                "status": {"state": "satisfied" if satisfied else "not-satisfied", "reason": reason},
            },
        }
        if s["status_at_end"] in remarks:
            finding["remarks"] = remarks[str(s["status_at_end"])]
        related = sorted(set(by_control_obs.get(control, [])))
        if related:
            finding["related-observations"] = [{"observation-uuid": u} for u in related]
        findings.append(finding)
    result: dict[str, Any] = {
        "uuid": _uuid("result", start, end, ",".join(repositories), ",".join(request.controls)),
        "title": f"annexa run window {request.start.isoformat()} to {request.end.isoformat()}",
        "description": (f"Every annexa run recorded between {start} and {end}"
                        f"{' for ' + ', '.join(repositories) if repositories else ''}: {len(runs)} runs."),
        "start": start,
        "end": end,
        "local-definitions": {"components": components},
        "reviewed-controls": {
            "control-selections": [
                {"include-controls": [{"control-id": _control_id(str(s["control"]))} for s in summaries]}
                if summaries else {"include-all": {}}
            ]
        },
    }
    if observations:
        result["observations"] = observations
    if findings:
        result["findings"] = findings
    plan_uuid = _uuid("plan", start, end)
    return {
        "assessment-results": {
            "uuid": _uuid("assessment-results", start, end, ",".join(repositories), ",".join(request.controls)),
            "metadata": {
                "title": f"annexa evidence {request.start.isoformat()} to {request.end.isoformat()}",
                "last-modified": _time(last_modified, start),
                "version": version,
                "oscal-version": OSCAL_VERSION,
                "remarks": "Control identifiers refer to ISO/IEC 27001:2022 Annex A; the standard's text is not "
                           "included.",
            },
            "import-ap": {"href": f"#{plan_uuid}",
                          "remarks": "The assessment plan is the policy set named by each run record's policy "
                                     "digest; it is described in back-matter."},
            "results": [result],
            "back-matter": {"resources": [{
                "uuid": plan_uuid,
                "title": "annexa policies and rule catalog",
                "description": "The policies (policies/*.yml) and rule catalog (rules/*.yml) whose digests each "
                               "run record in records.jsonl carries.",
            }]},
        }
    }
