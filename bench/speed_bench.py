"""Speed of `annexa check` beside the tools a user would otherwise run, as ratios from one run.

    python bench/speed_bench.py --diffusers DIR --peft DIR [--bench-venv /work/bench-venv] [--profile]

Cases (every one does real work on real bytes):
- PR 50 / PR 500: `annexa check --base` on a checkout of huggingface/diffusers whose change is a real range of
  its history (the newest commits, as many as touch about 50 or 500 files; the range is printed), against
  detect-secrets and semgrep (annexa's own semgrep rules, offline) run on the same changed files.
- full 1k: a full `annexa check` of huggingface/peft (about 1,000 files) against the same two tools on every file.
- full 20k: a generated repository of 20,000 small Python files (bench/check_bench.py's generator, no weights).
- one model file: a directory holding one 64 MB torch-style zip checkpoint with a pickle inside, against
  picklescan and modelaudit from a separate virtualenv (``--bench-venv``; missing tools are reported as such).
The PR 50 case (a few seconds) gives medians of 3 runs for annexa and for each peer, the sub-second cases
medians of 5, every other case one run. The semgrep floors are semgrep itself on one empty file with the same
rules, once with the classic command line a user runs (the peer column) and once with the native one annexa runs
(``semgrep scan --experimental``): no scan
that runs semgrep can be faster than its floor. Each row also gives the largest share of CPU time the hypervisor
took for other guests (``steal`` in /proc/stat) during its commands: this VM is throttled after sustained load,
and a row with much steal is slower than the machine is.
``--profile`` prints the top 10 functions by own time and by cumulative time of the PR 50 case (cProfile, in a
subprocess). ``ANNEXA_BENCH_SRC=/path/to/other/checkout/src`` measures another annexa tree (a "before" commit)
with the same script.
"""

from __future__ import annotations

import argparse
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
BIN = Path(sys.executable).parent
SRC = os.environ.get("ANNEXA_BENCH_SRC")
ENV = {**os.environ, "PYTHONPATH": SRC} if SRC else None
"""annexa runs from this tree's install, or from ``ANNEXA_BENCH_SRC`` when set."""


STOLEN: list[float] = []
"""Per timed command, the share of this machine's CPU time the hypervisor took for other guests (steal)."""


def _cpu_times() -> tuple[int, int]:
    """(steal, total) clock ticks since boot from /proc/stat; (0, 0) where there is none."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def timed(command: Sequence[str], cwd: Path | None = None) -> float:
    """Wall seconds of one command (its output is discarded; a crash is an error)."""
    steal, total = _cpu_times()
    start = time.perf_counter()
    done = subprocess.run(list(command), cwd=cwd, capture_output=True, check=False, env=ENV)
    wall = time.perf_counter() - start
    steal_after, total_after = _cpu_times()
    STOLEN.append((steal_after - steal) / max(1, total_after - total))
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stderr.decode()[-800:]}")
    return wall


def timed_median(command: Sequence[str], runs: int = 5, cwd: Path | None = None) -> float:
    """The median wall seconds of ``runs`` runs of a short command (one run varies by ±30 % on this VM)."""
    walls = sorted(timed(command, cwd) for _ in range(runs))
    return walls[len(walls) // 2]


def semgrep_config(out: Path) -> Path:
    """annexa's semgrep rules as one semgrep config file (JSON: both command lines read it)."""
    import json

    from annexa.catalog import load_catalog
    from annexa.scan.semgrep import semgrep_rules

    path = out / "rules.json"
    path.write_text(json.dumps({"rules": semgrep_rules(load_catalog())}), encoding="utf-8")
    return path


def range_touching(repo: Path, files: int) -> tuple[str, list[str]]:
    """The base commit of the shortest newest range of history that changes at least ``files`` files."""
    for k in range(1, 400):
        names = subprocess.run(["git", "diff", "--name-only", f"HEAD~{k}", "HEAD"], cwd=repo, capture_output=True,
                               text=True, check=True).stdout.split()
        existing = [n for n in names if (repo / n).is_file() and not (repo / n).is_symlink()]
        if len(existing) >= files:
            base = subprocess.run(["git", "rev-parse", f"HEAD~{k}"], cwd=repo, capture_output=True, text=True,
                                  check=True).stdout.strip()
            return base, existing
    raise SystemExit(f"{repo}: no range changes {files} files")


def peers(files: list[str], cwd: Path, config: Path, runs: int = 1) -> tuple[float, float]:
    """detect-secrets and semgrep on ``files`` (batched to stay under the argument limit); with ``runs`` > 1
    each tool's median."""
    secrets: list[float] = []
    semgrep: list[float] = []
    for _ in range(runs):
        secrets.append(0.0)
        semgrep.append(0.0)
        for i in range(0, len(files), 400):
            batch = files[i:i + 400]
            secrets[-1] += timed([str(BIN / "detect-secrets"), "scan", *batch], cwd)
            semgrep[-1] += timed([str(BIN / "semgrep"), "scan", "--metrics=off", "--disable-version-check",
                                  "--quiet", "--config", str(config), "--json", *batch], cwd)
    return sorted(secrets)[runs // 2], sorted(semgrep)[runs // 2]


def annexa(*args: str) -> list[str]:
    return [str(BIN / "annexa"), "check", *args, "--format", "json", "--output", os.devnull]


def checkpoint(path: Path, size: int) -> None:
    """A torch-style zip checkpoint: a small pickle of tensor storages and ``size`` bytes of raw data."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01K\x01s.")
        z.writestr("archive/version", b"3\n")
        with z.open("archive/data/0", "w", force_zip64=True) as handle:
            chunk = os.urandom(1 << 20)
            for _ in range(size >> 20):
                handle.write(chunk)


def profile(repo: Path, base: str, tmp: Path) -> str:
    """Top 10 functions by own and by cumulative time of one PR check (cProfile in a subprocess)."""
    out = tmp / "check.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), str(BIN / "annexa"), *annexa(str(repo),
                    "--base", base)[1:]], capture_output=True, check=False, env=ENV)
    text = io.StringIO()
    stats = pstats.Stats(str(out), stream=text)
    for order in ("tottime", "cumulative"):
        stats.sort_stats(order).print_stats(10)
    return text.getvalue()


_MARK = [0]


def _stolen() -> str:
    """The largest steal share among the commands timed since the previous row."""
    share = max(STOLEN[_MARK[0]:], default=0.0)
    _MARK[0] = len(STOLEN)
    return f"steal up to {share:.0%}"


def row(name: str, ours: float, theirs: dict[str, float | None]) -> str:
    cells = [f"{name:14}", f"annexa {ours:7.2f} s"]
    for tool, wall in theirs.items():
        cells.append(f"{tool} {'n/a' if wall is None else f'{wall:7.2f} s'}")
    known = [w for w in theirs.values() if w is not None]
    if known:
        cells.append(f"ratio {ours / sum(known):.2f}x")
    cells.append(_stolen())
    return "  ".join(cells)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--diffusers", type=Path, required=True)
    parser.add_argument("--peft", type=Path, required=True)
    parser.add_argument("--bench-venv", type=Path, default=Path("/work/bench-venv"))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--skip-20k", action="store_true")
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config = semgrep_config(tmp)
        (tmp / "empty.py").write_text("")
        for label, extra in (("classic", []), ("native --experimental", ["--experimental"])):
            floor = timed([str(BIN / "semgrep"), "scan", *extra, "--metrics=off", "--disable-version-check",
                           "--quiet", "--config", str(config), "--json", str(tmp / "empty.py")])
            lines.append(f"semgrep floor, {label} (one empty file, annexa's rules): {floor:.2f} s  [{_stolen()}]")
        empty = tmp / "empty"
        empty.mkdir()
        lines.append(row("empty dir", timed_median(annexa(str(empty))), {}) + "  (json to a file; median of 5)")
        lines.append(row("empty dir", timed_median([str(BIN / "annexa"), "check", str(empty)]), {})
                     + "  (text to stdout, the default: rich draws it; median of 5)")
        for target in (50, 500):
            base, files = range_touching(args.diffusers, target)
            runs = 3 if target == 50 else 1  # the small case is a few seconds: its medians of 3
            ours = timed_median(annexa(str(args.diffusers), "--base", base), runs)
            secrets, semgrep = peers(files, args.diffusers, config, runs)
            lines.append(row(f"PR {len(files)}", ours, {"detect-secrets": secrets, "semgrep": semgrep})
                         + f"  (diffusers {base[:8]}..HEAD{'; medians of 3' if runs > 1 else ''})")
            python = [f for f in files if f.endswith((".py", ".pyi"))]
            native = timed_median([str(BIN / "semgrep"), "scan", "--experimental", "--metrics=off",
                                   "--disable-version-check", "--quiet", "--no-git-ignore", "--config", str(config),
                                   "--json", *python[:400]], runs, args.diffusers)
            lines.append(f"  semgrep alone as annexa runs it (native command line, --no-git-ignore), every rule on "
                         f"the range's {len(python)} Python files: {native:.2f} s (annexa's whole check: "
                         f"{ours / native:.2f}x it)")
            if target == 50 and args.profile:
                lines.append(profile(args.diffusers, base, tmp))
        every = subprocess.run(["git", "ls-files"], cwd=args.peft, capture_output=True, text=True,
                               check=True).stdout.split()
        every = [f for f in every if (args.peft / f).is_file() and not (args.peft / f).is_symlink()]
        ours = timed(annexa(str(args.peft)))
        secrets, semgrep = peers(every, args.peft, config)
        lines.append(row(f"full {len(every)}", ours, {"detect-secrets": secrets, "semgrep": semgrep})
                     + "  (peft)")
        if not args.skip_20k:
            sys.path.insert(0, str(ROOT / "bench"))
            from check_bench import generate

            big = tmp / "big"
            generate(big, 20_000, 0)
            listing = [str(p.relative_to(big)) for p in big.rglob("*.py")]
            ours = timed(annexa(str(big)))
            secrets, semgrep = peers(listing, big, config)
            lines.append(row(f"full {len(listing)}", ours, {"detect-secrets": secrets, "semgrep": semgrep})
                         + "  (generated)")
        model_dir = tmp / "model"
        model_dir.mkdir()
        checkpoint(model_dir / "pytorch_model.bin", 64 << 20)
        ours = timed_median(annexa(str(model_dir)))
        theirs: dict[str, float | None] = {}
        for tool, command in (("picklescan", ["-p", str(model_dir / "pytorch_model.bin")]),
                              ("modelaudit", ["scan", "--no-cache", str(model_dir / "pytorch_model.bin")])):
            exe = args.bench_venv / "bin" / tool
            theirs[tool] = timed([str(exe), *command]) if exe.exists() else None
        lines.append(row("one model", ours, theirs) + "  (64 MB torch zip; annexa: median of 5)")
        shutil.rmtree(tmp / "big", ignore_errors=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
