"""What the four workflow rules share: which files they read, bad input, PR mode, the YAML view."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from annexa.catalog import load_catalog
from annexa.config import Config
from annexa.facts import ChangeSet, Facts, FileChange
from annexa.model import Status
from annexa.rules import registry
from annexa.rules.base import RuleContext
from annexa.scan.ci_yaml import CiFile, CiYamlError, expressions, get, is_ci_yaml, kind_by_name, load_ci_file
from tests.support import TODAY, make_checkout, run_rule
from tests.workflows.common import SHA, outcomes, results

RULES = ("workflow-permissions-scoped", "actions-pinned", "untrusted-checkout-blocked", "script-injection-blocked")
WF = ".github/workflows/ci.yml"
GOOD = f"""\
on: pull_request
permissions: {{contents: read}}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@{SHA} # v4
      - run: make test
"""
BROKEN = "on: push\njobs:\n  test:\n    steps: [\n      - run: make\n"


@pytest.mark.parametrize("rule", RULES)
def test_invalid_yaml_is_unknown_with_its_line(tmp_path: Path, rule: str) -> None:
    [result] = results(rule, tmp_path, {WF: BROKEN})
    assert (result.status, result.location and (result.location.path, result.location.line)) == (
        Status.UNKNOWN, (WF, 5),
    )
    assert result.evidence["needs"] == "a CI file that parses as YAML"
    assert "line 5" in result.message


@pytest.mark.parametrize("rule", RULES)
def test_undecodable_file_is_unreadable(tmp_path: Path, rule: str) -> None:
    [result] = results(rule, tmp_path, {WF: b"on: push\njobs: \xff\xfe\n"})
    assert (result.status, result.location and result.location.path) == (Status.UNKNOWN, WF)
    assert "not valid UTF-8" in result.message


@pytest.mark.parametrize("rule", RULES)
def test_symlink_out_of_checkout_is_unreadable(tmp_path: Path, rule: str) -> None:
    outside = tmp_path / "outside.yml"
    outside.write_text(GOOD, encoding="utf-8")
    checkout = make_checkout(tmp_path / "repo", {"README.md": "x\n"})
    (tmp_path / "repo" / ".github" / "workflows").mkdir(parents=True)
    os.symlink(outside, tmp_path / "repo" / WF)
    [result] = run_rule(rule, checkout)
    assert (result.status, result.location and result.location.path) == (Status.UNKNOWN, WF)
    assert "outside the checkout" in result.message


@pytest.mark.parametrize("rule", RULES)
def test_clean_workflow_passes_and_no_ci_is_not_applicable(tmp_path: Path, rule: str) -> None:
    assert outcomes(rule, tmp_path / "a", {WF: GOOD}) == [(Status.PASS, WF, None)]
    assert outcomes(rule, tmp_path / "b", {"README.md": "hi\n"}) == [(Status.NOT_APPLICABLE, None, None)]


@pytest.mark.parametrize("rule", RULES)
def test_scripts_and_nested_folders_are_not_workflows(tmp_path: Path, rule: str) -> None:
    files = {
        ".github/workflows/templates/old.yml": "on: push\npermissions: write-all\njobs: {}\n",
        ".github/actions/setup/run.sh": "eval \"$CI_COMMIT_MESSAGE\"\n",
        ".github/actions/setup/config.yml": "uses: acme/x@v1\n",
    }
    assert outcomes(rule, tmp_path, files) == [(Status.NOT_APPLICABLE, None, None)]


def test_pr_mode_checks_every_ci_file(tmp_path: Path) -> None:
    """Workflow rules have scope: repository: an unchanged workflow is checked too (the engine marks it not
    introduced), so the "already in the repository" part of the report is complete."""
    files = {
        WF: GOOD.replace(f"@{SHA} # v4", "@v4"),
        ".github/workflows/other.yml": GOOD.replace(f"@{SHA} # v4", "@v3"),
    }
    change = ChangeSet(base="main", files={WF: FileChange(WF, "modified", frozenset({8}))})
    assert outcomes("actions-pinned", tmp_path, files, change=change) == [
        (Status.FAIL, WF, 7), (Status.FAIL, ".github/workflows/other.yml", 7)]


def test_parsed_once_per_run(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {WF: GOOD})
    catalog = load_catalog()
    cache: dict[str, object] = {}
    for rule in RULES:
        ctx = RuleContext(catalog[rule], Facts("local", checkout), Config(), catalog[rule].defaults(), TODAY, cache)
        list(registry()[rule](ctx))
    assert list(cache) == [f"ci-yaml:{WF}"]
    assert isinstance(cache[f"ci-yaml:{WF}"], CiFile)


@pytest.mark.parametrize(
    ("path", "is_ci", "kind"),
    [
        (".github/workflows/ci.yml", True, "workflow"),
        (".github/workflows/ci.yaml", True, "workflow"),
        (".github/workflows/sub/ci.yml", False, None),
        (".github/actions/setup/action.yml", True, "action"),
        (".github/actions/setup/action.yaml", True, "action"),
        (".github/actions/setup/entrypoint.sh", False, None),
        (".gitlab-ci.yml", True, "gitlab"),
        (".gitlab/ci/build.yml", True, "gitlab"),
        ("ci/pipeline.yml", True, None),
    ],
)
def test_path_kinds(path: str, is_ci: bool, kind: str | None) -> None:
    assert (is_ci_yaml(path), kind_by_name(path)) == (is_ci, kind)


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ("on: push\njobs: {}\n", "workflow"),
        ("name: a\nruns: {using: node20, main: index.js}\n", "action"),
        ("build:\n  script: [make]\n", "gitlab"),
    ],
)
def test_custom_ci_paths_are_recognised_by_content(tmp_path: Path, content: str, kind: str) -> None:
    checkout = make_checkout(tmp_path, {"ci/pipeline.yml": content})
    loaded = load_ci_file(checkout, "ci/pipeline.yml")
    assert isinstance(loaded, CiFile) and loaded.kind == kind


def test_gitlab_spec_header_is_skipped(tmp_path: Path) -> None:
    text = "spec:\n  inputs:\n    stage: {default: test}\n---\ninclude:\n  - remote: https://example.com/a.yml\n"
    assert outcomes("actions-pinned", tmp_path, {".gitlab/ci/x.yml": text}) == [
        (Status.FAIL, ".gitlab/ci/x.yml", 6)
    ]


def test_yaml_error_value(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {WF: BROKEN})
    loaded = load_ci_file(checkout, WF)
    assert isinstance(loaded, CiYamlError) and (loaded.path, loaded.line) == (WF, 5)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        pytest.param("run: |\n  a ${{ x }}\n  b\n  c ${{ y }} ${{ x }}\n", [(" x ", 2), (" y ", 4), (" x ", 4)],
                     id="literal-block"),
        pytest.param("run: >-\n  a ${{ x }}\n  b ${{ y }}\n", [(" x ", 2), (" y ", 3)], id="folded-block"),
        pytest.param("run: echo ${{ x }}\n", [(" x ", 1)], id="plain"),
        pytest.param('run: "echo ${{ x }} \\"${{ y }}\\""\n', [(" x ", 1), (" y ", 1)], id="double-quoted"),
    ],
)
def test_expression_lines(tmp_path: Path, block: str, expected: list[tuple[str, int]]) -> None:
    checkout = make_checkout(tmp_path, {"ci/x.yml": block})
    loaded = load_ci_file(checkout, "ci/x.yml")
    assert isinstance(loaded, CiFile) and loaded.root is not None
    node = get(loaded.root, "run")
    assert isinstance(node, yaml.Node)
    assert expressions(loaded, node, 1) == expected


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize(
    "content",
    [
        pytest.param("", id="empty"),
        pytest.param("- a\n- b\n", id="top-level-list"),
        pytest.param("on: push\njobs: [a, b]\n", id="jobs-as-list"),
        pytest.param("on: pull_request_target\npermissions: {}\njobs:\n  a:\n    uses: {x: 1}\n    steps: 7\n",
                     id="mapping-uses"),
    ],
)
def test_odd_but_valid_yaml_passes_without_crashing(tmp_path: Path, rule: str, content: str) -> None:
    assert outcomes(rule, tmp_path, {WF: content}) == [(Status.PASS, WF, None)]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("actions-pinned", [(Status.UNKNOWN, ".gitlab-ci.yml", 3)]),
        ("script-injection-blocked", [(Status.UNKNOWN, ".gitlab-ci.yml", 3)]),
        ("workflow-permissions-scoped", [(Status.NOT_APPLICABLE, None, None)]),
        ("untrusted-checkout-blocked", [(Status.NOT_APPLICABLE, None, None)]),
    ],
)
def test_invalid_gitlab_file_is_unknown_only_for_rules_that_judge_gitlab(
    tmp_path: Path, rule: str, expected: list[tuple[Status, str | None, int | None]]
) -> None:
    assert outcomes(rule, tmp_path, {".gitlab-ci.yml": "test:\n  script:\n\t- make\n"}) == expected
