"""The store on SQLite and PostgreSQL: chains, signatures, checkpoints, tampering, concurrency, migrations, import."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from annexa.cli import main
from annexa.history.checkpoint import check_checkpoint, make_checkpoint
from annexa.history.models import Base
from annexa.history.record import RunContext, chain_hash, finalise_body, read_artifact, sha256_text, write_artifact
from annexa.history.signing import Signer, Verifier, generate, load_signer, load_verifier
from annexa.history.store import VERSION_TABLE, HistoryError, HistoryStore
from tests.history.common import report

REPO = "acme/models"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Signer, Verifier]:
    generate(tmp_path / "k.key", tmp_path / "k.pub")
    signer, verifier = load_signer(tmp_path / "k.key", {}), load_verifier(tmp_path / "k.pub", {})
    assert signer is not None and verifier is not None
    return signer, verifier


def three(url: str, signer: Signer | None = None) -> HistoryStore:
    store = HistoryStore(url)
    for i, run_id in enumerate(("r1", "r2", "r3"), 1):
        store.record(report(run_id, started_at=f"2026-11-2{i}T10:00:00+00:00", secret_fixed=i == 3), signer=signer)
    return store


def sql(store: HistoryStore, *statements: str) -> None:
    with store.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def test_records_chain_per_repository(store_url: str) -> None:
    store = HistoryStore(store_url)
    first = store.record(report("r1"), actor="@bob", trigger="pull_request", platform_run_id="github:7/1")
    second = store.record(report("r2"))
    other = store.record(report("r3", "acme/other"))
    assert (first.seq, second.seq, other.seq) == (1, 2, 1)
    assert store.verify() == (3, [])
    again = store.record(report("r1"))
    assert again.duplicate and again.seq == 1
    with store.connect() as connection:
        row = connection.execute(text("SELECT actor, trigger, platform_run_id, policy_digest FROM annexa_runs "
                                      "WHERE run_id = 'r1'")).one()
        findings = connection.execute(text("SELECT count(*) FROM annexa_findings WHERE run_id = 'r1'")).scalar()
    assert (row.actor, row.trigger, row.platform_run_id) == ("@bob", "pull_request", "github:7/1")
    assert row.policy_digest.startswith("sha256:")
    assert findings == 4


def test_models_and_migrations_agree(store_url: str) -> None:
    store = HistoryStore(store_url)
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def _edit_body_consistently(store: HistoryStore) -> None:
    with store.engine.begin() as connection:
        body = connection.execute(text("SELECT body FROM annexa_runs WHERE run_id = 'r2'")).scalar_one()
        edited = body.replace('"fail"', '"pass"')
        connection.execute(text("UPDATE annexa_runs SET body = :b, body_sha256 = :s WHERE run_id = 'r2'"),
                           {"b": edited, "s": sha256_text(edited)})


TAMPERS: list[tuple[str, Callable[[HistoryStore], None], str]] = [
    ("edit body",
     lambda s: sql(s, "UPDATE annexa_runs SET body = replace(body, '\"fail\"', '\"pass\"') WHERE run_id = 'r2'"),
     "acme/models record 2 (run r2): the run record was edited (body hash mismatch)"),
    ("edit body and its digest", _edit_body_consistently,
     "acme/models record 2 (run r2): its hash does not match its content, place or time (hash or seq altered)"),
    ("edit a derived column", lambda s: sql(s, "UPDATE annexa_runs SET verdict = 'pass' WHERE run_id = 'r2'"),
     "acme/models record 2 (run r2): columns verdict differ from the hashed body (edited)"),
    ("edit a finding row",
     lambda s: sql(s, "UPDATE annexa_findings SET status = 'pass' WHERE run_id = 'r2' AND status = 'fail'"),
     "acme/models record 2 (run r2): its findings rows differ from the hashed body (edited, added or deleted)"),
    ("delete a middle record",
     lambda s: sql(s, "DELETE FROM annexa_finding_controls WHERE run_id = 'r2'",
                   "DELETE FROM annexa_findings WHERE run_id = 'r2'", "DELETE FROM annexa_runs WHERE run_id = 'r2'"),
     "acme/models record 3 (run r3): expected record 2; records 2..2 are missing"),
    ("reorder", lambda s: sql(s, "UPDATE annexa_runs SET seq = 100 WHERE run_id = 'r1'",
                              "UPDATE annexa_runs SET seq = 1 WHERE run_id = 'r2'",
                              "UPDATE annexa_runs SET seq = 2 WHERE run_id = 'r1'"),
     "acme/models record 1 (run r2): does not start the chain (chain broken: previous hash is not the genesis hash)"),
    ("alter a hash", lambda s: sql(s, "UPDATE annexa_runs SET hash = '" + "f" * 64 + "' WHERE run_id = 'r1'"),
     "acme/models record 1 (run r1): its hash does not match its content, place or time (hash or seq altered)"),
    ("delete the newest record, head left",
     lambda s: sql(s, "DELETE FROM annexa_finding_controls WHERE run_id = 'r3'",
                   "DELETE FROM annexa_findings WHERE run_id = 'r3'", "DELETE FROM annexa_runs WHERE run_id = 'r3'"),
     "acme/models: the chain head says record 3"),
    ("strip a signature", lambda s: sql(s, "UPDATE annexa_runs SET signature = NULL WHERE run_id = 'r1'"),
     "acme/models record 1 (run r1): key id and signature must both be present or both absent"),
]


@pytest.mark.parametrize(("tamper", "problem"), [(t[1], t[2]) for t in TAMPERS], ids=[t[0] for t in TAMPERS])
def test_tampering_is_found_and_named(store_url: str, keys: tuple[Signer, Verifier],
                                      tamper: Callable[[HistoryStore], None], problem: str) -> None:
    signer, verifier = keys
    store = three(store_url, signer)
    assert store.verify(verifier) == (3, [])
    tamper(store)
    problems = store.verify(verifier)[1]
    assert problems, "tampering went unnoticed"
    assert problems[0].startswith(problem), problems


def test_forged_append_without_the_key_is_found(store_url: str, keys: tuple[Signer, Verifier]) -> None:
    """An attacker can compute SHA-256 but not sign: a well-chained forged head fails signature checks."""
    signer, verifier = keys
    store = three(store_url, signer)
    body = finalise_body(report("forged").to_json(), RunContext())
    forger = HistoryStore(store_url)
    forger.append(body)  # the store itself accepts an unsigned append, as an attacker's client would do
    assert store.verify() == (4, [])
    unsigned = "acme/models record 4 (run forged): unsigned, after signed records (appended without the signing key)"
    assert store.verify(verifier)[1] == [unsigned]
    store.record(report("r5"), signer=signer)  # a legitimate signed append on top does not launder it
    assert store.verify(verifier)[1] == [unsigned]


def test_an_unsigned_chain_fails_when_a_public_key_is_required(store_url: str, keys: tuple[Signer, Verifier]) -> None:
    store = three(store_url)
    assert store.verify() == (3, [])
    assert store.verify(keys[1])[1] == ["acme/models record 3 (run r3): the chain head is not signed"]


def test_truncation_is_found_only_against_a_checkpoint(store_url: str, keys: tuple[Signer, Verifier]) -> None:
    signer, verifier = keys
    store = three(store_url, signer)
    checkpoint = make_checkpoint(store, signer)
    assert check_checkpoint(store, checkpoint, verifier) == []
    with store.engine.begin() as connection:
        prev = connection.execute(text("SELECT seq, hash, recorded_at FROM annexa_runs WHERE run_id = 'r2'")).one()
        for table in ("annexa_finding_controls", "annexa_findings", "annexa_runs"):
            connection.execute(text(f"DELETE FROM {table} WHERE run_id = 'r3'"))
        connection.execute(text("UPDATE annexa_chain_heads SET seq = :s, hash = :h, run_id = 'r2', updated_at = :t"),
                           {"s": prev.seq, "h": prev.hash, "t": prev.recorded_at})
    assert store.verify(verifier) == (2, [])  # consistent and signed: only the anchor outside the store knows
    assert check_checkpoint(store, checkpoint, verifier) == [
        f"acme/models: the checkpoint of {checkpoint['created_at']} has record 3; the store ends at record 2 "
        "(records 3..3 deleted)"
    ]


def test_rewritten_chain_differs_from_the_checkpoint(store_url: str) -> None:
    store = three(store_url)
    checkpoint = make_checkpoint(store, None)
    # rewrite record 1's body and re-chain every later record consistently (possible without a key)
    with store.engine.begin() as connection:
        rows = connection.execute(text("SELECT * FROM annexa_runs ORDER BY seq")).mappings().all()
        prev = "0" * 64
        for row in rows:
            body = row["body"].replace('"ref":"main"', '"ref":"evil"') if row["seq"] == 1 else row["body"]
            digest = sha256_text(body)
            new = chain_hash(row["repository"], row["seq"], prev, digest, row["run_id"], row["recorded_at"])
            connection.execute(text("UPDATE annexa_runs SET body = :b, body_sha256 = :d, prev_hash = :p, hash = :h "
                                    "WHERE run_id = :r"), {"b": body, "d": digest, "p": prev, "h": new,
                                                           "r": row["run_id"]})
            prev = new
        connection.execute(text("UPDATE annexa_runs SET ref = 'evil' WHERE seq = 1"))
        connection.execute(text("UPDATE annexa_chain_heads SET hash = :h"), {"h": prev})
    assert store.verify() == (3, [])
    [problem] = check_checkpoint(store, checkpoint, None)
    assert problem.startswith("acme/models record 3: hash ") and problem.endswith("the chain up to it was rewritten")


def _append_many(args: tuple[str, int, int]) -> int:
    url, worker, count = args
    store = HistoryStore(url)
    for i in range(count):
        store.record(report(f"w{worker}-{i}", "acme/shared" if i % 2 else f"acme/w{worker % 2}"))
    store.dispose()
    return count


def test_concurrent_appends_lose_nothing_and_never_fork(store_url: str) -> None:
    workers, each = 4, 25
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        assert sum(pool.map(_append_many, [(store_url, w, each) for w in range(workers)])) == workers * each
    store = HistoryStore(store_url)
    count, problems = store.verify()
    assert (count, problems) == (workers * each, [])
    heads = store.heads()
    assert sum(h.seq for h in heads.values()) == workers * each
    assert heads["acme/shared"].seq == workers * (each // 2)


def test_artifacts_import_deduplicated_and_chained(store_url: str, tmp_path: Path,
                                                   keys: tuple[Signer, Verifier]) -> None:
    signer, verifier = keys
    paths = []
    for i in range(3):
        body = finalise_body(report(f"a{i}", started_at=f"2026-11-2{3 - i}T10:00:00+00:00").to_json(), RunContext())
        paths.append(write_artifact(tmp_path / f"job{i}" / "annexa-record.json", body, signer))
    assert read_artifact(paths[0], verifier)["report"]["run"]["id"] == "a0"
    env_key = ["--signing-key", str(tmp_path / "k.key"), "--public-key", str(tmp_path / "k.pub")]
    assert main(["history", "import", *map(str, paths), "--history", store_url, *env_key]) == 0
    assert main(["history", "import", *map(str, paths[:2]), "--history", store_url, *env_key]) == 0
    store = HistoryStore(store_url)
    assert store.verify(verifier) == (3, [])
    with store.connect() as connection:
        order = connection.execute(text("SELECT run_id FROM annexa_runs ORDER BY seq")).scalars().all()
    assert order == ["a2", "a1", "a0"]  # by start time, not by file order


def test_an_edited_artifact_is_refused(tmp_path: Path, store_url: str) -> None:
    path = write_artifact(tmp_path / "annexa-record.json", finalise_body(report("x").to_json(), RunContext()))
    artifact = json.loads(path.read_text())
    artifact["body"]["report"]["verdict"] = "pass"
    path.write_text(json.dumps(artifact))
    assert main(["history", "import", str(path), "--history", store_url]) == 2


def test_verify_never_creates_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope" / "history.db"
    assert main(["history", "verify", "--history", f"sqlite:///{missing}"]) == 2
    assert not missing.exists() and not missing.parent.exists()
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(HistoryError, match="does not exist"):
        HistoryStore(f"sqlite:///{missing}", create=False)


def test_verify_refuses_a_database_without_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.commit()
    assert main(["history", "verify", "--history", f"sqlite:///{tmp_path}/other.db"]) == 2
    assert "holds no annexa history" in capsys.readouterr().err


def test_cli_keygen_checkpoint_verify(tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "keygen", "--out", str(tmp_path / "keys")]) == 0
    key, pub = tmp_path / "keys" / "annexa-signing.key", tmp_path / "keys" / "annexa-signing.pub"
    assert key.stat().st_mode & 0o777 == 0o600
    assert main(["history", "keygen", "--out", str(tmp_path / "keys")]) == 2  # never overwrites silently
    three(store_url, load_signer(key, {}))
    checkpoint = tmp_path / "checkpoint.json"
    assert main(["history", "checkpoint", "--history", store_url, "--signing-key", str(key),
                 "--out", str(checkpoint)]) == 0
    capsys.readouterr()
    verify = ["history", "verify", "--history", store_url, "--public-key", str(pub), "--checkpoint", str(checkpoint)]
    assert main(verify) == 0
    assert capsys.readouterr().out.strip() == "3 run records checked, 0 problems"
    data = json.loads(checkpoint.read_text())
    data["heads"][REPO]["seq"] = 2  # an edited checkpoint no longer carries a valid signature
    checkpoint.write_text(json.dumps(data))
    assert main(verify) == 1
    assert "signature missing or not made by key" in capsys.readouterr().out


def test_signing_key_from_the_environment_is_never_stored(store_url: str, tmp_path: Path) -> None:
    generate(tmp_path / "k.key", tmp_path / "k.pub")
    pem = (tmp_path / "k.key").read_text()
    signer = load_signer(None, {"ANNEXA_SIGNING_KEY": pem})
    assert signer is not None
    store = HistoryStore(store_url)
    store.record(report("r1"), signer=signer)
    with store.connect() as connection:
        dump = json.dumps([list(r) for r in connection.execute(text("SELECT * FROM annexa_runs"))], default=str)
    secret_line = pem.splitlines()[1]
    assert secret_line not in dump and signer.key_id in dump


def test_a_store_from_before_migrations_is_refused_not_clobbered(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE annexa_runs (run_id TEXT PRIMARY KEY, body TEXT)")
        connection.execute("INSERT INTO annexa_runs VALUES ('old', '{}')")
    with pytest.raises(HistoryError, match="written by an annexa without migrations"):
        HistoryStore(f"sqlite:///{db}")
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT run_id FROM annexa_runs").fetchall() == [("old",)]


def test_verify_of_a_missing_postgres_database_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.history.conftest import postgres_url

    url = postgres_url().rsplit("/", 1)[0] + "/annexa_no_such_database"
    assert main(["history", "verify", "--history", url]) == 2
    assert 'database "annexa_no_such_database" does not exist' in capsys.readouterr().err
