"""GitLab settings and merge request facts against the fake: field by field, tiers, retries, refusals."""

from __future__ import annotations

import pytest

from annexa.platforms.gitlab.client import quote
from annexa.platforms.gitlab.mr import GitLabChangeCollector
from annexa.platforms.gitlab.settings import GitLabSettingsCollector
from tests.fakes.gitlab import FakeGitLab, diff_for
from tests.gitlab.conftest import HEAD, JOB_TOKEN, PROJECT, REPORTER_TOKEN, Sleeps, client_for, seed


def _settings(fake: FakeGitLab, token: str = "glpat-api", kind: str = "private"):  # type: ignore[no-untyped-def]
    collector = GitLabSettingsCollector(client_for(fake, token, kind=kind), PROJECT)
    read = collector.collect()
    return collector, read


def test_premium_settings_field_by_field(fake: FakeGitLab) -> None:
    fake.set_push_rule(PROJECT, {"reject_unsigned_commits": True, "prevent_secrets": True})
    _, read = _settings(fake)
    assert read.settings is not None
    [main] = read.settings.branches
    values = {name: getattr(main, name).value for name in (
        "protected", "force_push_blocked", "deletion_blocked", "pull_request_required", "required_approvals",
        "code_owner_review_required", "stale_approvals_dismissed", "author_approval_blocked",
        "admins_cannot_bypass", "required_status_checks", "signed_commits_required")}
    assert values == {
        "protected": True, "force_push_blocked": True, "deletion_blocked": True, "pull_request_required": True,
        "required_approvals": 2, "code_owner_review_required": True, "stale_approvals_dismissed": True,
        "author_approval_blocked": True, "admins_cannot_bypass": True, "required_status_checks": ("pipeline",),
        "signed_commits_required": True,
    }
    assert main.required_approvals.source == "approval rule 'Two reviewers'"
    assert read.settings.visibility.value == "private"
    assert read.settings.secret_push_protection.value is False
    assert read.settings.secret_push_protection.source == (
        "project secret_push_protection_enabled; push rule prevent_secrets on (rejects files named like keys, not "
        "secrets in content)")
    assert main.signed_commits_required.source == "project push rule reject_unsigned_commits"


def test_push_rule_member_check_is_noted_on_signed_commits(fake: FakeGitLab) -> None:
    fake.set_push_rule(PROJECT, {"reject_unsigned_commits": False, "member_check": True})
    _, read = _settings(fake)
    assert read.settings is not None
    [main] = read.settings.branches
    assert (main.signed_commits_required.value, main.signed_commits_required.source) == (
        False, "project push rule reject_unsigned_commits; member_check on: commit authors must be project users")
    assert read.settings.secret_push_protection.source == "project secret_push_protection_enabled"


def test_developers_may_push_and_force_push(fake: FakeGitLab) -> None:
    fake.protect(PROJECT, "release/*", push=30, allow_force_push=True)
    collector = GitLabSettingsCollector(client_for(fake), PROJECT)
    read = collector.collect(["release/*"])
    assert read.settings is not None
    names = [b.branch for b in read.settings.branches]
    assert names == ["main"]  # wildcard rules are not branches themselves
    raw = collector.raw
    assert raw is not None
    from annexa.platforms.gitlab.settings import branch_protection

    release = branch_protection("release/1.0", raw)
    assert (release.pull_request_required.value, release.force_push_blocked.value,
            release.admins_cannot_bypass.value) == (False, False, False)
    assert release.pull_request_required.bypass_labels == ["Developers + Maintainers (may push directly)"]


@pytest.mark.parametrize(("tier", "needle"), [("free", "403"), ("ce", "CE")])
def test_premium_settings_unknown_naming_the_tier_detected_once(tier: str, needle: str) -> None:
    with FakeGitLab(tier=tier) as server:
        seed(server)
        _, read = _settings(server)
        assert read.settings is not None
        [main] = read.settings.branches
        for name in ("required_approvals", "stale_approvals_dismissed", "author_approval_blocked",
                     "code_owner_review_required", "signed_commits_required"):
            setting = getattr(main, name)
            assert setting.value is None, name
            assert "GitLab Premium" in (setting.reason or "") and needle in (setting.reason or ""), name
        assert main.protected.value is True and main.force_push_blocked.value is True
        premium_calls = [r for r in server.requests if r.route.endswith(("approvals", "approval_rules", "push_rule"))]
        assert len(premium_calls) == 1


def test_reporter_cannot_read_protected_branches(fake: FakeGitLab) -> None:
    _, read = _settings(fake, REPORTER_TOKEN)
    assert read.settings is not None
    [main] = read.settings.branches
    assert main.protected.value is None and "Maintainer" in (main.protected.reason or "")


def test_job_token_refused(fake: FakeGitLab) -> None:
    _, read = _settings(fake, JOB_TOKEN, kind="job")
    assert read.settings is None and "403" in (read.reason or "")


def test_429_retry_after_is_obeyed_and_bounded(fake: FakeGitLab) -> None:
    sleeps = Sleeps()
    fake.rate_limit_next(2, retry_after=3, path_contains="/protected_branches")
    collector = GitLabSettingsCollector(client_for(fake, sleeps=sleeps, attempts=4), PROJECT)
    read = collector.collect()
    assert read.settings is not None and read.settings.branches[0].protected.value is True
    assert sleeps.waits == [3.0, 3.0]
    fake.rate_limit_next(1, retry_after=3600, path_contains="/protected_branches")
    read = GitLabSettingsCollector(client_for(fake, sleeps=sleeps), PROJECT).collect()
    assert read.settings is not None
    reason = read.settings.branches[0].protected.reason or ""
    assert "asked to wait 3600s" in reason


def test_5xx_backoff_then_unknown(fake: FakeGitLab) -> None:
    sleeps = Sleeps()
    fake.fail_next(5, status=503, path_contains="/protected_branches")
    read = GitLabSettingsCollector(client_for(fake, sleeps=sleeps, attempts=3), PROJECT).collect()
    assert read.settings is not None
    assert read.settings.branches[0].protected.reason == (
        "protected branches: GitLab API unavailable (HTTP 503 after 3 attempts)")
    assert sleeps.waits == [0.5, 1.0]


def test_merge_request_diffs_paginated_and_approvals(fake: FakeGitLab) -> None:
    diffs = [diff_for(f"src/f{i}.py", ["a", "b"], start=10) for i in range(250)]
    diffs.append({"new_path": "models/w.bin", "old_path": "models/old.bin", "diff": "", "renamed_file": True})
    fake.add_mr(PROJECT, 7, diffs=diffs)
    fake.approve(PROJECT, 7, "olivia")
    read = GitLabChangeCollector(client_for(fake), PROJECT).collect(7)
    assert read.change is not None and read.pull_request is not None
    assert len(read.change.files) == 251
    assert read.change.files["src/f3.py"].added_lines == frozenset({10, 11})
    renamed = read.change.files["models/w.bin"]
    assert (renamed.status, renamed.previous_path, renamed.added_lines) == ("renamed", "models/old.bin", None)
    [review] = read.pull_request.reviews
    assert (review.user, review.state, review.commit_id) == ("olivia", "approved", HEAD)
    assert len([r for r in fake.requests if r.route.endswith("/diffs")]) == 3


def test_approval_before_last_push_is_stale(fake: FakeGitLab) -> None:
    fake.set_approvals(PROJECT, reset_approvals_on_push=False)
    fake.add_mr(PROJECT, 7, diffs=[diff_for("a.py", ["x"])])
    fake.approve(PROJECT, 7, "olivia", at="2026-11-21T11:00:00.000Z")
    fake.push(PROJECT, 7, "f" * 40, at="2026-11-21T12:00:00.000Z")
    read = GitLabChangeCollector(client_for(fake), PROJECT, reset_on_push=False).collect(7)
    assert read.pull_request is not None
    [review] = read.pull_request.reviews
    assert review.commit_id is None


def test_group_members_and_unreadable_group(fake: FakeGitLab) -> None:
    members, reasons = GitLabChangeCollector(client_for(fake), PROJECT).members(
        ["@acme/ml-model-owners", "@acme/nope"])
    assert members == {"@acme/ml-model-owners": ("olivia", "omar")}
    assert set(reasons) == {"@acme/nope"}


def test_token_never_in_messages(fake: FakeGitLab) -> None:
    fake.fail_next(9, status=500)
    read = GitLabSettingsCollector(client_for(fake, "glpat-api"), PROJECT).collect()
    assert read.settings is None and "glpat" not in (read.reason or "")
    assert quote(PROJECT) == "acme%2Fml%2Fmodels"


def test_a_regular_rule_no_one_is_eligible_for_asks_for_no_approval() -> None:
    """GitLab approves a `regular` rule without eligible approvers on its own (an "invalid" rule), so its
    approvals_required is not what the branch enforces; a rule with approvers still counts."""
    with FakeGitLab(tier="premium") as server:
        seed(server)
        server.add_approval_rule(PROJECT, "Security", 3, rule_type="regular", users=())
        [main] = _settings(server)[1].settings.branches
        assert (main.required_approvals.value, main.required_approvals.source) == (2, "approval rule 'Two reviewers'")
    with FakeGitLab(tier="premium") as server:
        server.add_token("glpat-api", "api", "annexa-bot")
        server.add_project(PROJECT)
        server.protect(PROJECT, "main", push=0, merge=40)
        server.add_approval_rule(PROJECT, "Security", 3, rule_type="regular", users=())
        [main] = _settings(server)[1].settings.branches
        assert (main.required_approvals.value, main.required_approvals.source) == (
            0, "approval rule 'Security' (requires 3, but no one is eligible to approve it, so GitLab approves it "
               "on its own)")
    with FakeGitLab(tier="premium") as server:
        seed(server)
        server.add_token("glpat-x", "api", "olivia")
        server.add_approval_rule(PROJECT, "Security", 3, rule_type="regular", users=("olivia",))
        [main] = _settings(server)[1].settings.branches
        assert (main.required_approvals.value, main.required_approvals.source) == (3, "approval rule 'Security'")
