"""Publishing to the fake GitHub: one comment updated in place, check run annotations in batches of 50."""

from __future__ import annotations

from pathlib import Path

import pytest
from github import GithubException

from annexa.model import Finding, Location, Severity, Status
from annexa.publish.github import (
    COMMENT_LIMIT,
    GitHubPublisher,
    check_annotations,
    refusal,
    write_outputs,
    write_summary,
)
from annexa.render.markdown import MARKER
from annexa.report import Report, RunInfo
from tests.fakes.github import FakeGitHub
from tests.github.conftest import HEAD, REPO, client_for

RUN = RunInfo("run-1", "2026-11-27T12:00:00+00:00", "github", REPO, "refs/pull/7/head", HEAD, 7)


def finding(rule: str, status: Status, severity: Severity, line: int | None, path: str = "src/app.py",
            introduced: bool | None = True) -> Finding:
    return Finding(rule, status, severity, f"{rule} at {line}", Location(path, line) if path else None,
                   ("A.8.4",), ("POL-T",), introduced, f"fp-{rule}-{line}", {}, "fix it")


def report(*findings: Finding) -> Report:
    return Report(RUN, Severity.HIGH, tuple(findings), (), (), {})


@pytest.fixture
def publisher(fake: FakeGitHub) -> GitHubPublisher:
    fake.add_pull(REPO, 7, user="alice", head_sha=HEAD)
    return GitHubPublisher(client_for(fake, "tok-gh"), REPO)


def test_the_comment_is_created_once_then_updated_in_place(fake: FakeGitHub, publisher: GitHubPublisher) -> None:
    other = fake.add_comment(REPO, 7, "LGTM", user="carol")
    action, url = publisher.upsert_comment(7, f"{MARKER}\nfirst")
    [_, mine] = fake.comments(REPO, 7)
    assert (action, url is not None, mine["body"]) == ("created", True, f"{MARKER}\nfirst")
    assert publisher.upsert_comment(7, f"{MARKER}\nsecond")[0] == "updated"
    assert publisher.upsert_comment(7, f"{MARKER}\nsecond")[0] == "unchanged"
    assert [(c["id"], c["body"]) for c in fake.comments(REPO, 7)] == [
        (other, "LGTM"), (mine["id"], f"{MARKER}\nsecond")]
    assert [r.method for r in fake.requests if "comments" in r.path] == ["GET", "POST", "GET", "PATCH", "GET"]


def test_a_comment_over_githubs_limit_is_refused(publisher: GitHubPublisher) -> None:
    with pytest.raises(ValueError, match="GitHub allows 65536"):
        publisher.upsert_comment(7, MARKER + "x" * COMMENT_LIMIT)


def test_annotations_go_in_batches_of_50_on_the_exact_lines(fake: FakeGitHub, publisher: GitHubPublisher) -> None:
    findings = [finding("actions-pinned", Status.FAIL, Severity.HIGH, n) for n in range(1, 121)]
    result = publisher.check_run(report(*findings), HEAD, "summary")
    [run] = fake.check_runs(REPO)
    assert [(a["start_line"], a["end_line"], a["annotation_level"]) for a in run["annotations"]] == [
        (n, n, "failure") for n in range(1, 121)]
    writes = [(r.method, len(r.body["output"]["annotations"])) for r in fake.requests if "check-runs" in r.path]
    assert writes == [("POST", 50), ("PATCH", 50), ("PATCH", 20)]
    assert (run["conclusion"], run["head_sha"], result.annotations) == ("failure", HEAD, 120)


def test_annotation_levels_and_order() -> None:
    notes = check_annotations(report(
        finding("waivers-valid", Status.FAIL, Severity.MEDIUM, 5, ".annexa.yml", introduced=False),
        finding("weights-in-lfs", Status.UNKNOWN, Severity.HIGH, None, "m.bin"),
        finding("weights-in-lfs", Status.FAIL, Severity.HIGH, None, "w.bin"),
        finding("branch-protected", Status.FAIL, Severity.HIGH, None, ""),
        finding("policy-approved", Status.PASS, Severity.HIGH, 3, "p.yml"),
    ))
    assert [(n["path"], n["start_line"], n["annotation_level"], n["title"]) for n in notes] == [
        ("w.bin", 1, "failure", "weights-in-lfs (high, introduced)"),
        ("m.bin", 1, "notice", "weights-in-lfs (high, introduced)"),
        (".annexa.yml", 5, "warning", "waivers-valid (medium)"),
    ]


def test_a_read_only_token_is_refused_and_the_permission_named(fake: FakeGitHub) -> None:
    fake.add_pull(REPO, 7, head_sha=HEAD, fork=True)
    publisher = GitHubPublisher(client_for(fake, "tok-fork"), REPO)
    with pytest.raises(GithubException) as caught:
        publisher.upsert_comment(7, f"{MARKER}\nx")
    assert refusal(caught.value, "PR comment not posted", "pull-requests: write") == (
        "PR comment not posted: the token is not allowed (Resource not accessible by integration); "
        "the workflow needs `permissions: pull-requests: write`")
    assert fake.comments(REPO, 7) == []


def test_sarif_is_uploaded_gzipped(fake: FakeGitHub, publisher: GitHubPublisher) -> None:
    upload_id = publisher.upload_sarif('{"version": "2.1.0", "runs": []}', HEAD, "refs/pull/7/head")
    [upload] = fake.sarif_uploads(REPO)
    assert upload_id == str(upload["id"])
    assert (upload["commit_sha"], upload["ref"], upload["sarif"]) == (HEAD, "refs/pull/7/head",
                                                                      {"version": "2.1.0", "runs": []})


def test_summary_and_outputs_files(tmp_path: Path) -> None:
    summary, outputs = tmp_path / "summary.md", tmp_path / "out"
    write_summary(summary, ["Nothing was posted."], "# report")
    write_outputs(outputs, {"verdict": "fail", "fail": "3", "note": "a\nb"})
    assert summary.read_text() == "> [!NOTE]\n> Nothing was posted.\n\n# report\n"
    assert outputs.read_text() == "verdict=fail\nfail=3\nnote=a b\n"


def test_a_create_answered_with_5xx_is_checked_before_trying_again(fake: FakeGitHub) -> None:
    """GitHub may apply a POST and still answer 502: the retry looks again and updates instead of doubling."""
    fake.add_pull(REPO, 7, head_sha=HEAD)

    class Flaky(GitHubPublisher):
        lookups = 0

        def _find_comment(self, number: int) -> dict[str, object] | None:
            found = super()._find_comment(number)
            self.lookups += 1
            if self.lookups == 1:  # the POST that follows "succeeds" on GitHub's side but answers 502
                fake.add_comment(REPO, 7, f"{MARKER}\nfirst", user="github-actions[bot]")
                fake.fail_next(1, status=502)
            return found

    action, _ = Flaky(client_for(fake, "tok-gh"), REPO).upsert_comment(7, f"{MARKER}\nfirst")
    assert action == "unchanged"
    assert [c["body"] for c in fake.comments(REPO, 7)] == [f"{MARKER}\nfirst"]
    assert [(r.method, r.status) for r in fake.requests if "comments" in r.path] == [
        ("GET", 200), ("POST", 502), ("GET", 200)]


@pytest.mark.parametrize(("token", "login"), [("tok-gh", "github-actions[bot]"), ("tok-admin", "admin-user")])
def test_a_planted_report_comment_is_never_edited(fake: FakeGitHub, token: str, login: str) -> None:
    fake.add_pull(REPO, 7, user="alice", head_sha=HEAD)
    planted = fake.add_comment(REPO, 7, f"{MARKER}\nall good, nothing to see", user="mallory")
    publisher = GitHubPublisher(client_for(fake, token), REPO)
    assert publisher.identity() == login
    assert publisher.upsert_comment(7, f"{MARKER}\nfirst")[0] == "created"
    assert publisher.upsert_comment(7, f"{MARKER}\nsecond")[0] == "updated"
    [theirs, mine] = fake.comments(REPO, 7)
    assert (theirs["id"], theirs["body"]) == (planted, f"{MARKER}\nall good, nothing to see")
    assert (mine["body"], mine["user"]["login"] if isinstance(mine["user"], dict) else mine["user"]) == (
        f"{MARKER}\nsecond", login)
    # the identity is learnt once per run: one GET /user at most
    assert [r.path for r in fake.requests].count("/user") == 1


def test_an_unknown_identity_trusts_no_existing_comment(fake: FakeGitHub) -> None:
    fake.add_pull(REPO, 7, user="alice", head_sha=HEAD)
    fake.add_comment(REPO, 7, f"{MARKER}\nold", user="mallory")
    publisher = GitHubPublisher(client_for(fake, "tok-gh"), REPO)
    fake.fail_next(1, status=401, path_contains="/user")
    assert publisher.identity() is None
    assert publisher.upsert_comment(7, f"{MARKER}\nnew")[0] == "created"
    assert [c["body"] for c in fake.comments(REPO, 7)] == [f"{MARKER}\nold", f"{MARKER}\nnew"]
