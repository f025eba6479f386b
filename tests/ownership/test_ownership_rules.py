"""The ownership rules: codeowners-valid, sensitive-paths-owned and weights-codeowned, on both platforms."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from annexa.config import Config
from annexa.facts import ChangeSet, FileChange, RepoSettings, Setting
from annexa.model import Location, Result, Status
from tests.support import make_checkout, run_rule

OWNERS = Config(owners={"security": ("@acme/security",), "models": ("@acme/ml-model-owners",)})


def outcome(results: list[Result]) -> list[tuple[Status, str | None, int | None]]:
    return [(r.status, r.location.path if r.location else None, r.location.line if r.location else None)
            for r in results]


def settings(errors: tuple[Mapping[str, object], ...] | None) -> RepoSettings:
    unread: Setting[Any] = Setting.unknown("not read in this test")
    return RepoSettings(
        platform="github", repository="acme/models", default_branch="main", visibility=unread,
        secret_scanning=unread, secret_push_protection=unread, branches=(),
        codeowners_errors=Setting.unknown("no token") if errors is None else Setting(errors, source="GitHub API"),
    )


# --- codeowners-valid -------------------------------------------------------------------------------------------


def test_valid_github_codeowners_passes_with_evidence(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {".github/CODEOWNERS": "* @acme/eng\n/models/ @acme/ml-model-owners\n"})
    [result] = run_rule("codeowners-valid", checkout, platform="github", settings=settings(()))
    assert (result.status, result.location) == (Status.PASS, Location(".github/CODEOWNERS"))
    assert result.evidence == {"rules": 2, "platform": "github", "platform_reason": "the run is on GitHub",
                               "platform_errors": 0}


def test_missing_codeowners_fails(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"README.md": "hello"})
    [result] = run_rule("codeowners-valid", checkout, platform="gitlab")
    assert (result.status, result.location) == (Status.FAIL, None)
    assert result.message == ("No CODEOWNERS file that GitLab reads: add one at CODEOWNERS or docs/CODEOWNERS or "
                              ".gitlab/CODEOWNERS")
    assert result.evidence["searched"] == ["CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"]


@pytest.mark.parametrize(
    ("platform", "text", "expected"),
    [
        ("github", "* @a\n!/docs/ @b\n/src/ team\n\n/ok/ @c\n/x/[ab] @d\n", [2, 3, 6]),
        ("github", "/src/ @a\n/models/ @ml\n* @eng\n", [3]),
        ("gitlab", "[Docs\n/docs/ @a\n^[Opt][2] @b\n/x/\n[S]\n/y/\n", [1, 3, 6]),
    ],
)
def test_every_bad_line_fails_at_its_line(tmp_path: Path, platform: str, text: str, expected: list[int]) -> None:
    checkout = make_checkout(tmp_path, {"CODEOWNERS": text})
    results = run_rule("codeowners-valid", checkout, platform=platform)
    assert outcome(results) == [(Status.FAIL, "CODEOWNERS", line) for line in expected]


def test_bad_line_evidence_and_key(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {".github/CODEOWNERS": "* @a\n!/docs/ @b\n"})
    [result] = run_rule("codeowners-valid", checkout, platform="github")
    assert result.message == (".github/CODEOWNERS:2: `!` negation is not supported on GitHub; the line is ignored")
    assert result.evidence["kind"] == "invalid-pattern"
    assert result.evidence["source"] == "!/docs/ @b"
    assert result.key == "invalid-pattern:!/docs/ @b"


@pytest.mark.parametrize(
    ("platform", "files", "expected"),
    [
        ("github", [".github/CODEOWNERS", "CODEOWNERS"], [(Status.FAIL, "CODEOWNERS", None)]),
        ("github", ["CODEOWNERS", ".gitlab/CODEOWNERS"], [(Status.FAIL, ".gitlab/CODEOWNERS", None)]),
        ("gitlab", ["CODEOWNERS", "docs/CODEOWNERS"], [(Status.FAIL, "docs/CODEOWNERS", None)]),
        ("github", [".gitlab/CODEOWNERS"], [(Status.FAIL, ".gitlab/CODEOWNERS", None), (Status.FAIL, None, None)]),
    ],
)
def test_shadowed_codeowners_is_a_finding(tmp_path: Path, platform: str, files: list[str],
                                          expected: list[tuple[Status, str | None, int | None]]) -> None:
    checkout = make_checkout(tmp_path, {f: "* @acme/eng\n" for f in files})
    results = run_rule("codeowners-valid", checkout, platform=platform)
    assert outcome(results) == expected
    assert results[0].key == "ignored"


def test_github_api_errors_are_findings_and_replace_own_ones_on_the_same_line(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {".github/CODEOWNERS": "* @acme/eng\n/src/ @ghost\n/x/ nobody\n"})
    api = ({"line": 2, "column": 7, "kind": "Unknown owner", "source": "/src/ @ghost",
            "suggestion": None, "message": "Unknown owner on line 2: make sure @ghost exists\n\n  /src/ @ghost\n",
            "path": ".github/CODEOWNERS"},
           {"line": 3, "column": 5, "kind": "Invalid owner", "source": "/x/ nobody", "message": "Invalid owner",
            "path": ".github/CODEOWNERS"})
    results = run_rule("codeowners-valid", checkout, platform="github", settings=settings(api))
    assert outcome(results) == [(Status.FAIL, ".github/CODEOWNERS", 2), (Status.FAIL, ".github/CODEOWNERS", 3)]
    assert results[0].message == (".github/CODEOWNERS:2: GitHub reports Unknown owner: "
                                  "Unknown owner on line 2: make sure @ghost exists")
    assert results[0].evidence["column"] == 7
    assert results[1].evidence["reported_by"] == "github"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x00\x01binary", "binary content (NUL bytes); not read as text"),
        (b"* @a\n\xff\xfe @b\n", "not valid UTF-8 (byte 5)"),
    ],
)
def test_unreadable_codeowners_fails_and_ownership_is_unknown(tmp_path: Path, content: bytes, reason: str) -> None:
    checkout = make_checkout(tmp_path, {"CODEOWNERS": content, "models/a.safetensors": b"\x00x"})
    [valid] = run_rule("codeowners-valid", checkout, platform="github")
    assert (valid.status, valid.location, valid.evidence["reason"]) == (Status.FAIL, Location("CODEOWNERS"), reason)
    [owned] = run_rule("weights-codeowned", checkout, platform="github", config=OWNERS)
    assert (owned.status, owned.location) == (Status.UNKNOWN, Location("CODEOWNERS"))


def test_huge_line_is_judged_not_crashed(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"CODEOWNERS": "* @a\n/" + "x" * 100_000 + "[/ @b\n"})
    results = run_rule("codeowners-valid", checkout, platform="github")
    assert outcome(results) == [(Status.FAIL, "CODEOWNERS", 2)]
    assert len(results[0].evidence["source"]) == 201


def test_bad_lines_beyond_the_listing_limit_are_counted(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"CODEOWNERS": "* @a\n" + "/x/ bad\n" * 1003})
    results = run_rule("codeowners-valid", checkout, platform="github")
    assert outcome(results) == [(Status.FAIL, "CODEOWNERS", line) for line in range(2, 1002)] + [
        (Status.FAIL, "CODEOWNERS", None)]
    assert (results[-1].key, results[-1].evidence["unlisted"]) == ("more", 3)


def test_empty_codeowners_fails(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"CODEOWNERS": "# owners to be decided\n\n"})
    [result] = run_rule("codeowners-valid", checkout, platform="github")
    assert (result.status, result.location, result.key) == (Status.FAIL, Location("CODEOWNERS"), "empty")


def test_local_run_says_which_semantics(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {".gitlab/CODEOWNERS": "[Models][2] @acme/ml\n/models/\n"})
    [result] = run_rule("codeowners-valid", checkout)
    assert result.status == Status.PASS
    assert result.evidence["platform"] == "gitlab"
    assert result.evidence["platform_reason"] == "local run: .gitlab/CODEOWNERS exists, a location only GitLab reads"
    assert result.evidence["sections"] == ["Models"]


# --- sensitive-paths-owned --------------------------------------------------------------------------------------

SENSITIVE = {
    ".github/workflows/ci.yml": "on: push\n",
    ".annexa.yml": "policies: [builtin]\n",
    "policies/access.yml": "id: access\n",
    "src/app.py": "print()\n",
}


def test_sensitive_paths_need_security_owners_configured(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {**SENSITIVE, ".github/CODEOWNERS": "* @acme/security\n"})
    [result] = run_rule("sensitive-paths-owned", checkout, platform="github")
    assert result.status == Status.UNKNOWN
    assert result.evidence["needs"] == "owners.security in .annexa.yml"


def test_sensitive_paths_all_owned_pass_per_file(tmp_path: Path) -> None:
    codeowners = "* @acme/eng\n/.github/ @acme/security\n/policies/ @acme/security\n/.annexa.yml @acme/security\n"
    checkout = make_checkout(tmp_path, {**SENSITIVE, ".github/CODEOWNERS": codeowners})
    results = run_rule("sensitive-paths-owned", checkout, platform="github", config=OWNERS)
    assert outcome(results) == [
        (Status.PASS, ".annexa.yml", None),
        (Status.PASS, ".github/CODEOWNERS", None),
        (Status.PASS, ".github/workflows/ci.yml", None),
        (Status.PASS, "policies/access.yml", None),
    ]
    assert results[2].message == ".github/workflows/ci.yml is owned by @acme/security (.github/CODEOWNERS:2)"
    assert (results[2].evidence["owners"], results[2].evidence["line"]) == (["@acme/security"], 2)


def test_sensitive_paths_fail_with_effective_owners_and_deciding_line(tmp_path: Path) -> None:
    codeowners = ("* @acme/eng\n"
                  "/.github/ @acme/security\n"
                  "/.github/workflows/ @acme/platform\n"
                  "/policies/ @ACME/Security\n"
                  "/.annexa.yml\n")
    checkout = make_checkout(tmp_path, {**SENSITIVE, ".github/CODEOWNERS": codeowners})
    results = run_rule("sensitive-paths-owned", checkout, platform="github", config=OWNERS)
    assert outcome(results) == [
        (Status.FAIL, ".annexa.yml", None),
        (Status.PASS, ".github/CODEOWNERS", None),
        (Status.FAIL, ".github/workflows/ci.yml", None),
        (Status.PASS, "policies/access.yml", None),
    ]
    unowned, _, wrong, case_insensitive = results
    assert unowned.message == (".annexa.yml is left without owners by .github/CODEOWNERS:5 "
                               "(`/.annexa.yml` has no owners)")
    assert (unowned.key, unowned.evidence["owners"], unowned.evidence["line"]) == ("unowned", [], 5)
    assert wrong.message == (".github/workflows/ci.yml is owned by @acme/platform (.github/CODEOWNERS:3), "
                             "none of @acme/security")
    assert (wrong.key, wrong.evidence["owners"], wrong.evidence["line"]) == ("wrong-owner", ["@acme/platform"], 3)
    assert case_insensitive.evidence["pattern"] == "/policies/"


def test_owner_github_rejects_does_not_count(tmp_path: Path) -> None:
    codeowners = "* @acme/eng\n/policies/ @acme/security\n/.annexa.yml @acme/security @acme/other\n"
    checkout = make_checkout(tmp_path, {**SENSITIVE, ".github/CODEOWNERS": codeowners})
    api = ({"line": 2, "column": 12, "kind": "Unknown owner", "source": "/policies/ @acme/security",
            "message": "Unknown owner on line 2", "path": ".github/CODEOWNERS"},
           {"line": 3, "column": 28, "kind": "Unknown owner", "source": "/.annexa.yml @acme/security @acme/other",
            "message": "Unknown owner on line 3", "path": ".github/CODEOWNERS"})
    results = run_rule("sensitive-paths-owned", checkout, platform="github", config=OWNERS, settings=settings(api))
    by_path = {r.location.path: r for r in results if r.location}
    rejected = by_path["policies/access.yml"]
    assert (rejected.status, rejected.key) == (Status.FAIL, "rejected-owner")
    assert rejected.message == ("policies/access.yml is assigned to @acme/security by .github/CODEOWNERS:2, but GitHub "
                                "reports that owner as unknown or invalid, so it is never asked to review")
    assert rejected.evidence["rejected_by_github"] == [{"line": 2, "owners": ["@acme/security"]}]
    # another owner on the line being unknown does not matter
    kept = by_path[".annexa.yml"]
    assert (kept.status, kept.evidence["owners"]) == (Status.PASS, ["@acme/security"])
    assert kept.evidence["rejected_by_github"] == [{"line": 3, "owners": ["@acme/other"]}]


def test_rejected_owner_found_from_the_file_when_the_api_error_has_no_source(tmp_path: Path) -> None:
    files = {"policies/a.yml": "id: a\n", ".github/CODEOWNERS": "  /policies/ @acme/security\n"}
    checkout = make_checkout(tmp_path, files)
    api = ({"line": 1, "column": 14, "kind": "Unknown owner", "message": "Unknown owner on line 1",
            "path": ".github/CODEOWNERS"},)
    valid = run_rule("codeowners-valid", checkout, platform="github", settings=settings(api))
    assert [(r.status, r.key) for r in valid] == [(Status.FAIL, "github:Unknown owner:/policies/ @acme/security")]
    results = run_rule("sensitive-paths-owned", checkout, platform="github", config=OWNERS, settings=settings(api))
    assert [(r.status, r.location.path if r.location else None, r.key) for r in results] == [
        (Status.FAIL, ".github/CODEOWNERS", "unowned"),
        (Status.FAIL, "policies/a.yml", "rejected-owner"),
    ]


def test_sensitive_paths_on_gitlab_need_a_required_section(tmp_path: Path) -> None:
    codeowners = ("* @acme/eng\n"
                  "[Security] @acme/security\n"
                  "/.gitlab-ci.yml\n"
                  "^[Policies] @acme/security\n"
                  "/policies/\n")
    files = {".gitlab-ci.yml": "stages: []\n", "policies/a.yml": "id: a\n", "CODEOWNERS": codeowners}
    results = run_rule("sensitive-paths-owned", make_checkout(tmp_path, files), platform="gitlab", config=OWNERS)
    assert outcome(results) == [
        (Status.PASS, ".gitlab-ci.yml", None),
        (Status.FAIL, "CODEOWNERS", None),
        (Status.FAIL, "policies/a.yml", None),
    ]
    by_path = {r.location.path: r for r in results if r.location}
    optional = by_path["policies/a.yml"]
    assert optional.message == ("policies/a.yml is owned by @acme/security only in optional section [Policies] "
                                "(CODEOWNERS:5), so their approval is not required")
    assert optional.evidence["sections"] == [
        {"section": None, "line": 1, "pattern": "*", "owners": ["@acme/eng"], "optional": False, "approvals": 0},
        {"section": "Policies", "line": 5, "pattern": "/policies/", "owners": ["@acme/security"], "optional": True,
         "approvals": 0},
    ]
    assert by_path[".gitlab-ci.yml"].evidence["owners"] == ["@acme/eng", "@acme/security"]


def test_sensitive_paths_without_codeowners_fail_each(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {".annexa.yml": "policies: [builtin]\n", "policies/a.yml": "id: a\n"})
    results = run_rule("sensitive-paths-owned", checkout, platform="github", config=OWNERS)
    assert outcome(results) == [(Status.FAIL, ".annexa.yml", None), (Status.FAIL, "policies/a.yml", None)]
    assert results[0].message == ".annexa.yml has no code owner: there is no CODEOWNERS file"


def test_sensitive_classes_param(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {**SENSITIVE, "CODEOWNERS": "/policies/ @acme/security\n"})
    results = run_rule("sensitive-paths-owned", checkout, platform="github", config=OWNERS,
                       params={"classes": ["policies"]})
    assert outcome(results) == [(Status.PASS, "policies/access.yml", None)]


def test_no_sensitive_files_is_not_applicable(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"src/app.py": "x\n"})
    [result] = run_rule("sensitive-paths-owned", checkout, platform="github", config=OWNERS)
    assert result.status == Status.NOT_APPLICABLE


# --- weights-codeowned ------------------------------------------------------------------------------------------

WEIGHTS = {  # binary bytes: a weight is recognised by content, a text file named .bin is not one
    "models/llm/model.safetensors": b"\x00x",
    "models/public/tiny.bin": b"\x00x",
    "research/old.pt": b"\x00x",
    "src/train.py": "x\n",
}
WEIGHT_OWNERS = ("* @acme/eng\n"
                 "/models/ @acme/ml-model-owners\n"
                 "/models/public/ @acme/docs\n")


def test_weights_owned_per_file(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {**WEIGHTS, ".github/CODEOWNERS": WEIGHT_OWNERS})
    results = run_rule("weights-codeowned", checkout, platform="github", config=OWNERS)
    assert outcome(results) == [
        (Status.PASS, "models/llm/model.safetensors", None),
        (Status.FAIL, "models/public/tiny.bin", None),
        (Status.FAIL, "research/old.pt", None),
    ]
    assert results[0].evidence["line"] == 2
    assert results[1].evidence == {
        "required_owners": ["@acme/ml-model-owners"], "codeowners": ".github/CODEOWNERS", "platform": "github",
        "platform_reason": "the run is on GitHub", "owners": ["@acme/docs"], "line": 3, "pattern": "/models/public/",
    }
    assert results[2].message == ("research/old.pt is owned by @acme/eng (.github/CODEOWNERS:1), "
                                  "none of @acme/ml-model-owners")


def test_weights_with_no_matching_line(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {**WEIGHTS, "CODEOWNERS": "/src/ @acme/eng\n"})
    results = run_rule("weights-codeowned", checkout, platform="github", config=OWNERS)
    assert outcome(results) == [(Status.FAIL, p, None) for p in
                                ["models/llm/model.safetensors", "models/public/tiny.bin", "research/old.pt"]]
    assert results[0].message == ("models/llm/model.safetensors has no code owner: no line of "
                                  "CODEOWNERS matches it (needs @acme/ml-model-owners)")
    assert [r.key for r in results] == ["unowned"] * 3


def test_weights_in_pr_mode_every_file(tmp_path: Path) -> None:
    """scope: repository: unchanged weight files are checked too (reported as not introduced)."""
    checkout = make_checkout(tmp_path, {**WEIGHTS, ".github/CODEOWNERS": WEIGHT_OWNERS})
    change = ChangeSet("main", {"research/old.pt": FileChange("research/old.pt", "added")})
    results = run_rule("weights-codeowned", checkout, platform="github", config=OWNERS, change=change)
    assert outcome(results) == [(Status.PASS, "models/llm/model.safetensors", None),
                                (Status.FAIL, "models/public/tiny.bin", None), (Status.FAIL, "research/old.pt", None)]


def test_weights_in_pr_mode_all_files_when_codeowners_changes(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {**WEIGHTS, ".github/CODEOWNERS": "* @acme/ml-model-owners\n"})
    change = ChangeSet("main", {".github/CODEOWNERS": FileChange(".github/CODEOWNERS", "modified", frozenset({1}))})
    results = run_rule("weights-codeowned", checkout, platform="github", config=OWNERS, change=change)
    assert outcome(results) == [(Status.PASS, p, None) for p in
                                ["models/llm/model.safetensors", "models/public/tiny.bin", "research/old.pt"]]


def test_weights_none_is_not_applicable(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"src/train.py": "x\n", "CODEOWNERS": "* @a\n"})
    [result] = run_rule("weights-codeowned", checkout, platform="github", config=OWNERS)
    assert result.status == Status.NOT_APPLICABLE


def test_weights_need_model_owners_configured(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {**WEIGHTS, "CODEOWNERS": "* @a\n"})
    [result] = run_rule("weights-codeowned", checkout, platform="github")
    assert (result.status, result.evidence["needs"]) == (Status.UNKNOWN, "owners.models in .annexa.yml")


def test_weights_on_gitlab_any_required_section_owns(tmp_path: Path) -> None:
    codeowners = "* @acme/eng\n[Models][2] @acme/ml-model-owners\n*.safetensors\n"
    checkout = make_checkout(tmp_path, {"models/a.safetensors": b"\x00x", "CODEOWNERS": codeowners})
    [result] = run_rule("weights-codeowned", checkout, platform="gitlab", config=OWNERS)
    assert result.status == Status.PASS
    assert result.message == "models/a.safetensors is owned by @acme/ml-model-owners (CODEOWNERS:3)"
    assert result.evidence["sections"][1] == {"section": "Models", "line": 3, "pattern": "*.safetensors",
                                              "owners": ["@acme/ml-model-owners"], "optional": False,
                                              "approvals": 2}
