"""Run record bodies of the report JSON shape, generated for dashboard tests and the bench (seeded, repeatable)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

POLICIES = [("POL-SCP", "Source Code Protection Policy"), ("POL-SDLC", "Secure Development Policy"),
            ("POL-MAP", "Model Access Policy"), ("POL-DATA", "Training Data & Masking Policy"),
            ("POL-ISP", "Information Security Policy")]
RULES = {
    "POL-SCP": ["branch-protected", "force-push-blocked", "deletion-blocked", "pull-request-required",
                "approvals-required", "code-owner-review-required", "stale-approvals-dismissed",
                "author-approval-blocked", "admins-cannot-bypass", "status-checks-required",
                "signed-commits-required", "codeowners-valid", "sensitive-paths-owned", "repository-not-public"],
    "POL-SDLC": ["secret-scanning-enabled", "secret-push-protection-enabled", "no-secrets-in-change",
                 "workflow-permissions-scoped", "actions-pinned", "untrusted-checkout-blocked",
                 "script-injection-blocked", "security-checks-in-ci", "torch-load-unsafe", "unsafe-deserialization",
                 "yaml-unsafe-load", "tls-verification-disabled"],
    "POL-MAP": ["weights-in-lfs", "weights-lfs-attributes", "weights-codeowned", "weights-safe-format",
                "weights-not-public", "remote-code-disabled", "model-revision-pinned"],
    "POL-DATA": ["training-data-pii-free", "dataset-card-present"],
    "POL-ISP": ["policy-approved", "policy-reviewed", "waivers-valid"],
}
CONTROLS = {"POL-SCP": ["A.8.4", "A.8.32"], "POL-SDLC": ["A.8.25", "A.8.28"], "POL-MAP": ["A.5.15", "A.8.7"],
            "POL-DATA": ["A.8.11"], "POL-ISP": ["A.5.1"]}
NEEDS = ["GitHub token permission administration:read", "security_and_analysis is only shown to admins",
         "a readable file"]


def _rollup(statuses: list[str]) -> str:
    for s in ("fail", "unknown", "waived", "pass"):
        if s in statuses:
            return s
    return "not_applicable"


def record(repo: str, when: dt.datetime, rng: random.Random, fail_rate: float = 0.08,
           meta: dict[str, Any] | None = None, run_id: str | None = None) -> dict[str, Any]:
    """One full-repository run record of ``repo``."""
    findings: list[dict[str, Any]] = []
    policies = []
    by_control: dict[str, list[str]] = {}
    for pid, title in POLICIES:
        statuses = []
        for rule in RULES[pid]:
            roll = rng.random()
            status = ("fail" if roll < fail_rate else "unknown" if roll < fail_rate * 1.6
                      else "waived" if roll < fail_rate * 1.7 else "pass")
            statuses.append(status)
            evidence: dict[str, Any] = {}
            if status == "unknown":
                evidence["needs"] = rng.choice(NEEDS)
            if status == "waived":
                evidence["waiver"] = {"ticket": f"SEC-{rng.randint(1, 999)}", "approved_by": "@alice",
                                      "expires": (when.date() + dt.timedelta(days=rng.randint(1, 90))).isoformat()}
            findings.append({
                "rule": rule, "status": status, "severity": rng.choice(["critical", "high", "medium"]),
                "message": f"{rule} is {status} in {repo}", "location": {"path": "src/app.py", "line": 3}
                if status == "fail" else None, "fingerprint": f"{repo}:{rule}", "evidence": evidence,
                "controls": CONTROLS[pid], "policies": [pid], "introduced": None, "remediation": "",
            })
        status = _rollup(statuses)
        policies.append({"id": pid, "title": title, "status": status})
        for c in CONTROLS[pid]:
            by_control.setdefault(c, []).append(status)
    blocking = any(f["status"] == "fail" and f["severity"] in ("critical", "high") for f in findings)
    return {
        "schema": "annexa.report/v1",
        "run": {"id": run_id or f"{repo}@{when.isoformat()}", "started_at": when.isoformat(timespec="seconds"),
                "platform": "github", "repository": repo, "ref": "refs/heads/main", "commit": "ab" * 20,
                "pull_request": None, "meta": meta or {}},
        "verdict": "fail" if blocking else "pass",
        "fail_on": "high",
        "policies": policies,
        "controls": [{"id": c, "title": "", "status": _rollup(s)} for c, s in sorted(by_control.items())],
        "findings": findings,
    }


def org(repos: int, days: int, seed: int = 3) -> list[dict[str, Any]]:
    """``days`` daily scans of an org of ``repos`` repositories."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC)
    teams = ["ml-platform", "research", "infra", "apps"]
    out = []
    for i in range(repos):
        meta = {"team": teams[i % len(teams)], "topics": ["ml"] if i % 3 == 0 else ["service"],
                "visibility": "private" if i % 5 else "public"}
        for d in range(days):
            out.append(record(f"acme/repo-{i:05d}", start + dt.timedelta(days=d, minutes=i % 600), rng,
                              fail_rate=0.12 - 0.01 * d, meta=meta))
    return out
