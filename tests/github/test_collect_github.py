"""The GitHub collector against the fake: effective protection per token kind, PR facts, faults."""

from __future__ import annotations

from typing import Any

import pytest

from annexa.collect.github import (
    BYPASS_NEEDS,
    CLASSIC_NEEDS,
    SECURITY_NEEDS,
    TEAM_NEEDS,
    PullCollector,
    SettingsCollector,
    added_lines,
)
from annexa.facts import BranchProtection, BypassActor, RepoSettings
from tests.fakes.github import FakeGitHub
from tests.github.conftest import HEAD, PR_RULES, REPO, Sleeps, client_for

CLASSIC = {
    "required_pull_request_reviews": {"required_approving_review_count": 1, "dismiss_stale_reviews": False,
                                      "require_code_owner_reviews": True, "require_last_push_approval": True},
    "required_status_checks": {"strict": True, "contexts": ["test"]},
    "enforce_admins": False,
    "allow_force_pushes": False,
    "allow_deletions": True,
}
MAIN_GUARD = {
    "name": "main-guard",
    "enforcement": "active",
    "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []},
                   "repository_name": {"include": ["~ALL"], "exclude": []}},
    "rules": [{"type": "deletion"}, {"type": "pull_request", "parameters": PR_RULES}],
    "bypass_actors": [{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}],
}
SIGNING_TRIAL = {
    "name": "signing-trial",
    "enforcement": "evaluate",
    "conditions": {"ref_name": {"include": ["~ALL"], "exclude": []}},
    "rules": [{"type": "required_signatures"}],
}


def collect(fake: FakeGitHub, token: str, patterns: tuple[str, ...] = (), sleeps: Any = None,
            attempts: int = 3) -> RepoSettings:
    return SettingsCollector(client_for(fake, token, sleeps, attempts), REPO).collect(patterns)


def main_of(settings: RepoSettings) -> BranchProtection:
    assert settings.branches[0].branch == "main"
    return settings.branches[0]


def answer(branch: BranchProtection, name: str) -> tuple[Any, str | None, str | None]:
    setting = getattr(branch, name)
    return setting.value, setting.source, setting.reason


@pytest.fixture
def guarded(fake: FakeGitHub) -> FakeGitHub:
    """main has classic protection, the org ruleset main-guard (active) and a repository ruleset in evaluate mode."""
    fake.set_classic_protection(REPO, "main", CLASSIC)
    fake.add_ruleset("acme", MAIN_GUARD, org=True)
    fake.add_ruleset(REPO, SIGNING_TRIAL)
    return fake


VIEW = "classic branch protection (read-only view: GraphQL refUpdateRule)"
GUARD = "org ruleset 'main-guard'"
CLASSIC_SRC = "classic branch protection"


@pytest.mark.parametrize(("field", "admin", "github_token"), [
    ("protected", (True, "org ruleset 'main-guard', classic branch protection", None),
     (True, f"org ruleset 'main-guard', {VIEW}", None)),
    ("force_push_blocked", (True, "classic branch protection", None), (True, VIEW, None)),
    ("deletion_blocked", (True, "org ruleset 'main-guard'", None), (True, "org ruleset 'main-guard'", None)),
    ("required_approvals", (2, "org ruleset 'main-guard'", None), (2, "org ruleset 'main-guard'", None)),
    ("code_owner_review_required", (True, "org ruleset 'main-guard', classic branch protection", None),
     (True, f"org ruleset 'main-guard', {VIEW}", None)),
    ("stale_approvals_dismissed", (True, "org ruleset 'main-guard'", None),
     (True, "org ruleset 'main-guard'", None)),
    ("author_approval_blocked", (True, "classic branch protection", None),
     (None, None, f"{CLASSIC_NEEDS}; the readable sources say {GUARD}: False")),
    # both sources let administrators bypass: main-guard lists RepositoryRole 5, classic has enforce_admins off
    ("admins_cannot_bypass", (False, f"{GUARD}, {CLASSIC_SRC}", None),
     (None, None, f"the bypass list of {GUARD} ({BYPASS_NEEDS}); {CLASSIC_NEEDS}")),
    ("required_status_checks", (("test",), "classic branch protection", None), (("test",), VIEW, None)),
    ("signed_commits_required", (False, f"none of: {GUARD}, {CLASSIC_SRC}", None),
     (False, f"none of: {GUARD}, {VIEW}", None)),
])
def test_effective_protection_per_token(guarded: FakeGitHub, field: str, admin: tuple[Any, ...],
                                        github_token: tuple[Any, ...]) -> None:
    assert answer(main_of(collect(guarded, "tok-admin")), field) == admin
    assert answer(main_of(collect(guarded, "tok-gh")), field) == github_token


def test_bypass_actors_and_evaluate_rulesets_are_reported(guarded: FakeGitHub) -> None:
    main = main_of(collect(guarded, "tok-admin"))
    assert main.deletion_blocked.bypass == (BypassActor("RepositoryRole", 5, "always"),)
    assert main.deletion_blocked.bypass_labels == ["repository role admin"]
    # classic protection does not bind admins and main-guard lets them bypass: admins are in both lists
    assert main.protected.bypass_labels == ["repository role admin"]
    assert main.force_push_blocked.bypass_labels == ["repository administrators (enforce_admins is off)"]
    assert main.admins_cannot_bypass.bypass_labels == [
        "repository role admin", "repository administrators (enforce_admins is off)"]
    trial = "repository ruleset 'signing-trial' (evaluate mode, not enforced)"
    assert main.signed_commits_required.not_enforced == (trial,)
    assert main.deletion_blocked.not_enforced == ()


def test_classic_pat_without_admin_gets_the_same_answers_as_github_token(guarded: FakeGitHub) -> None:
    assert collect(guarded, "tok-read").branches == collect(guarded, "tok-gh").branches


def test_github_token_without_rulesets_reads_the_refupdaterule_view(fake: FakeGitHub) -> None:
    fake.set_classic_protection(REPO, "main", CLASSIC)
    main = main_of(collect(fake, "tok-gh"))
    assert answer(main, "required_approvals") == (1, VIEW, None)
    assert answer(main, "deletion_blocked") == (False, VIEW, None)
    assert answer(main, "stale_approvals_dismissed") == (None, None, CLASSIC_NEEDS)
    assert [r.path for r in fake.requests if r.status == 403] == [f"/repos/{REPO}/branches/main/protection"]


def test_an_unprotected_branch_enforces_nothing(fake: FakeGitHub) -> None:
    main = main_of(collect(fake, "tok-gh"))
    source = "branch is not protected (no classic protection, no active ruleset)"
    assert [answer(main, f) for f in ("protected", "force_push_blocked", "required_approvals")] == [
        (False, source, None), (False, source, None), (0, source, None)]
    assert not any(r.path.endswith("/protection") for r in fake.requests)


def test_matching_branches_are_collected_after_the_default(guarded: FakeGitHub) -> None:
    guarded.add_branch(REPO, "release/1.0")
    guarded.add_branch(REPO, "feature/x")
    settings = collect(guarded, "tok-admin", ("release/*",))
    assert [b.branch for b in settings.branches] == ["main", "release/1.0"]
    release = settings.branches[1]
    assert answer(release, "protected")[0] is False
    assert release.protected.not_enforced == ("repository ruleset 'signing-trial' (evaluate mode, not enforced)",)


def test_missing_default_branch_is_a_clear_unknown(fake: FakeGitHub) -> None:
    fake.add_repo("acme/empty", default_branch="main", empty=True)
    settings = SettingsCollector(client_for(fake, "tok-admin"), "acme/empty").collect()
    main = main_of(settings)
    assert main.protected.value is None
    assert main.protected.reason == "branch 'main' does not exist (empty repository or missing default branch)"


@pytest.mark.parametrize(("token", "scanning", "push"), [
    ("tok-admin", (True, "repository security_and_analysis.secret_scanning", None),
     (False, "repository security_and_analysis.secret_scanning_push_protection", None)),
    ("tok-gh", (None, None, SECURITY_NEEDS), (None, None, SECURITY_NEEDS)),
])
def test_repository_settings(fake: FakeGitHub, token: str, scanning: tuple[Any, ...], push: tuple[Any, ...]) -> None:
    settings = collect(fake, token)
    assert (settings.visibility.value, settings.default_branch) == ("private", "main")
    s, p = settings.secret_scanning, settings.secret_push_protection
    assert ((s.value, s.source, s.reason), (p.value, p.source, p.reason)) == (scanning, push)


@pytest.mark.parametrize(("errors", "value", "source"), [
    (None, (), "GitHub CODEOWNERS errors API: no CODEOWNERS file on main"),
    ([{"line": 3, "kind": "Unknown owner", "message": "Unknown owner on line 3", "path": ".github/CODEOWNERS"}],
     ({"path": ".github/CODEOWNERS", "line": 3, "column": 1, "kind": "Unknown owner",
       "message": "Unknown owner on line 3", "suggestion": None},), "GitHub CODEOWNERS errors API on main"),
])
def test_codeowners_errors(fake: FakeGitHub, errors: Any, value: Any, source: str) -> None:
    fake.set_codeowners_errors(REPO, errors)
    setting = collect(fake, "tok-gh").codeowners_errors
    assert (setting.value, setting.source) == (value, source)


# ---------------------------------------------------------------------------------------------- faults


def test_5xx_is_retried_with_backoff(guarded: FakeGitHub, sleeps: Sleeps) -> None:
    guarded.fail_next(2, status=502)
    settings = collect(guarded, "tok-admin", sleeps=sleeps)
    assert settings.visibility.value == "private"
    assert sleeps.waits == [0.5, 1.0]
    assert [r.status for r in guarded.requests[:3]] == [502, 502, 200]


def test_persistent_5xx_becomes_unknown(fake: FakeGitHub, sleeps: Sleeps) -> None:
    fake.fail_next(3, status=503, path_contains="/repos/acme/models")
    settings = collect(fake, "tok-admin", sleeps=sleeps)
    assert settings.visibility.value is None
    assert settings.visibility.reason == "GitHub API unavailable (HTTP 503 after 3 attempts)"
    assert settings.branches == ()


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_is_waited_out(fake: FakeGitHub, sleeps: Sleeps, status: int) -> None:
    fake.secondary_rate_limit(1, retry_after=7, status=status)
    assert collect(fake, "tok-admin", sleeps=sleeps).visibility.value == "private"
    assert sleeps.waits == [7.0]


def test_a_timeout_is_retried(fake: FakeGitHub, sleeps: Sleeps) -> None:
    fake.stall_next(1, seconds=2.5, path_contains="/rulesets")
    settings = collect(fake, "tok-admin", sleeps=sleeps)
    assert settings.visibility.value == "private"
    assert sleeps.waits == [0.5]


def test_a_4xx_is_never_retried(guarded: FakeGitHub, sleeps: Sleeps) -> None:
    collect(guarded, "tok-gh", sleeps=sleeps)
    assert [r.path for r in guarded.requests if r.status >= 400] == [f"/repos/{REPO}/branches/main/protection",
                                                                    f"/repos/{REPO}/codeowners/errors"]
    assert sleeps.waits == []


def test_a_bad_token_is_named_without_its_value(fake: FakeGitHub) -> None:
    settings = SettingsCollector(client_for(fake, "not-a-token-9f3c"), REPO).collect()
    assert settings.visibility.reason == "repository acme/models: GitHub rejected the token (401 Bad credentials)"
    assert "9f3c" not in repr(settings)


# ---------------------------------------------------------------------------------------------- pull request


def files(n: int) -> list[dict[str, Any]]:
    return [{"filename": f"src/f{i:04d}.py", "status": "modified", "patch": "@@ -1,2 +1,3 @@\n a\n+b\n c"}
            for i in range(n)]


def test_a_300_file_pull_request_is_read_in_three_pages(fake: FakeGitHub) -> None:
    fake.add_pull(REPO, 7, user="alice", head_sha=HEAD, files=files(300))
    pull = PullCollector(client_for(fake, "tok-gh"), REPO).collect(7)
    assert pull.change is not None and pull.pull_request is not None
    assert len(pull.change.files) == 300
    assert pull.change.files["src/f0299.py"].added_lines == frozenset({2})
    assert (pull.change.truncated, pull.pull_request.head_sha, pull.pull_request.author) == (False, HEAD, "alice")
    assert [r.query.get("page", ["1"])[0] for r in fake.requests if r.path.endswith("/files")] == ["1", "2", "3"]


def test_more_than_3000_files_is_marked_truncated(fake: FakeGitHub) -> None:
    fake.add_pull(REPO, 8, files=files(3005))
    pull = PullCollector(client_for(fake, "tok-gh"), REPO).collect(8)
    assert pull.change is not None and pull.pull_request is not None
    assert (len(pull.change.files), pull.change.truncated, pull.pull_request.changed_files) == (3000, True, 3005)


@pytest.mark.parametrize(("setup", "state", "reason"), [
    ({"state": "closed"}, "closed", None),
    ({"state": "closed", "merged": True}, "merged", None),
])
def test_closed_and_merged_pull_requests(fake: FakeGitHub, setup: dict[str, Any], state: str,
                                         reason: str | None) -> None:
    fake.add_pull(REPO, 9, **setup)
    pull = PullCollector(client_for(fake, "tok-gh"), REPO).collect(9)
    assert (pull.state, pull.reason) == (state, reason)


def test_a_deleted_pull_request_is_reported(fake: FakeGitHub) -> None:
    pull = PullCollector(client_for(fake, "tok-gh"), REPO).collect(404)
    assert (pull.pull_request, pull.state) == (None, "missing")
    assert pull.reason == "pull request #404 was not found (deleted, or no access)"


def test_reviews_and_fork_are_read(fake: FakeGitHub) -> None:
    fake.add_pull(REPO, 7, user="mallory", head_sha=HEAD, fork=True, files=files(1))
    fake.add_review(REPO, 7, "bob", "APPROVED", commit_id="old" + "0" * 37)
    fake.add_review(REPO, 7, "carol", "PENDING")
    fake.add_review(REPO, 7, "bob", "COMMENTED")
    pull = PullCollector(client_for(fake, "tok-gh"), REPO).collect(7)
    assert pull.pull_request is not None and pull.fork is True
    assert [(r.user, r.state, r.commit_id) for r in pull.pull_request.reviews] == [
        ("bob", "APPROVED", "old" + "0" * 37), ("bob", "COMMENTED", HEAD)]


@pytest.mark.parametrize(("token", "members", "reasons"), [
    ("tok-admin", {"@acme/ml-model-owners": ("bob", "dora")}, {}),
    ("tok-gh", {}, {"@acme/ml-model-owners": TEAM_NEEDS}),
])
def test_team_members(fake: FakeGitHub, token: str, members: dict[str, Any], reasons: dict[str, str]) -> None:
    fake.add_team("acme", "ml-model-owners", members=["bob", "dora"])
    assert PullCollector(client_for(fake, token), REPO).team_members(["@acme/ml-model-owners"]) == (members, reasons)


@pytest.mark.parametrize(("patch", "lines"), [
    ("@@ -0,0 +1,2 @@\n+x\n+y", {1, 2}),
    ("@@ -10,3 +10,4 @@\n a\n-b\n+c\n+d\n e", {11, 12}),
    ("@@ -1 +1 @@\n-a\n+b\n\\ No newline at end of file\n@@ -20,2 +20,2 @@\n q\n+r", {1, 21}),
])
def test_added_lines(patch: str, lines: set[int]) -> None:
    assert added_lines(patch) == frozenset(lines)


def test_unreadable_rulesets_leave_only_what_classic_protection_enforces_decided(guarded: FakeGitHub) -> None:
    guarded.fail_next(3, status=502, path_contains="/rules/branches/")
    main = main_of(collect(guarded, "tok-admin"))
    assert answer(main, "force_push_blocked") == (True, "classic branch protection", None)
    assert answer(main, "deletion_blocked") == (
        None, None, "GitHub API unavailable (HTTP 502 after 3 attempts); the readable sources say "
        "classic branch protection: False")
    # a count is a lower bound while a ruleset is hidden: unknown, not classic's 1
    assert answer(main, "required_approvals") == (
        None, None, "GitHub API unavailable (HTTP 502 after 3 attempts); the readable sources say "
        "classic branch protection: 1")


def test_a_branch_listing_failure_keeps_the_pattern_as_an_unknown_branch(guarded: FakeGitHub) -> None:
    guarded.fail_next(1, status=403, path_contains=f"/repos/{REPO}/branches")
    settings = collect(guarded, "tok-admin", ("release/*",))
    assert [b.branch for b in settings.branches] == ["main", "release/*"]
    release = settings.branches[1]
    assert answer(release, "force_push_blocked") == (
        None, None, "listing the repository's branches (branches: HTTP 403 Injected error)")


def test_the_base_branch_is_read_even_when_no_pattern_names_it(guarded: FakeGitHub) -> None:
    guarded.add_branch(REPO, "feature")
    client = client_for(guarded, "tok-admin", None, 3)
    settings = SettingsCollector(client, REPO).collect((), ["feature"])
    assert [b.branch for b in settings.branches] == ["main", "feature"]
    assert answer(settings.branches[1], "protected") == (
        False, "branch is not protected (no classic protection, no active ruleset)", None)


def test_codeowners_errors_are_read_for_the_checked_out_commit(fake: FakeGitHub) -> None:
    fake.set_codeowners_errors(REPO, [])
    fake.set_codeowners_errors(REPO, [{"line": 4, "message": "Unknown owner on line 4"}], ref=HEAD)
    setting = SettingsCollector(client_for(fake, "tok-gh"), REPO).collect((), (), ref=HEAD).codeowners_errors
    assert ([e["line"] for e in setting.value or ()], setting.source) == (
        [4], f"GitHub CODEOWNERS errors API on {HEAD}")
    [asked] = [r for r in fake.requests if r.path.endswith("/codeowners/errors")]
    assert asked.query == {"ref": [HEAD]}
