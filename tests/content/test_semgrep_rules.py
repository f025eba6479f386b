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
import langchain_community.tools as lct
from langchain_experimental.tools import PythonAstREPLTool as Ast
more = [lct.ShellTool(), Ast()]
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
    "langchain-dangerous-option": [6, 7, 7, 8, 11, 11],
    "remote-code-disabled": [4, 5, 6],
    "model-revision-pinned": [4, 5, 6, 7],
}
"""Lines of BAD that fail; a few further matches are ``unknown`` (UNKNOWN_LINES)."""

UNKNOWN_LINES: dict[str, list[int]] = {
    "remote-code-disabled": [7],
    "model-revision-pinned": [8],
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
import agents
from agents import Agent, ShellTool

# another framework's tool of the same name, in a file that imports LangChain
agent = Agent(tools=[ShellTool(executor=run_in_sandbox), agents.ShellTool(environment=hosted)])
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
    unknown = sorted((r.location.path, r.location.line) for r in snippet_results[rule_id]
                     if r.status is Status.UNKNOWN and r.location)
    assert unknown == [(f"snippets/{rule_id}/bad.py", line) for line in UNKNOWN_LINES.get(rule_id, [])]


@pytest.mark.parametrize("rule_id", SEMGREP_RULES)
def test_every_finding_names_semgrep_and_has_a_line_free_key(
    snippet_results: dict[str, list[Result]], rule_id: str
) -> None:
    for result in snippet_results[rule_id]:
        assert result.evidence["engine"] == "semgrep"
        assert result.status in (Status.FAIL, Status.UNKNOWN)
        assert re.fullmatch(r"[0-9a-f]{16}#\d+", result.key), result.key


def test_each_rule_has_its_own_catalog_semgrep_section() -> None:
    for rule_id in SEMGREP_RULES:
        assert CATALOG[rule_id].semgrep is not None, rule_id
        assert CATALOG[rule_id].semgrep["languages"] == ["python"]
        assert CATALOG[rule_id].family == "content"
    rules = semgrep_scan.semgrep_rules(CATALOG)
    assert sorted({semgrep_scan.split_rule_id(r["id"])[0] for r in rules}) == sorted(SEMGREP_RULES)
    assert "model-revision-pinned--id-not-literal" in {r["id"] for r in rules}
    assert all("variants" not in r and "status" not in r for r in rules)


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

    monkeypatch.setattr("annexa.scan.semgrep.run_semgrep", counting)  # imported by the rule where it runs
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
    run_rules(["torch-load-unsafe"], make_checkout(tmp_path / "repo", {"a.py": "torch.load(p)\n"}))
    argv = log.read_text().splitlines()
    assert {"--metrics=off", "--disable-version-check", "--json"} <= set(argv)
    assert argv[-2:] == ["--", "a.py"]


# --- real-world shapes: each line of these fixtures is a form seen in public ML repositories ---------------------

HUB_CODE = """\
import os
import tempfile
from pathlib import Path

import transformers
from diffusers import UNet2DModel, DiffusionPipeline
from huggingface_hub import hf_hub_download, snapshot_download
from peft import PeftModel
from transformers import AutoModel, AutoTokenizer, pipeline

from .modeling import MyModel

MODEL_ID = "acme/const-model"


class Local:
    @classmethod
    def from_pretrained(cls, path):
        return cls()


def fails():
    a = AutoModel.from_pretrained("acme/x")
    b = transformers.AutoModel.from_pretrained("acme/z")
    c = AutoTokenizer.from_pretrained(MODEL_ID)
    d = hf_hub_download(repo_id="acme/h", filename="f.bin")
    e = snapshot_download("acme/s", revision="v1.2")
    f = PeftModel.from_pretrained(base, "acme/adapter")
    g = UNet2DModel.from_pretrained("acme/unet", revision="main")


def not_reported(tmp_path, args):
    a = MyModel.from_pretrained("acme/own")
    b = Local.from_pretrained("acme/own")
    with tempfile.TemporaryDirectory() as tmpdirname:
        unet.save_pretrained(tmpdirname)
        c = UNet2DModel.from_pretrained(tmpdirname)
        d = UNet2DModel.from_pretrained(os.path.join(tmpdirname, "sub"))
    e = AutoModel.from_pretrained(tmp_path)
    f = AutoModel.from_pretrained(Path(tmp_path) / "x")
    g = AutoModel.from_pretrained("./checkpoints/final")
    h = AutoModel.from_pretrained("/abs/model")
    i = AutoModel.from_pretrained("acme/x", revision="3f2c9e1d4b5a69788c7d0e1f2a3b4c5d6e7f8091")
    j = AutoModel.from_pretrained(args.model, revision=args.revision)
    out = save_directory
    pipe.save_pretrained(out)
    k = DiffusionPipeline.from_pretrained(out)
    m = AutoModel.from_pretrained(model_dir)
    n = PeftModel.from_pretrained(base, adapter_dir)


def unknowns(args):
    a = AutoModel.from_pretrained(args.model_name_or_path)
    b = PeftModel.from_pretrained(base, args.adapter)
    c = hf_hub_download(repo_id, "f.bin")


def remote():
    a = AutoModel.from_pretrained("acme/x", trust_remote_code=True)
    b = pipeline("text-generation", model="acme/llm", trust_remote_code=True)
    c = AutoModel.from_pretrained(args.model, trust_remote_code=True)
    d = AutoModel.from_pretrained("./local", trust_remote_code=True)
    e = MyModel.from_pretrained("acme/x", trust_remote_code=True)
    kwargs = {"trust_remote_code": True}
    f = transformers.AutoTokenizer.from_pretrained(args.model_name_or_path, trust_remote_code=True)
"""

LOAD_CODE = """\
import io
import pickle
import torch
import requests
from pickle import loads as unpickle

a = pickle.loads(pickle.dumps(obj))
blob = pickle.dumps(obj)
b = pickle.loads(blob)
c = pickle.load(io.BytesIO(pickle.dumps(obj)))
with open(p, "rb") as f:
    d = pickle.load(f)
e = pickle.loads(requests.get(url).content)
s1 = torch.load(path, weights_only=True)
s2 = torch.load(f, map_location="cpu")
s3 = torch.load(f, weights_only=False)
s4 = torch.load(f, weights_only=use_safe)
s5 = torch.load(f, **kwargs)
g = unpickle(cache.get(key))
h = torch.serialization.load(f)
"""


@pytest.fixture(scope="module")
def shaped_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Result]]:
    root = tmp_path_factory.mktemp("shaped")
    return run_rules(SEMGREP_RULES, make_checkout(root, {"src/hub.py": HUB_CODE, "src/load.py": LOAD_CODE}))


def _outcomes(results: list[Result]) -> list[tuple[str, str, int]]:
    return sorted((r.status.value, r.location.path, r.location.line) for r in results
                  if r.location and r.location.line is not None)


@pytest.mark.parametrize(("rule_id", "expected"), [
    ("model-revision-pinned", [
        *[("fail", "src/hub.py", n) for n in (23, 24, 25, 26, 27, 28, 29, 59)],
        *[("unknown", "src/hub.py", n) for n in (53, 54, 55, 61, 65)],
    ]),
    ("remote-code-disabled", [("fail", "src/hub.py", 59), ("fail", "src/hub.py", 60), ("unknown", "src/hub.py", 61),
                              ("unknown", "src/hub.py", 64), ("unknown", "src/hub.py", 65)]),
    ("torch-load-unsafe", [("fail", "src/load.py", 15), ("fail", "src/load.py", 16), ("fail", "src/load.py", 20),
                           ("unknown", "src/load.py", 18)]),
    ("unsafe-deserialization", [("fail", "src/load.py", 12), ("fail", "src/load.py", 13),
                                ("fail", "src/load.py", 19)]),
])
def test_real_world_shapes_fail_only_where_the_answer_is_yes(
    shaped_results: dict[str, list[Result]], rule_id: str, expected: list[tuple[str, str, int]]
) -> None:
    assert _outcomes(shaped_results[rule_id]) == sorted(expected)


@pytest.mark.parametrize(("rule_id", "path", "line", "message"), [
    ("model-revision-pinned", "src/hub.py", 23,
     'AutoModel.from_pretrained downloads "acme/x" from the Hub without revision= pinned to a commit; upstream '
     "changes reach you unreviewed"),
    ("model-revision-pinned", "src/hub.py", 25,
     'AutoTokenizer.from_pretrained downloads "acme/const-model" from the Hub without revision= pinned to a commit; '
     "upstream changes reach you unreviewed"),
    ("model-revision-pinned", "src/hub.py", 29,
     'UNet2DModel.from_pretrained pins its download to revision "main", a branch or tag that can move; pin the '
     "40-hex commit id"),
    ("model-revision-pinned", "src/hub.py", 53,
     "AutoModel.from_pretrained is given args.model_name_or_path, which is not a literal model id, and no revision=; "
     "check where it comes from and pin revision= if it can name a Hub repository"),
    ("torch-load-unsafe", "src/load.py", 16,
     "torch.load is called with weights_only=False, so it unpickles arbitrary objects and can run code from the file"),
    ("torch-load-unsafe", "src/load.py", 15,
     "torch.load is called without weights_only, so it unpickles arbitrary objects and can run code from the file "
     "(pass weights_only=True)"),
    ("unsafe-deserialization", "src/load.py", 19,
     "unpickle deserialises with pickle and runs any code embedded in the data it reads"),
])
def test_messages_name_the_function_and_the_argument(
    shaped_results: dict[str, list[Result]], rule_id: str, path: str, line: int, message: str
) -> None:
    [found] = [r for r in shaped_results[rule_id] if r.location and (r.location.path, r.location.line) == (path, line)]
    assert found.message == message


def test_unknown_variant_says_what_would_decide_it(shaped_results: dict[str, list[Result]]) -> None:
    [found] = [r for r in shaped_results["model-revision-pinned"]
               if r.location and r.location.line == 53]
    assert found.status is Status.UNKNOWN
    assert found.evidence["variant"] == "id-not-literal"
    assert found.evidence["needs"].startswith("a reviewer confirming where the model id comes from")


def test_builtin_policies_lower_every_semgrep_rule_in_test_code(tmp_path: Path) -> None:
    from annexa import engine
    from annexa.facts import Facts
    from annexa.report import RunInfo
    from tests.support import TODAY

    run = RunInfo("run-1", "2026-11-27T00:00:00+00:00", "local", "acme/x", "main", None, None)
    body = "\n".join(f"# {rule}\n{BAD[rule]}" for rule in SEMGREP_RULES)
    make_checkout(tmp_path, {"tests/test_models.py": body, "src/app.py": BAD["torch-load-unsafe"]})
    report = engine.run_check(engine.load_inputs(tmp_path), Facts("local", Checkout(tmp_path)), run, TODAY)
    for rule_id in SEMGREP_RULES:
        in_tests = [f for f in report.findings if f.rule == rule_id and f.location
                    and f.location.path == "tests/test_models.py"]
        assert in_tests, rule_id
        assert {f.severity.value for f in in_tests} == {"low"}, rule_id
    app = [f for f in report.findings
           if f.rule == "torch-load-unsafe" and f.location and f.location.path == "src/app.py"]
    assert [(f.status.value, f.severity.value, f.location.line) for f in app if f.location] == [
        ("fail", "high", 4), ("fail", "high", 5), ("fail", "high", 6)]
