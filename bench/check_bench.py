"""Wall time and peak memory of `annexa check`, printed as a table.

Runs on examples/ai-repo and on a generated repository of 20,000 files with 200 weight files (a few of them
sparse files over 1 GB), each without and with --base (a pull request adding 2% of the files).

    python bench/check_bench.py [--files 20000] [--weights 200] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false"]
SPARSE_SIZE = (1 << 30) + 4096
POINTER = (
    "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"
)


def generate(root: Path, files: int, weights: int, seed: int = 7) -> str:
    """Write the repository, commit a base, then add the pull request's files; returns the base commit."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    (root / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    (root / ".annexa.yml").write_text('owners:\n  models: ["@acme/ml"]\n  security: ["@acme/security"]\n')
    (root / ".github").mkdir()
    (root / ".github" / "CODEOWNERS").write_text("* @acme/dev\n/models/ @acme/ml\n/.github/ @acme/security\n")
    pr_files: list[tuple[Path, bytes]] = []
    sparse = 0
    for i in range(weights):
        path = root / "models" / f"shard-{i // 50}" / f"w{i:04d}.{rng.choice(['safetensors', 'bin', 'pt', 'onnx'])}"
        if i % 2 == 0:
            oid = f"{rng.getrandbits(256):064x}"
            data = POINTER.format(oid=oid, size=rng.randint(1 << 20, 1 << 34)).encode()
        else:
            data = b"\x80\x02}q\x00." + bytes(rng.getrandbits(8) for _ in range(2048))
        if sparse < 3 and i % 67 == 1:
            sparse += 1
            pr_files.append((path, b""))
            continue
        _write(path, data)
    code_files = files - weights - 3
    for i in range(code_files):
        folder = f"src/pkg{i % 40}/mod{i % 7}"
        body = "".join(f"def f{j}(x):\n    return x * {j}\n\n" for j in range(rng.randint(3, 30)))
        path = root / folder / f"file{i}.py"
        if i % 50 == 0:
            pr_files.append((path, body.encode()))
        else:
            _write(path, body.encode())
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "base"], cwd=root, check=True)
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True)
    for path, data in pr_files:
        if data:
            _write(path, data)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as handle:
                handle.write(b"\x80\x02}q\x00.")
                handle.truncate(SPARSE_SIZE)
    return base.stdout.strip()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def measure(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB (largest process of the run) and the exit code of one annexa run."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "wall = time.perf_counter() - t\n"
        "print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *args], check=True, capture_output=True, text=True)
    wall, rss_kib, rc = out.stdout.split()
    return float(wall), int(rss_kib) / 1024, int(rc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--weights", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="generate into DIR and keep it")
    options = parser.parse_args()
    annexa = shutil.which("annexa") or str(Path(sys.executable).with_name("annexa"))
    scratch = Path(tempfile.mkdtemp(prefix="annexa-bench-"))
    repo = options.keep or scratch / "repo"
    started = time.perf_counter()
    if not repo.exists():
        base = generate(repo, options.files, options.weights)
    else:
        base = subprocess.run(["git", "rev-list", "--max-parents=0", "HEAD"], cwd=repo, check=True,
                              capture_output=True, text=True).stdout.strip()
    generated = time.perf_counter() - started
    apparent = sum(f.stat().st_size for f in repo.rglob("*") if f.is_file() and ".git" not in f.parts)
    runs = [
        ("examples/ai-repo",
         [str(ROOT / "examples" / "ai-repo"), "--settings", str(ROOT / "examples" / "settings.json")]),
        (f"generated {options.files:,} files", [str(repo)]),
        (f"generated {options.files:,} files --base", [str(repo), "--base", base]),
    ]
    print(f"generated repository: {options.files:,} files, {options.weights} weight files, "
          f"{apparent / 2**30:.1f} GiB apparent size, in {generated:.1f} s")
    print(f"{'case':<40} {'wall s':>8} {'peak MiB':>9} {'exit':>5}")
    for label, args in runs:
        wall, peak, rc = measure([annexa, "check", *args, "--format", "json", "--output", os.devnull])
        print(f"{label:<40} {wall:>8.2f} {peak:>9.1f} {rc:>5}")
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")
    if options.keep is None:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
