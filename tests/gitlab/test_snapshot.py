"""``annexa settings snapshot --gitlab``: the live settings as a --settings file that load_snapshot reads back."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.cli import main
from annexa.collect.snapshot import load_snapshot
from tests.fakes.gitlab import FakeGitLab
from tests.gitlab.conftest import PROJECT, TOKEN


def test_snapshot_round_trips(fake: FakeGitLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANNEXA_GITLAB_TOKEN", TOKEN)
    out = tmp_path / "settings.json"
    assert main(["settings", "snapshot", "--gitlab", PROJECT, "--api-url", fake.url, "--out", str(out)]) == 0
    settings = load_snapshot(out)
    assert (settings.platform, settings.repository, settings.default_branch) == ("gitlab", PROJECT, "main")
    [main_branch] = settings.branches
    assert (main_branch.required_approvals.value, main_branch.required_approvals.source) == (
        2, "approval rule 'Two reviewers'")
    assert main_branch.signed_commits_required.value is False
    assert settings.secret_scanning.value is None and "CI job" in (settings.secret_scanning.reason or "")
    assert TOKEN not in out.read_text()


def test_snapshot_without_token_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANNEXA_GITLAB_TOKEN", raising=False)
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    assert main(["settings", "snapshot", "--gitlab", PROJECT, "--out", str(tmp_path / "s.json")]) == 2


def test_snapshot_writes_who_may_bypass_as_readable_labels(fake: FakeGitLab, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The bypass list is written as the labels a report shows (as in examples/settings.json), not as Python
    reprs of the collector's objects, and reads back to the same labels."""
    import json

    monkeypatch.setenv("ANNEXA_GITLAB_TOKEN", TOKEN)
    out = tmp_path / "settings.json"
    assert main(["settings", "snapshot", "--gitlab", PROJECT, "--api-url", fake.url, "--out", str(out)]) == 0
    branch = json.loads(out.read_text())["branches"]["main"]
    assert branch["protected"]["bypass"] == ["Maintainers (may unprotect)"]
    assert branch["deletion_blocked"]["bypass"] == ["Maintainers (web UI or API)"]
    assert "BypassActor(" not in out.read_text()
    [main_branch] = load_snapshot(out).branches
    assert main_branch.protected.bypass_labels == ["Maintainers (may unprotect)"]


def test_a_missing_project_names_the_status_once(fake: FakeGitLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """GitLab's message repeats the status ("404 Project Not Found"); the error says it once."""
    monkeypatch.setenv("ANNEXA_GITLAB_TOKEN", TOKEN)
    out = tmp_path / "s.json"
    assert main(["settings", "snapshot", "--gitlab", "acme/none", "--api-url", fake.url, "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "error: cannot read the settings of acme/none: project acme/none: HTTP 404 Project Not Found\n")
    assert not out.exists()


def test_an_offline_check_from_a_gitlab_snapshot_is_judged_as_gitlab(fake: FakeGitLab, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """``annexa check --settings`` with a GitLab snapshot: a rule GitLab cannot answer is not_applicable, as in
    ``annexa ci`` on GitLab, not unknown."""
    import json

    monkeypatch.setenv("ANNEXA_GITLAB_TOKEN", TOKEN)
    out = tmp_path / "settings.json"
    assert main(["settings", "snapshot", "--gitlab", PROJECT, "--api-url", fake.url, "--out", str(out)]) == 0
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("x = 1\n")
    report = tmp_path / "report.json"
    main(["check", str(repo), "--settings", str(out), "--format", "json", "--output", str(report)])
    findings = {f["rule"]: f for f in json.loads(report.read_text())["findings"]}
    scanning = findings["secret-scanning-enabled"]
    assert (scanning["status"], scanning["message"]) == (
        "not_applicable", "secret-scanning-enabled cannot be answered on GitLab: it applies to GitHub")
    assert findings["branch-protected"]["status"] == "pass"
