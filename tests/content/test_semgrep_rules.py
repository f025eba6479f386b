"""Semgrep-backed rules: positive and negative snippets per rule, one process per run, PR mode, fingerprints,
and semgrep failures (crash, timeout, missing) becoming ``unknown``."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest

from annexa.collect.checkout import Checkout
from annexa.model import Location, Result, Status
from annexa.scan import semgrep as semgrep_scan
from tests.content.common import CATALOG, SEMGREP_RULES, outcome, run_rules
from tests.support import git_commit_all, make_checkout

BAD: dict[str, str] = {
    "torch-load-unsafe": """\
import torch
from torch import load

state = torch.load("ckpt.pt")
legacy = torch.load("ckpt.pt", map_location="cpu", weights_only=False)
other = load(path)
""",
    "unsafe-deserialization": """\
import pickle
import dill
import cloudpickle
import joblib
import numpy as np
import pandas as pd
from tensorflow import keras

a = pickle.load(handle)
b = pickle.loads(blob)
c = dill.load(handle)
d = cloudpickle.loads(blob)
e = joblib.load("model.joblib")
f = pd.read_pickle("features.pkl")
g = np.load("vectors.npy", allow_pickle=True)
h = keras.models.load_model("model.keras", safe_mode=False)
""",
    "yaml-unsafe-load": """\
import yaml

a = yaml.load(text, Loader=yaml.Loader)
b = yaml.load(text, Loader=yaml.FullLoader)
c = yaml.unsafe_load(text)
d = yaml.load_all(text, yaml.UnsafeLoader)
e = yaml.load(text)
""",
    "tls-verification-disabled": """\
import ssl
import httpx
import requests

r = requests.get(url, verify=False, timeout=5)
session = requests.Session()
session.verify = False
client = httpx.Client(verify=False)
ctx = ssl._create_unverified_context()
ctx2 = ssl.create_default_context()
ctx2.check_hostname = False
ctx2.verify_mode = ssl.CERT_NONE
""",
    "llm-output-executed": """\
import os
import subprocess
from openai import OpenAI

client = OpenAI()
reply = client.chat.completions.create(model="gpt-4o", messages=messages)
code = reply.choices[0].message.content
exec(code)
answer = chain.invoke({"question": q})
os.system(answer)
subprocess.run(client.responses.create(model="m", input=x).output_text, shell=True)
""",
    "langchain-dangerous-option": """\
from langchain_community.vectorstores import FAISS
from langchain_experimental.tools import PythonREPLTool
from langchain_community.tools import ShellTool
from langchain_experimental.agents import create_pandas_dataframe_agent

store = FAISS.load_local("index", embeddings, allow_dangerous_deserialization=True)
tools = [PythonREPLTool(), ShellTool()]
agent = create_pandas_dataframe_agent(llm, df, allow_dangerous_code=True)
""",
    "remote-code-disabled": """\
from transformers import AutoModel, AutoModelForCausalLM, pipeline
from datasets import load_dataset

model = AutoModelForCausalLM.from_pretrained("acme/llm", revision=REV, trust_remote_code=True)
pipe = pipeline("text-generation", model="acme/llm", trust_remote_code=True)
data = load_dataset("acme/corpus", trust_remote_code=True)
enc = AutoModel.from_pretrained(path, revision=REV, **{"trust_remote_code": True})
""",
    "model-revision-pinned": """\
from huggingface_hub import hf_hub_download, snapshot_download
from transformers import AutoModel, AutoTokenizer

tok = AutoTokenizer.from_pretrained("acme/support-base")
model = AutoModel.from_pretrained("acme/support-base", revision="main")
weights = hf_hub_download(repo_id="acme/support-base", filename="model.safetensors")
snap = snapshot_download("acme/support-base", revision="v1.2")
other = AutoModel.from_pretrained(model_name)
""",
}

EXPECTED: dict[str, list[int]] = {
    "torch-load-unsafe": [4, 5, 6],
    "unsafe-deserialization": [9, 10, 11, 12, 13, 14, 15, 16],
    "yaml-unsafe-load": [3, 4, 5, 6, 7],
    "tls-verification-disabled": [5, 7, 8, 9, 11, 12],
    "llm-output-executed": [8, 10, 11],
    "langchain-dangerous-option": [6, 7, 7, 8],
    "remote-code-disabled": [4, 5, 6, 7],
    "model-revision-pinned": [4, 5, 6, 7, 8],
}

GOOD: dict[str, str] = {
    "torch-load-unsafe": """\
import torch

state = torch.load("ckpt.pt", weights_only=True)
mapped = torch.load("ckpt.pt", map_location="cpu", weights_only=True, mmap=True)
torch.save(state, "out.pt")
""",
    "unsafe-deserialization": """\
import json
import numpy as np
import pandas as pd
from tensorflow import keras

a = json.load(handle)
b = np.load("vectors.npy")
c = np.load("vectors.npy", allow_pickle=False)
d = pd.read_parquet("features.parquet")
e = keras.models.load_model("model.keras")
pickle_path = "x.pkl"
""",
    "yaml-unsafe-load": """\
import yaml
from yaml import SafeLoader

a = yaml.safe_load(text)
b = yaml.load(text, Loader=yaml.SafeLoader)
c = yaml.load(text, Loader=yaml.CSafeLoader)
d = yaml.load(text, Loader=SafeLoader)
e = yaml.load_all(text, Loader=yaml.BaseLoader)
""",
    "tls-verification-disabled": """\
import ssl
import requests

r = requests.get(url, timeout=5)
r2 = requests.get(url, verify="/etc/ssl/certs/corp-ca.pem")
ctx = ssl.create_default_context()
ctx.check_hostname = True
""",
    "llm-output-executed": """\
import json
import subprocess
from openai import OpenAI

client = OpenAI()
reply = client.chat.completions.create(model="gpt-4o", messages=messages)
action = json.loads(reply.choices[0].message.content)
subprocess.run(["git", "status"], check=True)
print(eval("1 + 1"))
""",
    "langchain-dangerous-option": """\
from langchain_community.vectorstores import FAISS

store = FAISS.from_documents(docs, embeddings)
loaded = FAISS.load_local("index", embeddings, allow_dangerous_deserialization=False)
""",
    "remote-code-disabled": """\
from transformers import AutoModel, pipeline

model = AutoModel.from_pretrained("acme/enc", revision="3f2c9e1d4b5a69788c7d0e1f2a3b4c5d6e7f8091")
pipe = pipeline("text-classification", model="acme/enc", trust_remote_code=False)
""",
    "model-revision-pinned": """\
from huggingface_hub import hf_hub_download, snapshot_download
from transformers import AutoModel

REV = "3f2c9e1d4b5a69788c7d0e1f2a3b4c5d6e7f8091"
model = AutoModel.from_pretrained("acme/enc", revision="3f2c9e1d4b5a69788c7d0e1f2a3b4c5d6e7f8091")
pinned = AutoModel.from_pretrained("acme/enc", revision=REV)
local = AutoModel.from_pretrained("./checkpoints/final")
weights = hf_hub_download(repo_id="acme/enc", filename="model.safetensors", revision=REV)
snap = snapshot_download("acme/enc", revision=REV)
""",
}


@pytest.fixture(scope="module")
def snippet_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Result]]:
    root = tmp_path_factory.mktemp("snippets")
    files = {f"snippets/{rule}/bad.py": text for rule, text in BAD.items()}
    files.update({f"snippets/{rule}/good.py": text for rule, text in GOOD.items()})
    return run_rules(SEMGREP_RULES, make_checkout(root, files))


def _fails(results: list[Result]) -> list[tuple[str, int]]:
    return sorted((r.location.path, r.location.line) for r in results if r.status is Status.FAIL and r.location
                  if r.location.line is not None)


@pytest.mark.parametrize("rule_id", [
    "torch-load-unsafe", "unsafe-deserialization", "yaml-unsafe-load", "tls-verification-disabled",
    "llm-output-executed", "langchain-dangerous-option", "remote-code-disabled", "model-revision-pinned",
])
def test_positive_snippets_fail_on_exact_lines_and_negatives_never(
    snippet_results: dict[str, list[Result]], rule_id: str
) -> None:
    expected = sorted((f"snippets/{rule_id}/bad.py", line) for line in EXPECTED[rule_id])
    assert _fails(snippet_results[rule_id]) == expected


@pytest.mark.parametrize("rule_id", SEMGREP_RULES)
def test_every_finding_names_semgrep_and_has_a_line_free_key(
    snippet_results: dict[str, list[Result]], rule_id: str
) -> None:
    for result in snippet_results[rule_id]:
        assert result.evidence["engine"] == "semgrep"
        assert result.status is Status.FAIL
        assert re.fullmatch(r"[0-9a-f]{16}#\d+", result.key), result.key


def test_each_rule_has_its_own_catalog_semgrep_section() -> None:
    for rule_id in SEMGREP_RULES:
        assert CATALOG[rule_id].semgrep is not None, rule_id
        assert CATALOG[rule_id].semgrep["languages"] == ["python"]
        assert CATALOG[rule_id].family == "content"
    rules = semgrep_scan.semgrep_rules(CATALOG)
    assert sorted(r["id"] for r in rules) == sorted(SEMGREP_RULES)


def test_clean_code_passes_with_a_summary(tmp_path: Path) -> None:
    results = run_rules(["torch-load-unsafe", "yaml-unsafe-load"],
                        make_checkout(tmp_path, {"src/ok.py": GOOD["torch-load-unsafe"]}))
    for rule_id in ("torch-load-unsafe", "yaml-unsafe-load"):
        assert [outcome(r) for r in results[rule_id]] == [("pass", None, None)]
        assert results[rule_id][0].evidence["files"] == 1


def test_no_python_files_is_not_applicable(tmp_path: Path) -> None:
    results = run_rules(["torch-load-unsafe"], make_checkout(tmp_path, {"README.md": "# hi\n"}))
    assert [outcome(r) for r in results["torch-load-unsafe"]] == [("not_applicable", None, None)]


def test_one_semgrep_process_serves_every_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []
    real = semgrep_scan.run_semgrep

    def counting(checkout: Checkout, files: Any, catalog: Any, timeout: float | None = None) -> semgrep_scan.SemgrepRun:
        calls.append(tuple(files))
        return real(checkout, files, catalog, timeout)

    monkeypatch.setattr("annexa.rules.content.run_semgrep", counting)
    checkout = make_checkout(tmp_path, {"a.py": BAD["torch-load-unsafe"], "b.py": "x = 1\n"})
    results = run_rules(SEMGREP_RULES, checkout)
    assert calls == [("a.py", "b.py")]
    assert _fails(results["torch-load-unsafe"]) == [("a.py", 4), ("a.py", 5), ("a.py", 6)]


def test_pull_request_mode_scans_changed_files_and_reports_added_lines_only(tmp_path: Path) -> None:
    make_checkout(tmp_path, {"old.py": "import torch\nA = torch.load('a')\n", "untouched.py": BAD["torch-load-unsafe"]},
                  git=True)
    (tmp_path / "old.py").write_text("import torch\nA = torch.load('a')\nB = torch.load('b')\n")
    (tmp_path / "new.py").write_text("import pickle\nX = pickle.loads(blob)\n")
    git_commit_all(tmp_path, "change")
    checkout = Checkout(tmp_path)
    cache: dict[str, Any] = {}
    results = run_rules(["torch-load-unsafe", "unsafe-deserialization"], checkout, change=checkout.diff("HEAD~1"),
                        cache=cache)
    assert _fails(results["torch-load-unsafe"]) == [("old.py", 3)]
    assert _fails(results["unsafe-deserialization"]) == [("new.py", 2)]
    assert cache["content:semgrep"].targets == ("new.py", "old.py")


def test_keys_survive_line_shifts(tmp_path: Path) -> None:
    text = "import torch\nA = torch.load('a')\nB = torch.load('a')\n"
    first = run_rules(["torch-load-unsafe"], make_checkout(tmp_path / "one", {"m.py": text}))
    second = run_rules(["torch-load-unsafe"], make_checkout(tmp_path / "two", {"m.py": "\n\n# moved\n" + text}))
    keys = [r.key for r in first["torch-load-unsafe"]]
    assert [r.key for r in second["torch-load-unsafe"]] == keys
    assert [r.location.line for r in second["torch-load-unsafe"]] == [5, 6]
    assert keys[0] != keys[1]


def test_binary_and_broken_python_do_not_crash(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"bin.py": b"\x00\x01\xff\xfe" * 100, "broken.py": "def (:\n  torch.load(x)\n",
                                     "huge.py": "x = 1\n" + "y = 'a' * 3;" * 200_000, "ok.py": BAD["torch-load-unsafe"]}
    results = run_rules(["torch-load-unsafe"], make_checkout(tmp_path, files))
    assert ("ok.py", 4) in _fails(results["torch-load-unsafe"])
    gaps = [r.location.path for r in results["torch-load-unsafe"] if r.status is Status.UNKNOWN and r.location]
    assert "huge.py" in gaps  # coverage is part of pass: a file semgrep could not read is unknown
    assert all(r.status in (Status.FAIL, Status.UNKNOWN) for r in results["torch-load-unsafe"])


def test_oversized_file_is_skipped_with_its_reason(tmp_path: Path) -> None:
    files = {"huge.py": "x = 1\n" * 400_000, "ok.py": "x = 1\n"}
    cache: dict[str, Any] = {}
    results = run_rules(["yaml-unsafe-load"], make_checkout(tmp_path, files), cache=cache)
    gap, result = results["yaml-unsafe-load"]
    assert (gap.status, gap.location, gap.evidence["reason"]) == (
        Status.UNKNOWN, Location("huge.py"), "2,400,000 bytes, over the 2,000,000-byte semgrep limit")
    assert result.status is Status.PASS
    assert result.evidence["skipped_files"] == [
        {"path": "huge.py", "reason": "2,400,000 bytes, over the 2,000,000-byte semgrep limit"}]


def test_only_oversized_python_files_is_unknown_not_pass(tmp_path: Path) -> None:
    results = run_rules(["torch-load-unsafe"], make_checkout(tmp_path, {"gen.py": "x = 1\n" * 400_000}))
    [result] = results["torch-load-unsafe"]
    assert outcome(result) == ("unknown", None, None)
    assert result.evidence["skipped_files"][0]["path"] == "gen.py"


def _fake_semgrep(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-semgrep"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


@pytest.mark.parametrize(("body", "timeout", "message"), [
    ("echo 'Fatal error: out of memory' >&2\nexit 2\n", 60, "semgrep failed (exit 2): Fatal error: out of memory"),
    ("echo '{not json'\nexit 0\n", 60, "semgrep failed (exit 0): no output"),
    ("sleep 5\n", 0.5, "semgrep did not finish within 0.5 s"),
])
def test_semgrep_failure_makes_every_semgrep_rule_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, timeout: float, message: str
) -> None:
    monkeypatch.setattr(semgrep_scan, "semgrep_binary", lambda: _fake_semgrep(tmp_path, body))
    monkeypatch.setattr(semgrep_scan, "TIMEOUT", timeout)
    results = run_rules(SEMGREP_RULES, make_checkout(tmp_path / "repo", {"a.py": BAD["torch-load-unsafe"]}))
    for rule_id in SEMGREP_RULES:
        [result] = results[rule_id]
        assert result.status is Status.UNKNOWN, rule_id
        assert result.evidence["error"] == message
        assert result.evidence["needs"] == "semgrep able to run offline (pip install semgrep)"


def test_semgrep_missing_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semgrep_scan, "semgrep_binary", lambda: None)
    [result] = run_rules(["llm-output-executed"], make_checkout(tmp_path, {"a.py": "x = 1\n"}))["llm-output-executed"]
    assert result.status is Status.UNKNOWN
    assert result.evidence["error"] == "semgrep is not installed (pip install semgrep)"


def test_semgrep_runs_offline_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "argv"
    body = f'printf "%s\\n" "$@" > {log}\necho \'{{"version": "x", "results": [], "errors": []}}\'\n'
    monkeypatch.setattr(semgrep_scan, "semgrep_binary", lambda: _fake_semgrep(tmp_path, body))
    run_rules(["torch-load-unsafe"], make_checkout(tmp_path / "repo", {"a.py": "x = 1\n"}))
    argv = log.read_text().splitlines()
    assert {"--metrics=off", "--disable-version-check", "--json"} <= set(argv)
    assert argv[-2:] == ["--", "a.py"]
