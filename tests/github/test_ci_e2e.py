"""End to end: ``annexa ci`` with an Actions environment and a real webhook payload against the fake GitHub."""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from annexa.catalog import builtin_dir, load_catalog, load_policies
from annexa.ci import ActionsContext, CiOutcome, add_arguments, run_ci
from annexa.cli import main as cli_main
from annexa.errors import AnnexaError
from annexa.model import Location, Status
from annexa.render.markdown import MARKER
from tests.content.common import fake_keys
from tests.fakes.github import OCTOKIT_CACHE, FakeGitHub, load_webhook_example
from tests.github.conftest import HEAD, PR_RULES, REPO
from tests.support import TODAY, git_commit_all, make_checkout

needs_examples = pytest.mark.skipif(not (OCTOKIT_CACHE / "webhooks-examples").is_dir(),
                                    reason="run tests/fakes/fetch_specs.sh for @octokit/webhooks-examples")

POLICY = """\
id: POL-T
title: Model change control
version: "1"
owner: Head of ML
approved_by: CISO
approved_on: 2026-06-01
review_interval_months: 12
statement: Weights and the branches they ship from are protected, and model owners approve weight changes.
controls: [A.8.4, A.8.32]
requirements:
  - {rule: branch-protected, severity: high, controls: [A.8.4]}
  - {rule: approvals-required, severity: high, controls: [A.8.32], params: {min: 2}}
  - {rule: admins-cannot-bypass, severity: medium, controls: [A.8.4]}
  - {rule: weights-owner-approved, severity: high, controls: [A.8.32]}
  - {rule: waivers-valid, severity: medium, controls: [A.5.36]}
  - {rule: secret-scanning-enabled, severity: medium, controls: [A.8.12]}
"""
CONFIG = """\
policies: [policy]
owners:
  models: ["@acme/ml-model-owners"]
waivers:
  - rule: weights-in-lfs
    justification: legacy checkpoint, moving to LFS in ML-12
    risk: low
    requested_by: "@bob"
    approved_by: "@bob"
    ticket: ML-12
    expires: 2026-12-31
"""
WAIVER_LINE = 5
WEIGHT = "models/llm.safetensors"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    make_checkout(tmp_path / "ws", {"policy/model-change.yml": POLICY, ".annexa.yml": CONFIG,
                                    WEIGHT: b"version https://git-lfs.github.com/spec/v1\n", "README.md": "hi\n"})
    return tmp_path


def seed(fake: FakeGitHub, fork: bool = False) -> None:
    fake.add_ruleset("acme", {"name": "main-guard", "enforcement": "active",
                              "rules": [{"type": "pull_request", "parameters": PR_RULES}],
                              "bypass_actors": []}, org=True)
    fake.add_team("acme", "ml-model-owners", members=["bob"])
    fake.add_pull(REPO, 7, user="alice", head_sha=HEAD, fork=fork, files=[
        {"filename": WEIGHT, "status": "modified", "patch": "@@ -1 +1 @@\n-old\n+new"},
        {"filename": ".annexa.yml", "status": "modified", "patch": "@@ -4,0 +5,2 @@\n+  - rule: weights-in-lfs\n+x"},
    ])


def event_file(tmp: Path, event: str, action: str, fork: bool = False) -> Path:
    """A real @octokit/webhooks-examples payload, pointed at acme/models PR #7."""
    payload: dict[str, Any] = load_webhook_example(action, event)
    pull = payload["pull_request"]
    payload["number"] = pull["number"] = 7
    pull["head"]["sha"] = HEAD
    pull["base"]["ref"] = "main"
    payload["repository"]["full_name"] = REPO
    pull["head"]["repo"]["full_name"] = "mallory/models" if fork else REPO
    path = tmp / f"{event}.{action}.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def actions_env(tmp: Path, fake: FakeGitHub, token: str, event: str, event_path: Path) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path), "GITHUB_API_URL": fake.base_url, "GITHUB_SERVER_URL": fake.origin,
        "GITHUB_WORKSPACE": str(tmp / "ws"), "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "GITHUB_OUTPUT": str(tmp / "outputs"), "RUNNER_TEMP": str(tmp / "runner"), "GITHUB_RUN_ID": "4242",
        "GITHUB_SHA": "m" * 40, "GITHUB_REF": "refs/pull/7/merge", "GITHUB_TOKEN": token,
    }


def ci(env: Mapping[str, str], *argv: str) -> CiOutcome:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run_ci(parser.parse_args(list(argv)), env, today=TODAY)


def statuses(outcome: CiOutcome) -> dict[str, Status]:
    return {f.rule: f.status for f in outcome.report.findings if f.rule != "waivers-valid"}


def everything_written(tmp: Path, fake: FakeGitHub, outcome: CiOutcome) -> str:
    texts = [*outcome.messages, json.dumps(outcome.report.to_json())]
    texts += [p.read_text(encoding="utf-8") for p in tmp.rglob("*") if p.is_file() and "ws" not in p.parts]
    texts += [c["body"] for c in fake.comments(REPO, 7)] + [json.dumps(r) for r in fake.check_runs(REPO)]
    return "\n".join(texts)


@needs_examples
def test_first_run_comments_and_annotates_second_run_updates_the_comment(workspace: Path, fake: FakeGitHub) -> None:
    seed(fake)
    first = ci(actions_env(workspace, fake, "tok-admin", "pull_request", event_file(workspace, "pull_request",
                                                                                      "opened")))
    [comment] = fake.comments(REPO, 7)
    [run] = fake.check_runs(REPO)
    assert comment["body"].startswith(MARKER)
    assert statuses(first)["weights-owner-approved"] is Status.FAIL
    assert (run["head_sha"], run["conclusion"], first.exit_code) == (HEAD, "failure", 1)
    assert sorted((a["path"], a["start_line"], a["annotation_level"]) for a in run["annotations"]) == [
        (".annexa.yml", WAIVER_LINE, "warning"), (WEIGHT, 1, "failure")]

    fake.add_review(REPO, 7, "bob", "APPROVED", commit_id=HEAD)
    second = ci(actions_env(workspace, fake, "tok-admin", "pull_request_review",
                            event_file(workspace, "pull_request_review", "submitted")))
    [updated] = fake.comments(REPO, 7)
    assert updated["id"] == comment["id"] and updated["body"] != comment["body"]
    assert statuses(second)["weights-owner-approved"] is Status.PASS
    assert f"PR comment updated: {fake.origin}/{REPO}/pull/7#issuecomment-{comment['id']}" in "\n".join(
        second.messages)
    assert [r.method for r in fake.requests if r.path == f"/repos/{REPO}/issues/7/comments"] == [
        "GET", "POST", "GET"]


@needs_examples
@pytest.mark.parametrize(("token", "expected"), [
    ("tok-admin", {"branch-protected": Status.PASS, "approvals-required": Status.PASS,
                   "admins-cannot-bypass": Status.PASS, "secret-scanning-enabled": Status.PASS,
                   "weights-owner-approved": Status.FAIL}),
    ("tok-gh", {"branch-protected": Status.PASS, "approvals-required": Status.PASS,
                "admins-cannot-bypass": Status.UNKNOWN, "secret-scanning-enabled": Status.UNKNOWN,
                "weights-owner-approved": Status.FAIL}),
])
def test_github_token_versus_admin_token(workspace: Path, fake: FakeGitHub, token: str,
                                         expected: dict[str, Status]) -> None:
    seed(fake)
    outcome = ci(actions_env(workspace, fake, token, "pull_request", event_file(workspace, "pull_request", "opened")))
    assert {rule: statuses(outcome)[rule] for rule in expected} == expected
    needs = {f.rule: f.evidence.get("needs") for f in outcome.report.findings if f.status is Status.UNKNOWN}
    if token == "tok-gh":
        assert needs["admins-cannot-bypass"] == (
            "the bypass list of org ruleset 'main-guard' (write access to the repository (GitHub shows a "
            "ruleset's bypass_actors only then))")


@needs_examples
def test_fork_pull_request_gets_summary_sarif_and_exit_code_only(workspace: Path, fake: FakeGitHub) -> None:
    seed(fake, fork=True)
    env = actions_env(workspace, fake, "tok-fork", "pull_request",
                      event_file(workspace, "pull_request", "opened", fork=True))
    outcome = ci(env, "--upload-sarif")
    assert (fake.comments(REPO, 7), fake.check_runs(REPO), fake.sarif_uploads(REPO)) == ([], [], [])
    assert [r.path for r in fake.requests if r.method != "GET"] == ["/graphql"]
    summary = (workspace / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("> [!NOTE]\n> Pull request #7 comes from a fork: GitHub gives its workflow a read-only")
    assert MARKER in summary
    sarif = json.loads((workspace / "runner" / "annexa" / "annexa.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    assert outcome.exit_code == 1
    outputs = (workspace / "outputs").read_text(encoding="utf-8").splitlines()
    assert "verdict=fail" in outputs and "comment-url=" in outputs


@needs_examples
@pytest.mark.parametrize(("change", "note"), [
    ({"state": "closed"}, "Pull request #7 is closed, so the report was not posted to it."),
    ({"state": "closed", "merged": True}, "Pull request #7 is merged, so the report was not posted to it."),
    (None, "Pull request #7 no longer exists, so nothing was posted to it."),
])
def test_closed_merged_or_deleted_pull_request(workspace: Path, fake: FakeGitHub, change: dict[str, Any] | None,
                                               note: str) -> None:
    seed(fake)
    if change is None:
        fake.delete_pull(REPO, 7)
    else:
        fake.set_pull(REPO, 7, **change)
    outcome = ci(actions_env(workspace, fake, "tok-gh", "pull_request",
                             event_file(workspace, "pull_request", "opened")))
    assert (fake.comments(REPO, 7) if change else [], fake.check_runs(REPO)) == ([], [])
    assert f"annexa: {note}" in outcome.messages


@needs_examples
def test_archived_repository_posts_nothing(workspace: Path, fake: FakeGitHub) -> None:
    fake.add_repo("acme/old", archived=True)
    fake.add_branch("acme/old", "main")
    fake.add_pull("acme/old", 7, head_sha=HEAD)
    env = actions_env(workspace, fake, "tok-admin", "pull_request", event_file(workspace, "pull_request", "opened"))
    outcome = ci({**env, "GITHUB_REPOSITORY": "acme/old"})
    assert (fake.comments("acme/old", 7), fake.check_runs("acme/old")) == ([], [])
    assert "annexa: The repository is archived (read-only), so no comment or check run was posted." in outcome.messages


@needs_examples
@pytest.mark.parametrize("token", ["tok-admin", "tok-gh", "tok-fork"])
def test_the_token_never_appears_in_any_output(workspace: Path, fake: FakeGitHub, token: str) -> None:
    seed(fake, fork=token == "tok-fork")
    fake.fail_next(1, status=502)
    env = actions_env(workspace, fake, token, "pull_request", event_file(workspace, "pull_request", "opened"))
    outcome = ci(env, "--upload-sarif")
    assert token not in everything_written(workspace, fake, outcome)


def test_no_token_still_checks_the_checkout(workspace: Path, tmp_path: Path) -> None:
    env = {"GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": "push", "GITHUB_WORKSPACE": str(workspace / "ws"),
           "RUNNER_TEMP": str(tmp_path / "runner")}
    outcome = ci(env)
    assert statuses(outcome)["branch-protected"] is Status.UNKNOWN
    assert "annexa: No GitHub token was given, so settings were not read and nothing was posted." in outcome.messages


def test_outside_actions_is_a_usage_error() -> None:
    with pytest.raises(AnnexaError, match="GITHUB_REPOSITORY"):
        ActionsContext.from_env({})


@pytest.mark.parametrize(("event_name", "payload", "number", "head"), [
    ("pull_request", {"pull_request": {"number": 3, "head": {"sha": "a" * 40}}}, 3, "a" * 40),
    ("pull_request_review", {"pull_request": {"number": 4, "head": {"sha": "b" * 40}}}, 4, "b" * 40),
    ("merge_group", {"merge_group": {"head_sha": "c" * 40}}, None, "c" * 40),
    ("push", {}, None, "d" * 40),
])
def test_actions_context(tmp_path: Path, event_name: str, payload: dict[str, Any], number: int | None,
                         head: str) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    ctx = ActionsContext.from_env({"GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": event_name,
                                   "GITHUB_EVENT_PATH": str(path), "GITHUB_SHA": "d" * 40})
    assert (ctx.pull_number, ctx.head_sha) == (number, head)


@needs_examples
@pytest.mark.parametrize("token", ["tok-admin", "tok-gh"])
def test_every_exchange_matches_githubs_descriptions(workspace: Path, fake: FakeGitHub, token: str) -> None:
    """Each request annexa sends is a documented GitHub operation, answered as documented (OpenAPI, GraphQL)."""
    from tests.fakes.test_github_fake import GRAPHQL_SCHEMA_PATH, SPEC_PATH, contract, graphql_problems

    if not (SPEC_PATH.is_file() and GRAPHQL_SCHEMA_PATH.is_file()):
        pytest.skip("run tests/fakes/fetch_specs.sh for @octokit/openapi and @octokit/graphql-schema")
    seed(fake)
    fake.set_classic_protection(REPO, "main", {"required_pull_request_reviews": {"required_approving_review_count": 1}})
    fake.set_codeowners_errors(REPO, [{"line": 2}])
    fake.add_review(REPO, 7, "bob", "APPROVED", commit_id=HEAD)
    env = actions_env(workspace, fake, token, "pull_request", event_file(workspace, "pull_request", "opened"))
    ci(env, "--upload-sarif")
    fake.add_review(REPO, 7, "bob", "DISMISSED", commit_id=HEAD)
    ci(env)
    problems = [p for rec in fake.requests for p in contract().problems(rec)]
    problems += [p for rec in fake.requests if rec.path == "/graphql"
                 for p in graphql_problems(rec.body["query"], rec.body.get("variables"), rec.response)]
    assert problems == []
    assert {r.route for r in fake.requests} >= {"GET /repos/{owner}/{repo}/rules/branches/{branch}",
                                                  "POST /repos/{owner}/{repo}/check-runs",
                                                  "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}"}


@needs_examples
def test_a_huge_report_fits_one_comment_and_caps_annotations(workspace: Path, fake: FakeGitHub) -> None:
    seed(fake)
    ws = workspace / "ws"
    shards = [f"models/shard-{i:04d}.safetensors" for i in range(1200)]
    for shard in shards:
        (ws / shard).write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    fake.set_pull_files(REPO, 7, [{"filename": shard, "status": "added"} for shard in shards])
    lfs_policy = POLICY + "  - {rule: weights-in-lfs, severity: high, controls: [A.8.3]}\n"
    (ws / "policy" / "model-change.yml").write_text(lfs_policy, encoding="utf-8")
    outcome = ci(actions_env(workspace, fake, "tok-admin", "pull_request",
                             event_file(workspace, "pull_request", "opened")))
    [comment] = fake.comments(REPO, 7)
    assert len(comment["body"]) <= 65_536
    assert comment["body"].startswith(MARKER)
    assert f"see the full report: {fake.origin}/{REPO}/actions/runs/4242._" in comment["body"]
    [run] = fake.check_runs(REPO)
    assert len(run["annotations"]) == 500
    assert [r.method for r in fake.requests if "check-runs" in r.path] == ["POST"] + ["PATCH"] * 9
    # 1,200 new shards (the repository's models/llm.safetensors is text, an incomplete pointer: not a weight)
    assert "annexa: check run: " in "\n".join(outcome.messages)
    assert any(m.endswith("(500 annotations, 702 more in the report)") for m in outcome.messages), outcome.messages


@needs_examples
def test_merge_group_gets_a_check_run_on_the_queue_commit(workspace: Path, fake: FakeGitHub) -> None:
    seed(fake)
    payload = load_webhook_example("checks_requested", "merge_group")
    path = workspace / "merge_group.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    outcome = ci(actions_env(workspace, fake, "tok-gh", "merge_group", path))
    [run] = fake.check_runs(REPO)
    assert (run["head_sha"], fake.comments(REPO, 7)) == (payload["merge_group"]["head_sha"], [])
    assert (outcome.report.run.pull_request, statuses(outcome)["weights-owner-approved"]) == (None, Status.UNKNOWN)
    assert not any("/pulls/" in r.path for r in fake.requests)


# --- trust boundary and change set in annexa ci ----------------------------------------------------------------

SECRETS_POLICY = POLICY.replace(
    "  - {rule: secret-scanning-enabled, severity: medium, controls: [A.8.12]}\n",
    "  - {rule: no-secrets-in-change, severity: critical, controls: [A.8.4]}\n")
BASE_CONFIG = "policies: [policy]\nowners:\n  security: [\"@acme/security\"]\n"
SELF_WAIVER = """\
waivers:
  - rule: no-secrets-in-change
    justification: a test key
    risk: low
    requested_by: "@mallory"
    approved_by: "@eve"
    ticket: SEC-2
    expires: 2027-01-31
"""


def _git(root: Path, *args: str) -> str:
    env = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    done = subprocess.run(["git", *env, *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def merge_checkout(tmp: Path, key: str) -> tuple[str, str]:
    """A checkout like GitHub's for pull_request: HEAD is the merge of the PR head into a base that moved on.

    The PR adds a key on line 2 of app.py (its patch says +2); main meanwhile added three lines at the top, so
    in the merge commit (what is on disk) the key is on line 5. The PR also adds a waiver for its own finding.
    Returns (merge parent 1 = base, PR head)."""
    ws = tmp / "ws"
    make_checkout(ws, {"policy/secure.yml": SECRETS_POLICY, ".annexa.yml": BASE_CONFIG, "app.py": "import os\n"})
    git_commit_all(ws, "base")
    _git(ws, "checkout", "-q", "-b", "feature")
    (ws / "app.py").write_text(f"import os\nKEY = '{key}'\n", encoding="utf-8")
    (ws / ".annexa.yml").write_text(BASE_CONFIG + SELF_WAIVER, encoding="utf-8")
    head = git_commit_all(ws, "feature")
    _git(ws, "checkout", "-q", "main")
    (ws / "app.py").write_text("# one\n# two\n# three\nimport os\n", encoding="utf-8")
    base = git_commit_all(ws, "main moves on")
    _git(ws, "merge", "-q", "--no-ff", "--no-edit", "feature")
    assert (ws / "app.py").read_text(encoding="utf-8").splitlines()[4] == f"KEY = '{key}'"
    return base, head


@needs_examples
def test_merge_commit_checkout_judged_by_its_base_with_lines_of_the_merge(workspace: Path, fake: FakeGitHub) -> None:
    root = workspace / "trusted"
    key = fake_keys()["aws"]
    base, head = merge_checkout(root, key)
    fake.add_pull(REPO, 7, user="mallory", head_sha=head, base_sha=base, files=[
        {"filename": "app.py", "status": "modified", "patch": f"@@ -1 +1,2 @@\n import os\n+KEY = '{key}'"},
        {"filename": ".annexa.yml", "status": "modified", "patch": "@@ -3,0 +4,8 @@\n+waivers:"},
    ])
    env = {**actions_env(workspace, fake, "tok-admin", "pull_request", event_file(workspace, "pull_request",
                                                                                    "opened")),
           "GITHUB_WORKSPACE": str(root / "ws")}
    outcome = ci(env)
    secrets = [(f.status, f.location, f.introduced) for f in outcome.report.findings
               if f.rule == "no-secrets-in-change"]
    assert secrets == [(Status.FAIL, Location("app.py", 5), True)]
    assert outcome.exit_code == 1
    assert [(p.kind, p.path) for p in outcome.report.pending_changes] == [("config", ".annexa.yml")]
    assert outcome.report.rules_from == (f"config, waivers and secrets baseline from the base revision {base[:12]} "
                                         "(the merge commit's first parent)")
    [comment] = fake.comments(REPO, 7)
    assert "- .annexa.yml is edited by this change; this run used the base revision" in comment["body"]


@needs_examples
def test_pull_request_head_checkout_uses_the_patch_lines(workspace: Path, fake: FakeGitHub) -> None:
    root = workspace / "trusted"
    key = fake_keys()["aws"]
    base, head = merge_checkout(root, key)
    _git(root / "ws", "checkout", "-q", head)
    fake.add_pull(REPO, 7, user="mallory", head_sha=head, base_sha=base, files=[
        {"filename": "app.py", "status": "modified", "patch": f"@@ -1 +1,2 @@\n import os\n+KEY = '{key}'"}])
    env = {**actions_env(workspace, fake, "tok-admin", "pull_request", event_file(workspace, "pull_request",
                                                                                    "opened")),
           "GITHUB_WORKSPACE": str(root / "ws")}
    outcome = ci(env)
    secrets = [(f.status, f.location, f.introduced) for f in outcome.report.findings
               if f.rule == "no-secrets-in-change"]
    assert secrets == [(Status.FAIL, Location("app.py", 2), True)]
    assert outcome.report.rules_from == f"config, waivers and secrets baseline from the base revision {base}"


@needs_examples
def test_shallow_checkout_reads_the_base_config_through_the_contents_api(workspace: Path, fake: FakeGitHub) -> None:
    """No git history (the workspace fixture is not a repository): the base's .annexa.yml comes from the API."""
    seed(fake)
    strict = CONFIG.replace('approved_by: "@bob"', 'approved_by: "@carol"')
    pull = fake.add_pull(REPO, 8, user="alice", head_sha=HEAD, files=[
        {"filename": ".annexa.yml", "status": "modified", "patch": "@@ -1 +1 @@\n-a\n+b"}])
    fake.set_file(REPO, ".annexa.yml", strict.replace("policies: [policy]\n", "policies: [builtin]\n").encode(),
                  ref=pull["base_sha"])
    path = event_file(workspace, "pull_request", "opened")
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["number"] = payload["pull_request"]["number"] = 8
    path.write_text(json.dumps(payload), encoding="utf-8")
    outcome = ci(actions_env(workspace, fake, "tok-admin", "pull_request", path))
    assert outcome.report.rules_from == (f"config, waivers and secrets baseline from the base revision "
                                         f"{pull['base_sha'][:12]} (read through the GitHub API)")
    shipped = load_policies([builtin_dir("policies")], load_catalog())
    assert [p.id for p in outcome.report.policies] == [p.id for p in shipped]
    assert [(p.kind, p.path) for p in outcome.report.pending_changes] == [("config", ".annexa.yml")]


@needs_examples
def test_pull_request_target_is_refused(workspace: Path, fake: FakeGitHub, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    seed(fake)
    env = actions_env(workspace, fake, "tok-admin", "pull_request_target",
                      event_file(workspace, "pull_request", "opened"))
    with pytest.raises(AnnexaError, match="annexa ci does not run on pull_request_target: that event checks out "
                                          "the base branch, so the pull request's code is not what would be"):
        ci(env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli_main(["ci"]) == 2
    assert "running the pull request's code there" in capsys.readouterr().err.replace("\n", " ")
    assert fake.requests == []
