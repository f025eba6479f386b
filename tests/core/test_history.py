"""The run history: records chained per repository; any edit, deletion or reorder is found."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from annexa.cli import main
from annexa.history import HistoryStore
from annexa.model import Severity
from annexa.report import Report, RunInfo


def report(run_id: str, repository: str = "acme/models") -> Report:
    run = RunInfo(run_id, "2026-11-27T10:00:00+00:00", "local", repository, "main", "a" * 40, None)
    return Report(run, Severity.HIGH, (), (), (), {})


def test_records_chain_and_verify(tmp_path: Path) -> None:
    store = HistoryStore(f"sqlite:///{tmp_path}/h.db")
    first = store.record(report("r1"))
    second = store.record(report("r2"))
    other = store.record(report("r3", "acme/other"))
    assert (first.seq, second.seq, other.seq) == (1, 2, 1)
    assert store.verify() == (3, [])


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("UPDATE annexa_runs SET body = replace(body, '\"pass\"', '\"fail\"') WHERE run_id = 'r2'",
         "acme/models record 2 (run r2): the run record was edited (body hash mismatch)"),
        ("DELETE FROM annexa_runs WHERE run_id = 'r2'",
         "acme/models record 3 (run r3): expected record 2; records 2..2 are missing"),
        ("UPDATE annexa_runs SET hash = '" + "f" * 64 + "' WHERE run_id = 'r1'",
         "acme/models record 1 (run r1): its hash does not match its content, place or time (hash or seq altered)"),
    ],
)
def test_tampering_is_found(tmp_path: Path, tamper: str, problem: str) -> None:
    db = tmp_path / "h.db"
    store = HistoryStore(f"sqlite:///{db}")
    for run_id in ("r1", "r2", "r3"):
        store.record(report(run_id))
    with sqlite3.connect(db) as connection:
        connection.execute(tamper)
    assert problem in store.verify()[1]


def test_record_body_is_the_report_json_with_its_context(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    HistoryStore(f"sqlite:///{db}").record(report("r1"), actor="@bob", trigger="push", config_digest="sha256:c")
    with sqlite3.connect(db) as connection:
        [(body,)] = connection.execute("SELECT body FROM annexa_runs").fetchall()
    record = json.loads(body)
    assert record["schema"] == "annexa.record/v1"
    assert record["report"] == report("r1").to_json()
    assert (record["context"]["actor"], record["context"]["trigger"], record["context"]["config_digest"]) == (
        "@bob", "push", "sha256:c")


def test_cli_records_and_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "repo").mkdir()
    url = f"sqlite:///{tmp_path}/h.db"
    policies = str(Path(__file__).parents[2] / "policies" / "information-security.yml")
    out = str(tmp_path / "r.json")
    for _ in range(2):
        main(["check", str(tmp_path / "repo"), "--policies", policies, "--history", url, "--output", out])
    assert "as record 2 of repo" in capsys.readouterr().err
    assert main(["history", "verify", "--history", url]) == 0
    assert capsys.readouterr().out.strip() == (
        "2 run records checked, 0 problems (signatures not checked (no --public-key); no checkpoint: deletion of "
        "the newest records cannot be detected)")
    with sqlite3.connect(tmp_path / "h.db") as connection:
        connection.execute("UPDATE annexa_runs SET verdict = 'pass', body = body || ' ' WHERE seq = 1")
    assert main(["history", "verify", "--history", url]) == 1
