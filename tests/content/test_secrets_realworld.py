"""no-secrets-in-change on files shaped like those of public AI repositories: one fixture per false-positive class
seen there (each of which failed before the credential-context filter), and the true positives that must still fail.

Every fixture is written here, in the shape of the real files (npm lock files, model cards, recorded API responses,
OpenAPI descriptions, docs, Go tests); no file of another project is copied and every value is generated.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import string
from pathlib import Path

import pytest

from annexa import cli
from annexa.scan import secrets as secrets_scan
from annexa.scan.secrets import (
    SecretScanner,
    counts_as_credential,
    find_secret_spans,
    github_checksum_ok,
    has_key_body,
)
from tests.content.common import github_token, outcome
from tests.support import make_checkout, run_rule

RULE = "no-secrets-in-change"
RNG = random.Random(20261202)
ALNUM = string.ascii_letters + string.digits


def _r(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def _distinct(n: int) -> str:
    """``n`` distinct random characters: an id with the entropy of a real one (high enough for the detectors)."""
    return "".join(RNG.sample(ALNUM, n))


def _integrity(name: str) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(name.encode()).digest()).decode()


PACKAGE_LOCK = json.dumps({
    "name": "chat-ui", "version": "0.4.0", "lockfileVersion": 3, "requires": True,
    "packages": {
        "": {"name": "chat-ui", "version": "0.4.0", "dependencies": {"marked": "^12.0.0", "zod": "^3.23.0"}},
        **{f"node_modules/{n}": {"version": v, "resolved": f"https://registry.npmjs.org/{n}/-/{n}-{v}.tgz",
                                 "integrity": _integrity(f"{n}@{v}"), "license": "MIT"}
           for n, v in (("marked", "12.0.2"), ("zod", "3.23.8"), ("tailwindcss", "3.4.4"))},
    },
}, indent=2) + "\n"

MODEL_CARD = """---
base_model: mistralai/Mistral-7B-Instruct-v0.3
library_name: peft
datasets:
- HuggingFaceH4/ultrachat_200k
---
# Model card for acme/mistral-support-lora

```python
model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-Instruct-v0.3")
adapters = ["QuantLabX/Mixtral-8x7b-AQLM-2Bit-1x16-hf-test-dispatch"]
```
"""

FINETUNE = """from datasets import load_dataset

CHECKPOINTS = [
    "QuantLabX/Mixtral-8x7b-AQLM-2Bit-1x16-hf-test-dispatch",
]


def calibration_set(seed):
    return load_dataset("Vyq0Kz/WizardLM_evol_instruct_V2_196k", split="train").shuffle(seed=seed)
"""

CHAT_ID = "chatcmpl-" + _distinct(29)
RECORDED = "".join(
    f'data: {{"id":"{CHAT_ID}","object":"chat.completion.chunk","created":{1727346172 + i},'
    f'"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_{_r("0123456789abcdef", 10)}",'
    f'"choices":[{{"index":0,"delta":{{"content":"{w}"}}}}]}}\n\n'
    for i, w in enumerate(("Hello", " there", "!"))
) + "data: [DONE]\n"

FT_ID = "ft-" + _distinct(24)
CHECKPOINT_CALL = f"""def test_method_create(client: OpenAI) -> None:
    permission = client.fine_tuning.checkpoints.permissions.create(
        fine_tuned_model_checkpoint="{FT_ID}",
        project_ids=["string"],
    )
"""

OPENAPI = f"""openapi: 3.1.0
info:
  title: Example inference API
  version: 2.3.0
paths:
  /v1/realtime/sessions:
    post:
      responses:
        "200":
          content:
            application/json:
              example: |
                {{
                  "id": "{CHAT_ID}",
                  "client_secret": null,
                  "sdp": "a=ice-pwd:{_r(ALNUM, 32)}"
                }}
components:
  schemas:
    ResponseStreamEvent:
      discriminator:
        mapping:
          key: ResponseCodeInterpreterCallInterpretingEvent
"""

CLIENT_SECRET_NULL = "oauth:\n  client_id: web-console\n  client_secret: null\n  redirect_uris: []\n"

DOCS_OLLAMA = """## Using the OpenAI client

```python
client = OpenAI(
    base_url="http://localhost:11434/v1/",
    api_key="ollama",  # required but ignored
)
```

Set `OPENAI_API_KEY="My API Key"` in your `.env` file, or pass `secret_access_key="your-secret-key"`.
"""

GO_CONFIG = """package launch

const defaultPrivateKey = "id_ed25519"

func env() []string {
	return []string{"OPENAI_API_KEY=ollama", "ANTHROPIC_API_KEY=not-needed"}
}
"""


def _audio() -> str:
    wav = b"RIFF" + os.urandom(4) + b"WAVEfmt " + bytes(RNG.getrandbits(8) for _ in range(3000))
    text = base64.b64encode(wav).decode()
    # a base64 run long enough to hold an AWS-key-shaped substring, as real audio data does
    return text[:1500] + "AKIA" + _r(string.ascii_uppercase + "234567", 16) + text[1500:]


AUDIO_JSON = json.dumps({"type": "response.audio.delta", "delta": _audio()}) + "\n"

ERROR_NAMES = """func TestStatusError(t *testing.T) {
	status.SetLastError("error: Insufficient Memory (00000008:kIOGPUCommandBufferCallbackErrorOutOfMemory)")
}
"""

DOCS_SESSIONS = """## Storing conversations in a database

```python
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("postgresql+asyncpg://user:pass@localhost/chat")
store = SqlStore.from_url("conv-42", url="mysql+aiomysql://app:secret@db.example.com/chat", create=True)
```

Any async URL works, e.g. ``"mongodb+srv://admin:password@cluster0.example.net"``.
"""

TEST_CONFIG_PEM = """def config(**overrides):
    values = {
        "app_id": "123",
        "private_key": "-----BEGIN PRIVATE KEY-----\\nfixture\\n-----END PRIVATE KEY-----",
        "poll_timeout_seconds": 600,
    }
    values.update(overrides)
    return Config(**values)
"""

FALSE_POSITIVES = {
    "a private-key header around a placeholder in a test helper": ("tools/ci/check_app_config.py", TEST_CONFIG_PEM),
    "database urls with placeholder passwords in docs": ("docs/sessions/database.md", DOCS_SESSIONS),
    "npm integrity hashes": ("app/ui/package-lock.json", PACKAGE_LOCK),
    "model card ids": ("README.md", MODEL_CARD),
    "model and dataset ids in code": ("examples/finetune.py", FINETUNE),
    "recorded streaming response": (".inline-snapshot/external/3f1c.bin", RECORDED),
    "fine-tune id in a generated test": ("tests/api_resources/test_permissions.py", CHECKPOINT_CALL),
    "openapi examples and mapping keys": ("api_reference/openapi.documented.yml", OPENAPI),
    "client_secret null": ("config/oauth-client.yaml", CLIENT_SECRET_NULL),
    "placeholder api keys in docs": ("docs/openai-compatibility.md", DOCS_OLLAMA),
    "key file names and placeholder env": ("cmd/launch/codex.go", GO_CONFIG),
    "base64 audio": ("examples/realtime/audio_delta.json", AUDIO_JSON),
    "error names shaped like bot tokens": ("llm/server_status.go", ERROR_NAMES),
}


@pytest.mark.parametrize("name", sorted(FALSE_POSITIVES))
def test_false_positive_class_passes(tmp_path: Path, name: str) -> None:
    path, text = FALSE_POSITIVES[name]
    results = run_rule(RULE, make_checkout(tmp_path, {path: text}))
    assert [outcome(r) for r in results] == [("pass", None, None)]
    assert results[0].evidence["files"] == 1


@pytest.mark.parametrize("name", sorted(FALSE_POSITIVES))
def test_each_false_positive_class_is_matched_by_a_detector(name: str) -> None:
    """The fixtures are not trivially clean: some detector matches each, and the context filter removes it."""
    path, text = FALSE_POSITIVES[name]
    lines = text.splitlines(keepends=True)
    with SecretScanner() as scanner:
        raw = list(scanner.raw_hits(path, lines, range(1, len(lines) + 1)))
    assert raw != []
    assert all(not counts_as_credential(kind, value, line, path, path.startswith("tests/"))
               or (kind == "Private Key" and not has_key_body(line, lines[number:number + 4]))
               for number, line, found, _ in raw for kind, value in found)


GH_TOKEN = github_token(_r(ALNUM, 30))
AWS_ID = "AKIA" + _r(string.ascii_uppercase + "234567", 16)
AWS_SECRET = _r(ALNUM + "+/", 40)
PEM = ("-----BEGIN PRIVATE KEY-----\n" + "\n".join(_r(ALNUM + "+/", 64) for _ in range(4))
       + "\n-----END PRIVATE KEY-----\n")


def test_github_token_with_valid_checksum_in_env_file_fails(tmp_path: Path) -> None:
    files = {".env": f"# local settings\nGITHUB_TOKEN={GH_TOKEN}\nLOG_LEVEL=debug\n"}
    results = run_rule(RULE, make_checkout(tmp_path, files))
    assert [(outcome(r), r.evidence["type"]) for r in results] == [(("fail", ".env", 2), "GitHub Token")]


def test_github_token_with_a_wrong_checksum_is_not_a_token(tmp_path: Path) -> None:
    fake = GH_TOKEN[:-1] + ("A" if GH_TOKEN[-1] != "A" else "B")
    assert (github_checksum_ok(GH_TOKEN), github_checksum_ok(fake)) == (True, False)
    results = run_rule(RULE, make_checkout(tmp_path, {".env": f'GITHUB_TOKEN="{fake}"\n'}))
    assert [outcome(r) for r in results] == [("pass", None, None)]


def test_aws_key_pair_fails_on_both_lines(tmp_path: Path) -> None:
    text = f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\nregion = eu-west-1\n"
    results = run_rule(RULE, make_checkout(tmp_path, {"deploy/aws/credentials": text}))
    assert [(outcome(r), r.evidence["type"]) for r in results] == [
        (("fail", "deploy/aws/credentials", 2), "AWS Access Key"),
        (("fail", "deploy/aws/credentials", 3), "AWS Secret Access Key"),
    ]


def test_private_key_in_a_test_fixture_fails_at_the_policy_lowered_severity(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_checkout(root, {"README.md": "# demo\n", "tests/fixtures/mtls/client.key": PEM,
                         "tests/test_client.py": 'client = OpenAI(api_key="My API Key")\n'}, git=True)
    out = tmp_path / "report.json"
    code = cli.main(["check", str(root), "--format", "json", "--output", str(out)])
    findings = [f for f in json.loads(out.read_text())["findings"] if f["rule"] == RULE]
    assert code == 0  # reported, but medium is below the default fail_on (high)
    assert [(f["status"], f["severity"], f["location"]["path"], f["location"]["line"], f["evidence"]["type"],
             f["evidence"]["test_path"]) for f in findings] == [
        ("fail", "medium", "tests/fixtures/mtls/client.key", 1, "Private Key", "severity lowered to medium")]


def test_generic_hits_in_test_code_do_not_count_but_vendor_keys_do(tmp_path: Path) -> None:
    text = f'PASSWORD = "Tr0ub4dor-{_r(ALNUM, 12)}"\nTOKEN = "{GH_TOKEN}"\n'
    files = {"tests/test_login.py": text, "src/settings.py": text}
    results = run_rule(RULE, make_checkout(tmp_path, files))
    assert [(outcome(r), r.evidence["type"]) for r in results] == [
        (("fail", "src/settings.py", 1), "Secret Keyword"),
        (("fail", "src/settings.py", 2), "GitHub Token"),
        (("fail", "tests/test_login.py", 2), "GitHub Token"),
    ]


@pytest.mark.parametrize(("kind", "line", "value", "expected"), [
    ("Secret Keyword", 'api_key="ollama"', "ollama", False),
    ("Secret Keyword", '"client_secret": null', "null", False),
    ("Secret Keyword", 'token = os.environ["HF_TOKEN"]', 'os.environ["HF_TOKEN"]', False),
    ("Secret Keyword", 'api_key = "<your-key>"', "<your-key>", False),
    ("Secret Keyword", 'API_KEY = "${OPENAI_API_KEY}"', "${OPENAI_API_KEY}", False),
    ("Base64 High Entropy String", 'pad_token = "Xy12abCD99kQ7w"', "Xy12abCD99kQ7w", False),
    ("Base64 High Entropy String", 'model_id = "meta-llama/Llama-3.1-8B"', "meta-llama/Llama-3.1-8B", False),
    ("Base64 High Entropy String", '"id": "chatcmpl-9xKq2bT7mWcR4sLpZ1vN"', "chatcmpl-9xKq2bT7mWcR4sLpZ1vN", False),
    ("Telegram Bot Token", "(00000008:kIOGPUCommandBufferCallbackErrorOutOfMemory)",
     "00000008:kIOGPUCommandBufferCallbackErrorOutOfMemory", False),
    ("IBM Cloud IAM Key", "key: ResponseCodeInterpreterCallInterpretingEvent",
     "ResponseCodeInterpreterCallInterpretingEvent", False),
    ("Secret Keyword", 'client = OpenAI(api_key="s3cr3t-Xq9Lw2Zr8Tp")', "s3cr3t-Xq9Lw2Zr8Tp", True),
    ("Base64 High Entropy String", 'os.environ["HF_TOKEN"] = "Ab3dEf9hIjKlMn0pQr"', "Ab3dEf9hIjKlMn0pQr", True),
    ("JSON Web Token", "Authorization: Bearer eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJlMTIz",
     "eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJlMTIz", True),
])
def test_counts_as_credential(kind: str, line: str, value: str, expected: bool) -> None:
    assert counts_as_credential(kind, value, line, "src/app.py") is expected


def test_find_secret_spans_gives_offsets_and_types_for_redaction() -> None:
    text = f"push with {GH_TOKEN} then\nexport AWS_KEY={AWS_ID}\n"
    spans = find_secret_spans(text)
    assert [(text[s:e], kind) for s, e, kind in spans] == [(GH_TOKEN, "GitHub Token"), (AWS_ID, "AWS Access Key")]
    assert find_secret_spans("nothing to see here\n") == []


def _children() -> set[int]:
    pid = os.getpid()
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def test_parallel_scan_leaves_no_worker_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {f"src/m{i}.py": "x = 1\n" * 50 + f'TOKEN = "{github_token(_r(ALNUM, 30))}"\n' for i in range(4)}
    files["img/blob.py"] = b"\x00" * 4096
    checkout = make_checkout(tmp_path, files)
    before = _children()
    batches: list[list[str]] = []
    real = secrets_scan._run_workers

    def spy(checkout: object, shares: list[list[str]], *args: object) -> object:
        batches.extend(shares)
        return real(checkout, shares, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(secrets_scan, "PARALLEL_BYTES", 100)
    monkeypatch.setattr(secrets_scan.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(secrets_scan, "_run_workers", spy)
    results = run_rule(RULE, checkout)
    assert [outcome(r) for r in results] == [*(("fail", f"src/m{i}.py", 51) for i in range(4)),
                                             ("unknown", "img/blob.py", None)]
    assert len(batches) == 2
    assert _children() - before == set()


def test_small_scan_starts_no_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 51 MB of binary and oversize files, a few bytes of text: nothing justifies a worker
    files = {"weights/model.bin": b"\x00" * 30_000_000, "dump.sql": "x" * 21_000_000, "a.py": "x = 1\n"}
    monkeypatch.setattr(secrets_scan.os, "cpu_count", lambda: 4)

    def refuse(*_args: object) -> object:
        raise AssertionError("a worker was started")

    monkeypatch.setattr(secrets_scan, "_run_workers", refuse)
    results = run_rule(RULE, make_checkout(tmp_path, files))
    assert [outcome(r) for r in results] == [("unknown", "dump.sql", None), ("pass", None, None)]
    assert results[-1].evidence["files"] == 1


def test_worker_imports_the_scanner_not_the_cli() -> None:
    import subprocess
    import sys

    code = ("import sys; import annexa.scan.secrets_worker; "
            "print(sorted(m for m in sys.modules if m.startswith('annexa')))")
    env = {**os.environ, "PYTHONPATH": str(Path(secrets_scan.__file__).parents[2])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "annexa.cli" not in done.stdout and "annexa.engine" not in done.stdout
    assert "annexa.scan.secrets" in done.stdout
