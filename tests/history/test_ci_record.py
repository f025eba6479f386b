"""What ``annexa ci`` leaves: the record artifact (GitHub and GitLab context) and, with a store, the record."""

from __future__ import annotations

import argparse
from pathlib import Path

from annexa.history.cli import after_ci, run_context
from annexa.history.record import read_artifact
from annexa.history.store import HistoryStore
from tests.history.common import report

GITHUB = {"GITHUB_ACTOR": "octocat", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_RUN_ID": "77",
          "GITHUB_RUN_ATTEMPT": "2", "CI": "true"}
GITLAB = {"GITLAB_USER_LOGIN": "alice", "CI_PIPELINE_SOURCE": "merge_request_event", "CI_PIPELINE_ID": "9",
          "CI_JOB_ID": "123", "CI": "true"}


def test_run_context_reads_github_and_gitlab() -> None:
    github, gitlab = run_context(GITHUB), run_context(GITLAB)
    assert (github.actor, github.trigger, github.platform_run_id) == ("octocat", "pull_request", "github:77/2")
    assert (gitlab.actor, gitlab.trigger, gitlab.platform_run_id) == ("alice", "merge_request_event", "gitlab:9/123")
    assert github.catalog_digest is not None and github.catalog_digest.startswith("sha256:")


def test_after_ci_writes_the_artifact_and_records(tmp_path: Path, store_url: str) -> None:
    args = argparse.Namespace(output_dir=tmp_path / "out", config=None, signing_key=None)
    messages = after_ci(report("ci-1"), store_url, args, GITHUB)
    artifact = tmp_path / "out" / "annexa-record.json"
    assert messages == [f"annexa: run record written to {artifact}",
                        "annexa: recorded run ci-1 as record 1 of acme/models"]
    body = read_artifact(artifact)
    assert body["context"]["platform_run_id"] == "github:77/2"
    assert HistoryStore(store_url).append(body).duplicate  # importing the artifact later adds nothing twice


def test_after_ci_without_a_store_only_writes_the_artifact(tmp_path: Path) -> None:
    args = argparse.Namespace(output_dir=None, config=None, signing_key=None)
    [message] = after_ci(report("ci-2"), None, args, {**GITLAB, "RUNNER_TEMP": str(tmp_path)})
    assert message == f"annexa: run record written to {tmp_path / 'annexa' / 'annexa-record.json'}"
