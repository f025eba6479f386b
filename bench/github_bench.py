"""API requests and wall time of one `annexa ci` pull request check against the fake GitHub.

The fake answers every request after a fixed latency (50 ms by default, roughly a real round trip to
api.github.com). The repository has classic protection, an organisation ruleset, a repository ruleset in evaluate
mode, CODEOWNERS and an owning team; the pull request changes 300 files (one of them a weight file) and has two
reviews. Runs once with the Actions GITHUB_TOKEN and once with an admin token, then prints which requests were
made, and compares the count with OpenSSF Scorecard's ~70 requests per repository. The second run finds the
first run's comment and updates it, as every later run on a pull request does.

    python bench/github_bench.py [--files 300] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.github import FakeGitHub  # noqa: E402

from annexa.ci import add_arguments, run_ci  # noqa: E402

REPO = "acme/models"
HEAD = "c0ffee" + "0" * 34
SCORECARD = 70
POLICY = """\
id: POL-BENCH
title: Bench policy (every rule that reads the GitHub API)
version: "1"
owner: Head of Engineering
approved_by: CISO
approved_on: 2026-06-01
review_interval_months: 12
statement: Every settings rule and the pull request rule, so the bench collects everything annexa ci can read.
controls: [A.8.4, A.8.32]
requirements:
"""
RULES = (
    "branch-protected", "force-push-blocked", "deletion-blocked", "pull-request-required", "approvals-required",
    "code-owner-review-required", "stale-approvals-dismissed", "author-approval-blocked", "admins-cannot-bypass",
    "status-checks-required", "signed-commits-required", "codeowners-valid", "repository-not-public",
    "secret-scanning-enabled", "secret-push-protection-enabled", "weights-not-public", "weights-owner-approved",
)  # fmt: skip


def workspace(root: Path, files: int) -> None:
    """A checkout with the PR's files, CODEOWNERS, config and the bench policy."""
    (root / "policy").mkdir(parents=True)
    (root / "policy" / "bench.yml").write_text(
        POLICY + "".join(f"  - {{rule: {r}, severity: high, controls: [A.8.4]}}\n" for r in RULES))
    (root / ".annexa.yml").write_text(
        'policies: [policy]\nowners:\n  models: ["@acme/ml-model-owners"]\n  security: ["@acme/security"]\n')
    (root / ".github").mkdir()
    (root / ".github" / "CODEOWNERS").write_text("* @acme/dev\n/models/ @acme/ml-model-owners\n")
    (root / "models").mkdir()
    (root / "models" / "llm.safetensors").write_text("version https://git-lfs.github.com/spec/v1\n")
    (root / "src").mkdir()
    for i in range(files - 1):
        (root / "src" / f"m{i:04d}.py").write_text(f"def f{i}():\n    return {i}\n")


def seed(fake: FakeGitHub, files: int) -> None:
    fake.add_token("tok-gh", kind="github_token")
    fake.add_token("tok-admin", kind="admin")
    fake.add_repo(REPO, security_and_analysis={"secret_scanning": "enabled",
                                               "secret_scanning_push_protection": "enabled"})
    fake.add_branch(REPO, "main")
    fake.set_classic_protection(REPO, "main", {
        "required_pull_request_reviews": {"required_approving_review_count": 1, "dismiss_stale_reviews": True},
        "required_status_checks": {"strict": True, "contexts": ["test"]}, "enforce_admins": True})
    fake.add_ruleset("acme", {"name": "main-guard", "rules": [{"type": "non_fast_forward"}, {"type": "deletion"}]},
                     org=True)
    fake.add_ruleset(REPO, {"name": "signing-trial", "enforcement": "evaluate",
                            "rules": [{"type": "required_signatures"}]})
    fake.add_team("acme", "ml-model-owners", members=["bob"])
    fake.set_codeowners_errors(REPO, [])
    changed = [{"filename": "models/llm.safetensors", "status": "modified"}]
    changed += [{"filename": f"src/m{i:04d}.py", "status": "added", "patch": f"@@ -0,0 +1,2 @@\n+def f{i}():\n+    x"}
                for i in range(files - 1)]
    fake.add_pull(REPO, 7, user="alice", head_sha=HEAD, files=changed)
    fake.add_review(REPO, 7, "carol", "COMMENTED")
    fake.add_review(REPO, 7, "bob", "APPROVED")


def one_run(fake: FakeGitHub, tmp: Path, token: str) -> tuple[float, Counter[str], int]:
    event = tmp / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "number": 7,
                                 "pull_request": {"number": 7, "head": {"sha": HEAD}}}))
    env = {"GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_API_URL": fake.base_url, "GITHUB_WORKSPACE": str(tmp / "ws"), "RUNNER_TEMP": str(tmp / "rt"),
           "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"), "GITHUB_OUTPUT": str(tmp / "out"),
           "ANNEXA_GITHUB_TOKEN": token}
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    fake.clear_requests()
    start = time.perf_counter()
    outcome = run_ci(parser.parse_args(["--upload-sarif"]), env)
    wall = time.perf_counter() - start
    routes = Counter((r.route or f"{r.method} {r.path}") + ("" if r.status < 400 else f" ({r.status})")
                     for r in fake.requests)
    return wall, routes, outcome.exit_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.05)
    opts = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp_name, FakeGitHub(latency=opts.latency) as fake:
        tmp = Path(tmp_name)
        workspace(tmp / "ws", opts.files)
        seed(fake, opts.files)
        for label, token in (("GITHUB_TOKEN", "tok-gh"), ("admin token", "tok-admin")):
            results[label] = one_run(fake, tmp, token)
    print(f"annexa ci on a {opts.files}-file pull request, fake GitHub with {opts.latency * 1000:.0f} ms per request\n")
    print("| token | requests | wall time | requests per 50 ms of latency | vs Scorecard (~70 per repository) |")
    print("|---|---:|---:|---:|---:|")
    for label, (wall, routes, _) in results.items():
        total = sum(routes.values())
        print(f"| {label} | {total} | {wall:.2f} s | {total * opts.latency:.2f} s | "
              f"{total / SCORECARD:.0%} |")
    names = sorted(set().union(*(r for _, r, _ in results.values())))
    print("\n| request | " + " | ".join(results) + " |")
    print("|---|" + "---:|" * len(results))
    for name in names:
        print(f"| `{name}` | " + " | ".join(str(r.get(name, 0)) for _, r, _ in results.values()) + " |")


if __name__ == "__main__":
    main()
