"""templates/annexa.yml, the CI/CD component: its inputs, and what its script runs for given inputs."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "annexa.yml"
INTERPOLATION = re.compile(r"\$\[\[\s*inputs\.(\w+)\s*\]\]")


def _documents() -> tuple[dict[str, Any], dict[str, Any]]:
    header, body = TEMPLATE.read_text(encoding="utf-8").split("\n---\n")
    return yaml.safe_load(header), {"text": body}


def _render(inputs: dict[str, Any]) -> dict[str, Any]:
    """Interpolate as GitLab does (gitlab-org/gitlab!144065), on the parsed YAML: a node that is only
    `$[[ inputs.x ]]` becomes the input's typed value (a boolean stays a boolean); inside longer text the value is
    put in as a string."""
    spec, body = _documents()
    values = {name: inputs.get(name, field.get("default")) for name, field in spec["spec"]["inputs"].items()}

    def text(match: re.Match[str]) -> str:
        got = values[match.group(1)]
        return ("true" if got else "false") if isinstance(got, bool) else str(got)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            whole = INTERPOLATION.fullmatch(node.strip())
            return values[whole.group(1)] if whole else INTERPOLATION.sub(text, node)
        return node

    rendered: dict[str, Any] = walk(yaml.safe_load(body["text"]))
    return rendered


def test_inputs_the_readme_and_docs_name() -> None:
    spec, _ = _documents()
    assert list(spec["spec"]["inputs"]) == ["stage", "job_name", "policies", "fail_on", "history_url", "comment",
                                            "image", "package", "allow_failure"]


@pytest.mark.parametrize("comment", [True, False])
def test_every_job_variable_is_a_string(comment: bool) -> None:
    """GitLab refuses a job whose variables hold a YAML boolean ("variables config should be a hash of key value
    pairs"), so the boolean `comment` input is not a variable's whole value."""
    [job] = _render({"comment": comment}).values()
    assert {k: type(v) for k, v in job["variables"].items()} == dict.fromkeys(job["variables"], str)
    assert job["allow_failure"] is False  # a typed boolean where GitLab wants one
    assert job["artifacts"]["reports"] == {"codequality": "annexa-report/gl-code-quality-report.json",
                                           "junit": "annexa-report/annexa-junit.xml"}


@pytest.mark.parametrize(("inputs", "argv"), [
    ({}, "ci --output-dir /builds/p/annexa-report|history=unset"),
    ({"fail_on": "high", "policies": "policy", "comment": False, "history_url": "sqlite:////h.db"},
     "ci --output-dir /builds/p/annexa-report --policies policy --fail-on high --no-comment|history=sqlite:////h.db"),
])
def test_the_script_passes_the_inputs_to_annexa_ci(tmp_path: Path, inputs: dict[str, Any], argv: str) -> None:
    [job] = _render(inputs).values()
    stub = tmp_path / "annexa"
    stub.write_text('#!/bin/sh\necho "$*|history=${ANNEXA_HISTORY_URL-unset}"\n')
    stub.chmod(0o755)
    script = job["script"][2].replace("/tmp/annexa-venv/bin/annexa", str(stub))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CI_PROJECT_DIR": "/builds/p",
           **{k: str(v) for k, v in job["variables"].items()}}
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == argv
