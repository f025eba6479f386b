"""Issue 14: no secret value leaves annexa, in any format, file, error or run record."""

from __future__ import annotations

import json
import random
import shutil
import string
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from annexa import cli
from annexa.engine import run_check
from annexa.redact import REDACTED, redact_json, redact_text
from tests.content.common import fake_keys
from tests.support import git_commit_all

EXAMPLE = Path(__file__).resolve().parents[2] / "examples"
KEYS = fake_keys(seed=1414)
_rng = random.Random(14)
EXTRA = {
    "aws_secret": "".join(_rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(40)),
    "basic_auth": "pw" + "".join(_rng.choice(string.ascii_letters + string.digits) for _ in range(14)),
    "keyword": "kw" + "".join(_rng.choice(string.ascii_letters + string.digits) for _ in range(18)),
    "entropy": "".join(_rng.choice(string.ascii_letters + string.digits) for _ in range(44)),
    "query": "q" + "".join(_rng.choice(string.ascii_letters + string.digits) for _ in range(23)),
    "access_token": "ghs_" + "".join(_rng.choice(string.ascii_letters + string.digits) for _ in range(36)),
}
VALUES = {**KEYS, **EXTRA}


def contexts() -> list[str]:
    """One phrase per detector kind, each as the secret scanner would see it in a file."""
    k, e = KEYS, EXTRA
    return [
        f"HF_TOKEN={k['huggingface']}", f"OPENAI_API_KEY={k['openai_project']}", f"key {k['openai_legacy']}",
        f"ANTHROPIC_API_KEY={k['anthropic']}", f"GH_TOKEN={k['github_classic']}",
        f"token {k['github_fine_grained']}", f"GITLAB_TOKEN={k['gitlab']}", f"REPLICATE={k['replicate']}",
        f"WANDB_API_KEY={k['wandb']}", f"aws_access_key_id={k['aws']}", f"maps {k['google_api']}",
        f'"private_key_id": "{k["gcp_key_id"]}"', f'aws_secret_access_key = "{e["aws_secret"]}"',
        f"https://bob:{e['basic_auth']}@db.example.com/x", f'password = "{e["keyword"]}"',
        f'blob "{e["entropy"]}"', f"https://api.example.com/v1?token={e['query']}&x=1",
        f"https://x-access-token:{e['access_token']}@github.com/acme/r",
    ]


def fragments(value: str) -> set[str]:
    return {value[i : i + 12] for i in range(len(value) - 11)}


def leaks(text: str) -> list[str]:
    """Every planted kind whose value, or any 12-character fragment of it, appears in ``text``."""
    return sorted(kind for kind, value in VALUES.items() if value in text or any(f in text for f in fragments(value)))


def test_redact_text_masks_every_kind_in_context() -> None:
    for phrase in contexts():
        assert leaks(redact_text(phrase)) == [], phrase
    assert redact_text("sqlite:///h.db?password=hunter2hunter2") == f"sqlite:///h.db?password={REDACTED}"
    assert redact_text("postgresql+psycopg://bob:s3cr3tpw@db/x") == f"postgresql+psycopg://bob:{REDACTED}@db/x"
    assert redact_text("plain message about models/m.pt, sha 3f2c9e1d4b5a69788c7d0e1f2a3b4c5d6e7f8091") == (
        "plain message about models/m.pt, sha 3f2c9e1d4b5a69788c7d0e1f2a3b4c5d6e7f8091")


def test_redact_json_masks_strings_and_keys_iteratively() -> None:
    token = KEYS["github_classic"]
    deep: object = {"msg": f"GH_TOKEN={token}"}
    for _ in range(5000):
        deep = [deep]
    out = redact_json({"a": deep, f"k GH_TOKEN={token}": 1})
    assert list(out) == ["a", f"k GH_TOKEN={REDACTED}"]
    inner = out["a"]
    for _ in range(5000):
        [inner] = inner
    assert inner == {"msg": f"GH_TOKEN={REDACTED}"}


def test_digests_of_flagged_secrets_mask_the_bare_value() -> None:
    import hashlib

    value = KEYS["wandb"]  # 40 hex digits: only recognisable in context, or by its flagged digest
    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    body = {"findings": [{"evidence": {"hash": f"sha256:{digest}"}, "message": f"owner {value} invalid"}]}
    assert redact_json(body)["findings"][0]["message"] == f"owner {REDACTED} invalid"


def _hostile_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE / "ai-repo", repo)
    line = " ; ".join(contexts())
    yaml_line = json.dumps(line)
    config = (repo / ".annexa.yml").read_text()
    config = config.replace('justification: "temporary"', f"justification: {yaml_line}")
    config = config.replace("ticket: SEC-290", f"ticket: {json.dumps(KEYS['github_classic'])}")
    config = config.replace("policies: [builtin]", "policies: [builtin, policies]")
    (repo / ".annexa.yml").write_text(config)
    (repo / ".github" / "CODEOWNERS").write_text(
        f"* @acme/security\n/models/ {KEYS['github_classic']} @{KEYS['huggingface']}\n/src/ {KEYS['gitlab']}\n")
    (repo / ".github" / "workflows" / "leak.yml").write_text(
        "on: pull_request_target\njobs:\n  bench:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: |\n"
        f"          git fetch https://x-access-token:{EXTRA['access_token']}@github.com/acme/r "
        "pull/${{ github.event.pull_request.number }}/head\n"
        f"          echo {yaml_line}\n")
    (repo / "policies").mkdir()
    (repo / "policies" / "leaky.yml").write_text(
        "id: POL-LEAK\n"
        f"title: {json.dumps('Leaky ' + KEYS['huggingface'])}\n"
        "version: '1.0'\n"
        f"owner: {json.dumps('Owner ' + KEYS['anthropic'])}\n"
        "approved_by: Chief Executive Officer\napproved_on: 2026-03-02\nreview_interval_months: 12\n"
        f"statement: {yaml_line}\n"
        "controls: [A.5.1]\nrequirements:\n"
        f"  - rule: policy-reviewed\n    text: {yaml_line}\n    severity: medium\n")
    (repo / "notebook.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "source": ["import torch\n", f"m = torch.load('x.pt')  # {line}\n"],
                   "outputs": [{"output_type": "stream", "text": [line]}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1))
    settings = json.loads((EXAMPLE / "settings.json").read_text())
    settings.pop("$schema", None)
    settings["branches"]["main"]["protected"]["source"] = f"org ruleset {line}"
    settings["branches"]["main"]["admins_cannot_bypass"]["bypass"] = [line]
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    git_commit_all(repo, "hostile")
    return repo


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp_path = tmp_path_factory.mktemp("leaks")
    repo = _hostile_repo(tmp_path)
    captured: dict[str, str] = {}
    db = tmp_path / "history.db"
    import contextlib
    import io

    reports: list[Any] = []

    def once(inputs: Any, facts: Any, run: Any) -> Any:  # one evaluation, rendered and recorded many ways
        if not reports:
            reports.append(run_check(inputs, facts, run))
        return replace(reports[0], run=run)

    patch = pytest.MonkeyPatch()
    patch.setattr(cli, "run_check", once)
    for fmt in cli.FORMATS:
        out, err = io.StringIO(), io.StringIO()
        target = tmp_path / f"report.{fmt}"
        args = ["check", str(repo), "--format", fmt, "--settings", str(tmp_path / "settings.json"),
                "--history", f"sqlite:///{db}"]
        out2 = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(args)
        with contextlib.redirect_stdout(out2), contextlib.redirect_stderr(err):
            assert cli.main([*args[:-2], "--output", str(target)]) == 1
        assert code == 1, err.getvalue()
        captured[fmt] = out.getvalue()
        captured[f"{fmt} stderr"] = err.getvalue() + out2.getvalue()
        captured[f"{fmt} --output"] = target.read_text()
    patch.undo()
    captured["history db"] = db.read_bytes().decode("utf-8", "replace")
    return captured


def test_the_hostile_repository_quotes_secrets_somewhere_before_redaction(outputs: dict[str, str]) -> None:
    report = json.loads(outputs["json"])
    text = json.dumps(report)
    assert REDACTED in text
    rules = {f["rule"] for f in report["findings"] if REDACTED in json.dumps(f)}
    assert {"codeowners-valid", "untrusted-checkout-blocked"} <= rules, sorted(rules)


@pytest.mark.parametrize("where", [f"{fmt}{s}" for fmt in cli.FORMATS for s in ("", " stderr", " --output")]
                         + ["history db"])
def test_no_planted_value_in_any_output(outputs: dict[str, str], where: str) -> None:
    assert leaks(outputs[where]) == []


@pytest.mark.parametrize("field", ["fail_on", "owners.models", "policies"])
def test_schema_errors_on_stderr_never_echo_a_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      field: str) -> None:
    token = KEYS["github_classic"]
    bad = {"fail_on": f"fail_on: {token}\n", "owners.models": f"owners:\n  models: [{token}]\n",
           "policies": f"policies: ['GH_TOKEN={token}']\n"}[field]
    (tmp_path / ".annexa.yml").write_text(bad)
    assert cli.main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and REDACTED in err and leaks(err) == []


def test_cli_errors_render_no_emoji_or_markup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".annexa.yml").write_text("fail_on: ':x: [bold]boom[/bold]'\n")
    assert cli.main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert ":x: [bold]boom[/bold]" in err and "\u274c" not in err


def test_shipped_prose_holds_nothing_a_detector_reports_so_redaction_may_skip_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from annexa import redact
    from annexa.catalog import builtin_dir, load_catalog, load_policies
    from annexa.scan import detector_gate

    load_policies([builtin_dir("policies")], load_catalog())
    shipped = redact.shipped_lines()
    assert len(shipped) > 300
    monkeypatch.setattr(detector_gate, "gate", lambda: None)  # every detector on every line
    assert [line for line in sorted(shipped) if redact._detector_spans(line)] == []
    key = KEYS["github_classic"]
    assert redact_text(f"GH_TOKEN={key}\n") == "GH_TOKEN=[redacted]\n"  # other text is still redacted
