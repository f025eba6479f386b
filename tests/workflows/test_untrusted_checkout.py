"""untrusted-checkout-blocked: privileged triggers never check out or fetch the pull request's code."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.model import Status
from tests.workflows.common import SHA, outcomes, results

RULE = "untrusted-checkout-blocked"
WF = ".github/workflows/pr.yml"
PASS, FAIL, UNKNOWN = Status.PASS, Status.FAIL, Status.UNKNOWN


def checkout_with(trigger: str, ref: str, job_if: str = "") -> str:
    """A workflow whose checkout step has ``ref:`` on line 9 (line 5 is the job's ``if:`` when given)."""
    guard = f"    if: {job_if}\n" if job_if else "    timeout-minutes: 10\n"
    return (
        f"on: {trigger}\n"
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-latest\n"
        f"{guard}"
        "    steps:\n"
        f"      - uses: actions/checkout@{SHA} # v4\n"
        "        with:\n"
        f"          ref: {ref}\n"
        "      - run: npm ci && npm test\n"
    )


HEAD_SHA = "${{ github.event.pull_request.head.sha }}"
SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository"

ISSUE_COMMENT_RUN = """\
on:
  issue_comment:
    types: [created]
jobs:
  test:
    if: github.event.issue.pull_request
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
      - name: check out the PR
        env:
          GH_TOKEN: ${{ github.token }}
        run: |
          echo "testing"
          gh pr checkout ${{ github.event.issue.number }}
          make test
"""

GIT_FETCH_PULL = """\
on: [issue_comment]
jobs:
  bench:
    runs-on: ubuntu-latest
    steps:
      - run: |
          git fetch origin pull/${{ github.event.issue.number }}/head:pr
          git switch pr
"""

ENV_INDIRECTION = """\
on: pull_request_target
env:
  HEAD: ${{ github.event.pull_request.head.sha }}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: |
          git init . && git remote add origin https://github.com/${{ github.repository }}
          git fetch origin "$HEAD" && git checkout "$HEAD"
"""

PUSH_TO_HEAD = """\
on: pull_request_target
jobs:
  notify:
    runs-on: ubuntu-latest
    steps:
      - run: |
          git push origin HEAD:${{ github.head_ref }} --dry-run
"""

FORK_REPOSITORY = """\
on: pull_request_target
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
        with:
          repository: ${{ github.event.pull_request.head.repo.full_name }}
"""

LABEL_ONLY = """\
on:
  pull_request_target:
    types: [labeled]
jobs:
  label:
    runs-on: ubuntu-latest
    permissions: {pull-requests: write}
    steps:
      - uses: actions/labeler@8558fd74291d67161a8a78ce36a881fa63b766a9
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
        with:
          ref: ${{ github.sha }}
"""

REMOTE_REUSABLE = """\
on: workflow_run
jobs:
  report:
    uses: acme/ci/.github/workflows/report.yml@11bd71901bbe5b1630ceea73d27597364c9af683
"""

CALLER = """\
on: pull_request_target
jobs:
  call:
    uses: ./.github/workflows/build.yml
    with:
      ref: ${{ github.event.pull_request.head.sha }}
      label: safe
"""

CALLER_SAFE = CALLER.replace("github.event.pull_request.head.sha", "github.sha")

CALLEE = """\
on:
  workflow_call:
    inputs:
      ref: {type: string}
      label: {type: string}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
        with:
          ref: ${{ inputs.ref }}
      - run: make
"""

COMPOSITE_CALLER = """\
on: workflow_run
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/fetch
        with:
          sha: ${{ github.event.workflow_run.head_sha }}
"""

COMPOSITE = """\
name: fetch
inputs:
  sha: {required: true}
runs:
  using: composite
  steps:
    - shell: bash
      run: git checkout ${{ inputs.sha }}
"""

CALLEE_PATH = ".github/workflows/build.yml"
ACTION_PATH = ".github/actions/fetch/action.yml"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({WF: checkout_with("pull_request_target", HEAD_SHA)}, [(FAIL, WF, 9)], id="head-sha"),
        pytest.param({WF: checkout_with("[pull_request_target]", "${{ github.head_ref }}")}, [(FAIL, WF, 9)],
                     id="head-ref-list-trigger"),
        pytest.param({WF: checkout_with("workflow_run", "${{ github.event.workflow_run.head_sha }}")},
                     [(FAIL, WF, 9)], id="workflow-run-head-sha"),
        pytest.param({WF: checkout_with("pull_request_target", "refs/pull/${{ github.event.number }}/merge")},
                     [(FAIL, WF, 9)], id="refs-pull-literal"),
        pytest.param({WF: checkout_with("pull_request", HEAD_SHA)}, [(PASS, WF, None)], id="unprivileged-trigger"),
        pytest.param({WF: checkout_with("pull_request_target", "${{ github.sha }}")}, [(PASS, WF, None)],
                     id="base-sha"),
        pytest.param({WF: checkout_with("pull_request_target", "main")}, [(PASS, WF, None)], id="base-branch"),
        pytest.param({WF: ISSUE_COMMENT_RUN}, [(FAIL, WF, 15)], id="gh-pr-checkout-in-block"),
        pytest.param({WF: GIT_FETCH_PULL}, [(FAIL, WF, 7)], id="git-fetch-pull"),
        pytest.param({WF: ENV_INDIRECTION}, [(FAIL, WF, 10)], id="env-indirection"),
        pytest.param({WF: PUSH_TO_HEAD}, [(PASS, WF, None)], id="push-to-head-branch-only"),
        pytest.param({WF: PUSH_TO_HEAD.replace("push origin", "-C src fetch origin")}, [(FAIL, WF, 7)],
                     id="git-with-options-fetch"),
        pytest.param({WF: FORK_REPOSITORY}, [(FAIL, WF, 8)], id="fork-repository"),
        pytest.param({WF: LABEL_ONLY}, [(PASS, WF, None)], id="labeler-no-pr-code"),
        pytest.param({WF: REMOTE_REUSABLE}, [(UNKNOWN, WF, 4)], id="remote-reusable-workflow"),
        pytest.param({WF: CALLER, CALLEE_PATH: CALLEE}, [(PASS, CALLEE_PATH, None), (FAIL, CALLEE_PATH, 12)],
                     id="local-reusable-tainted-input"),
        pytest.param({WF: CALLER_SAFE, CALLEE_PATH: CALLEE}, [(PASS, CALLEE_PATH, None), (PASS, WF, None)],
                     id="local-reusable-safe-input"),
        pytest.param({WF: COMPOSITE_CALLER, ACTION_PATH: COMPOSITE}, [(FAIL, ACTION_PATH, 8)],
                     id="local-composite-action"),
    ],
)
def test_untrusted_checkout(tmp_path: Path, files: dict[str, str], expected: list[tuple[Status, str, int]]) -> None:
    assert outcomes(RULE, tmp_path, files) == expected


def test_failure_evidence(tmp_path: Path) -> None:
    [result] = results(RULE, tmp_path, {WF: checkout_with("pull_request_target", HEAD_SHA)})
    assert result.evidence == {
        "triggers": ["pull_request_target"],
        "job": "test",
        "step": "step 1",
        "checkout": f"ref: {HEAD_SHA}",
        "names": ["github.event.pull_request.head.sha"],
    }


def test_refs_pull_literal_is_named_whole(tmp_path: Path) -> None:
    ref = "refs/pull/${{ github.event.number }}/merge"
    [result] = results(RULE, tmp_path, {WF: checkout_with("pull_request_target", ref)})
    assert result.evidence["names"] == [f"literal {ref}"]


def test_called_code_names_the_caller(tmp_path: Path) -> None:
    [alone, via_caller] = results(RULE, tmp_path, {WF: CALLER, CALLEE_PATH: CALLEE})
    assert alone.evidence == {"triggers": ["workflow_call"]}
    assert via_caller.evidence["via"] == f"{WF}:4"
    assert via_caller.evidence["names"] == ["inputs.ref"]


def test_remote_reusable_workflow_needs_its_source(tmp_path: Path) -> None:
    [result] = results(RULE, tmp_path, {WF: REMOTE_REUSABLE})
    assert result.evidence["needs"] == "the source of acme/ci/.github/workflows/report.yml"


def test_same_repository_guard_passes_with_evidence(tmp_path: Path) -> None:
    [result] = results(RULE, tmp_path, {WF: checkout_with("pull_request_target", HEAD_SHA, SAME_REPO)})
    assert (result.status, result.location and result.location.line) == (PASS, None)
    assert result.evidence["guarded"] == [{"location": f"{WF}:9", "guard": "same-repository", "condition": SAME_REPO}]


@pytest.mark.parametrize(
    ("condition", "accept", "expected"),
    [
        pytest.param("github.event.pull_request.author_association == 'MEMBER'", False, FAIL,
                     id="author-association"),
        pytest.param("contains(github.event.pull_request.labels.*.name, 'safe to test')", False, FAIL, id="label"),
        pytest.param("contains(github.event.pull_request.labels.*.name, 'safe to test')", True, PASS,
                     id="label-accepted"),
        pytest.param(f"{SAME_REPO} || github.actor == 'dependabot[bot]'", False, FAIL, id="or-is-no-guard"),
    ],
)
def test_maintainer_guards(tmp_path: Path, condition: str, accept: bool, expected: Status) -> None:
    workflow = checkout_with("pull_request_target", HEAD_SHA, condition)
    [result] = results(RULE, tmp_path, {WF: workflow}, params={"accept_maintainer_guard": accept})
    assert result.status is expected
    guard = result.evidence.get("guard")
    if expected is FAIL and "||" not in condition:
        assert guard == {"kind": "maintainer", "condition": condition}
    elif expected is FAIL:
        assert guard is None
    else:
        assert result.evidence["guarded"][0]["guard"] == "maintainer"


ROOT_ACTION_CALLER = COMPOSITE_CALLER.replace("./.github/actions/fetch", "./")
ESCAPING_CALLER = CALLER.replace("./.github/workflows/build.yml", "./../outside.yml")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({WF: ROOT_ACTION_CALLER, "action.yml": COMPOSITE}, [(FAIL, "action.yml", 8)],
                     id="root-action"),
        pytest.param({WF: ESCAPING_CALLER}, [(UNKNOWN, WF, 4)], id="path-leaving-checkout"),
    ],
)
def test_local_references(tmp_path: Path, files: dict[str, str], expected: list[tuple[Status, str, int]]) -> None:
    (tmp_path / "outside.yml").write_text(CALLEE, encoding="utf-8")
    assert outcomes(RULE, tmp_path, files) == expected


def test_gitlab_only_is_not_applicable(tmp_path: Path) -> None:
    assert outcomes(RULE, tmp_path, {".gitlab-ci.yml": "a:\n  script: [make]\n"}) == [
        (Status.NOT_APPLICABLE, None, None)
    ]


@pytest.mark.parametrize(("condition", "expected"), [
    (SAME_REPO, PASS),
    (f"${{{{ !({SAME_REPO}) }}}}", FAIL),
    (f"({SAME_REPO}) == false", FAIL),
    (f"({SAME_REPO}) == true", PASS),
    (SAME_REPO.replace("==", "!="), FAIL),
    (f"${{{{ !(!({SAME_REPO})) }}}}", PASS),
    ("${{ !github.event.pull_request.head.repo.fork }}", PASS),
    ("${{ !(!github.event.pull_request.head.repo.fork) }}", FAIL),
])
def test_a_negated_same_repository_condition_is_no_guard(tmp_path: Path, condition: str, expected: Status) -> None:
    [result] = results(RULE, tmp_path, {WF: checkout_with("pull_request_target", HEAD_SHA, condition)})
    assert (result.status, result.location and result.location.line) == (expected, 9 if expected is FAIL else None)


@pytest.mark.parametrize("ref", [
    "${{ github.event.workflow_run.head_commit.id }}",
    "${{ github.event.workflow_run.head_repository.ssh_url }}",
    "${{ github.event.pull_request.head.repo.git_url }}",
    "${{ github.event.pull_request.head.repo.ssh_url }}",
])
def test_more_head_contexts_name_the_pull_requests_code(tmp_path: Path, ref: str) -> None:
    assert outcomes(RULE, tmp_path, {WF: checkout_with("workflow_run", ref)}) == [(FAIL, WF, 9)]


@pytest.mark.parametrize(("ref", "needs"), [
    ("${{ needs.meta.outputs.sha }}", "where needs.meta.outputs.sha comes from (set the ref from a trusted context)"),
    ("${{ steps.pr.outputs.head }}", "where steps.pr.outputs.head comes from (set the ref from a trusted context)"),
])
def test_a_checkout_of_a_computed_ref_is_unknown(tmp_path: Path, ref: str, needs: str) -> None:
    [result] = results(RULE, tmp_path, {WF: checkout_with("pull_request_target", ref)})
    assert (result.status, result.location and result.location.line, result.evidence["needs"]) == (
        UNKNOWN, 9, needs)


REMOTE_ACTION = f"""\
on: pull_request_target
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: acme/build@{SHA}
        with:
          sha: ${{{{ github.event.pull_request.head.sha }}}}
      - uses: acme/git-checkout@{SHA}
      - uses: acme/lint@{SHA}
        with:
          level: high
"""


def test_remote_actions_given_the_head_or_checking_out_need_their_source(tmp_path: Path) -> None:
    found = [(r.status, r.location and r.location.line, r.evidence.get("needs"))
             for r in results(RULE, tmp_path, {WF: REMOTE_ACTION})]
    assert found == [
        (UNKNOWN, 6, "the source of acme/build"),
        (UNKNOWN, 9, "the source of acme/git-checkout"),
    ]
