"""The org-scan matrix workflow docs/dashboard.md tells users to copy passes annexa's own workflow rules and keeps
each shard's state file between runs (what makes a scan incremental)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from annexa.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "dashboard.md"


def _github_matrix() -> str:
    return DOC.read_text(encoding="utf-8").split("A GitHub Actions matrix:")[1].split("```yaml\n")[1].split("```")[0]


def test_the_documented_matrix_caches_the_state_and_scopes_the_token(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    text = _github_matrix()
    doc = yaml.safe_load(text)
    assert doc["permissions"] == {"contents": "read"}
    scan = doc["jobs"]["scan"]
    assert scan["strategy"]["fail-fast"] is False
    cache = scan["steps"][0]
    assert cache["uses"].startswith("actions/cache@")
    assert cache["with"]["path"] == ".annexa"
    assert cache["with"]["restore-keys"] == "org-scan-${{ matrix.shard }}-"
    workflow = tmp_path / ".github" / "workflows" / "scan.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: scan\non: {schedule: [{cron: '0 3 * * *'}]}\n" + text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    main(["check", str(tmp_path), "--format", "json"])
    found = {(f["rule"], f["status"]) for f in json.loads(capsys.readouterr().out)["findings"]
             if f["rule"] in ("workflow-permissions-scoped", "script-injection-blocked", "actions-pinned")}
    # the placeholders FULL_COMMIT_SHA are the only thing left for the user to fill in
    assert found == {("workflow-permissions-scoped", "pass"), ("script-injection-blocked", "pass"),
                     ("actions-pinned", "fail")}
