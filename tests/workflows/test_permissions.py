"""workflow-permissions-scoped: token permissions set per workflow or job, no write-all, writes per job."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.model import Status
from tests.workflows.common import outcomes, results

RULE = "workflow-permissions-scoped"
WF = ".github/workflows/ci.yml"
PASS, FAIL = Status.PASS, Status.FAIL

TOP_READ = """\
on: push
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""

JOB_MISSING = """\
on: pull_request
jobs:
  lint:
    runs-on: ubuntu-latest
    permissions: {contents: read}
    steps:
      - run: make lint
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""

WRITE_ALL = """\
name: release
on: push
permissions: write-all
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - run: make release
"""

JOB_WRITE_ALL = """\
on: push
permissions: read-all
jobs:
  release:
    runs-on: ubuntu-latest
    permissions: write-all
    steps:
      - run: make release
"""

TOP_WRITE = """\
on: push
permissions:
  contents: read
  pull-requests: write
  id-token: write
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""

JOB_WRITES = """\
on: pull_request
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - run: make test
  comment:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pull-requests: write
    steps:
      - run: gh pr comment --body ok
"""

READ_ALL = "on: push\npermissions: read-all\njobs:\n  a:\n    runs-on: x\n    steps: [{run: 'true'}]\n"

REUSABLE_CALL = """\
on: push
jobs:
  call:
    uses: ./.github/workflows/build.yaml
  direct:
    permissions:
      contents: read
    runs-on: ubuntu-latest
    steps:
      - run: make
"""


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({WF: TOP_READ}, [(PASS, WF, None)], id="top-level-read"),
        pytest.param({WF: READ_ALL}, [(PASS, WF, None)], id="read-all"),
        pytest.param({WF: JOB_MISSING}, [(FAIL, WF, 8)], id="one-job-without-permissions"),
        pytest.param({WF: WRITE_ALL}, [(FAIL, WF, 3)], id="write-all"),
        pytest.param({WF: JOB_WRITE_ALL}, [(FAIL, WF, 6)], id="job-write-all"),
        pytest.param({WF: TOP_WRITE}, [(FAIL, WF, 4), (FAIL, WF, 5)], id="top-level-writes"),
        pytest.param({WF: JOB_WRITES}, [(PASS, WF, None)], id="writes-on-one-job"),
        pytest.param({".github/workflows/main.yaml": REUSABLE_CALL}, [(FAIL, ".github/workflows/main.yaml", 3)],
                     id="reusable-call-without-permissions"),
        pytest.param({WF: TOP_READ, ".github/workflows/r.yml": WRITE_ALL},
                     [(PASS, WF, None), (FAIL, ".github/workflows/r.yml", 3)], id="one-file-each"),
    ],
)
def test_permissions(tmp_path: Path, files: dict[str, str], expected: list[tuple[Status, str, int | None]]) -> None:
    assert outcomes(RULE, tmp_path, files) == expected


def test_failures_name_the_job_and_scope(tmp_path: Path) -> None:
    missing = results(RULE, tmp_path / "a", {WF: JOB_MISSING})
    assert [r.evidence["job"] for r in missing] == ["test"]
    writes = results(RULE, tmp_path / "b", {WF: TOP_WRITE})
    assert [r.evidence["scope"] for r in writes] == ["pull-requests", "id-token"]
    assert len({r.key for r in writes}) == 2


def test_passing_evidence_lists_job_writes(tmp_path: Path) -> None:
    [result] = results(RULE, tmp_path, {WF: JOB_WRITES})
    assert result.evidence["workflow_permissions"] == {}
    assert result.evidence["job_writes"] == {"comment": ["pull-requests"]}


@pytest.mark.parametrize(
    "files",
    [
        pytest.param({}, id="no-ci"),
        pytest.param({".gitlab-ci.yml": "test:\n  script: [make]\n"}, id="gitlab-only"),
        pytest.param({".github/actions/setup/action.yml": "runs:\n  using: composite\n  steps: []\n"},
                     id="composite-action-only"),
    ],
)
def test_nothing_to_judge_is_not_applicable(tmp_path: Path, files: dict[str, str]) -> None:
    assert outcomes(RULE, tmp_path, files) == [(Status.NOT_APPLICABLE, None, None)]
