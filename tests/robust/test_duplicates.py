"""Issue 13: repeated mapping keys and YAML features the platforms reject are never read silently.

GitHub Actions refuses a workflow with a repeated key ("'x' is already defined"), a merge key or a custom tag:
the workflow rules report such a file unknown, naming file, line and key. GitLab keeps the last value of a
repeated key, and so does annexa for GitLab CI files. annexa's own files (config, policies, settings) with a
repeated key are an input error (exit 2) naming file, line and key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.catalog import load_catalog, load_policies
from annexa.collect.snapshot import load_snapshot
from annexa.config import load_config
from annexa.errors import InputError, InputErrors
from annexa.model import Status
from annexa.scan.ci_yaml import CiFile, get, items, jobs, load_ci_file, text
from annexa.yamlio import parse_json_document
from tests.support import make_checkout
from tests.workflows.common import SHA, results

WF = ".github/workflows/ci.yml"
GOOD_JOB = f"  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@{SHA}\n"


def test_config_with_a_repeated_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / ".annexa.yml"
    path.write_text("fail_on: high\nowners:\n  security: ['@a/sec']\n  security: ['@evil']\nfail_on: info\n")
    with pytest.raises(InputError) as caught:
        load_config(path, ".annexa.yml")
    assert str(caught.value) == ".annexa.yml:4: owners.security: refused: duplicate key 'security' (first at line 3)"


def test_policy_with_a_repeated_key_names_file_line_and_key(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    shipped = (Path(__file__).resolve().parents[2] / "policies" / "source-code-protection.yml").read_text()
    (folder / "p.yml").write_text(shipped + "id: POL-OTHER\n")
    first = next(i for i, line in enumerate(shipped.splitlines(), 1) if line.startswith("id:"))
    with pytest.raises(InputErrors) as caught:
        load_policies([folder], load_catalog(), tmp_path)
    last = len(shipped.splitlines()) + 1
    assert str(caught.value) == f"policies/p.yml:{last}: id: refused: duplicate key 'id' (first at line {first})"


def test_json_settings_snapshot_with_a_repeated_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"platform": "github", "repository": "o/r",\n "branches": {"main": {"protected": true,\n'
                    '   "protected": false}}}\n')
    with pytest.raises(InputError) as caught:
        load_snapshot(path)
    assert str(caught.value) == (f"{path}:3: branches.main.protected: refused: duplicate key 'protected' "
                                 "(first at line 2)")


@pytest.mark.parametrize(("text", "expected"), [
    ('{"platform": "github", "repository": "o/r", "x": NaN}', "refused: NaN is not a JSON number"),
    ('{"platform": "github",\n "repository": "o/r"', "2: not valid JSON: Expecting ',' delimiter (column 21)"),
])
def test_json_settings_snapshot_is_read_as_json(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_snapshot(path)
    assert str(caught.value) == (f"{path}:{expected}" if expected[0].isdigit() else f"{path}: {expected}")


def test_json_numbers_keep_json_meaning() -> None:
    doc = parse_json_document('{"a": 1e1,\n "b": "x"}', "s.json")  # YAML 1.1 would read 1e1 as text
    assert (doc.data, doc.lines) == ({"a": 10.0, "b": "x"}, {(): 1, ("a",): 1, ("b",): 2})


@pytest.mark.parametrize(("content", "problem"), [
    ("on: push\npermissions: {}\npermissions: write-all\njobs:\n" + GOOD_JOB,
     "ci.yml is not valid YAML (line 3): refused: duplicate key 'permissions' (first at line 2) at permissions"),
    ("on: push\njobs:\n" + GOOD_JOB + "    permissions: {}\n    permissions: {contents: write}\n",
     "ci.yml is not valid YAML (line 8): refused: duplicate key 'permissions' (first at line 7) at "
     "jobs.build.permissions"),
    ("on: push\nx: &d {contents: read}\njobs:\n  build:\n    <<: *d\n    runs-on: ubuntu-latest\n",
     "ci.yml is not valid YAML (line 5): refused: merge key '<<' (GitHub Actions does not support merge keys) at "
     "jobs.build"),
    ("on: push\njobs:\n  build:\n    if: !github.event.fork\n    runs-on: ubuntu-latest\n",
     "ci.yml is not valid YAML (line 4): refused: tag '!github.event.fork' (GitHub Actions rejects YAML tags) at "
     "jobs.build.if"),
], ids=["top-level", "job-level", "merge-key", "tag"])
def test_workflow_github_rejects_is_unknown_naming_file_line_and_key(tmp_path: Path, content: str,
                                                                    problem: str) -> None:
    found = results("workflow-permissions-scoped", tmp_path, {WF: content})
    assert [(r.status, r.location.path if r.location else None, r.location.line if r.location else None)
            for r in found] == [(Status.UNKNOWN, WF, int(problem.split("(line ")[1].split(")")[0]))]
    assert found[0].message == f".github/workflows/{problem}"


def test_workflow_anchors_and_redefined_anchors_are_read(tmp_path: Path) -> None:
    content = ("on: push\njobs:\n  a:\n    permissions: &p {contents: read}\n    runs-on: x\n"
               "  b:\n    permissions: *p\n    runs-on: x\n"
               "  c:\n    permissions: &p {}\n    runs-on: x\n"
               "  d:\n    permissions: *p\n    runs-on: x\n")
    ci = load_ci_file(make_checkout(tmp_path / "repo", {WF: content}), WF)
    assert isinstance(ci, CiFile), ci
    assert [(j.id, [k.value for k, _ in items(get(j.node, "permissions"))]) for j in jobs(ci)] == [
        ("a", ["contents"]), ("b", ["contents"]), ("c", []), ("d", [])]


def test_gitlab_repeated_key_keeps_the_last_value_as_gitlab_does(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "repo", {".gitlab-ci.yml": "build:\n  image: safe:1\n  script: [make]\n"
                                                                   "  image: evil:latest\n"})
    ci = load_ci_file(checkout, ".gitlab-ci.yml")
    assert isinstance(ci, CiFile), ci
    build = get(ci.root, "build")
    assert [k.value for k, _ in items(build)] == ["script", "image"]
    assert text(get(build, "image")) == "evil:latest"
