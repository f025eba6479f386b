"""no-secrets-in-change: every key type, allowlists, baselines, notebooks, PR mode, bad input, redaction."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from pathlib import Path

import pytest

from annexa import cli
from annexa.collect.checkout import Checkout
from annexa.model import Location, Status
from annexa.scan import secrets as secrets_scan
from tests.content.common import change_of, fake_keys, outcome
from tests.support import git_commit_all, make_checkout, run_rule

KEYS = fake_keys()
RULE = "no-secrets-in-change"


def short(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def fails(results: list) -> list[tuple[str, int | None, str]]:
    return [(r.location.path, r.location.line, r.evidence["type"]) for r in results if r.status is Status.FAIL]


PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n-----END RSA PRIVATE KEY-----\n"

CASES = [
    ("huggingface", "src/app.py", 'import os\n\nHF = "{v}"\n', 3, "Hugging Face Token"),
    ("openai_project", "src/app.py", 'client = OpenAI(api_key="{v}")\n', 1, "OpenAI API Key"),
    ("openai_legacy", "notebook.py", 'openai.api_key = "{v}"\n', 1, "OpenAI API Key"),
    ("anthropic", "src/claude.py", '\nKEY = "{v}"\n', 2, "Anthropic API Key"),
    ("github_classic", "scripts/push.sh", 'export GH_TOKEN={v}\n', 1, "GitHub Token"),
    ("github_fine_grained", "scripts/push.sh", 'git clone https://x:{v}@github.com/acme/r\n', 1,
     "GitHub Fine-grained Token"),
    ("gitlab", ".env", 'GITLAB_TOKEN={v}\n', 1, "GitLab Token"),
    ("replicate", "src/gen.py", 'os.environ["REPLICATE_API_TOKEN"] = "{v}"\n', 1, "Replicate API Token"),
    ("wandb", "train.sh", '# log runs\nWANDB_API_KEY={v} python train.py\n', 2, "Weights & Biases API Key"),
    ("aws", "deploy/config.ini", '[default]\naws_access_key_id = {v}\n', 2, "AWS Access Key"),
    ("google_api", "web/maps.js", 'const key = "{v}";\n', 1, "Google Cloud Key"),
]


@pytest.mark.parametrize(("kind", "path", "template", "line", "secret_type"), CASES, ids=[c[0] for c in CASES])
def test_each_key_type_is_found_with_its_type_and_line(
    tmp_path: Path, kind: str, path: str, template: str, line: int, secret_type: str
) -> None:
    value = KEYS[kind]
    results = run_rule(RULE, make_checkout(tmp_path, {path: template.format(v=value)}))
    assert fails(results) == [(path, line, secret_type)]
    [result] = results
    assert result.evidence["hash"] == f"sha256:{short(value)}"
    assert result.key == f"{secret_type}:{short(value)}"
    assert value not in json.dumps(result.evidence) + result.message + result.key


def test_gcp_service_account_file_reports_key_id_and_private_key(tmp_path: Path) -> None:
    account = {"type": "service_account", "project_id": "acme-ml", "private_key_id": KEYS["gcp_key_id"],
               "private_key": PEM, "client_email": "trainer@acme-ml.iam.gserviceaccount.com"}
    text = json.dumps(account, indent=2)
    results = run_rule(RULE, make_checkout(tmp_path, {"secrets/sa.json": text}))
    assert fails(results) == [("secrets/sa.json", 4, "Google Cloud Key"), ("secrets/sa.json", 5, "Private Key")]


def test_pem_private_key_file(tmp_path: Path) -> None:
    results = run_rule(RULE, make_checkout(tmp_path, {"deploy/id_rsa": PEM}))
    assert fails(results) == [("deploy/id_rsa", 1, "Private Key")]


LOOKALIKES = {
    "sha256": 'DIGEST = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"\n',
    "commit": 'REVISION = "3f2c9e1d4b5a69788c7d0e1f2a3b4c5d6e7f8091"\n',
    "md5": 'checksum = "9e107d9d372bb6826bd81d3542a419d6"\n',
    "uuid": 'RUN_ID = "123e4567-e89b-12d3-a456-426614174000"\n',
    "env_lookup": 'token = os.environ["HF_TOKEN"]\n',
    "placeholder": 'HF_TOKEN = "${HF_TOKEN}"\n',
    "url_password_word": 'engine = create_async_engine("postgresql+asyncpg://user:pass@localhost/db")\n',
    "url_password_secret": 'url="postgresql+asyncpg://app:secret@db.example.com/agents",\n',
    "data_uri": '<img src="data:image/png;base64,' + base64.b64encode(bytes(range(7, 250))).decode() + '">\n',
}


@pytest.mark.parametrize("name", sorted(LOOKALIKES))
def test_lookalikes_pass(tmp_path: Path, name: str) -> None:
    results = run_rule(RULE, make_checkout(tmp_path, {"src/ids.py": LOOKALIKES[name]}))
    assert [outcome(r) for r in results] == [("pass", None, None)]
    assert results[0].evidence["files"] == 1


@pytest.mark.parametrize(("text", "expected"), [
    ('KEY = "-----BEGIN PRIVATE KEY-----\\nfixture\\n-----END PRIVATE KEY-----"\n', []),
    ("-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n", []),
    ('key: "-----BEGIN EC PRIVATE KEY-----<your key here>-----END EC PRIVATE KEY-----"\n', []),
    ("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F2C9E1D4B5A6978\n\n"
     "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n-----END RSA PRIVATE KEY-----\n", [("deploy/key.py", 1, "Private Key")]),
    ('SA = {"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n'
     '-----END PRIVATE KEY-----"}\n',
     [("deploy/key.py", 1, "Private Key")]),
], ids=["placeholder-word", "ellipsis", "angle-placeholder", "encrypted-pem", "json-escaped"])
def test_a_private_key_header_counts_only_with_key_material(tmp_path: Path, text: str,
                                                             expected: list[tuple[str, int, str]]) -> None:
    assert fails(run_rule(RULE, make_checkout(tmp_path, {"deploy/key.py": text}))) == expected


def test_a_real_password_in_a_url_still_fails(tmp_path: Path) -> None:
    password = "Qm7vT2xL9pR4"
    results = run_rule(RULE, make_checkout(tmp_path, {"deploy/db.py": f'URL = "postgresql://svc:{password}@db.internal/prod"\n'}))
    assert fails(results) == [("deploy/db.py", 1, "Basic Auth Credentials")]
    assert results[0].evidence["hash"] == f"sha256:{short(password)}"


@pytest.mark.parametrize(
    "text",
    ['HF = "{v}"  # pragma: allowlist secret\n', "# pragma: allowlist nextline secret\nHF = \"{v}\"\n"],
    ids=["inline", "nextline"],
)
def test_allowlist_pragma_is_honoured(tmp_path: Path, text: str) -> None:
    results = run_rule(RULE, make_checkout(tmp_path, {"tests/fixtures.py": text.format(v=KEYS["huggingface"])}))
    assert [r.status for r in results] == [Status.PASS]


def _baseline(path: str, value: str, is_secret: bool | None) -> str:
    entry = {"type": "Hugging Face Token", "filename": path, "line_number": 1, "is_verified": False,
             "hashed_secret": hashlib.sha1(value.encode()).hexdigest()}
    if is_secret is not None:
        entry["is_secret"] = is_secret
    return json.dumps({"version": "1.5.0", "plugins_used": [], "filters_used": [], "results": {path: [entry]}})


@pytest.mark.parametrize(("is_secret", "expected"), [(None, "pass"), (False, "pass"), (True, "fail")])
def test_baseline_entries_are_not_reported_unless_audited_as_real(
    tmp_path: Path, is_secret: bool | None, expected: str
) -> None:
    value = KEYS["huggingface"]
    files = {"src/app.py": f'HF = "{value}"\n', ".secrets.baseline": _baseline("src/app.py", value, is_secret)}
    results = run_rule(RULE, make_checkout(tmp_path, files))
    assert [outcome(r) for r in results] == [(expected, None if expected == "pass" else "src/app.py",
                                              None if expected == "pass" else 1)]
    if expected == "pass":
        assert results[0].evidence["baselined"] == 1


def test_baseline_for_another_value_does_not_hide_a_new_secret(tmp_path: Path) -> None:
    files = {"src/app.py": f'HF = "{KEYS["huggingface"]}"\n', ".secrets.baseline": _baseline("src/app.py", "x", None)}
    assert fails(run_rule(RULE, make_checkout(tmp_path, files))) == [("src/app.py", 1, "Hugging Face Token")]


def test_broken_baseline_is_reported_and_ignored(tmp_path: Path) -> None:
    files = {"src/app.py": 'x = 1\n', ".secrets.baseline": "{not json"}
    [result] = run_rule(RULE, make_checkout(tmp_path, files))
    assert result.status is Status.PASS
    assert result.evidence["skipped_files"][0]["path"] == ".secrets.baseline"
    assert result.evidence["skipped_files"][0]["reason"].startswith("baseline ignored")


def _notebook(value: str) -> str:
    png = base64.b64encode(bytes(range(256)) * 8).decode()
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Fine-tuning\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [],
         "source": ["from huggingface_hub import login\n", f'login(token="{value}")\n']},
        {"cell_type": "code", "metadata": {}, "execution_count": 2,
         "source": ["print(os.environ['OPENAI_API_KEY'])\n"],
         "outputs": [{"output_type": "stream", "name": "stdout", "text": [KEYS["openai_project"] + "\n"]}]},
        {"cell_type": "code", "metadata": {}, "execution_count": 3, "source": ["plot()\n"],
         "outputs": [{"output_type": "display_data", "metadata": {},
                      "data": {"image/png": png, "text/plain": ["<Figure size 640x480>"]}}]},
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def test_notebook_sources_and_text_outputs_are_scanned_but_not_images(tmp_path: Path) -> None:
    text = _notebook(KEYS["huggingface"])
    lines = text.splitlines()
    source_line = next(i for i, t in enumerate(lines, 1) if "login(token=" in t)
    output_line = next(i for i, t in enumerate(lines, 1) if KEYS["openai_project"] in t)
    results = run_rule(RULE, make_checkout(tmp_path, {"notebooks/train.ipynb": text}))
    assert fails(results) == [("notebooks/train.ipynb", source_line, "Hugging Face Token"),
                              ("notebooks/train.ipynb", output_line, "OpenAI API Key")]


def test_notebook_with_only_an_image_output_passes(tmp_path: Path) -> None:
    text = _notebook("nothing-here").replace(KEYS["openai_project"], "done")
    results = run_rule(RULE, make_checkout(tmp_path, {"notebooks/plot.ipynb": text}))
    assert [r.status for r in results] == [Status.PASS]


def test_broken_notebook_is_scanned_as_text_and_says_so(tmp_path: Path) -> None:
    text = '{"cells": [{"source": ["token = \\"' + KEYS["huggingface"] + '\\"\\n"]\n'
    results = run_rule(RULE, make_checkout(tmp_path, {"nb/broken.ipynb": text}))
    assert fails(results) == [("nb/broken.ipynb", 1, "Hugging Face Token")]


def test_pull_request_mode_scans_only_added_lines(tmp_path: Path) -> None:
    old, new = KEYS["github_classic"], KEYS["huggingface"]
    text = f'OLD = "{old}"\nx = 1\nNEW = "{new}"\n'
    checkout = make_checkout(tmp_path, {"src/app.py": text, "src/untouched.py": f'K = "{KEYS["anthropic"]}"\n'})
    results = run_rule(RULE, checkout, change=change_of({"src/app.py": frozenset({2, 3})}))
    assert fails(results) == [("src/app.py", 3, "Hugging Face Token")]


def test_pull_request_mode_with_real_git_diff(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"src/app.py": f'OLD = "{KEYS["github_classic"]}"\n'}, git=True)
    (tmp_path / "src/app.py").write_text(f'OLD = "{KEYS["github_classic"]}"\nNEW = "{KEYS["replicate"]}"\n')
    (tmp_path / "src/new.py").write_text(f'W = "{KEYS["gitlab"]}"\n')
    git_commit_all(tmp_path, "add keys")
    change = Checkout(tmp_path).diff("HEAD~1")
    results = run_rule(RULE, Checkout(tmp_path), change=change)
    assert fails(results) == [("src/app.py", 2, "Replicate API Token"), ("src/new.py", 1, "GitLab Token")]
    assert checkout.root == Checkout(tmp_path).root


def test_renamed_file_without_added_lines_is_not_reported(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"src/moved.py": f'K = "{KEYS["huggingface"]}"\n'})
    results = run_rule(RULE, checkout, change=change_of({"src/moved.py": frozenset()}, status="renamed"))
    assert [r.status for r in results] == [Status.PASS]


def test_nothing_to_scan_is_not_applicable(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"src/app.py": "x = 1\n"})
    results = run_rule(RULE, checkout, change=change_of({}))
    assert [outcome(r) for r in results] == [("not_applicable", None, None)]


def test_binary_file_with_py_name_is_unknown_not_pass(tmp_path: Path) -> None:
    """Coverage is part of pass: a file meant to be text that could not be scanned is unknown, and with nothing
    else scanned there is no "No secrets in 0 files" pass."""
    checkout = make_checkout(tmp_path, {"src/blob.py": b"\x00\x01\x02" + KEYS["huggingface"].encode()})
    [result] = run_rule(RULE, checkout)
    assert (result.status, result.location, result.message) == (
        Status.UNKNOWN, Location("src/blob.py"), "src/blob.py was not scanned: binary content (NUL bytes); not scanned")


def test_binary_image_is_not_a_coverage_gap(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"logo.png": b"\x89PNG\x00\x01", "a.py": "x = 1\n"})
    [result] = run_rule(RULE, checkout)
    assert (result.status, result.evidence["files"], result.evidence["skipped_files"]) == (
        Status.PASS, 1, [{"path": "logo.png", "reason": "binary content (NUL bytes); not scanned"}])


def test_invalid_utf8_still_finds_the_key(tmp_path: Path) -> None:
    data = b"caf\xe9 = 1\nHF = '" + KEYS["huggingface"].encode() + b"'\n"
    results = run_rule(RULE, make_checkout(tmp_path, {"src/latin1.py": data}))
    assert fails(results) == [("src/latin1.py", 2, "Hugging Face Token")]


def test_huge_minified_single_line_is_scanned_in_windows(tmp_path: Path) -> None:
    filler = "var a=1;" * 250_000
    text = filler + f'var k="{KEYS["anthropic"]}";' + filler
    results = run_rule(RULE, make_checkout(tmp_path, {"web/app.min.js": text}))
    assert fails(results) == [("web/app.min.js", 1, "Anthropic API Key")]


def test_file_over_the_size_limit_is_skipped_and_listed(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"dump.sql": "x" * 2000 + "\n", "ok.py": "x = 1\n"})
    gap, result = run_rule(RULE, checkout, params={"max_file_bytes": 1000})
    assert (gap.status, gap.location, gap.message) == (
        Status.UNKNOWN, Location("dump.sql"), "dump.sql was not scanned: 2,001 bytes, over the 1,000-byte limit")
    assert result.status is Status.PASS
    assert result.evidence["skipped_files"] == [
        {"path": "dump.sql", "reason": "2,001 bytes, over the 1,000-byte limit"}]


def test_excluded_globs_are_not_scanned(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"tests/fixtures/keys.py": f'K = "{KEYS["huggingface"]}"\n', "a.py": "x=1\n"})
    [result] = run_rule(RULE, checkout, params={"exclude": ["tests/fixtures/**"]})
    assert (result.status, result.evidence["files"]) == (Status.PASS, 1)


def test_scanner_that_cannot_start_is_unknown_not_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> dict[str, object]:
        raise ImportError("No module named 'detect_secrets'")

    monkeypatch.setattr(secrets_scan, "_settings", broken)
    [result] = run_rule(RULE, make_checkout(tmp_path, {"a.py": f'K = "{KEYS["huggingface"]}"\n'}))
    assert result.status is Status.UNKNOWN
    assert "detect-secrets could not start" in result.message
    assert result.evidence["needs"] == "detect-secrets 1.5 installed"


def test_symlink_leaving_the_checkout_is_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text(f'K = "{KEYS["huggingface"]}"\n')
    checkout = make_checkout(tmp_path / "repo", {"a.py": "x = 1\n"})
    (tmp_path / "repo" / "link.txt").symlink_to(outside)
    [result] = run_rule(RULE, Checkout(tmp_path / "repo"))
    assert result.status is Status.PASS
    assert [s["path"] for s in result.evidence["skipped_files"]] == ["link.txt"]
    assert checkout.root == Checkout(tmp_path / "repo").root


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "sarif", "codequality"])
def test_no_output_ever_contains_a_secret_value(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    values = [v for k, v in KEYS.items() if k != "gcp_key_id"]
    files = {f"src/k{i}.py": f'KEY_{i} = "{v}"\n' for i, v in enumerate(values)}
    files["nb/leak.ipynb"] = _notebook(KEYS["huggingface"])
    root = tmp_path / "repo"
    make_checkout(root, {"README.md": "# demo\n"}, git=True)
    make_checkout(root, files)
    git_commit_all(root, "leak")
    out = tmp_path / f"report.{fmt}"
    caplog.set_level(logging.DEBUG)
    code = cli.main(["check", str(root), "--base", "HEAD~1", "--format", fmt, "--output", str(out)])
    captured = capsys.readouterr()
    report = out.read_text(encoding="utf-8")
    assert code == 1
    everything = report + captured.out + captured.err + caplog.text
    assert [v for v in values if v in everything] == []
    if fmt == "json":
        findings = [f for f in json.loads(report)["findings"] if f["rule"] == RULE and f["status"] == "fail"]
        # every key but the bare W&B hex (no W&B name beside it), plus the notebook's source and output keys
        assert len(findings) == len(values) - 1 + 2
        assert {"src/k0.py": f"sha256:{short(values[0])}"}.items() <= {
            f["location"]["path"]: f["evidence"]["hash"] for f in findings}.items()


def test_parallel_scan_gives_the_same_hits_in_the_same_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = ["huggingface", "github_classic", "replicate", "anthropic", "gitlab", "openai_project"]
    files = {f"src/m{i}.py": "x = 1\n" * i + f'K = "{KEYS[k]}"\n' for i, k in enumerate(kinds)}
    checkout = make_checkout(tmp_path, files)
    sequential = run_rule(RULE, checkout)
    monkeypatch.setattr(secrets_scan, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(secrets_scan.os, "cpu_count", lambda: 3)
    parallel = run_rule(RULE, checkout)
    assert [(r.location, r.key) for r in parallel] == [(r.location, r.key) for r in sequential]
    assert fails(parallel)[0] == ("src/m0.py", 1, "Hugging Face Token")
    assert len(parallel) == len(kinds)


def test_added_lines_of_a_long_file_are_nominated_line_by_line_with_the_same_hits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.robust.test_leaks import contexts

    keys = fake_keys(seed=15)
    planted = [*contexts(), *(f'token = "{v}"' for v in keys.values()), "-----BEGIN RSA PRIVATE KEY-----"]
    filler = ["x = compute(batch, key=name)  # see 'notes'", 'label = "a plain label"', "pass", ""]
    lines = [filler[i % len(filler)] for i in range(40 * len(planted))]
    for i, text in enumerate(planted):
        lines[i * 40 + 7] = text
    checkout = make_checkout(tmp_path, {"long.py": "\n".join(lines) + "\n"})
    every_line = range(1, len(lines) + 1)
    wanted = frozenset(n for n in every_line if n % 5 in (3, 0))  # one line in 2.5 has a key, then one in 40
    few = frozenset(n for n in every_line if n % 40 == 8)  # only the planted lines: nominated line by line
    results = {}
    for name, lines_wanted, ratio in (("text", wanted, 0), ("lines", wanted, 10**9), ("few", few, 10**9),
                                      ("few-text", few, 0)):
        monkeypatch.setattr(secrets_scan, "PER_LINE_RATIO", ratio)
        scan = secrets_scan.scan_files(checkout, ["long.py"], {"long.py": lines_wanted}, 10**7)
        results[name] = [(h.type, h.line, h.digest) for h in scan.hits]
    assert results["text"] == results["lines"]
    assert results["few"] == results["few-text"]
    assert len(results["few"]) >= 20 and {line for _, line, _ in results["few"]} <= few
