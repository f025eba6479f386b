"""Failing findings per rule and wall time of a full `annexa check` on public AI repositories, pinned by commit.

The repositories are not part of annexa: fetch each one yourself and check out the pinned commit (the table in
``bench/realworld.md`` names them). Then:

    python bench/realworld.py --root DIR [--annexa "annexa"] [--label after] [--json out.json]

``DIR/<name>`` must be a git checkout at the pinned commit; a checkout at another commit is refused, so figures
are always comparable. With ``--annexa`` another installation can be measured (for a before/after table, run
once per installation and pass both JSON files to ``--compare``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

PINS: dict[str, tuple[str, str]] = {
    "nanoGPT": ("https://github.com/karpathy/nanoGPT", "3adf61e154c3fe3fca428ad6bc3818b27a3b8291"),
    "peft": ("https://github.com/huggingface/peft", "5d602fdbff04c33c1c4de55cda9d4ae1d7cb7e40"),
    "diffusers": ("https://github.com/huggingface/diffusers", "58eb52c0803ea9af3abec60841c2a093bdf1f951"),
    "openai-python": ("https://github.com/openai/openai-python", "e43b422412a9e96c9cc5192c61fffbe2d7e04836"),
    "ollama": ("https://github.com/ollama/ollama", "fb30760996871fa9460115c753afd2c60d4ab0f7"),
    "pytorch-lightning": ("https://github.com/Lightning-AI/pytorch-lightning",
                          "7f0c3436cd3f6ad3753125672024fc415cbcb414"),
}


def head(repo: Path) -> str:
    """The commit a checkout is at."""
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def measure(annexa: list[str], repo: Path) -> dict[str, object]:
    """One full check: wall seconds, exit code, failing findings per rule, and every failing finding."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        start = time.perf_counter()
        done = subprocess.run([*annexa, "check", str(repo), "--format", "json", "--output", str(out)],
                              capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if done.returncode not in (0, 1) or not out.exists():
            return {"wall": wall, "exit": done.returncode, "error": done.stderr[-2000:]}
        report = json.loads(out.read_text(encoding="utf-8"))
    failing = [f for f in report["findings"] if f["status"] == "fail"]
    per_rule = Counter(f["rule"] for f in failing)
    blocking = Counter(f["rule"] for f in failing if f["severity"] in _at_least(report.get("fail_on", "high")))
    sample = [
        {"rule": f["rule"], "severity": f["severity"], "path": (f.get("location") or {}).get("path"),
         "line": (f.get("location") or {}).get("line"), "message": f["message"][:300]}
        for f in failing
    ]
    return {"wall": round(wall, 2), "exit": done.returncode, "summary": report["summary"],
            "fail_per_rule": dict(per_rule), "blocking_per_rule": dict(blocking), "failures": sample}


def _at_least(level: str) -> set[str]:
    order = ["info", "low", "medium", "high", "critical"]
    return set(order[order.index(level):]) if level in order else set(order)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True, help="folder holding one checkout per repository")
    parser.add_argument("--annexa", default="annexa", help="command that runs annexa (default: annexa)")
    parser.add_argument("--label", default="run")
    parser.add_argument("--json", type=Path, help="write every figure and failing finding here")
    parser.add_argument("--only", action="append", help="measure only these repositories")
    args = parser.parse_args(argv)
    annexa = shlex.split(args.annexa)
    results: dict[str, object] = {}
    for name, (url, commit) in PINS.items():
        if args.only and name not in args.only:
            continue
        repo = args.root / name
        if not repo.is_dir():
            print(f"{name}: not found at {repo} (fetch {url} at {commit})", file=sys.stderr)
            continue
        if head(repo) != commit:
            print(f"{name}: {repo} is at {head(repo)}, not the pinned {commit}", file=sys.stderr)
            return 2
        result = measure(annexa, repo)
        results[name] = {"commit": commit, **result}
        fails = sum(result.get("fail_per_rule", {}).values())  # type: ignore[attr-defined]
        blocking = sum(result.get("blocking_per_rule", {}).values())  # type: ignore[attr-defined]
        print(f"{args.label:8} {name:18} {commit[:8]}  wall {result['wall']:6.1f} s  exit {result['exit']}  "
              f"failing {fails:5}  blocking {blocking:5}")
        for rule, count in sorted(result.get("fail_per_rule", {}).items(), key=lambda kv: -kv[1]):  # type: ignore[attr-defined]
            print(f"{'':30}{rule:32} {count:5}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
