"""The change does not judge itself: with ``annexa check --base`` the config, the repository's policies, the
secrets baseline and allow-pragmas come from the base revision; the change's edits to them are listed as pending.

Every scenario is a real git repository: a base commit on ``main`` and the change committed on top of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from annexa import engine
from annexa.cli import main
from annexa.collect.base_revision import BaseRevision
from annexa.collect.checkout import Checkout
from annexa.errors import CollectError, UnreadableFile
from annexa.facts import Facts
from annexa.model import Status
from annexa.report import Report, RunInfo
from tests.content.common import fake_keys
from tests.support import TODAY, git_commit_all, make_checkout

KEY = fake_keys()["aws"]
RUN = RunInfo("run-1", "2026-11-27T00:00:00+00:00", "local", "acme/x", "feature", None, None)

POLICY = """\
id: POL-S
title: Secure development
version: "1"
owner: CISO
approved_by: CEO
approved_on: 2026-06-01
review_interval_months: 12
statement: No credentials in code; weights owned by the model owners; waivers are valid.
controls: [A.8.4]
requirements:
  - {rule: no-secrets-in-change, severity: critical}
  - {rule: waivers-valid, severity: medium}
  - {rule: weights-codeowned, severity: high}
"""
CONFIG = """\
policies: [policies]
owners:
  models: ["@acme/ml-model-owners"]
  security: ["@acme/security"]
"""
WAIVER = """\
waivers:
  - rule: no-secrets-in-change
    justification: test key, rotated
    risk: low
    requested_by: "@mallory"
    approved_by: "@mallory2"
    ticket: SEC-1
    expires: 2027-01-31
"""
CODEOWNERS = "* @acme/eng\n/models/ @acme/ml-model-owners\n"


def repo(tmp_path: Path, files: dict[str, str | bytes] | None = None) -> tuple[Path, str]:
    """A repository whose base commit holds the config, the policy and CODEOWNERS; returns (root, base sha)."""
    root = tmp_path / "repo"
    base_files: dict[str, str | bytes] = {".annexa.yml": CONFIG, "policies/secure.yml": POLICY,
                                         ".github/CODEOWNERS": CODEOWNERS, "app.py": "print('hi')\n"}
    make_checkout(root, {**base_files, **(files or {})})
    return root, git_commit_all(root, "base")


def change(root: Path, files: dict[str, str | bytes]) -> None:
    """Commit the change on top of the base."""
    make_checkout(root, files)
    git_commit_all(root, "change")


def check(root: Path, base: str, today: dt.date = TODAY) -> Report:
    """What ``annexa check --base BASE`` evaluates."""
    checkout = Checkout(root)
    revision = BaseRevision.open(root, base)
    inputs = engine.load_inputs(root, base=revision)
    facts = Facts("local", checkout, change=checkout.diff(base), base=revision)
    return engine.run_check(inputs, facts, RUN, today)


def outcomes(report: Report, rule: str) -> list[tuple[Status, str | None, int | None]]:
    return [(f.status, f.location.path if f.location else None, f.location.line if f.location else None)
            for f in report.findings if f.rule == rule]


def pending(report: Report) -> list[tuple[str, str]]:
    return [(p.kind, p.path) for p in report.pending_changes]


def test_a_key_the_change_adds_to_the_secrets_baseline_is_still_reported(tmp_path: Path) -> None:
    root, base = repo(tmp_path)
    digest = hashlib.sha1(KEY.encode()).hexdigest()
    listed = {"version": "1.5.0", "results": {"settings.py": [
        {"type": "AWS Access Key", "filename": "settings.py", "hashed_secret": digest, "line_number": 1}]}}
    change(root, {"settings.py": f'AWS_KEY = "{KEY}"\n', ".secrets.baseline": json.dumps(listed)})
    report = check(root, base)
    assert outcomes(report, "no-secrets-in-change") == [(Status.FAIL, "settings.py", 1)]
    assert report.verdict == "fail"
    assert pending(report) == [("secrets-baseline", ".secrets.baseline")]
    assert report.pending_changes[0].message == (
        ".secrets.baseline (the secrets baseline) is edited by this change; this run used the base revision's "
        f"({base}): the edit takes effect only after merge and needs review by @acme/security")


def test_a_key_listed_in_the_base_baseline_stays_accepted(tmp_path: Path) -> None:
    digest = hashlib.sha1(KEY.encode()).hexdigest()
    listed = {"version": "1.5.0", "results": {"settings.py": [
        {"type": "AWS Access Key", "filename": "settings.py", "hashed_secret": digest, "line_number": 1}]}}
    root, base = repo(tmp_path, {".secrets.baseline": json.dumps(listed)})
    change(root, {"settings.py": f'AWS_KEY = "{KEY}"\n'})
    report = check(root, base)
    assert [f.status for f in report.findings if f.rule == "no-secrets-in-change"] == [Status.PASS]
    assert report.pending_changes == ()


def test_a_waiver_the_change_adds_for_its_own_finding_waives_nothing(tmp_path: Path) -> None:
    root, base = repo(tmp_path)
    change(root, {"settings.py": f'AWS_KEY = "{KEY}"\n', ".annexa.yml": CONFIG + WAIVER})
    report = check(root, base)
    assert outcomes(report, "no-secrets-in-change") == [(Status.FAIL, "settings.py", 1)]
    assert outcomes(report, "waivers-valid") == [(Status.NOT_APPLICABLE, None, None)]
    assert pending(report) == [("config", ".annexa.yml")]
    assert report.rules_from == f"config, waivers and secrets baseline from the base revision {base}"


def test_the_change_cannot_make_itself_model_owner(tmp_path: Path) -> None:
    root, base = repo(tmp_path)
    change(root, {"models/llm.pt": b"\x80\x04K\x01.", ".github/CODEOWNERS": CODEOWNERS + "/models/llm.pt @mallory\n",
                  ".annexa.yml": CONFIG.replace("@acme/ml-model-owners", "@mallory")})
    report = check(root, base)
    [finding] = [f for f in report.findings if f.rule == "weights-codeowned"]
    assert (finding.status, finding.location.path if finding.location else None, finding.introduced) == (
        Status.FAIL, "models/llm.pt", True)
    assert "@acme/ml-model-owners" in finding.message
    assert pending(report) == [("config", ".annexa.yml")]


def test_a_policy_the_change_loosens_is_applied_only_after_merge(tmp_path: Path) -> None:
    root, base = repo(tmp_path)
    loosened = POLICY.replace("  - {rule: no-secrets-in-change, severity: critical}\n", "")
    change(root, {"settings.py": f'AWS_KEY = "{KEY}"\n', "policies/secure.yml": loosened})
    report = check(root, base)
    assert outcomes(report, "no-secrets-in-change") == [(Status.FAIL, "settings.py", 1)]
    assert pending(report) == [("policy", "policies/secure.yml")]


def test_an_allow_pragma_the_change_adds_does_not_silence_its_secret(tmp_path: Path) -> None:
    root, base = repo(tmp_path)
    change(root, {"settings.py": f'AWS_KEY = "{KEY}"  # pragma: allowlist secret\n'})
    report = check(root, base)
    [finding] = [f for f in report.findings if f.rule == "no-secrets-in-change"]
    assert (finding.status, finding.location.path if finding.location else None) == (Status.FAIL, "settings.py")
    assert finding.message.endswith("(an allowlist pragma added by the change itself does not silence it)")
    assert [(p.kind, p.path, p.line) for p in report.pending_changes] == [("allowlist-pragma", "settings.py", 1)]


def test_an_allow_pragma_already_on_the_base_line_is_honoured(tmp_path: Path) -> None:
    root, base = repo(tmp_path, {"settings.py": "# pragma: allowlist nextline secret\nAWS_KEY = 'placeholder'\n"})
    change(root, {"settings.py": f"# pragma: allowlist nextline secret\nAWS_KEY = '{KEY}'\n"})
    report = check(root, base)
    assert [f.status for f in report.findings if f.rule == "no-secrets-in-change"] == [Status.PASS]
    assert report.pending_changes == ()


def test_without_base_every_pragma_is_honoured_in_a_full_scan(tmp_path: Path) -> None:
    root, _ = repo(tmp_path, {"settings.py": f'AWS_KEY = "{KEY}"  # pragma: allowlist secret\n'})
    inputs = engine.load_inputs(root)
    report = engine.run_check(inputs, Facts("local", Checkout(root)), RUN, TODAY)
    assert [f.status for f in report.findings if f.rule == "no-secrets-in-change"] == [Status.PASS]
    assert (report.rules_from, report.pending_changes) == (None, ())


def test_first_run_uses_the_change_config_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_checkout(root, {"app.py": "x = 1\n"})
    base = git_commit_all(root, "base")
    change(root, {".annexa.yml": CONFIG, "policies/secure.yml": POLICY, "settings.py": f'AWS_KEY = "{KEY}"\n'})
    report = check(root, base)
    assert [p.id for p in report.policies] == ["POL-S"]
    assert outcomes(report, "no-secrets-in-change") == [(Status.FAIL, "settings.py", 1)]
    assert report.rules_from == (f"first run: the base revision {base} has no .annexa.yml, so the change's "
                                 ".annexa.yml is used")
    assert report.pending_changes == ()


def test_a_policy_folder_missing_from_the_base_is_an_error_when_the_base_config_names_it(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_checkout(root, {".annexa.yml": CONFIG})
    base = git_commit_all(root, "base")
    change(root, {"policies/secure.yml": POLICY})
    with pytest.raises(Exception, match="policies has no policy files in the base revision"):
        engine.load_inputs(root, base=BaseRevision.open(root, base))


def test_explicit_config_is_used_as_given(tmp_path: Path) -> None:
    root, base = repo(tmp_path)
    change(root, {".annexa.yml": CONFIG + WAIVER, "settings.py": f'AWS_KEY = "{KEY}"\n'})
    revision = BaseRevision.open(root, base)
    inputs = engine.load_inputs(root, config_file=root / ".annexa.yml", base=revision)
    assert [w.ticket for w in inputs.config.waivers] == ["SEC-1"]
    assert inputs.rules_from == f"config from the command line ({root / '.annexa.yml'})"


def test_check_base_cli_reports_pending_changes_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, base = repo(tmp_path)
    change(root, {"settings.py": f'AWS_KEY = "{KEY}"\n', ".annexa.yml": CONFIG + WAIVER})
    code = main(["check", str(root), "--base", base, "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(p["kind"], p["path"]) for p in data["pending_changes"]] == [("config", ".annexa.yml")]
    assert data["rules_from"].startswith("config, waivers and secrets baseline from the base revision")
    main(["check", str(root), "--base", base, "--format", "markdown"])
    markdown = capsys.readouterr().out
    assert ("**Not applied to this run (take effect only after merge, after the security owners' review):**\n"
            "- .annexa.yml is edited by this change;") in markdown


def test_repository_rules_see_the_whole_checkout_in_pr_mode(tmp_path: Path) -> None:
    workflow = ("on: pull_request\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@v4\n")
    policy = POLICY + "  - {rule: actions-pinned, severity: high}\n"
    root, base = repo(tmp_path, {".github/workflows/ci.yml": workflow, "policies/secure.yml": policy})
    change(root, {"README.md": "docs\n"})
    report = check(root, base)
    [finding] = [f for f in report.findings if f.rule == "actions-pinned"]
    assert (finding.status, finding.location, finding.introduced) == (
        Status.FAIL, finding.location, False)
    assert finding.location is not None and finding.location.path == ".github/workflows/ci.yml"


# --- the base-revision reader ----------------------------------------------------------------------------------


def test_base_revision_reads_stored_bytes_and_never_the_work_tree(tmp_path: Path) -> None:
    root, base = repo(tmp_path)
    (root / ".annexa.yml").write_text("policies: []\n", encoding="utf-8")
    revision = BaseRevision.open(root, "main")
    assert revision.commit == base and revision.label == f"main ({base[:12]})"
    assert revision.read_text(".annexa.yml") == CONFIG
    assert revision.read_bytes("absent.yml") is None
    assert (revision.exists("policies"), revision.exists("policies/secure.yml")) == (False, True)
    assert revision.files_under("policies") == ["policies/secure.yml"]
    assert revision.files_under("nothing") == []


def test_base_revision_refuses_symlinks_oversize_and_odd_paths(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_checkout(root, {"big.txt": "x" * 100})
    (root / "link.yml").symlink_to("/etc/passwd")
    git_commit_all(root, "base")
    revision = BaseRevision.open(root, "HEAD")
    with pytest.raises(UnreadableFile, match="a symbolic link in the base revision"):
        revision.read_bytes("link.yml")
    with pytest.raises(UnreadableFile, match="100 bytes in the base revision, over the 10-byte limit"):
        revision.read_bytes("big.txt", limit=10)
    for bad in ("../x", "/etc/passwd", "-c"):
        with pytest.raises(CollectError, match="not a repository-relative path"):
            revision.read_bytes(bad)
    with pytest.raises(CollectError, match="base revision nope: no such commit"):
        BaseRevision.open(root, "nope")


def test_parents_of_a_merge_commit(tmp_path: Path) -> None:
    root, base = repo(tmp_path)
    assert BaseRevision.parents(root) == []
    change(root, {"a.txt": "a\n"})
    head = Checkout(root).head_commit()
    assert BaseRevision.parents(root) == [base]
    assert head is not None
