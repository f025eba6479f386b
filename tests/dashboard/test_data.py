"""The dashboard's data: last run carried forward, changes between the last two runs, waivers, unknowns."""

from __future__ import annotations

import datetime as dt
from typing import Any

from annexa.dashboard import build_data, render_dashboard

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def run(repo: str, when: str, findings: list[dict[str, Any]], pr: int | None = None) -> dict[str, Any]:
    statuses = {f["status"] for f in findings}
    policy = "fail" if "fail" in statuses else "unknown" if "unknown" in statuses else "pass"
    return {
        "run": {"id": f"{repo}-{when}", "started_at": when, "repository": repo, "pull_request": pr,
                "meta": {"team": "ml", "topics": ["llm"], "visibility": "private"}},
        "verdict": "fail" if policy == "fail" else "pass",
        "fail_on": "high",
        "policies": [{"id": "POL-MAP", "title": "Model Access", "status": policy}],
        "controls": [{"id": "A.8.7", "title": "Protection against malware", "status": policy}],
        "findings": findings,
    }


def finding(rule: str, status: str, fp: str, severity: str = "high", **evidence: Any) -> dict[str, Any]:
    return {"rule": rule, "status": status, "severity": severity, "message": f"{rule} {status}",
            "location": {"path": "m/w.pt", "line": None}, "fingerprint": fp, "evidence": evidence}


RECORDS = [
    run("acme/a", "2026-11-20T08:00:00+00:00", [finding("weights-in-lfs", "pass", "p1")]),
    run("acme/b", "2026-11-20T09:00:00+00:00", [finding("weights-in-lfs", "fail", "f1")]),
    run("acme/a", "2026-11-21T08:00:00+00:00", [finding("weights-in-lfs", "fail", "f2")]),
    run("acme/b", "2026-11-21T09:00:00+00:00", [
        finding("weights-in-lfs", "waived", "f1", waiver={"expires": "2026-12-10", "approved_by": "@al",
                                                        "ticket": "SEC-1"}),
        finding("weights-not-public", "unknown", "u1", needs="repository visibility"),
    ]),
    run("acme/a", "2026-11-22T08:00:00+00:00", [finding("weights-in-lfs", "fail", "pr")], pr=7),
]


def test_last_full_run_of_each_repository_counts_and_pull_request_runs_do_not() -> None:
    data = build_data(RECORDS, NOW)
    a, b = data["repos"]
    assert (a["name"], a["verdict"], a["p"], a["blocking"], a["runs"]) == ("acme/a", "fail", [0], 1, 2)
    assert (b["name"], b["verdict"], b["p"], b["blocking"], b["unknown"], b["waived"]) == (
        "acme/b", "pass", [1], 0, 1, 1)
    assert data["rules"] == ["weights-in-lfs", "weights-not-public"]
    assert b["r"] == [2, 1]
    assert (a["team"], a["topics"], a["visibility"]) == ("ml", ["llm"], "private")


def test_trend_carries_each_repository_forward_per_day() -> None:
    trend = build_data(RECORDS, NOW)["trend"]
    assert trend["days"] == ["2026-11-20", "2026-11-21"]
    assert trend["repos"] == [2, 2]
    assert trend["overall"] == [50.0, 50.0]
    assert trend["policies"] == [[50.0], [0.0]]


def test_changes_waivers_and_unknowns() -> None:
    data = build_data(RECORDS, NOW)
    changes = data["changes"]
    assert [row[:2] for row in changes["new"]] == [["acme/a", "weights-in-lfs"]]
    assert [row[:2] for row in changes["fixed"]] == [["acme/b", "weights-in-lfs"]]
    assert changes["regressed"] == [["acme/a", "POL-MAP", "pass", "fail", "2026-11-21T08:00:00+00:00"]]
    assert data["waivers"] == [["acme/b", "weights-in-lfs", "m/w.pt", "2026-12-10", 13, "@al", "SEC-1"]]
    assert data["unknowns"] == [{"needs": "repository visibility", "count": 1, "repos": 1,
                                 "rules": ["weights-not-public"], "examples": ["acme/b"]}]


def test_repository_text_cannot_close_the_data_script() -> None:
    hostile = run("acme/</script><script>alert(1)</script>", "2026-11-20T08:00:00+00:00",
                  [finding("weights-in-lfs", "fail", "x")])
    page = render_dashboard(build_data([hostile], NOW))
    assert "</script><script>alert(1)" not in page
    assert page.count("<script") == 2
    assert "connect-src 'none'" in page and "default-src 'none'" in page
