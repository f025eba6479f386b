"""security-checks-in-ci: GitHub workflows and GitLab CI that run annexa or a secret scan plus SAST on PRs/MRs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.content.common import outcome
from tests.support import make_checkout, run_rule

RULE = "security-checks-in-ci"

ANNEXA_WF = """name: compliance
on:
  pull_request:
    branches: [main]
jobs:
  annexa:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
      - run: pipx run annexa check --base origin/main
"""

EQUIVALENT_WF = """on: [pull_request, push]
jobs:
  secrets:
    runs-on: ubuntu-latest
    steps:
      - uses: gitleaks/gitleaks-action@ff98106e4c7b2bc287b24eaf42907196329070c7
  sast:
    runs-on: ubuntu-latest
    steps:
      - uses: github/codeql-action/analyze@4e828ff8d448a8a6e532957b1811f387a63867e8
"""

PUSH_ONLY_WF = ANNEXA_WF.replace("  pull_request:\n    branches: [main]", "  push:\n    branches: [main]")

SECRETS_ONLY_WF = """on: pull_request_target
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - run: trufflehog git file://. --since-commit HEAD~1
"""


@pytest.mark.parametrize(("workflow", "expected", "line"), [
    (ANNEXA_WF, "pass", 10),
    (EQUIVALENT_WF, "pass", 6),
    (PUSH_ONLY_WF, "fail", None),
    (SECRETS_ONLY_WF, "fail", None),
], ids=["annexa", "gitleaks+codeql", "push-only", "secrets-only"])
def test_github_workflows(tmp_path: Path, workflow: str, expected: str, line: int | None) -> None:
    checkout = make_checkout(tmp_path, {".github/workflows/ci.yml": workflow})
    [result] = run_rule(RULE, checkout)
    assert outcome(result) == (expected, ".github/workflows/ci.yml", line)


def test_github_failure_names_what_is_missing(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {".github/workflows/ci.yml": SECRETS_ONLY_WF})
    [result] = run_rule(RULE, checkout)
    assert (result.evidence["missing"], result.evidence["tools"]) == (["SAST scan"], {"secrets": ["trufflehog"]})


GITLAB_TEMPLATES = """include:
  - template: Jobs/Secret-Detection.gitlab-ci.yml
  - template: Jobs/SAST.gitlab-ci.yml
stages: [test]
"""

GITLAB_ANNEXA_MR = """stages: [test]
annexa:
  image: python:3.12
  script:
    - pip install annexa
    - annexa ci
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
"""

GITLAB_MAIN_ONLY = """semgrep:
  image: semgrep/semgrep
  script: [semgrep scan --config auto]
  rules:
    - if: $CI_COMMIT_BRANCH == "main"
gitleaks:
  image: zricethezav/gitleaks
  script: [gitleaks detect]
  only: [main]
"""

GITLAB_REFERENCE = """.setup:
  script: [echo hi]
scan:
  script:
    - !reference [.setup, script]
    - gitleaks detect && semgrep scan
"""


@pytest.mark.parametrize(("config", "expected", "line"), [
    (GITLAB_TEMPLATES, "pass", 2),
    (GITLAB_ANNEXA_MR, "pass", 5),
    (GITLAB_MAIN_ONLY, "fail", None),
    (GITLAB_REFERENCE, "pass", 6),
], ids=["templates", "annexa-on-mr", "main-only", "reference-tag"])
def test_gitlab_ci(tmp_path: Path, config: str, expected: str, line: int | None) -> None:
    [result] = run_rule(RULE, make_checkout(tmp_path, {".gitlab-ci.yml": config}))
    assert outcome(result) == (expected, ".gitlab-ci.yml", line)


def test_no_ci_at_all_fails(tmp_path: Path) -> None:
    [result] = run_rule(RULE, make_checkout(tmp_path, {"README.md": "# x\n"}))
    assert (outcome(result), result.key) == (("fail", None, None), "no-ci")


def test_broken_yaml_without_a_passing_file_is_unknown(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {".github/workflows/a.yml": "on: [pull_request\njobs: {\n",
                                        ".github/workflows/b.yml": PUSH_ONLY_WF})
    [result] = run_rule(RULE, checkout)
    assert outcome(result) == ("unknown", ".github/workflows/a.yml", None)
    assert result.evidence["errors"] == [".github/workflows/a.yml:2: not valid YAML"]


def test_both_platforms_are_judged_separately(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {".github/workflows/ci.yml": ANNEXA_WF, ".gitlab-ci.yml": GITLAB_MAIN_ONLY})
    assert [outcome(r) for r in run_rule(RULE, checkout)] == [("pass", ".github/workflows/ci.yml", 10),
                                                              ("fail", ".gitlab-ci.yml", None)]


NAMED_ONLY_WF = """on: pull_request
jobs:
  pretend:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "we run gitleaks and semgrep"   # gitleaks detect
          # semgrep --config auto
          printf 'bandit\\n'
      - name: semgrep
        run: make test
"""

RUN_WF = """on: pull_request
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - run: pip install semgrep && semgrep scan --error
      - run: docker run --rm -v "$PWD:/src" zricethezav/gitleaks:v8 detect --source /src
"""


@pytest.mark.parametrize(("workflow", "expected", "line", "tools"), [
    (NAMED_ONLY_WF, "fail", None, {}),
    (RUN_WF, "pass", 7, {"sast": ["semgrep"], "secrets": ["gitleaks"]}),  # located at the secret scan
], ids=["named-in-echo-and-comments", "invoked"])
def test_a_scanner_counts_when_it_runs_not_when_it_is_named(tmp_path: Path, workflow: str, expected: str,
                                                            line: int | None, tools: dict[str, list[str]]) -> None:
    [result] = run_rule(RULE, make_checkout(tmp_path, {".github/workflows/ci.yml": workflow}))
    assert (*outcome(result), result.evidence["tools"]) == (expected, ".github/workflows/ci.yml", line, tools)


def gitlab_job(conditions: str) -> str:
    return ("stages: [test]\nannexa:\n  image: python:3.12\n  script:\n    - annexa ci\n" + conditions)


@pytest.mark.parametrize(("conditions", "expected"), [
    ("", "pass"),
    ("  except: [merge_requests]\n", "fail"),
    ("  only: [main]\n", "fail"),
    ("  only: [merge_requests]\n", "pass"),
    ('  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n      when: never\n    - when: always\n',
     "fail"),
    ('  rules:\n    - if: $CI_PIPELINE_SOURCE != "merge_request_event"\n    - when: never\n', "fail"),
    ('  rules:\n    - if: $CI_COMMIT_BRANCH == "main"\n', "fail"),
    ('  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n', "pass"),
])
def test_gitlab_jobs_that_skip_merge_requests_do_not_count(tmp_path: Path, conditions: str, expected: str) -> None:
    [result] = run_rule(RULE, make_checkout(tmp_path, {".gitlab-ci.yml": gitlab_job(conditions)}))
    assert result.status.value == expected


CALLER_WF = """on: pull_request
jobs:
  security:
    uses: ./.github/workflows/security.yml
"""

REUSABLE_WF = """on:
  workflow_call:
jobs:
  secrets:
    runs-on: ubuntu-latest
    steps:
      - uses: gitleaks/gitleaks-action@ff98106e4c7b2bc287b24eaf42907196329070c7
  sast:
    uses: ./.github/workflows/sast.yml
"""

SAST_WF = """on: [workflow_call]
jobs:
  codeql:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/workflows/security.yml
      - uses: github/codeql-action/analyze@4e828ff8d448a8a6e532957b1811f387a63867e8
"""


def test_reusable_workflows_called_on_pull_requests_count(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {".github/workflows/pr.yml": CALLER_WF,
                                        ".github/workflows/security.yml": REUSABLE_WF,
                                        ".github/workflows/sast.yml": SAST_WF})
    [result] = run_rule(RULE, checkout)
    assert (*outcome(result), result.evidence["tools"]) == (
        "pass", ".github/workflows/security.yml", 7, {"secrets": ["gitleaks"], "sast": ["codeql"]})


def test_a_reusable_workflow_nobody_calls_on_pull_requests_does_not_count(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {".github/workflows/pr.yml": CALLER_WF.replace("pull_request", "push"),
                                        ".github/workflows/security.yml": REUSABLE_WF,
                                        ".github/workflows/sast.yml": SAST_WF})
    [result] = run_rule(RULE, checkout)
    assert outcome(result) == ("fail", ".github/workflows/pr.yml", None)


def test_failure_names_scanners_that_run_only_on_other_events(tmp_path: Path) -> None:
    trufflehog = "on:\n  push:\njobs:\n  t:\n    steps:\n      - uses: trufflesecurity/trufflehog@27b0417c\n"
    codeql = ("on:\n  workflow_dispatch:\njobs:\n  a:\n    steps:\n"
              "      - uses: github/codeql-action/analyze@4e828ff8d448a8a6e532957b1811f387a63867e8\n")
    checkout = make_checkout(tmp_path, {".github/workflows/codeql.yml": codeql,
                                        ".github/workflows/leaks.yml": trufflehog,
                                        ".github/workflows/tests.yml": SECRETS_ONLY_WF.replace("trufflehog", "pytest")})
    [result] = run_rule(RULE, checkout)
    assert outcome(result) == ("fail", ".github/workflows/codeql.yml", None)
    assert result.message == ("github CI does not run annexa or a secret scan and a SAST scan on pull requests; "
                              "codeql runs in .github/workflows/codeql.yml only on workflow_dispatch; "
                              "trufflehog runs in .github/workflows/leaks.yml only on push")
    assert result.evidence["not_on_pull_requests"] == [
        {"tool": "codeql", "file": ".github/workflows/codeql.yml", "on": "workflow_dispatch"},
        {"tool": "trufflehog", "file": ".github/workflows/leaks.yml", "on": "push"}]
