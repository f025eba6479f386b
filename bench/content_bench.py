"""Figures for annexa's content scanners (issue 4), printed as one markdown table.

1. A generated pull request adding N files / M MB to a repository of B files: wall time of annexa's content
   scanners in PR mode (secrets, the semgrep-backed rules in one process, PII) versus running
   ``detect-secrets scan`` and ``semgrep scan`` (same rules, offline) separately over the same added files.
2. Secret recall on 300 generated keys of the supported types, annexa versus plain detect-secrets (default
   settings), once in their usual context and once bare (the value alone on a line, no keyword); false positives
   on 300 synthetic look-alikes (digests, UUIDs, base64 images), and, reported separately, on a corpus of files
   shaped like those of public AI repositories (npm lock files, OpenAPI descriptions, recorded API responses,
   model cards, docs, notebooks-style code, Go tests). That corpus is the fixture set of
   ``tests/content/test_secrets_realworld.py``: written for annexa in the shape of the files where each false
   positive class was seen (openai-python, ollama, peft; see ``bench/realworld_secrets.md``), no file copied.
3. PII scanner throughput in MB/s.

Every key is random and generated here; no value is ever printed. Run: ``python bench/content_bench.py``
(``--scale 0.1`` for a quick run). Needs git, detect-secrets and semgrep.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.content.test_secrets_realworld import FALSE_POSITIVES

from annexa.catalog import load_catalog
from annexa.collect.checkout import Checkout
from annexa.config import Config
from annexa.facts import ChangeSet, Facts
from annexa.rules import registry
from annexa.rules.base import RuleContext
from annexa.scan.pii import PiiFileScan, scan_file
from annexa.scan.secrets import base62, scan_files
from annexa.scan.semgrep import semgrep_binary, semgrep_rules

CONTENT_RULES = ("no-secrets-in-change", "torch-load-unsafe", "unsafe-deserialization", "yaml-unsafe-load",
                 "tls-verification-disabled", "llm-output-executed", "langchain-dangerous-option",
                 "remote-code-disabled", "model-revision-pinned", "training-data-pii-free")
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
WORDS = ["model", "tokenizer", "batch", "loss", "optimizer", "step", "config", "dataset", "epoch", "logits", "labels",
         "scheduler", "device"]


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


# --- generated keys and look-alikes ----------------------------------------------------------------------------

def _keys(rng: random.Random) -> list[tuple[str, str, str]]:
    """(expected type, file name, content) for 300 keys: 25 of each of 12 kinds, in varied contexts."""
    makers: list[tuple[str, str, Callable[[], str]]] = [
        ("Hugging Face Token", "hf.py", lambda: f'HF_TOKEN = "hf_{_r(rng, string.ascii_letters, 34)}"\n'),
        ("OpenAI API Key", "openai.py",
         lambda: f'client = OpenAI(api_key="sk-proj-{_r(rng, ALNUM + "_-", 100)}{_r(rng, ALNUM, 4)}")\n'),
        ("OpenAI API Key", ".env", lambda: f"OPENAI_API_KEY=sk-{_r(rng, ALNUM, 48)}\n"),
        ("Anthropic API Key", "claude.py",
         lambda: f'anthropic.Anthropic(api_key="sk-ant-api03-{_r(rng, ALNUM + "_-", 93)}AA")\n'),
        ("GitHub Token", "push.sh", lambda: f"export GH_TOKEN={_github(_r(rng, ALNUM, 30))}\n"),
        ("GitHub Fine-grained Token", "ci.yaml",
         lambda: f"token: github_pat_{_r(rng, ALNUM, 22)}_{_r(rng, ALNUM, 59)}\n"),
        ("GitLab Token", "gitlab.env", lambda: f"GITLAB_TOKEN=glpat-{_r(rng, ALNUM + '_-', 20)}\n"),
        ("Replicate API Token", "gen.py",
         lambda: f'replicate.Client(api_token="r8_{_r(rng, ALNUM, 37)}")\n'),
        ("Weights & Biases API Key", "train.py", lambda: f'wandb.login(key="{_r(rng, HEX, 40)}")\n'),
        ("AWS Access Key", "aws.ini",
         lambda: f"aws_access_key_id = AKIA{_r(rng, string.ascii_uppercase + '234567', 16)}\n"),
        ("Google Cloud Key", "sa.json", lambda: f'  "private_key_id": "{_r(rng, HEX, 40)}",\n'),
        ("Private Key", "id_rsa",
         lambda: f"-----BEGIN RSA PRIVATE KEY-----\n{_r(rng, ALNUM, 64)}\n-----END RSA PRIVATE KEY-----\n"),
    ]
    return [(kind, name, make()) for kind, name, make in makers for _ in range(25)]


def _github(body: str) -> str:
    """A classic GitHub token with its CRC32 checksum (annexa drops tokens whose checksum does not match)."""
    return "ghp_" + body + base62(zlib.crc32(body.encode()), 6)


_BARE = re.compile(r"(hf_\w+|sk-[\w-]+|ghp_\w+|github_pat_\w+|glpat-[\w-]+|r8_\w+|AKIA\w+|-----BEGIN[^\n]+)")


def _bare(items: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The same keys without keyword context: the value alone on a line of a notes file (the W&B and GCP key ids,
    bare hex, are defined by their context and left out)."""
    out = []
    for kind, _, content in items:
        m = _BARE.search(content)
        if m:
            value = content[m.start():] if m.group().startswith("-----") else m.group()
            out.append((kind, "notes.txt", f"rotated yesterday:\n{value}\n"))
    return out


def _lookalikes(rng: random.Random) -> list[tuple[str, str, str]]:
    """(category, file name, content) for 300 look-alikes: 100 digests, 100 UUIDs, 100 base64 images."""
    def digest() -> str:
        n = rng.choice((32, 40, 64))
        name = {32: "md5", 40: "commit", 64: "sha256"}[n]
        return f'{name} = "{_r(rng, HEX, n)}"\n'

    def png() -> str:
        return base64.b64encode(b"\x89PNG\r\n\x1a\n" + rng.randbytes(600)).decode()

    def notebook() -> str:
        cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": ["plot(losses)\n"],
                "outputs": [{"output_type": "display_data", "metadata": {},
                             "data": {"image/png": png(), "text/plain": ["<Figure>"]}}]}
        return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)

    out = [("digest", "ids.py", digest()) for _ in range(100)]
    out += [("uuid", "runs.py", f'run_id = "{uuid.UUID(int=rng.getrandbits(128), version=4)}"\n') for _ in range(100)]
    out += [("base64 image", "plot.ipynb", notebook()) for _ in range(50)]
    out += [("base64 image", "page.html", f'<img alt="loss" src="data:image/png;base64,{png()}">\n')
            for _ in range(50)]
    return out


def _write_set(root: Path, items: list[tuple[str, str, str]]) -> list[str]:
    paths = []
    for i, (_, name, content) in enumerate(items):
        path = f"s{i:03d}/{name}"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content, encoding="utf-8")
        paths.append(path)
    return paths


def _detect_secrets_cli(root: Path, paths: list[str]) -> dict[str, list[dict[str, Any]]]:
    done = subprocess.run([_tool("detect-secrets"), "scan", *paths], cwd=root, capture_output=True, check=True)
    results: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)["results"]
    return results


def recall_figures() -> list[tuple[str, str, str]]:
    rng = random.Random(2026)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        keys = _keys(rng)
        key_paths = _write_set(root / "keys", keys)
        looks = _lookalikes(rng)
        look_paths = _write_set(root / "looks", looks)
        ours_keys = scan_files(Checkout(root / "keys"), key_paths, {}, 10**8)
        ours_looks = scan_files(Checkout(root / "looks"), look_paths, {}, 10**8)
        ds_keys = _detect_secrets_cli(root / "keys", key_paths)
        ds_looks = _detect_secrets_cli(root / "looks", look_paths)
        bare = _bare(keys)
        bare_paths = _write_set(root / "bare", bare)
        ours_bare = scan_files(Checkout(root / "bare"), bare_paths, {}, 10**8)
        ds_bare = _detect_secrets_cli(root / "bare", bare_paths)
        real = [(name, path, text) for name, (path, text) in sorted(FALSE_POSITIVES.items())]
        real_paths = [f"r{i:02d}/{path}" for i, (_, path, _) in enumerate(real)]
        for rel, (_, _, text) in zip(real_paths, real, strict=True):
            (root / "real" / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / "real" / rel).write_text(text, encoding="utf-8")
        tests = [p for p in real_paths if p.split("/", 1)[1].startswith("tests/")]
        ours_real = scan_files(Checkout(root / "real"), real_paths, {}, 10**8, test_data=tests)
        ds_real = _detect_secrets_cli(root / "real", real_paths)
    found_any = {h.path for h in ours_keys.hits}
    found_typed = {h.path for h in ours_keys.hits if h.type == keys[key_paths.index(h.path)][0]}
    ds_any = set(ds_keys)
    ds_typed = {p for p, hits in ds_keys.items() if any(h["type"] == keys[key_paths.index(p)][0] for h in hits)}
    n = len(keys)
    rows.append(("Secret recall, 300 keys (any finding)", f"{len(found_any)}/{n}", f"{len(ds_any)}/{n}"))
    rows.append(("Secret recall, named with the right type", f"{len(found_typed)}/{n}", f"{len(ds_typed)}/{n}"))
    bare_typed = {h.path for h in ours_bare.hits if h.type == bare[bare_paths.index(h.path)][0]}
    rows.append((f"Secret recall, {len(bare)} vendor keys without keyword context", f"{len(bare_typed)}/{len(bare)}",
                 f"{len(set(ds_bare))}/{len(bare)} (any type)"))
    for category in ("digest", "uuid", "base64 image"):
        idx = [p for p, item in zip(look_paths, looks, strict=True) if item[0] == category]
        ours = len({h.path for h in ours_looks.hits} & set(idx))
        theirs = len(set(ds_looks) & set(idx))
        rows.append((f"False positives, {len(idx)} {category}s", str(ours), str(theirs)))
    total = len(looks)
    rows.append(("False positives, all 300 look-alikes", str(len({h.path for h in ours_looks.hits})),
                 str(len(ds_looks))))
    rows.append((f"False positives, {len(real)} real-shaped files (findings)", str(len(ours_real.hits)),
                 str(sum(len(v) for v in ds_real.values()))))
    for (name, _, _), path in zip(real, real_paths, strict=True):
        rows.append((f"  {name}", str(sum(h.path == path for h in ours_real.hits)), str(len(ds_real.get(path, [])))))
    per_type: dict[str, list[int]] = {}
    for path, (kind, _, _) in zip(key_paths, keys, strict=True):
        per_type.setdefault(kind, [0, 0, 0])
        per_type[kind][0] += path in found_typed
        per_type[kind][1] += path in ds_any
        per_type[kind][2] += 1
    for kind, (ours, theirs, count) in per_type.items():
        rows.append((f"  {kind}", f"{ours}/{count}", f"{theirs}/{count} (any type)"))
    assert total == 300
    return rows


# --- the generated pull request --------------------------------------------------------------------------------

def _code_file(rng: random.Random, size: int, planted: str = "") -> str:
    lines = ["import torch", "import yaml", ""]
    total = 0
    while total < size:
        a, b = rng.choice(WORDS), rng.choice(WORDS)
        line = f"    {a}_{rng.randint(0, 99)} = {b}.forward({', '.join(rng.sample(WORDS, 3))}, lr={rng.random():.4f})"
        lines.append(line if total else f"def step_{rng.randint(0, 10**6)}(model, batch):")
        total += len(line) + 1
    if planted:
        lines.insert(len(lines) // 2, planted)
    return "\n".join(lines) + "\n"


def _data_file(rng: random.Random, size: int, pii_every: int) -> str:
    rows, total, i = [], 0, 0
    while total < size:
        text = " ".join(rng.choice(WORDS) for _ in range(14))
        if pii_every and i % pii_every == 0:
            text += f" mail me at user{i}@example.org"
        row = json.dumps({"id": i, "text": text, "label": rng.choice(WORDS)})
        rows.append(row)
        total += len(row) + 1
        i += 1
    return "\n".join(rows) + "\n"


PLANTS = [
    "    state = torch.load(path)",
    "    cfg = yaml.load(text, Loader=yaml.Loader)",
    '    HF_TOKEN = "hf_{}"',
    "    r = requests.get(url, verify=False)",
]


def build_repo(root: Path, base_files: int, pr_files: int, pr_mb: float) -> tuple[Checkout, ChangeSet, list[str]]:
    rng = random.Random(4)
    root.mkdir(parents=True)
    for i in range(base_files):
        folder = "data/base" if i % 10 == 0 else f"src/pkg{i // 200:03d}"
        name = f"part{i}.jsonl" if i % 10 == 0 else f"mod{i}.py"
        path = root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_data_file(rng, 800, 0) if i % 10 == 0 else _code_file(rng, 800))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    size = int(pr_mb * 1_000_000 / pr_files)
    added = []
    for i in range(pr_files):
        if i % 5 == 0:
            path = f"data/new/chats{i}.jsonl"
            content = _data_file(rng, size, 500)
        else:
            plant = PLANTS[(i // 50) % len(PLANTS)].format(_r(rng, string.ascii_letters, 34)) if i % 50 == 1 else ""
            path = f"src/feature/m{i}.py"
            content = _code_file(rng, size, plant)
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content)
        added.append(path)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "pull request")
    checkout = Checkout(root)
    return checkout, checkout.diff("HEAD~1"), added


def _git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=root, check=True, env=env)


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    return found


def pr_figures(base_files: int, pr_files: int, pr_mb: float) -> list[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        t0 = time.perf_counter()
        checkout, change, added = build_repo(root, base_files, pr_files, pr_mb)
        built = time.perf_counter() - t0
        mb = sum((root / p).stat().st_size for p in added) / 1e6
        catalog = load_catalog()
        cache: dict[str, Any] = {}
        timings: dict[str, float] = {}
        counts: dict[str, int] = {}
        for rule_id in CONTENT_RULES:
            spec = catalog[rule_id]
            ctx = RuleContext(spec, Facts("local", checkout, change=change), Config(), spec.defaults(),
                              dt_today(), cache)
            start = time.perf_counter()
            results = list(registry()[rule_id](ctx))
            group = "semgrep" if spec.semgrep else rule_id
            timings[group] = timings.get(group, 0.0) + time.perf_counter() - start
            counts[group] = counts.get(group, 0) + sum(r.status.value == "fail" for r in results)
        config = Path(tmp) / "rules.yml"
        config.write_text(yaml.safe_dump({"rules": semgrep_rules(catalog)}))
        start = time.perf_counter()
        subprocess.run([_tool("detect-secrets"), "scan", *added], cwd=root, capture_output=True, check=True)
        ds_time = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run([semgrep_binary() or "semgrep", "scan", "--metrics=off", "--disable-version-check", "--json",
                        "--quiet", "--config", str(config), *[p for p in added if p.endswith(".py")]],
                       cwd=root, capture_output=True, check=False)
        sg_time = time.perf_counter() - start
    ours_total = sum(timings.values())
    head = f"{pr_files:,} files / {mb:,.0f} MB added to {base_files:,} files"
    return [
        (f"PR scan: {head} (repo built in {built:.0f} s)", "annexa", "separate tools"),
        ("  secrets (annexa no-secrets-in-change vs detect-secrets scan)",
         f"{timings['no-secrets-in-change']:.1f} s ({counts['no-secrets-in-change']} findings)", f"{ds_time:.1f} s"),
        ("  8 semgrep rules, one process (vs semgrep scan, same rules)",
         f"{timings['semgrep']:.1f} s ({counts['semgrep']} findings)", f"{sg_time:.1f} s"),
        ("  PII in training data (no separate tool)",
         f"{timings['training-data-pii-free']:.1f} s ({counts['training-data-pii-free']} findings)", "-"),
        ("  total wall time", f"{ours_total:.1f} s", f"{ds_time + sg_time:.1f} s (secrets + semgrep only)"),
    ]


def dt_today() -> Any:
    import datetime as dt

    return dt.date(2026, 11, 27)


def pii_figures(mb: float) -> list[tuple[str, str, str]]:
    rng = random.Random(9)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        (root / "data" / "chats.jsonl").write_text(_data_file(rng, int(mb * 1_000_000), 100))
        checkout = Checkout(root)
        start = time.perf_counter()
        result: PiiFileScan = scan_file(checkout, "data/chats.jsonl", None, 20)
        elapsed = time.perf_counter() - start
    size = result.bytes / 1e6
    return [(f"PII throughput ({size:.0f} MB JSONL, {sum(result.counts.values()):,} values found)",
             f"{size / elapsed:.1f} MB/s", "-")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the generated repository (0.1 = 10%%)")
    args = parser.parse_args()
    rows = [("Figure", "annexa", "plain detect-secrets / semgrep")]
    rows += recall_figures()
    rows += pr_figures(int(20_000 * args.scale), int(2_000 * args.scale), 100 * args.scale)
    rows += pii_figures(50 * args.scale)
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for i, row in enumerate(rows):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print(f"\n{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
