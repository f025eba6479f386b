"""Worst hostile input per kind: wall seconds and peak RSS of a whole `annexa check`, as a Markdown table.

Each case is a copy of examples/ai-repo (a git repository of one commit) with one input replaced, checked with the
example settings snapshot; `/usr/bin/time -f "%e %M"` measures the process.

    python bench/hostile_bench.py [--only SUBSTRING] [--timeout 120]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "ai-repo"
SETTINGS = json.loads((ROOT / "examples" / "settings.json").read_text())
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false"]
WF = ".github/workflows/triage.yml"
POLICY = (ROOT / "policies" / "source-code-protection.yml").read_text()


def laughs(levels: int = 9) -> str:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def alias_chain(levels: int = 12, width: int = 140) -> str:
    return "".join(f"a{i}: &a{i} " + "[" * width + (f"*a{i - 1}" if i else "x") + "]" * width + "\n"
                   for i in range(levels))


def big_workflow(jobs: int = 400) -> str:
    job = ("  test-{i}:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    steps:\n"
           "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n"
           "        with:\n          persist-credentials: false\n"
           "      - name: Test\n        run: |\n          pip install -r requirements.txt\n"
           "          pytest -q part{i}\n")
    return "on: pull_request\npermissions: {}\njobs:\n" + "".join(job.format(i=i) for i in range(jobs))


def deep_json(depth: int = 30_000) -> str:
    return json.dumps({**SETTINGS, "x": 0})[:-1].replace('"x": 0', '"x": ' + "[" * depth + "]" * depth) + "}"


Case = tuple[str, str, Callable[[], dict[str, str | bytes]]]
CASES: list[Case] = [
    ("config `.annexa.yml`", "billion laughs (9 levels of 9 aliases)", lambda: {".annexa.yml": laughs()}),
    ("config `.annexa.yml`", "30,000-deep flow list", lambda: {".annexa.yml": "[" * 30000 + "]" * 30000}),
    ("config `.annexa.yml`", "12 aliases each 140 levels deeper than the last", lambda: {".annexa.yml": alias_chain()}),
    ("config `.annexa.yml`", "repeated key", lambda: {".annexa.yml": "fail_on: high\nfail_on: info\n"}),
    ("config `.annexa.yml`", "`min: 1e99999`",
     lambda: {".annexa.yml": "params:\n  approvals-required: {min: 1e99999}\n"}),
    ("config `.annexa.yml`", "`max_days` of 5,000 digits",
     lambda: {".annexa.yml": "params:\n  waivers-valid: {max_days: " + "9" * 5000 + "}\n"}),
    ("policy file", "billion laughs", lambda: {"@policy": laughs()}),
    ("policy file", "repeated key `id`", lambda: {"@policy": POLICY + "id: POL-X\n"}),
    ("settings snapshot", "8 MB string",
     lambda: {"@settings": json.dumps({**SETTINGS, "repository": "x" * 8_000_000})}),
    ("settings snapshot", "30,000-deep JSON array", lambda: {"@settings": deep_json()}),
    ("settings snapshot", "repeated key", lambda: {"@settings": json.dumps(SETTINGS)[:-1] + ', "platform": "gitlab"}'}),
    ("settings snapshot", "4,301-digit approvals",
     lambda: {"@settings": json.dumps(SETTINGS).replace('"value": 1,', '"value": 1' + "0" * 4300 + ',', 1)}),
    ("workflow", "billion laughs", lambda: {WF: laughs()}),
    ("workflow", "30,000-deep flow list", lambda: {WF: "[" * 30000 + "]" * 30000}),
    ("workflow", "repeated `permissions` key", lambda: {WF: "on: push\npermissions: {}\npermissions: write-all\n"
                                                          "jobs: {}\n"}),
    ("workflow", "`${{ }}` of 100,000 nested parentheses",
     lambda: {WF: "on: pull_request_target\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ "
              + "(" * 100000 + "github.head_ref" + ")" * 100000 + " }}\n"}),
    ("workflow", "299 KB workflow (950 jobs)", lambda: {WF: big_workflow(950)}),
    ("GitLab CI", "billion laughs", lambda: {".gitlab-ci.yml": laughs()}),
    ("GitLab CI", "repeated keys (GitLab keeps the last)",
     lambda: {".gitlab-ci.yml": "build:\n  image: a:1\n  script: [make]\n  image: b:2\n" * 1}),
    ("CODEOWNERS", "150,000 rules (2.9 MB)", lambda: {".github/CODEOWNERS": "".join(f"/d{i}/ @acme/t{i % 50}\n"
                                                                                 for i in range(150_000))}),
    ("CODEOWNERS", "GitLab sections: 20,000 `[S][N]`/`^[S]` and a 60-star glob",
     lambda: {".gitlab/CODEOWNERS": "".join(f"{'^' if i % 2 else ''}[S{i}][{i}] @acme/t\n/p{i}/\n"
                                             for i in range(20_000)) + "*a" * 60 + " @x\n"}),
    (".gitattributes", "100,000 lines", lambda: {".gitattributes": "".join(f"d{i}/** filter=lfs -text\n"
                                                                           for i in range(100_000))}),
    ("model file", "pickle nesting 50,000 calls",
     lambda: {"models/deep.pkl": b"\x80\x02c__builtin__\nlen\n" + b"(S'y'\ntR" * 50_000 + b"."}),
    ("(baseline)", "the example as shipped", lambda: {}),
]


def build(tmp: Path, files: dict[str, str | bytes]) -> tuple[Path, Path]:
    repo = tmp / "repo"
    shutil.copytree(EXAMPLE, repo)
    settings = tmp / "settings.json"
    settings.write_text(json.dumps(SETTINGS))
    for name, content in files.items():
        path = {"@settings": settings, "@policy": tmp / "policies" / "p.yml"}.get(name, repo / name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    subprocess.run([*GIT, "init", "-q", str(repo)], check=True)
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "hostile"], check=True)
    return repo, settings


def run(files: dict[str, str | bytes], timeout: int) -> tuple[str, str, str, str]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        repo, settings = build(tmp, files)
        policies = ["--policies", str(tmp / "policies")] if (tmp / "policies").is_dir() else []
        code = "import sys; from annexa.cli import console_main; sys.argv[0] = 'annexa'; console_main()"
        cmd = ["/usr/bin/time", "-f", "%e %M", "-o", str(tmp / "time"), sys.executable, "-c", code, "check",
               str(repo), "--settings", str(settings), "--format", "json", "--output", str(tmp / "r.json"),
               *policies]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return "killed", f"no answer within {timeout} s", "-", "-"
        wall, rss = (tmp / "time").read_text().split()[-2:]
        if done.returncode == 2:
            outcome = f"exit 2: `{done.stderr.strip().splitlines()[-1][:150].replace(str(tmp) + '/', '')}`"
        else:
            findings = json.loads((tmp / "r.json").read_text())["findings"]
            bad = [f for f in findings if "could not be evaluated" in f["message"]]
            outcome = f"exit {done.returncode}: report" + (f", {len(bad)} rule crash(es)" if bad else "")
            targets = [name for name in files if not name.startswith("@")]
            mine = [f for f in findings if f["location"] and f["location"]["path"] in targets]
            if mine:
                counts: dict[str, int] = {}
                for f in mine:
                    counts[f["status"]] = counts.get(f["status"], 0) + 1
                worst = next((f for f in mine if f["status"] == "unknown"), mine[0])
                shown = worst["message"][:110].replace("`", "'")
                outcome += (f"; on the file: {', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}, e.g. "
                            f"{worst['rule']} `{shown}`")
        return "done", outcome, f"{float(wall):.1f} s", f"{int(rss) // 1024} MiB"


def parse_speed() -> None:
    """Best of 5: composing a ~300 KB workflow with libyaml's events and with the pure-Python parser."""
    import time

    from annexa.yamlio import GITHUB, compose_all_limited, parse_document

    text = big_workflow(950)
    print(f"{len(text):,} characters, load average {os.getloadavg()[0]:.1f}")
    for name, call in [("compose, libyaml events", lambda: compose_all_limited(text, GITHUB)),
                       ("compose, pure-Python parser", lambda: compose_all_limited(text, GITHUB, pure=True)),
                       ("parse_document (compose + construct + lines)", lambda: parse_document(text, "wf"))]:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            call()
            best = min(best, time.perf_counter() - start)
        print(f"{name}: {best:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--parse", action="store_true", help="time only the YAML reading of a 300 KB workflow")
    args = parser.parse_args()
    if args.parse:
        parse_speed()
        return
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("| input kind | worst case tried | outcome | wall | peak RSS |\n|---|---|---|---|---|")
    for kind, label, make in CASES:
        if args.only and args.only not in f"{kind} {label}":
            continue
        _, outcome, wall, rss = run(make(), args.timeout)
        print(f"| {kind} | {label} | {outcome} | {wall} | {rss} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
