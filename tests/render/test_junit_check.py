"""``annexa check --format junit``: the same JUnit renderer as GitLab's test-report artifact, as a golden file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from annexa.cli import main
from tests.support import make_checkout

GOLDEN = Path(__file__).parent / "golden" / "check.junit.xml"
POLICY = """\
id: POL-J
title: JUnit
version: "1"
owner: CISO
approved_by: CEO
approved_on: 2026-06-01
review_interval_months: 12
statement: Weights live in LFS, branches are protected, code owners are valid.
controls: [A.8.4]
requirements:
  - {rule: weights-in-lfs, severity: critical}
  - {rule: branch-protected, severity: high}
  - {rule: codeowners-valid, severity: medium}
  - {rule: weights-owner-approved, severity: high}
"""


def _normalised(xml: str) -> str:
    return re.sub(r'timestamp="[^"]*"', 'timestamp="T"', xml)


def test_check_format_junit_matches_golden(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           request: pytest.FixtureRequest) -> None:
    repo = tmp_path / "demo"
    make_checkout(repo, {".annexa.yml": "policies: [policy]\n", "policy/p.yml": POLICY,
                         "models/llm.safetensors": b"\x00\x01raw", "CODEOWNERS": "* @acme/owners\n"})
    assert main(["check", str(repo), "--format", "junit"]) == 1
    out = _normalised(capsys.readouterr().out)
    if request.config.getoption("--update-golden"):
        GOLDEN.write_text(out, encoding="utf-8")
    assert out == GOLDEN.read_text(encoding="utf-8")


def test_check_junit_file_is_the_gitlab_artifact_format(tmp_path: Path) -> None:
    """``--output`` writes the same document (GitLab's ``artifacts: reports: junit`` reads it)."""
    from annexa.platforms.gitlab import GitLabPlatform
    from annexa.platforms.gitlab.publish import ARTIFACTS

    assert "junit" in GitLabPlatform.artifact_formats and ARTIFACTS["junit"] == "annexa-junit.xml"
    repo = tmp_path / "demo"
    make_checkout(repo, {".annexa.yml": "policies: [policy]\n", "policy/p.yml": POLICY,
                         "models/llm.safetensors": b"\x00\x01raw", "CODEOWNERS": "* @acme/owners\n"})
    out = tmp_path / "annexa-junit.xml"
    assert main(["check", str(repo), "--format", "junit", "--output", str(out)]) == 1
    assert _normalised(out.read_text(encoding="utf-8")) == GOLDEN.read_text(encoding="utf-8")
