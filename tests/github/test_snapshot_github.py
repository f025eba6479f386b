"""``annexa settings snapshot --github``: the live settings as a --settings file, and a clear error when the
repository cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annexa.cli import main
from annexa.collect.snapshot import load_snapshot
from tests.fakes.github import FakeGitHub
from tests.github.conftest import REPO


def test_snapshot_of_a_repository(fake: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ANNEXA_GITHUB_TOKEN", "tok-admin")
    out = tmp_path / "s.json"
    assert main(["settings", "snapshot", "--github", REPO, "--api-url", fake.base_url, "--out", str(out)]) == 0
    assert capsys.readouterr().out == (f"annexa: wrote the settings of {REPO} (1 branches, 0 branch settings "
                                       f"unknown) to {out}\n")
    doc = json.loads(out.read_text())
    assert (doc["platform"], doc["default_branch"], doc["visibility"]["value"]) == ("github", "main", "private")
    settings = load_snapshot(out)
    assert [b.branch for b in settings.branches] == ["main"] and settings.secret_scanning.value is True
    assert "tok-admin" not in out.read_text()


def test_a_repository_that_cannot_be_read_is_an_error_not_an_empty_snapshot(
        fake: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ANNEXA_GITHUB_TOKEN", "tok-admin")
    out = tmp_path / "s.json"
    assert main(["settings", "snapshot", "--github", "acme/nope", "--api-url", fake.base_url,
                 "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "error: cannot read the settings of acme/nope: repository acme/nope: HTTP 404 Not Found\n")
    assert not out.exists()
