"""script-injection-blocked: attacker text never pasted into GitHub scripts or re-evaluated by GitLab shells."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.model import Status
from tests.workflows.common import SHA, outcomes, results

RULE = "script-injection-blocked"
WF = ".github/workflows/ci.yml"
GL = ".gitlab-ci.yml"
PASS, FAIL = Status.PASS, Status.FAIL


def run_block(*lines: str, env: str = "") -> str:
    """A workflow whose step runs a literal block; script line i is on file line 8 + i (env adds lines above)."""
    body = "".join(f"          {line}\n" for line in lines)
    return (
        "on: pull_request_target\n"
        "jobs:\n"
        "  greet:\n"
        "    runs-on: ubuntu-latest\n"
        "    strategy: {matrix: {os: [linux]}}\n"
        "    steps:\n"
        "      - name: say hello\n"
        f"{env}"
        "        run: |\n"
        f"{body}"
    )


TITLE = "${{ github.event.pull_request.title }}"
TITLE_ENV = "        env:\n          TITLE: ${{ github.event.pull_request.title }}\n"


@pytest.mark.parametrize(
    ("workflow", "expected"),
    [
        pytest.param(run_block("echo start", f'echo "{TITLE}"'), [(FAIL, WF, 10)], id="pr-title"),
        pytest.param(run_block("echo ${{ github.event.issue.body }}", "echo ${{ github.head_ref }}"),
                     [(FAIL, WF, 9), (FAIL, WF, 10)], id="two-lines"),
        pytest.param(run_block("echo '${{ github.event.comment.body }}' ${{ github.event.review.body }}"),
                     [(FAIL, WF, 9), (FAIL, WF, 9)], id="two-on-one-line"),
        pytest.param(run_block('git log -1 --format=%s "${{ github.event.head_commit.message }}"'),
                     [(FAIL, WF, 9)], id="head-commit-message"),
        pytest.param(run_block("echo ${{ github.event.commits[0].author.email }}"), [(FAIL, WF, 9)],
                     id="indexed-commit-author"),
        pytest.param(run_block("echo ${{ github.event['pull_request']['title'] }}"), [(FAIL, WF, 9)],
                     id="bracket-index"),
        pytest.param(run_block("echo '${{ toJSON(github.event) }}' > event.json"), [(FAIL, WF, 9)],
                     id="whole-event-object"),
        pytest.param(run_block("echo ${{ github.head_ref || github.ref_name }}"), [(FAIL, WF, 9)],
                     id="fallback-operand"),
        pytest.param(run_block("echo ${{ github.event_name == 'pull_request' && github.head_ref || 'main' }}"),
                     [(FAIL, WF, 9)], id="ternary-idiom"),
        pytest.param(run_block('echo "$TITLE"', env=TITLE_ENV), [(PASS, WF, None)], id="env-indirection"),
        pytest.param(run_block('echo "${{ env.TITLE }}"', env=TITLE_ENV), [(FAIL, WF, 11)], id="env-expression"),
        pytest.param(run_block("echo ${{ github.sha }} ${{ matrix.os }} ${{ github.event.pull_request.number }}",
                               "echo ${{ github.event.pull_request.head.sha }} ${{ inputs.name }}"),
                     [(PASS, WF, None)], id="not-attacker-controlled"),
        pytest.param(run_block("echo ${{ contains(github.event.pull_request.title, 'WIP') }}",
                               "echo ${{ github.event.issue.title == 'x' }} ${{ !github.event.issue.body }}"),
                     [(PASS, WF, None)], id="boolean-results"),
        pytest.param(run_block("echo ${{ github.event.inputs.name }} ${{ github.event.pull_request.head.repo.fork }}"),
                     [(PASS, WF, None)], id="dispatch-inputs-and-fork-flag"),
    ],
)
def test_github_run(tmp_path: Path, workflow: str, expected: list[tuple[Status, str, int]]) -> None:
    assert outcomes(RULE, tmp_path, {WF: workflow}) == expected


ONE_LINE_RUN = """\
on: issues
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.issue.title }}"
"""

GITHUB_SCRIPT = f"""\
on: issue_comment
jobs:
  react:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/github-script@{SHA}
        with:
          script: |
            const body = `${{{{ github.event.comment.body }}}}`
            console.log(body)
      - uses: peter-evans/create-or-update-comment@{SHA}
        with:
          body: ${{{{ github.event.comment.body }}}}
"""

COMPOSITE = """\
name: notify
inputs:
  message: {required: true}
runs:
  using: composite
  steps:
    - shell: bash
      run: |
        echo "${{ inputs.message }}"
        echo "${{ github.event.pull_request.body }}"
"""


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({WF: ONE_LINE_RUN}, [(FAIL, WF, 6)], id="single-line-run"),
        pytest.param({WF: GITHUB_SCRIPT}, [(FAIL, WF, 9)], id="github-script-only"),
        pytest.param({".github/actions/notify/action.yml": COMPOSITE},
                     [(FAIL, ".github/actions/notify/action.yml", 10)], id="composite-action"),
    ],
)
def test_github_sinks(tmp_path: Path, files: dict[str, str], expected: list[tuple[Status, str, int]]) -> None:
    assert outcomes(RULE, tmp_path, files) == expected


def test_github_evidence(tmp_path: Path) -> None:
    [result] = results(RULE, tmp_path, {WF: run_block("echo start", f'echo "{TITLE}"')})
    assert result.evidence == {
        "job": "greet",
        "step": "say hello",
        "sink": "run",
        "expression": TITLE,
        "contexts": ["github.event.pull_request.title"],
    }


def test_composite_action_evidence_has_no_job(tmp_path: Path) -> None:
    [result] = results(RULE, tmp_path, {".github/actions/notify/action.yml": COMPOSITE})
    assert result.message.startswith("step 1 expands `${{ github.event.pull_request.body }}` inside `run`")
    assert result.evidence == {
        "step": "step 1",
        "sink": "run",
        "expression": "${{ github.event.pull_request.body }}",
        "contexts": ["github.event.pull_request.body"],
    }


def test_extra_untrusted_contexts(tmp_path: Path) -> None:
    workflow = run_block("echo ${{ github.event.client_payload.note }}")
    assert outcomes(RULE, tmp_path / "a", {WF: workflow}) == [(PASS, WF, None)]
    params = {"extra_untrusted_contexts": ["github.event.client_payload.*"]}
    assert outcomes(RULE, tmp_path / "b", {WF: workflow}, params=params) == [(FAIL, WF, 9)]


GL_SAFE = """\
test:
  script:
    - echo "$CI_COMMIT_MESSAGE"
    - ./notify "$CI_MERGE_REQUEST_TITLE"
    - sh -c 'echo "$CI_COMMIT_MESSAGE"'
    - eval "$SETUP_COMMAND"
    - bash -c "make test SHA=$CI_COMMIT_SHA"
"""

GL_EVAL = """\
stages: [test]
test:
  stage: test
  script:
    - echo "$CI_MERGE_REQUEST_TITLE"
    - eval "echo $CI_MERGE_REQUEST_TITLE"
    - bash -c "deploy --branch ${CI_COMMIT_REF_NAME}"
    - sh -ec "echo '$CI_COMMIT_TITLE'"
"""

GL_ALIASES = """\
variables:
  MESSAGE: $CI_COMMIT_MESSAGE
  COPY: "${MESSAGE}"
build:
  variables:
    BRANCH: $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME
  script:
    - eval "notify $COPY"
    - eval "checkout $BRANCH"
lint:
  script:
    - eval "checkout $BRANCH"
"""

GL_BLOCK = """\
default:
  before_script:
    - |
      echo "preparing"
      NOTE="$CI_COMMIT_DESCRIPTION"
      eval "echo $NOTE"
release:
  script: !reference [.common, script]
"""


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({GL: GL_SAFE}, [(PASS, GL, None)], id="single-evaluation"),
        pytest.param({GL: GL_EVAL}, [(FAIL, GL, 6), (FAIL, GL, 7), (FAIL, GL, 8)], id="eval-and-sh-c"),
        pytest.param({GL: GL_ALIASES}, [(FAIL, GL, 8), (FAIL, GL, 9)], id="variable-aliases"),
        pytest.param({".gitlab/ci/release.yml": GL_BLOCK}, [(FAIL, ".gitlab/ci/release.yml", 6)],
                     id="shell-assignment-in-block"),
    ],
)
def test_gitlab_scripts(tmp_path: Path, files: dict[str, str], expected: list[tuple[Status, str, int]]) -> None:
    assert outcomes(RULE, tmp_path, files) == expected


def test_gitlab_evidence(tmp_path: Path) -> None:
    found = results(RULE, tmp_path, {GL: GL_EVAL})
    assert [(r.evidence["job"], r.evidence["section"], r.evidence["variables"]) for r in found] == [
        ("test", "script", ["CI_MERGE_REQUEST_TITLE"]),
        ("test", "script", ["CI_COMMIT_REF_NAME"]),
        ("test", "script", ["CI_COMMIT_TITLE"]),
    ]


def test_gitlab_extra_variables(tmp_path: Path) -> None:
    files = {GL: 'x:\n  script:\n    - eval "label $CI_MERGE_REQUEST_LABELS"\n'}
    assert outcomes(RULE, tmp_path / "a", files) == [(PASS, GL, None)]
    params = {"extra_untrusted_variables": ["CI_MERGE_REQUEST_LABELS"]}
    assert outcomes(RULE, tmp_path / "b", files, params=params) == [(FAIL, GL, 3)]


FLOWS = """\
on: pull_request_target
jobs:
  meta:
    runs-on: ubuntu-latest
    outputs:
      title: ${{ steps.read.outputs.title }}
      plain: ${{ steps.fixed.outputs.value }}
      acted: ${{ steps.action.outputs.value }}
    steps:
      - id: read
        run: echo "title=${{ github.event.pull_request.title }}" >> "$GITHUB_OUTPUT"
      - id: fixed
        run: echo "value=42" >> "$GITHUB_OUTPUT"
      - id: action
        uses: acme/compute@11bd71901bbe5b1630ceea73d27597364c9af683
  use:
    needs: meta
    runs-on: ubuntu-latest
    strategy:
      matrix:
        name: ${{ fromJSON(needs.meta.outputs.acted) }}
    steps:
      - run: echo "${{ needs.meta.outputs.title }}"
      - run: echo "${{ needs.meta.outputs.plain }}"
      - run: echo "${{ needs.meta.outputs.acted }}"
      - run: echo "${{ matrix.name }}"
      - run: echo "BRANCH=${{ github.head_ref }}" >> $GITHUB_ENV
      - run: echo "${{ env.BRANCH }}"
"""


def test_values_flowing_through_outputs_matrix_and_github_env(tmp_path: Path) -> None:
    found = [(r.status, r.location and r.location.line) for r in results(RULE, tmp_path, {WF: FLOWS})]
    assert found == [
        (FAIL, 11),  # the title written to $GITHUB_OUTPUT is itself expanded in the script
        (FAIL, 23),  # needs.meta.outputs.title carries the pull request title
        (Status.UNKNOWN, 25),  # an action's output: cannot be followed
        (Status.UNKNOWN, 26),  # a matrix computed from that output
        (FAIL, 27),  # github.head_ref expanded in the run itself
        (FAIL, 28),  # env.BRANCH was written to $GITHUB_ENV from github.head_ref
    ]


def test_an_expression_too_deep_to_follow_is_unknown_for_its_step_only(tmp_path: Path) -> None:
    deep = "github.event.pull_request.title"
    for _ in range(400):
        deep = f"'x' || ({deep})"
    workflow = run_block("echo ok") + "      - run: echo \"${{ " + deep + " }}\"\n"
    found = [(r.status, r.location and r.location.line) for r in results(RULE, tmp_path, {WF: workflow})]
    assert found == [(Status.UNKNOWN, 10)]


def test_a_negated_alternative_is_a_boolean_and_plain_action_outputs_are_clean(tmp_path: Path) -> None:
    """A real-world shape (pytorch-lightning): `! (a || b)` once recursed forever; actions/cache's cache-hit and a
    static matrix are not text anyone outside chooses."""
    workflow = (
        "on: pull_request\n"
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-latest\n"
        "    strategy: {matrix: {os: [linux, macos]}}\n"
        "    env:\n"
        "      FREEZE: ${{ ! (github.ref == 'refs/heads/master' || startsWith(github.head_ref, 'x')) }}\n"
        "    steps:\n"
        f"      - id: cache\n        uses: actions/cache@{SHA}\n"
        "      - run: echo \"${{ steps.cache.outputs.cache-hit }} ${{ matrix.os }} $FREEZE\"\n"
    )
    assert outcomes(RULE, tmp_path, {WF: workflow}) == [(PASS, WF, None)]
