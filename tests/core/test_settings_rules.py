"""Settings rules judged from effective protection facts: pass, fail, and unknown-never-pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.collect.snapshot import load_snapshot
from annexa.facts import BranchProtection, BypassActor, PullRequest, RepoSettings, Setting
from annexa.model import Status
from annexa.protection import BranchInput, Source, Unread, merge, nothing
from tests.support import make_checkout, run_rule

FIELDS = {
    "branch-protected": "protected",
    "force-push-blocked": "force_push_blocked",
    "deletion-blocked": "deletion_blocked",
    "pull-request-required": "pull_request_required",
    "code-owner-review-required": "code_owner_review_required",
    "stale-approvals-dismissed": "stale_approvals_dismissed",
    "author-approval-blocked": "author_approval_blocked",
    "admins-cannot-bypass": "admins_cannot_bypass",
    "signed-commits-required": "signed_commits_required",
}


def branch(name: str = "main", **values: object) -> BranchProtection:
    defaults: dict[str, Setting[object]] = {
        "protected": Setting(True, source="repository ruleset 'main'"),
        "force_push_blocked": Setting(True),
        "deletion_blocked": Setting(True),
        "pull_request_required": Setting(True),
        "required_approvals": Setting(2),
        "code_owner_review_required": Setting(True),
        "stale_approvals_dismissed": Setting(True),
        "author_approval_blocked": Setting(True),
        "admins_cannot_bypass": Setting(True),
        "required_status_checks": Setting(("test",)),
        "signed_commits_required": Setting(True),
    }
    for key, value in values.items():
        defaults[key] = value if isinstance(value, Setting) else Setting(value, source="classic branch protection")
    return BranchProtection(name, **defaults)  # type: ignore[arg-type]


def repo(*branches: BranchProtection, **values: object) -> RepoSettings:
    settings = {
        "visibility": Setting("private"),
        "secret_scanning": Setting(True),
        "secret_push_protection": Setting(True),
    }
    settings.update({k: v if isinstance(v, Setting) else Setting(v) for k, v in values.items()})
    return RepoSettings("github", "acme/models", "main", branches=branches or (branch(),), **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("rule_id", sorted(FIELDS))
def test_branch_rule_passes_fails_and_is_unknown(rule_id: str) -> None:
    field = FIELDS[rule_id]
    [ok] = run_rule(rule_id, settings=repo(branch(**{field: True})))
    assert (ok.status, ok.evidence["branch"], ok.evidence["value"]) == (Status.PASS, "main", True)
    [bad] = run_rule(rule_id, settings=repo(branch(**{field: False})))
    assert (bad.status, bad.evidence["source"]) == (Status.FAIL, "classic branch protection")
    missing = "GitHub token permission administration:read"
    [unread] = run_rule(rule_id, settings=repo(branch(**{field: Setting.unknown(missing)})))
    assert (unread.status, unread.evidence["needs"]) == (Status.UNKNOWN, missing)


def test_no_settings_is_unknown_never_pass() -> None:
    for rule_id in [*FIELDS, "approvals-required", "status-checks-required", "repository-not-public"]:
        [result] = run_rule(rule_id)
        assert result.status is Status.UNKNOWN, rule_id
        assert "--settings" in result.evidence["needs"]


@pytest.mark.parametrize(
    ("required", "minimum", "status"),
    [(2, 2, Status.PASS), (1, 2, Status.FAIL), (0, 1, Status.FAIL), (3, 1, Status.PASS)],
)
def test_approvals_required_against_policy_minimum(required: int, minimum: int, status: Status) -> None:
    settings = repo(branch(required_approvals=required))
    [result] = run_rule("approvals-required", settings=settings, params={"min": minimum})
    assert result.status is status
    assert result.evidence["value"] == required


def test_unprotected_branch_fails_settings_that_could_not_be_read() -> None:
    unprotected = branch(protected=False, force_push_blocked=Setting.unknown("admin"))
    [result] = run_rule("force-push-blocked", settings=repo(unprotected))
    assert (result.status, result.evidence["source"]) == (Status.FAIL, "branch is not protected")


def test_release_branches_from_params_are_checked_too() -> None:
    settings = repo(branch("main"), branch("release/1.0", force_push_blocked=False), branch("feature/x"))
    results = run_rule("force-push-blocked", settings=settings, params={"branches": ["release/*"]})
    assert [(r.evidence["branch"], r.status) for r in results] == [("main", Status.PASS), ("release/1.0", Status.FAIL)]


def test_default_branch_missing_from_facts_is_unknown() -> None:
    [result] = run_rule("branch-protected", settings=repo(branch("develop")))
    assert result.status is Status.UNKNOWN
    assert result.evidence["branch"] == "main"


def test_status_checks_must_include_named_checks() -> None:
    settings = repo(branch(required_status_checks=("test",)))
    assert run_rule("status-checks-required", settings=settings)[0].status is Status.PASS
    [missing] = run_rule("status-checks-required", settings=settings, params={"checks": ["test", "annexa"]})
    assert missing.status is Status.FAIL
    [empty] = run_rule("status-checks-required", settings=repo(branch(required_status_checks=())))
    assert empty.status is Status.FAIL


@pytest.mark.parametrize(
    ("rule_id", "field", "good", "bad"),
    [
        ("repository-not-public", "visibility", "internal", "public"),
        ("secret-scanning-enabled", "secret_scanning", True, False),
        ("secret-push-protection-enabled", "secret_push_protection", True, False),
    ],
)
def test_repository_settings(rule_id: str, field: str, good: object, bad: object) -> None:
    assert run_rule(rule_id, settings=repo(**{field: good}))[0].status is Status.PASS
    assert run_rule(rule_id, settings=repo(**{field: bad}))[0].status is Status.FAIL
    reason = "security_and_analysis is only shown to admins"
    [unread] = run_rule(rule_id, settings=repo(**{field: Setting.unknown(reason)}))
    assert (unread.status, unread.evidence["needs"]) == (Status.UNKNOWN, reason)


def test_weights_not_public(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"models/m.safetensors": b"x", "src/a.py": "x = 1\n"})
    [public] = run_rule("weights-not-public", checkout, settings=repo(visibility="public"))
    assert (public.status, public.evidence["weight_files"]) == (Status.FAIL, ["models/m.safetensors"])
    assert run_rule("weights-not-public", checkout, settings=repo())[0].status is Status.PASS
    assert run_rule("weights-not-public", checkout)[0].status is Status.UNKNOWN
    empty = make_checkout(tmp_path / "empty", {"src/a.py": "x = 1\n"})
    assert run_rule("weights-not-public", empty, settings=repo(visibility="public"))[0].status is Status.NOT_APPLICABLE


def test_snapshot_file_plain_null_and_sourced_values(tmp_path: Path) -> None:
    snapshot = tmp_path / "settings.json"
    snapshot.write_text(
        '{"platform": "github", "repository": "acme/x", "default_branch": "main", "visibility": "private",'
        ' "branches": {"release/1": {"protected": true}, "main": {"protected": {"value": true, "source": "org'
        " ruleset 'guard'\", \"bypass\": [\"OrganizationAdmin\"]}, \"force_push_blocked\": null,"
        ' "required_status_checks": ["test"]}}}'
    )
    settings = load_snapshot(snapshot)
    main = settings.branches[0]
    assert main.branch == "main"
    assert (main.protected.value, main.protected.source, main.protected.bypass_labels) == (
        True, "org ruleset 'guard'", ["OrganizationAdmin"],
    )
    assert main.force_push_blocked.value is None
    assert main.required_status_checks.value == ("test",)
    assert "not stated" in (main.signed_commits_required.reason or "")
    assert settings.secret_scanning.value is None


def test_example_snapshot_is_valid() -> None:
    settings = load_snapshot(Path(__file__).parents[2] / "examples" / "settings.json")
    assert settings.repository == "acme/ai-repo"
    assert settings.branches[0].admins_cannot_bypass.bypass_labels == ["OrganizationAdmin (always)"]


# ------------------------------------------------------------------ effective protection (annexa.protection)

ADMIN = BypassActor("RepositoryRole", 5)
RULES = {"protected": True, "deletion_blocked": True, "required_approvals": 2, "pull_request_required": True}


def ruleset(*bypass: BypassActor, hidden: bool = False, label: str = "org ruleset 'guard'") -> Source:
    return Source(label, RULES, None if hidden else bypass, bypass_reason="the bypass list of guard (write access)"
                  if hidden else None)


def classic(enforce_admins: bool) -> Source:
    values = {"protected": True, "force_push_blocked": True, "required_approvals": 1}
    return Source("classic branch protection", values, () if enforce_admins else (ADMIN,),
                  admins_bound=enforce_admins)


@pytest.mark.parametrize(("role", "label", "admin"), [
    (2, "repository role maintain", False),
    (4, "repository role write", False),
    (5, "repository role admin", True),
    (12345, "repository role #12345", False),
])
def test_repository_role_ids_as_github_numbers_them(role: int, label: str, admin: bool) -> None:
    actor = BypassActor("RepositoryRole", role)
    assert (actor.label, actor.is_admin) == (label, admin)
    assert BypassActor("RepositoryRole", role, "pull_request").label == f"{label} (pull_request)"


@pytest.mark.parametrize(("sources", "unread", "expected"), [
    # every protecting source binds administrators
    ((classic(True), ruleset(BypassActor("Team", 7))), (), (True, "classic branch protection, org ruleset 'guard'")),
    # classic enforce_admins off: fail, whatever the ruleset says
    ((classic(False), ruleset()), (), (False, "classic branch protection")),
    # a ruleset that lets repository admins, organisation admins or enterprise owners bypass: fail
    ((classic(True), ruleset(ADMIN)), (), (False, "org ruleset 'guard'")),
    ((ruleset(BypassActor("OrganizationAdmin", 1, "pull_request")),), (), (False, "org ruleset 'guard'")),
    ((ruleset(BypassActor("EnterpriseOwner", None, "exempt")),), (), (False, "org ruleset 'guard'")),
    # a bypass list that cannot be read: unknown, even though classic binds admins
    ((classic(True), ruleset(hidden=True)), (), (None, "the bypass list of guard (write access)")),
    # a source that could not be read at all: unknown
    ((ruleset(BypassActor("Team", 7)),), (Unread("classic branch protection", "admin needed"),),
     (None, "admin needed")),
    # nothing protects the branch: admins are bound by nothing
    ((nothing("branch is not protected"),), (), (False, "none of: branch is not protected")),
])
def test_admins_cannot_bypass_needs_every_protecting_source_to_bind_them(
    sources: tuple[Source, ...], unread: tuple[Unread, ...], expected: tuple[object, str]
) -> None:
    setting = merge(BranchInput("main", sources, unread)).admins_cannot_bypass
    assert (setting.value, setting.source if setting.value is not None else setting.reason) == expected


def test_hidden_classic_protection_leaves_only_ruleset_enforcement_decided() -> None:
    """Classic protection unreadable and its read-only view failed: a boolean a ruleset enforces holds, but a
    count, a check list or a "not enforced" from the ruleset alone is unknown."""
    hidden = Unread("classic branch protection", "administration:read")
    main = merge(BranchInput("main", (ruleset(BypassActor("Team", 7)),), (hidden,)))
    assert (main.deletion_blocked.value, main.deletion_blocked.source) == (True, "org ruleset 'guard'")
    assert main.deletion_blocked.bypass_labels == ["Team 7"]
    assert (main.required_approvals.value, main.required_approvals.reason) == (
        None, "administration:read; the readable sources say org ruleset 'guard': 2")
    assert (main.force_push_blocked.value, main.force_push_blocked.reason) == (None, "administration:read")
    assert main.signed_commits_required.value is None
    assert main.admins_cannot_bypass.value is None
    [result] = run_rule("approvals-required", settings=repo(main), params={"min": 2})
    assert result.status is Status.UNKNOWN


def test_merge_takes_the_strictest_count_and_every_check_and_common_bypass() -> None:
    team = BypassActor("Team", 7, "pull_request")
    one = Source("a", {"required_approvals": 1, "required_status_checks": ("lint",), "protected": True},
                 (ADMIN, team))
    two = Source("b", {"required_approvals": 3, "required_status_checks": ("test",), "protected": True},
                 (BypassActor("RepositoryRole", 5, "always", "admins"),))
    main = merge(BranchInput("main", (one, two)))
    assert (main.required_approvals.value, main.required_approvals.source) == (3, "b")
    assert (main.required_status_checks.value, main.required_status_checks.source) == (("lint", "test"), "a, b")
    # only the admin role may bypass both sources (names differ, the actor is the same)
    assert main.protected.bypass == (ADMIN,)


def test_the_pull_requests_base_branch_is_always_judged() -> None:
    pr = PullRequest(number=3, author="bob", head_sha="h", base_ref="release/2", head_ref="x")
    release = branch("release/2", force_push_blocked=False)
    results = run_rule("force-push-blocked", settings=repo(branch(), release), pull_request=pr)
    assert [(r.status, r.evidence["branch"]) for r in results] == [
        (Status.PASS, "main"), (Status.FAIL, "release/2")]
    [missing] = run_rule("force-push-blocked", settings=repo(branch()), pull_request=pr)
    assert (missing.status, missing.evidence["branch"]) == (Status.UNKNOWN, "release/2")
