"""weights-safe-format versus the open model scanners: corpus verdicts, throughput and peak memory.

Run:  /work/venv/bin/python bench/models_bench.py [--bench-venv /work/bench-venv] [--size-gb 2] [--skip-large]

The other scanners (modelaudit, picklescan, modelscan, fickling) are run from a separate virtualenv as
command-line tools, one file at a time; a tool that is not installed is skipped and said so. A tool
"flags" a file when its exit code says so (what a CI gate would act on). Every run is a fresh process
whose peak RSS is read with getrusage. Large files are generated in a temporary folder and deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.modelfiles.corpus import corpus, torch_data_pkl  # noqa: E402

TIMEOUT = 900
ENV = {**os.environ, "PROMPTFOO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "NO_COLOR": "1"}

_MEASURE = """
import resource, subprocess, sys, time, json
start = time.perf_counter()
try:
    done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TIMEOUT)
    code = done.returncode
except subprocess.TimeoutExpired:
    code = "timeout"
elapsed = time.perf_counter() - start
print(json.dumps({"code": code, "seconds": elapsed,
                  "rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
""".replace("TIMEOUT", str(TIMEOUT))

_ANNEXA = """
import sys
from pathlib import Path
from annexa.rules.model_files import judge
from annexa.scan.modelfiles import scan_path
result = judge(sys.argv[1], scan_path(Path(sys.argv[1])))
sys.exit({"pass": 0, "fail": 1}.get(result.status.value, 3))
"""


def measure(argv: list[str]) -> dict[str, object]:
    """Run ``argv`` in a fresh process; exit code, wall seconds and peak RSS of the tool."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, env=ENV, check=True)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def tools(venv: Path, scratch: Path) -> dict[str, tuple[Callable[[Path], list[str]], Callable[[object], str]]]:
    """Each tool: how to run it on one file, and how to read its exit code (flag / clean / unknown)."""

    def flag_nonzero(code: object) -> str:
        return "clean" if code == 0 else "flag"

    def modelscan_code(code: object) -> str:
        return {0: "clean", 3: "clean"}.get(code, "flag")  # type: ignore[call-overload]

    def annexa_code(code: object) -> str:
        return {0: "clean", 1: "flag"}.get(code, "unknown")  # type: ignore[call-overload]

    found: dict[str, tuple[Callable[[Path], list[str]], Callable[[object], str]]] = {
        "annexa": (lambda f: [sys.executable, "-c", _ANNEXA, str(f)], annexa_code),
    }
    bin_ = venv / "bin"
    if (bin_ / "modelaudit").exists():
        found["modelaudit"] = (lambda f: [str(bin_ / "modelaudit"), "scan", "--no-cache", str(f)], flag_nonzero)
    if (bin_ / "picklescan").exists():
        found["picklescan"] = (lambda f: [str(bin_ / "picklescan"), "-p", str(f)], flag_nonzero)
        found["picklescan --strict"] = (lambda f: [str(bin_ / "picklescan"), "--strict", "-p", str(f)], flag_nonzero)
    if (bin_ / "modelscan").exists():
        found["modelscan"] = (lambda f: [str(bin_ / "modelscan"), "-p", str(f)], modelscan_code)
    if (bin_ / "fickling").exists():
        out = str(scratch / "fickling.json")
        found["fickling"] = (lambda f: [str(bin_ / "fickling"), "--check-safety", "--json-output", out, str(f)],
                             flag_nonzero)  # fmt: skip
    return found


def corpus_table(runners: dict[str, tuple[Callable[[Path], list[str]], Callable[[object], str]]],
                 scratch: Path) -> list[str]:  # fmt: skip
    samples = corpus()
    root = scratch / "corpus"
    for s in samples:
        path = root / s.name / s.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s.data)
    malicious = [s for s in samples if s.malicious]
    benign = [s for s in samples if s.verdict == "pass"]
    other = [s for s in samples if not s.malicious and s.verdict != "pass"]
    gadgets = [s for s in samples if "gadget" in s.tags]
    lines = [
        f"Corpus: {len(malicious)} malicious ({len(gadgets)} alternative gadgets), {len(benign)} benign, "
        f"{len(other)} broken or undecidable (truncated, bad opcode, corrupt zip, 7z, LFS pointer, unknown).",
        "",
        "| tool | detected (malicious) | gadgets | false positives (benign) | of which scan errors | flagged benign |"
        " broken/undecidable flagged | misses |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, (argv, read) in runners.items():
        verdict: dict[str, str] = {}
        codes: dict[str, object] = {}
        for s in samples:
            codes[s.name] = measure(argv(root / s.name / s.path))["code"]
            verdict[s.name] = read(codes[s.name])
        det = [s for s in malicious if verdict[s.name] == "flag"]
        fps = [s for s in benign if verdict[s.name] != "clean"]
        gad = [s for s in gadgets if verdict[s.name] == "flag"]
        oth = [s for s in other if verdict[s.name] != "clean"]
        missed = ", ".join(s.name for s in malicious if verdict[s.name] != "flag")
        fp_names = ", ".join(s.name for s in fps)
        errors = sum(1 for s in fps if codes[s.name] != 1)
        lines.append(
            f"| {name} | {len(det)}/{len(malicious)} | {len(gad)}/{len(gadgets)} | {len(fps)}/{len(benign)} | {errors}"
            f" | {fp_names or '-'} | {len(oth)}/{len(other)} | {missed or '-'} |"
        )
    return lines


def big_checkpoint(path: Path, size: int) -> None:
    """A PyTorch zip checkpoint whose one storage member holds ``size`` bytes (stored, zip64)."""
    chunk = b"\0" * (16 * 1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr("archive/data.pkl", torch_data_pkl())
        with z.open("archive/data/0", "w", force_zip64=True) as member:
            left = size
            while left > 0:
                member.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)
        z.writestr("archive/version", "3\n")


def big_safetensors(path: Path, size: int) -> None:
    """A sparse safetensors file: a real header, then ``size`` bytes of holes."""
    count = size // 4
    header = json.dumps({"w": {"dtype": "F32", "shape": [count], "data_offsets": [0, count * 4]}}).encode()
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", len(header)) + header)
        handle.truncate(8 + len(header) + count * 4)


def speed_table(runners: dict[str, tuple[Callable[[Path], list[str]], Callable[[object], str]]],
                scratch: Path, size: int) -> list[str]:  # fmt: skip
    lines = ["| tool | file | verdict | seconds | MB/s | peak RSS MB |", "|---|---|---|---|---|---|"]
    for label, make, name in (
        ("pickle-based checkpoint (torch zip)", big_checkpoint, "big.pt"),
        ("safetensors (sparse)", big_safetensors, "big.safetensors"),
    ):
        path = scratch / name
        make(path, size)
        mb = path.stat().st_size / 1e6
        for tool, (argv, read) in runners.items():
            got = measure(argv(path))
            seconds = float(got["seconds"])  # type: ignore[arg-type]
            verdict = "timeout" if got["code"] == "timeout" else read(got["code"])
            rss = int(got["rss_kb"]) / 1024  # type: ignore[call-overload]
            speed = f"{mb / seconds:,.0f}"
            lines.append(f"| {tool} | {label} {mb:,.0f} MB | {verdict} | {seconds:.2f} | {speed} | {rss:.0f} |")
        path.unlink()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-venv", type=Path, default=Path("/work/bench-venv"))
    parser.add_argument("--size-gb", type=float, default=2.0)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="annexa-models-bench-") as tmp:
        scratch = Path(tmp)
        runners = tools(args.bench_venv, scratch)
        for missing in sorted({"modelaudit", "picklescan", "modelscan", "fickling"} - {n.split()[0] for n in runners}):
            print(f"skipped {missing}: not installed in {args.bench_venv}")
        started = time.perf_counter()
        print("\n".join(corpus_table(runners, scratch)))
        print()
        if not args.skip_large:
            print("\n".join(speed_table(runners, scratch, int(args.size_gb * 1024**3))))
        print(f"\nbench took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
