"""A finding's own fix names what was found: the OpenAI variable for an OpenAI key, the expression for injection."""

from __future__ import annotations

from pathlib import Path

from annexa.fixes import env_name, injection_fix, secret_fix
from annexa.model import Status
from tests.content.common import fake_keys
from tests.support import make_checkout, run_rule
from tests.workflows.common import results

WORKFLOW = """\
on: issues
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.issue.title }}"
"""


def test_openai_key_fix_names_the_openai_variable(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"src/app.py": f'client = OpenAI(api_key="{fake_keys()["openai_project"]}")\n'})
    [result] = [r for r in run_rule("no-secrets-in-change", checkout) if r.status is Status.FAIL]
    assert result.fix is not None and '`os.environ["OPENAI_API_KEY"]`' in result.fix
    assert "HF_TOKEN" not in result.fix
    assert secret_fix("Secret Keyword") is None  # generic detectors keep the catalog's fix


def test_script_injection_fix_names_the_expression(tmp_path: Path) -> None:
    [result] = [r for r in results("script-injection-blocked", tmp_path, {".github/workflows/t.yml": WORKFLOW})
                if r.status is Status.FAIL]
    assert result.fix == injection_fix("github.event.issue.title", "run")
    assert "`env: TITLE: ${{ github.event.issue.title }}`" in result.fix and '`"$TITLE"`' in result.fix


def test_env_names() -> None:
    assert env_name("github.event.pull_request.head.ref") == "REF"
    assert env_name("github.head_ref") == "HEAD_REF"
    assert env_name("toJSON(github.event.comment.body)") == "BODY"
    assert "`process.env.BODY`" in injection_fix("${{ github.event.comment.body }}", "github-script")
