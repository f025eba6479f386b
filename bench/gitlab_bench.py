"""API requests and wall time of one `annexa ci` merge request check against the fake GitLab.

The fake answers every request after a fixed latency (50 ms by default). The project (Premium) has a protected
main, approval settings, an approval rule, a push rule and an owning group; the merge request changes 300 files
(one of them a weight file) and has one approval from a group member; the runner's clone lacks the base commit, so
the config and policies are read from it through the repository files API. The first run creates the note; the
second finds it and keeps it (or edits it when the report changed), as every later pipeline on a merge request
does. Compare with bench/github_bench.py.

    python bench/gitlab_bench.py [--files 300] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fakes.gitlab import FakeGitLab, diff_for  # noqa: E402
from tests.gitlab.conftest import BASE, PROJECT, ci_env, seed  # noqa: E402

from annexa.ci import add_arguments  # noqa: E402
from annexa.platforms.run import run_ci  # noqa: E402

POLICY = """\
id: POL-BENCH
title: Bench policy (every rule that reads the GitLab API)
version: "1"
owner: Head of Engineering
approved_by: CISO
approved_on: 2026-06-01
review_interval_months: 12
statement: Every setting the GitLab API can answer is checked on each merge request.
controls: [A.8.4]
requirements:
  - {rule: branch-protected, severity: high, controls: [A.8.4]}
  - {rule: force-push-blocked, severity: high, controls: [A.8.4]}
  - {rule: approvals-required, severity: high, controls: [A.8.4], params: {min: 2}}
  - {rule: code-owner-review-required, severity: medium, controls: [A.8.4]}
  - {rule: stale-approvals-dismissed, severity: medium, controls: [A.8.4]}
  - {rule: author-approval-blocked, severity: medium, controls: [A.8.4]}
  - {rule: admins-cannot-bypass, severity: medium, controls: [A.8.4]}
  - {rule: signed-commits-required, severity: low, controls: [A.8.4]}
  - {rule: repository-not-public, severity: high, controls: [A.8.4]}
  - {rule: secret-push-protection-enabled, severity: medium, controls: [A.8.4]}
  - {rule: weights-owner-approved, severity: high, controls: [A.8.4]}
"""
CONFIG = 'policies: [policy]\nowners:\n  models: ["@acme/ml-model-owners"]\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.05)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name, FakeGitLab(latency=opts.latency) as fake:
        ws = Path(tmp_name) / "ws"
        (ws / "policy").mkdir(parents=True)
        (ws / "policy" / "p.yml").write_text(POLICY)
        (ws / ".annexa.yml").write_text(CONFIG)
        seed(fake)
        # the runner's shallow clone lacks the MR's base commit: config and policies come through the files API
        fake.add_files(PROJECT, BASE, {".annexa.yml": CONFIG, "policy/p.yml": POLICY})
        fake.set_push_rule(PROJECT, {"reject_unsigned_commits": True})
        diffs = [diff_for(f"src/m{i}.py", ["x = 1"], start=5) for i in range(opts.files - 1)]
        diffs.append(diff_for("models/w.safetensors", ["stub"], new=True))
        fake.add_mr(PROJECT, 7, diffs=diffs)
        fake.approve(PROJECT, 7, "olivia")
        ci = argparse.ArgumentParser()
        add_arguments(ci)
        for label in ("first run (creates the note)", "second run (finds the note)"):
            fake.clear_requests()
            start = time.perf_counter()
            outcome = run_ci(ci.parse_args(["--output-dir", str(Path(tmp_name) / "out")]), ci_env(fake, ws))
            wall = time.perf_counter() - start
            assert outcome is not None
            routes = Counter(r.route or r.path for r in fake.requests)
            print(f"{label}: {len(fake.requests)} requests, {wall:.2f} s wall, verdict {outcome.report.verdict}")
            for route, n in sorted(routes.items(), key=lambda kv: -kv[1]):
                print(f"  {n:3d}  {route}")
        print(f"notes on the MR: {len(fake.notes(PROJECT, 7))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
