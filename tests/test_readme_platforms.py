"""The README documents the GitHub Action and the GitLab component side by side, and what it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_github_and_gitlab_sections_each_give_a_snippet_that_parses() -> None:
    github, gitlab = _section("GitHub"), _section("GitLab")
    [workflow] = re.findall(r"```yaml\n(.*?)```", github, re.S)
    steps = yaml.safe_load(workflow)["jobs"]["annexa"]["steps"]
    assert steps[-1]["uses"] == "annexa/annexa@<full commit SHA>" and (ROOT / "action.yml").is_file()
    [include] = re.findall(r"```yaml\n(.*?)```", gitlab, re.S)
    [component] = yaml.safe_load(include)["include"]
    # a component named `annexa` is the project's templates/annexa.yml
    assert component["component"].split("@")[0].endswith("/annexa") and (ROOT / "templates" / "annexa.yml").is_file()
    assert "docs/github-action.md" in github and "docs/gitlab-ci.md" in gitlab
    assert "CI_JOB_TOKEN" in gitlab and "GITHUB_TOKEN" in github
