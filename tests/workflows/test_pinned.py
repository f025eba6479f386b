"""actions-pinned: GitHub uses: pinned to commit SHAs or digests; GitLab includes pinned."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.model import Status
from tests.workflows.common import DIGEST, SHA, outcomes, results

RULE = "actions-pinned"
WF = ".github/workflows/ci.yml"
ACTION = ".github/actions/setup/action.yml"
GL = ".gitlab-ci.yml"
PASS, FAIL = Status.PASS, Status.FAIL


def workflow(*uses: str) -> str:
    """A one-job workflow whose steps use each reference in turn (step i is on line 6 + i)."""
    steps = "".join(f"      - uses: {u}\n" for u in uses)
    return f"on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"


PINNED_WITH_COMMENT = f"""\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@{SHA} # v4.2.2
      - uses: ./.github/actions/setup
      - uses: docker://ghcr.io/acme/lint@{DIGEST}
      - run: make
"""

REUSABLE = f"""\
on: push
jobs:
  local:
    uses: ./.github/workflows/build.yml
  pinned:
    uses: acme/shared/.github/workflows/build.yml@{SHA}
  moving:
    uses: acme/shared/.github/workflows/build.yml@main
    secrets: inherit
"""

COMPOSITE = f"""\
name: setup
runs:
  using: composite
  steps:
    - uses: actions/setup-python@v5
      with:
        python-version: "3.11"
    - uses: actions/cache@{SHA}
    - run: echo ok
      shell: bash
"""

DOCKER_ACTION = "name: lint\nruns:\n  using: docker\n  image: docker://ghcr.io/acme/lint:1.4\n"
DOCKER_ACTION_OK = f"name: lint\nruns:\n  using: docker\n  image: docker://ghcr.io/acme/lint@{DIGEST}\n"
DOCKERFILE_ACTION = "name: lint\nruns:\n  using: docker\n  image: Dockerfile\n"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({WF: PINNED_WITH_COMMENT}, [(PASS, WF, None)], id="sha-with-comment-local-digest"),
        pytest.param({WF: workflow("actions/checkout@v4")}, [(FAIL, WF, 6)], id="tag"),
        pytest.param({WF: workflow(f"actions/checkout@{SHA}", "actions/setup-node@main")}, [(FAIL, WF, 7)],
                     id="branch"),
        pytest.param({WF: workflow("actions/checkout@11bd719")}, [(FAIL, WF, 6)], id="short-sha"),
        pytest.param({WF: workflow("acme/tool")}, [(FAIL, WF, 6)], id="no-version"),
        pytest.param({WF: workflow("docker://alpine:3.20")}, [(FAIL, WF, 6)], id="docker-tag"),
        pytest.param({WF: workflow("docker://alpine")}, [(FAIL, WF, 6)], id="docker-no-tag"),
        pytest.param({WF: workflow("github/codeql-action/init@v3", f"github/codeql-action/analyze@{SHA}")},
                     [(FAIL, WF, 6)], id="action-in-subfolder"),
        pytest.param({WF: REUSABLE}, [(FAIL, WF, 8)], id="reusable-workflows"),
        pytest.param({ACTION: COMPOSITE}, [(FAIL, ACTION, 5)], id="composite-action"),
        pytest.param({ACTION: DOCKER_ACTION}, [(FAIL, ACTION, 4)], id="docker-action-tag"),
        pytest.param({ACTION: DOCKER_ACTION_OK}, [(PASS, ACTION, None)], id="docker-action-digest"),
        pytest.param({ACTION: DOCKERFILE_ACTION}, [(PASS, ACTION, None)], id="docker-action-local-dockerfile"),
    ],
)
def test_github_references(tmp_path: Path, files: dict[str, str], expected: list[tuple[Status, str, int]]) -> None:
    assert outcomes(RULE, tmp_path, files) == expected


def test_failure_evidence_names_the_reference(tmp_path: Path) -> None:
    [result] = results(RULE, tmp_path, {WF: REUSABLE})
    assert result.evidence == {"uses": "acme/shared/.github/workflows/build.yml@main", "pinning": "tag"}
    assert result.key == "uses:moving:acme/shared/.github/workflows/build.yml@main"


def test_same_tag_twice_keeps_distinct_keys(tmp_path: Path) -> None:
    found = results(RULE, tmp_path, {WF: workflow("actions/checkout@v4", "actions/checkout@v4")})
    assert [(r.location.line if r.location else None, r.key) for r in found] == [
        (6, "uses:build:actions/checkout@v4"),
        (7, "uses:build:actions/checkout@v4#2"),
    ]


def test_passing_evidence_counts_references(tmp_path: Path) -> None:
    [result] = results(RULE, tmp_path, {WF: PINNED_WITH_COMMENT})
    assert result.evidence["references"] == {"sha": 1, "local": 1, "digest": 1}


def test_allow_param_accepts_listed_owners(tmp_path: Path) -> None:
    files = {WF: workflow("acme-internal/deploy@v2", "actions/checkout@v4")}
    assert outcomes(RULE, tmp_path, files, params={"allow": ["acme-internal/*"]}) == [(FAIL, WF, 7)]


GL_LOCAL = """\
include:
  - local: .gitlab/ci/test.yml
  - template: Security/SAST.gitlab-ci.yml
  - .gitlab/ci/lint.yml
"""

GL_REMOTE = """\
stages: [test]
include:
  - https://example.com/ci/base.yml
  - remote: https://example.com/ci/other.yml
  - remote: https://example.com/ci/checked.yml
    integrity: sha256-L3/GAoKaw0Arw6hDCKeKQlV1QPEgHYxGBHsH4zG1IY8=
"""

GL_PROJECT = f"""\
include:
  - project: acme/ci-templates
    file: /build.yml
  - project: acme/ci-templates
    ref: v1.2.0
    file: [/a.yml, /b.yml]
  - project: acme/ci-templates
    ref: {SHA}
    file: /c.yml
"""

GL_SINGLE_PROJECT = "include:\n  project: acme/ci\n  ref: main\n  file: /x.yml\n"

GL_COMPONENTS = f"""\
include:
  - component: $CI_SERVER_FQDN/acme/components/sast@~latest
  - component: $CI_SERVER_FQDN/acme/components/lint@{SHA}
  - component: $CI_SERVER_FQDN/acme/components/test@2.1.0
    inputs:
      stage: test
  - component: gitlab.example.com/acme/components/nover
"""

GL_TRIGGER = """\
deploy:
  trigger:
    include:
      - project: acme/deploy
        file: /deploy.yml
"""


@pytest.mark.parametrize(
    ("files", "params", "expected"),
    [
        pytest.param({GL: GL_LOCAL}, {}, [(PASS, GL, None)], id="local-and-template"),
        pytest.param({GL: GL_REMOTE}, {}, [(FAIL, GL, 3), (FAIL, GL, 4)], id="remote"),
        pytest.param({GL: GL_PROJECT}, {}, [(FAIL, GL, 2), (FAIL, GL, 5)], id="project-refs"),
        pytest.param({GL: GL_SINGLE_PROJECT}, {}, [(FAIL, GL, 3)], id="single-mapping-include"),
        pytest.param({GL: GL_COMPONENTS}, {}, [(FAIL, GL, 2), (FAIL, GL, 4), (FAIL, GL, 7)], id="components"),
        pytest.param({GL: GL_COMPONENTS}, {"component_releases_pinned": True}, [(FAIL, GL, 2), (FAIL, GL, 7)],
                     id="component-releases-accepted"),
        pytest.param({".gitlab/ci/deploy.yml": GL_TRIGGER}, {}, [(FAIL, ".gitlab/ci/deploy.yml", 4)],
                     id="child-pipeline-include"),
    ],
)
def test_gitlab_includes(
    tmp_path: Path, files: dict[str, str], params: dict[str, object], expected: list[tuple[Status, str, int]]
) -> None:
    assert outcomes(RULE, tmp_path, files, params=params) == expected


def test_gitlab_failure_evidence(tmp_path: Path) -> None:
    found = results(RULE, tmp_path, {GL: GL_PROJECT})
    assert [(r.evidence["include"], r.evidence["pinning"]) for r in found] == [
        ("acme/ci-templates /build.yml", "project"),
        ("acme/ci-templates /a.yml /b.yml", "project"),
    ]
    assert "follows the default branch" in found[0].message
    assert "`ref: v1.2.0`" in found[1].message
