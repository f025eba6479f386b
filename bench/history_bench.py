"""History store figures: concurrent appends, tamper detection, export of a large window.

    PYTHONPATH=src python bench/history_bench.py [--writers 20] [--records 500] [--tampers 1000]
        [--export-findings 100000] [--postgres URL]   (default URL: $ANNEXA_TEST_POSTGRES_URL)

1. ``writers`` processes each append ``records`` run records at once (half to one shared repository, half to
   one repository per process pair) to PostgreSQL and to SQLite: records lost (must be 0), chains valid, wall time.
2. ``tampers`` single-field edits, each of one random column of one random row of one table of a signed SQLite
   store (runs, findings, finding controls, chain heads), each on a fresh copy: how many ``verify`` (with the
   public key and a checkpoint) detects (must be all).
3. An export of a window holding ``export-findings`` findings, run as ``annexa export`` in a child process: wall
   time and the child's peak resident memory.
Writes bench/out/history.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from annexa.history.checkpoint import check_checkpoint, make_checkpoint  # noqa: E402
from annexa.history.record import RunContext, finalise_body  # noqa: E402
from annexa.history.signing import generate, load_signer, load_verifier  # noqa: E402
from annexa.history.store import HistoryStore, delete_all  # noqa: E402
from annexa.model import Finding, Location, Severity, Status, fingerprint  # noqa: E402
from annexa.report import Report, RunInfo, control_statuses  # noqa: E402

STATUSES = (Status.PASS, Status.FAIL, Status.UNKNOWN, Status.NOT_APPLICABLE)
CONTROLS = ("A.8.4", "A.8.28", "A.5.15", "A.8.32", "A.8.29")


def body(run_id: str, repository: str, findings: int, day: int = 1) -> dict[str, Any]:
    items = []
    for i in range(findings):
        location = Location(f"src/module_{i % 97}.py", i % 500 + 1)
        items.append(Finding(f"rule-{i % 23}", STATUSES[(i + day) % 4], Severity.HIGH, f"finding {i}", location,
                             (CONTROLS[i % 5], CONTROLS[(i + 2) % 5]), ("p",), None,
                             fingerprint(f"rule-{i % 23}", location, str(i)), {"i": i}, "fix"))
    run = RunInfo(run_id, f"2026-11-{day:02d}T10:00:00+00:00", "local", repository, "main", "a" * 40, None)
    report = Report(run, Severity.HIGH, tuple(items), (), control_statuses(items), {})
    return finalise_body(report.to_json(), RunContext(actor="bench", trigger="bench"))


def _writer(args: tuple[str, int, int]) -> int:
    url, worker, records = args
    store = HistoryStore(url)
    for i in range(records):
        repository = "acme/shared" if i % 2 else f"acme/pair-{worker // 2}"
        store.append(body(f"w{worker}-r{i}", repository, 3))
    store.dispose()
    return records


def concurrent(url: str, writers: int, records: int) -> dict[str, Any]:
    store = HistoryStore(url)
    delete_all(store)
    store.dispose()
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(writers) as pool:
        written = sum(pool.map(_writer, [(url, w, records) for w in range(writers)]))
    wall = time.perf_counter() - start
    store = HistoryStore(url)
    count, problems = store.verify()
    heads = store.heads()
    return {
        "writers": writers, "records_each": records, "written": written, "stored": count,
        "records_lost": writers * records - count, "chains": len(heads), "chains_valid": not problems,
        "problems": problems[:5], "wall_s": round(wall, 2), "appends_per_s": round(written / wall, 1),
    }


TABLES = {
    "annexa_runs": "run_id", "annexa_findings": "rowid", "annexa_finding_controls": "rowid",
    "annexa_chain_heads": "repository",
}


def _changed(value: Any) -> Any:
    if value is None:
        return "x"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    text = str(value)
    return text[:-1] + ("0" if text[-1:] != "0" else "1") if text else "x"


def tampers(tmp: Path, samples: int, seed: int = 7) -> dict[str, Any]:
    db = tmp / "tamper.db"
    generate(tmp / "k.key", tmp / "k.pub", force=True)
    signer, verifier = load_signer(tmp / "k.key", {}), load_verifier(tmp / "k.pub", {})
    store = HistoryStore(f"sqlite:///{db}")
    for i in range(12):
        store.append(body(f"t{i}", f"acme/r{i % 2}", 4, day=i % 20 + 1), signer=signer)
    checkpoint = make_checkpoint(store, signer)
    store.dispose()
    rng = random.Random(seed)
    connection = sqlite3.connect(db)
    columns = {t: [r[1] for r in connection.execute(f"PRAGMA table_info({t})")] for t in TABLES}
    counts = {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    connection.close()
    detected = 0
    missed: list[str] = []
    per_table: dict[str, int] = {t: 0 for t in TABLES}
    start = time.perf_counter()
    for n in range(samples):
        table = rng.choice(list(TABLES))
        column = rng.choice(columns[table])
        offset = rng.randrange(counts[table])
        copy = tmp / f"copy-{n % 2}.db"
        shutil.copyfile(db, copy)
        for suffix in ("-wal", "-shm"):
            Path(str(copy) + suffix).unlink(missing_ok=True)
        connection = sqlite3.connect(copy)
        with connection:
            rowid, value = connection.execute(
                f"SELECT rowid, \"{column}\" FROM {table} LIMIT 1 OFFSET {offset}").fetchone()
            try:
                connection.execute(f"UPDATE {table} SET \"{column}\" = ? WHERE rowid = ?", (_changed(value), rowid))
            except sqlite3.IntegrityError:  # seq + 1 is taken: a far value is a single-field edit too
                new = value + 1000 if isinstance(value, int) else f"{value}-edited"
                connection.execute(f"UPDATE {table} SET \"{column}\" = ? WHERE rowid = ?", (new, rowid))
        connection.close()
        tampered = HistoryStore(f"sqlite:///{copy}", create=False)
        problems = tampered.verify(verifier)[1] + check_checkpoint(tampered, checkpoint, verifier)
        tampered.dispose()
        per_table[table] += 1
        if problems:
            detected += 1
        else:
            missed.append(f"{table}.{column} row {offset}")
    return {"samples": samples, "detected": detected, "missed": missed[:20], "per_table": per_table,
            "wall_s": round(time.perf_counter() - start, 1)}


def export(tmp: Path, findings: int, per_run: int = 1000) -> dict[str, Any]:
    url = f"sqlite:///{tmp}/export.db"
    store = HistoryStore(url)
    runs = max(1, findings // per_run)
    start = time.perf_counter()
    for i in range(runs):
        store.append(body(f"e{i}", f"acme/r{i % 4}", per_run, day=i % 28 + 1))
    store.dispose()
    fill = time.perf_counter() - start
    out = tmp / "evidence.zip"
    wall, peak = _cli(["export", "--from", "2026-11-01", "--to", "2026-11-30", "--history", url, "--out", str(out)])
    verify, _ = _cli(["export", "verify", str(out)])
    return {"runs": runs, "findings": runs * per_run, "fill_s": round(fill, 1), "export_wall_s": round(wall, 1),
            "export_peak_rss_mib": round(peak / 1024, 1), "bundle_mib": round(out.stat().st_size / 2**20, 1),
            "verify_wall_s": round(verify, 1)}


def _cli(argv: list[str]) -> tuple[float, int]:
    """Run annexa in a child process: (wall seconds, the child's own peak RSS in KiB)."""
    code = "import sys; from annexa.cli import main; sys.exit(main(sys.argv[1:]))"
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, *argv], env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                             stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"annexa {' '.join(argv)} exited {child.returncode}")
    return wall, usage.ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--tampers", type=int, default=1000)
    parser.add_argument("--export-findings", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("ANNEXA_TEST_POSTGRES_URL"))
    parser.add_argument("--only", choices=("concurrent", "tamper", "export"), action="append")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "history.json")
    args = parser.parse_args()
    only = set(args.only or ("concurrent", "tamper", "export"))
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="annexa-history-bench-") as name:
        tmp = Path(name)
        if "concurrent" in only:
            if args.postgres:
                figures["concurrent_postgresql"] = concurrent(args.postgres, args.writers, args.records)
                print("postgresql", figures["concurrent_postgresql"], flush=True)
            figures["concurrent_sqlite"] = concurrent(f"sqlite:///{tmp}/concurrent.db", args.writers, args.records)
            print("sqlite", figures["concurrent_sqlite"], flush=True)
        if "tamper" in only:
            figures["tamper"] = tampers(tmp, args.tampers)
            print("tamper", figures["tamper"], flush=True)
        if "export" in only:
            figures["export"] = export(tmp, args.export_findings)
            print("export", figures["export"], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=1) + "\n")
    ok = all(f.get("records_lost", 0) == 0 and f.get("chains_valid", True) for k, f in figures.items()
             if k.startswith("concurrent")) and figures.get("tamper", {}).get("missed", []) == []
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
