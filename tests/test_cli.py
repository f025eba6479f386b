"""The command line: exit codes 0 / 1 / 2, formats, and errors that name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annexa.cli import main
from tests.support import git_commit_all, make_checkout

ROOT = Path(__file__).parents[1]

POLICY = """\
id: POL-T
title: Test
version: "1"
owner: CISO
approved_by: CEO
approved_on: {approved_on}
review_interval_months: 12
statement: Policies are approved and reviewed on time.
controls: [A.5.1]
requirements:
  - rule: policy-reviewed
    severity: {severity}
  - rule: weights-in-lfs
    severity: critical
"""


def tree(tmp_path: Path, approved_on: str = "2026-06-01", severity: str = "high", **files: str | bytes) -> Path:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "t.yml").write_text(POLICY.format(approved_on=approved_on, severity=severity))
    make_checkout(tmp_path / "repo", {"README.md": "hi\n", **files})
    return tmp_path


def check(tmp_path: Path, *extra: str) -> int:
    return main(["check", str(tmp_path / "repo"), "--policies", str(tmp_path / "policies"), *extra])


def test_conformant_checkout_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(tree(tmp_path)) == 0
    assert "PASS" in capsys.readouterr().out


def test_failing_checkout_exits_1_and_fail_on_can_relax_it(tmp_path: Path) -> None:
    root = tree(tmp_path, approved_on="2024-01-01", severity="medium")
    assert check(root) == 0  # medium failure, fail_on high by default
    assert check(root, "--fail-on", "medium") == 1


def test_json_report_has_the_design_shape(tmp_path: Path) -> None:
    root = tree(tmp_path, **{"m.pt": b"\x80\x02raw"})
    out = tmp_path / "out" / "report.json"
    assert check(root, "--format", "json", "--output", str(out)) == 1
    report = json.loads(out.read_text())
    assert (report["schema"], report["verdict"], report["run"]["platform"]) == ("annexa.report/v1", "fail", "local")
    [lfs] = [f for f in report["findings"] if f["rule"] == "weights-in-lfs"]
    assert (lfs["status"], lfs["severity"], lfs["location"], lfs["introduced"]) == (
        "fail", "critical", {"path": "m.pt", "line": None}, None,
    )
    assert report["summary"] == {"pass": 1, "fail": 1, "unknown": 0, "not_applicable": 0, "waived": 0}


def test_base_marks_introduced(tmp_path: Path) -> None:
    root = tree(tmp_path)
    base = git_commit_all(root / "repo", "base")
    (root / "repo" / "new.bin").write_bytes(b"\x80\x02raw")
    out = tmp_path / "r.json"
    assert check(root, "--base", base, "--format", "json", "--output", str(out)) == 1
    [lfs] = [f for f in json.loads(out.read_text())["findings"] if f["rule"] == "weights-in-lfs"]
    assert (lfs["location"]["path"], lfs["introduced"]) == ("new.bin", True)


def test_bad_config_exits_2_naming_file_line_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tree(tmp_path, **{".annexa.yml": "fail_on: high\nwaivers:\n  - rule: actions-pinned\n    risk: huge\n"})
    assert check(root) == 2
    assert capsys.readouterr().err.strip() == (
        "error: .annexa.yml:4: waivers.0.risk: 'huge' is not one of ['low', 'medium', 'high', 'critical']"
    )


def test_unknown_base_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tree(tmp_path)
    git_commit_all(root / "repo", "base")
    assert check(root, "--base", "no-such-ref") == 2
    assert "--base no-such-ref: no such commit" in capsys.readouterr().err


def test_settings_snapshot_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tree(tmp_path)
    bad = tmp_path / "settings.json"
    bad.write_text('{"platform": "github", "repository": "a/b",\n "visibility": "secret"}\n')
    assert check(root, "--settings", str(bad)) == 2
    assert "settings.json:2: visibility:" in capsys.readouterr().err


def test_policies_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policies", "validate"]) == 0
    assert capsys.readouterr().out.startswith("5 policies valid: POL-ISP, POL-MAP, POL-SDLC, POL-SCP, POL-DATA")
    (tmp_path / "p.yml").write_text("id: POL-X\ntitle: [unclosed\n")
    assert main(["policies", "validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "p.yml:3: not valid YAML" in err


def test_explain_and_rules_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "weights-in-lfs"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# `weights-in-lfs`: Model weight files are stored in Git LFS")
    assert "## How to fix" in out
    assert main(["explain", "no-such-rule"]) == 2
    assert main(["rules", "list"]) == 0
    listing = capsys.readouterr().out
    assert "branch-protected" in listing and "with --settings" in listing


def test_init_writes_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path)]) == 0
    assert (tmp_path / ".annexa.yml").read_text().startswith("# annexa configuration")
    assert main(["init", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_check_of_an_empty_dir_imports_no_platform_or_database_client(tmp_path: Path) -> None:
    """Start-up stays fast: PyGithub, python-gitlab and SQLAlchemy are imported only by the commands using them."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from annexa.cli import main\n"
        f"code = main(['check', {str(tmp_path)!r}, '--output', {str(tmp_path / 'r.txt')!r}])\n"
        "heavy = sorted(m for m in ('github', 'gitlab', 'sqlalchemy', 'alembic') if m in sys.modules)\n"
        "print(code, heavy)\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
    assert done.stdout.split("\n")[-2] == "0 []"


def test_ci_and_history_options_still_parse() -> None:
    from annexa.cli import build_parser

    args = build_parser().parse_args(["ci", "--no-comment", "--path", "x"])
    assert (args.command, args.comment, args.path) == ("ci", False, Path("x"))
    args = build_parser().parse_args(["history", "verify", "--history", "sqlite://"])
    assert (args.command, args.history_command, args.history) == ("history", "verify", "sqlite://")


def test_output_filter_keeps_the_exit_code_and_says_what_it_hides(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    root = tree(tmp_path, **{"model.bin": b"\x80\x02raw"})
    assert check(root, "--rule", "policy-reviewed") == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "filtered (--rule policy-reviewed): showing 0 of 1 failed, unknown and waived findings; 1 blocking " \
           "failure is hidden by the filter" in out
    assert "weights-in-lfs" in out.split("filtered")[0]  # the header still names the blocking failure
    assert check(root, "--rule", "no-such-rule") == 2
    assert check(root, "--min-severity", "critical", "--format", "json", "--output", str(tmp_path / "r.json")) == 1
    assert len(json.loads((tmp_path / "r.json").read_text())["findings"]) >= 2
    assert "json keeps every finding" in capsys.readouterr().err


BAD_POLICY = """\
id: POL-BAD
title: Bad
version: "1"
owner: CISO
approved_by: CEO
approved_on: 2026-06-01
review_interval_months: 12
statement: Policies name real ISO controls.
controls: [A.5.38, "6.1.2", "10.2", A.8.35]
requirements:
  - rule: weights-in-lfs
    controls: [A.6.9, A.7.14]
  - rule: no-such-rule
"""


def test_policies_validate_uses_the_config_and_reports_every_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "bad.yml").write_text(BAD_POLICY)
    (tmp_path / "pol" / "worse.yml").write_text(BAD_POLICY.replace("POL-BAD", "POL-WORSE").replace("title: Bad\n", ""))
    (tmp_path / ".annexa.yml").write_text("policies: [pol]\n")
    monkeypatch.chdir(tmp_path)
    assert main(["policies", "validate"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: pol/bad.yml:9: controls.0: A.5.38 is not an ISO/IEC 27001:2022 Annex A control "
        "(theme A.5 has A.5.1-A.5.37)",
        "error: pol/bad.yml:9: controls.3: A.8.35 is not an ISO/IEC 27001:2022 Annex A control "
        "(theme A.8 has A.8.1-A.8.34)",
        "error: pol/bad.yml:12: requirements.0.controls.0: A.6.9 is not an ISO/IEC 27001:2022 Annex A control "
        "(theme A.6 has A.6.1-A.6.8)",
        "error: pol/bad.yml:13: requirements.1.rule: unknown rule id 'no-such-rule' (see `annexa rules list`)",
        "error: pol/worse.yml:1: (top level): 'title' is a required property",
        "error: pol/worse.yml:8: controls.0: A.5.38 is not an ISO/IEC 27001:2022 Annex A control "
        "(theme A.5 has A.5.1-A.5.37)",
        "error: pol/worse.yml:8: controls.3: A.8.35 is not an ISO/IEC 27001:2022 Annex A control "
        "(theme A.8 has A.8.1-A.8.34)",
        "error: pol/worse.yml:11: requirements.0.controls.0: A.6.9 is not an ISO/IEC 27001:2022 Annex A control "
        "(theme A.6 has A.6.1-A.6.8)",
    ]
    (tmp_path / "other.yml").write_text("policies: [builtin]\n")
    assert main(["policies", "validate", "--config", str(tmp_path / "other.yml")]) == 0
    assert capsys.readouterr().out.startswith("5 policies valid")
