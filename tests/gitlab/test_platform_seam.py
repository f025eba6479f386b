"""The platform seam: detection, neutral review states, the engine's platforms/needs gate, and ``annexa ci`` as one
orchestrator over ``platforms/github/`` and ``platforms/gitlab/``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from annexa.catalog import load_catalog
from annexa.ci import add_arguments
from annexa.facts import Facts
from annexa.model import Status
from annexa.platforms.applicability import applicability
from annexa.platforms.base import detect, neutral_review_state
from annexa.platforms.github import GitHubPlatform
from annexa.platforms.run import run
from tests.fakes.github import FakeGitHub
from tests.github.conftest import HEAD, PR_RULES, REPO
from tests.support import make_checkout


@pytest.mark.parametrize(("env", "found"), [
    ({"GITHUB_ACTIONS": "true"}, "github"), ({"GITLAB_CI": "true"}, "gitlab"), ({}, None),
    ({"GITLAB_CI": "false", "GITHUB_ACTIONS": "false"}, None),
])
def test_detect(env: dict[str, str], found: str | None) -> None:
    assert detect(env) == found


@pytest.mark.parametrize(("state", "neutral"), [
    ("APPROVED", "approved"), ("CHANGES_REQUESTED", "changes_requested"), ("COMMENTED", "commented"),
    ("DISMISSED", "dismissed"), ("requested_changes", "changes_requested"), ("reviewed", "commented"),
])
def test_neutral_review_states(state: str, neutral: str) -> None:
    assert neutral_review_state(state) == neutral


def test_gate_platform_and_needs() -> None:
    catalog = load_catalog()
    gitlab = Facts(platform="gitlab", checkout=None)
    gate = applicability(catalog["untrusted-checkout-blocked"], gitlab)
    assert gate is not None and (gate.status, gate.message) == (
        Status.NOT_APPLICABLE, "untrusted-checkout-blocked cannot be answered on GitLab: it applies to GitHub")
    gate = applicability(catalog["branch-protected"], gitlab)
    assert gate is not None and gate.status is Status.UNKNOWN and gate.evidence["need"] == "settings"
    gate = applicability(catalog["weights-owner-approved"], gitlab)
    assert gate is not None and gate.status is Status.UNKNOWN and gate.evidence["need"] == "pull_request"
    assert applicability(catalog["untrusted-checkout-blocked"], Facts(platform="local", checkout=None)) is None


def test_github_adapter_on_the_neutral_orchestrator(tmp_path: Path) -> None:
    make_checkout(tmp_path / "ws", {"README.md": "hi\n"})
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "opened", "number": 7,
                                 "pull_request": {"number": 7, "head": {"sha": HEAD}}}))
    with FakeGitHub() as fake:
        fake.add_token("tok", kind="admin")
        fake.add_repo(REPO, default_branch="main", visibility="private")
        fake.add_branch(REPO, "main")
        fake.add_ruleset("acme", {"name": "main-guard", "enforcement": "active",
                                  "rules": [{"type": "pull_request", "parameters": PR_RULES}], "bypass_actors": []},
                         org=True)
        fake.add_pull(REPO, 7, user="alice", head_sha=HEAD,
                      files=[{"filename": "README.md", "status": "modified", "patch": "@@ -1 +1 @@\n-a\n+hi"}])
        fake.add_review(REPO, 7, "bob", state="APPROVED")
        env = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": "pull_request",
               "GITHUB_EVENT_PATH": str(event), "GITHUB_API_URL": fake.base_url, "GITHUB_SERVER_URL": fake.origin,
               "GITHUB_WORKSPACE": str(tmp_path / "ws"), "RUNNER_TEMP": str(tmp_path / "runner"),
               "GITHUB_TOKEN": "tok"}
        platform = GitHubPlatform(env)
        reader = platform.change_collector()
        assert reader is not None
        read = reader.collect(7)
        assert read.pull_request is not None and [r.state for r in read.pull_request.reviews] == ["approved"]
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        for _ in range(2):
            outcome = run(platform, parser.parse_args([]), env)
        assert len(fake.comments(REPO, 7)) == 1
        found = {f.rule: f.status for f in outcome.report.findings}
        assert found["branch-protected"] is Status.PASS


def test_annexa_ci_runs_both_platforms_through_the_one_orchestrator(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import annexa.ci
    import annexa.platforms.run as platform_run

    seen: list[str] = []
    real = platform_run.run

    def spy(platform, args, env, today=None):  # type: ignore[no-untyped-def]
        seen.append(platform.name)
        return real(platform, args, env, today=today)

    monkeypatch.setattr(platform_run, "run", spy)
    make_checkout(tmp_path / "ws", {"README.md": "hi\n"})
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--output-dir", str(tmp_path / "out")])
    github = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": "push",
              "GITHUB_WORKSPACE": str(tmp_path / "ws")}
    gitlab = {"GITLAB_CI": "true", "CI_PROJECT_PATH": "acme/models", "CI_API_V4_URL": "http://127.0.0.1:9/api/v4",
              "CI_PROJECT_DIR": str(tmp_path / "ws"), "CI_PIPELINE_SOURCE": "push"}
    outcomes = [annexa.ci.run_ci(args, env) for env in (github, gitlab)]
    assert seen == ["github", "gitlab"]
    assert [o.report.run.platform for o in outcomes] == ["github", "gitlab"]
