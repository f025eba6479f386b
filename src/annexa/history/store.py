"""Run records in SQLite or PostgreSQL (SQLAlchemy + alembic), append-only and hash-chained per repository.

Appends are serialised per repository inside the database: ``BEGIN IMMEDIATE`` on SQLite (one writer at a
time), ``pg_advisory_xact_lock`` on the repository plus a row lock on its chain head on PostgreSQL; a lost
race is retried a bounded number of times. The schema is created and upgraded by the packaged alembic
migrations when a store is opened for writing; opening for verification never creates anything.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, delete, event, func, insert, inspect, select, text, update
from sqlalchemy.engine import Connection, Row, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError

from annexa.errors import AnnexaError
from annexa.history import DEFAULT_URL
from annexa.history.models import ChainHeadRow, FindingControlRow, FindingRow, RunRow
from annexa.history.record import (
    GENESIS,
    RunContext,
    body_text,
    chain_hash,
    finalise_body,
    finding_fields,
    head_statement,
    now,
    run_fields,
    sha256_text,
)
from annexa.history.signing import Signer, Verifier
from annexa.report import Report

VERSION_TABLE = "annexa_alembic_version"
RETRIES = 8


class HistoryError(AnnexaError):
    """The history store cannot be opened or written."""


@dataclass(frozen=True)
class Recorded:
    """Where a run landed in its repository's chain (``duplicate`` when the run id was already stored)."""

    run_id: str
    repository: str
    seq: int
    hash: str
    duplicate: bool = False


@dataclass(frozen=True)
class Head:
    """The newest record of one repository's chain."""

    repository: str
    seq: int
    hash: str
    recorded_at: str
    key_id: str | None
    signature: str | None


def migrations_config(connection: Connection | None = None) -> Config:
    """An alembic Config built in code: the packaged migrations, no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    config.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration revision shipped."""
    return ScriptDirectory.from_config(migrations_config()).get_current_head()


def _lock_key(repository: str) -> int:
    """A signed 64-bit advisory lock key for a repository."""
    return int.from_bytes(hashlib.sha256(repository.encode()).digest()[:8], "big", signed=True)


_MIGRATION_LOCK = _lock_key("annexa:migrations")


class HistoryStore:
    """A history database at a SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://...``).

    ``create=False`` (verification, export) refuses a store that does not exist instead of creating it empty.
    """

    def __init__(self, url: str = DEFAULT_URL, *, create: bool = True) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise HistoryError(f"history store {_safe(url)}: not a database URL ({exc})") from None
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                path = Path(database)
                if not path.exists():
                    if not create:
                        raise HistoryError(f"history store {_safe(url)} does not exist ({path}); nothing to read")
                    path.parent.mkdir(parents=True, exist_ok=True)
        try:
            kwargs: dict[str, Any] = {}
            if self.dialect == "sqlite":
                kwargs["connect_args"] = {"timeout": 60}
            self.engine: Engine = create_engine(url, **kwargs)
            if self.dialect == "sqlite":
                _sqlite_immediate(self.engine)
            if create:
                self._migrate()
            else:
                self._check_schema()
        except HistoryError:
            raise
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise HistoryError(f"history store {_safe(url)} cannot be opened: {_brief(exc)}") from None

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` on SQLite (the write lock is taken up front)."""
        with self.engine.connect().execution_options(annexa_write=True) as connection, connection.begin():
            yield connection

    # --- schema -----------------------------------------------------------------------------------------

    def _current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()

    def _migrate(self) -> None:
        """Upgrade to the newest revision, one process at a time."""
        want = head_revision()
        current = self._current_revision()
        if current == want:
            return
        if current is None and "annexa_runs" in inspect(self.engine).get_table_names():
            raise HistoryError(
                f"history store {_safe(self.url)} was written by an annexa without migrations (annexa_runs exists, "
                f"no {VERSION_TABLE}); verify it with that version, then start a new store"
            )
        with self._write() as connection:
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            command.upgrade(migrations_config(connection), "head")

    def _check_schema(self) -> None:
        current = self._current_revision()
        if current is None:
            raise HistoryError(f"history store {_safe(self.url)} holds no annexa history (no tables)")
        if current != head_revision():
            raise HistoryError(
                f"history store {_safe(self.url)} is at schema revision {current}, this annexa expects "
                f"{head_revision()}; record a run with this version to upgrade it"
            )

    # --- appending --------------------------------------------------------------------------------------

    def record(
        self,
        report: Report,
        *,
        actor: str | None = None,
        trigger: str | None = None,
        platform_run_id: str | None = None,
        policy_digest: str | None = None,
        config_digest: str | None = None,
        catalog_digest: str | None = None,
        signer: Signer | None = None,
    ) -> Recorded:
        """Append the run record of ``report`` to its repository's chain."""
        context = RunContext(actor, trigger, platform_run_id, policy_digest, config_digest, catalog_digest)
        return self.append(finalise_body(report.to_json(), context), signer=signer)

    def append(self, body: Mapping[str, Any], *, signer: Signer | None = None) -> Recorded:
        """Append a finalised record body (from ``finalise_body`` or an artifact); a known run id is skipped."""
        run = run_fields(body)
        text_ = body_text(body)
        findings, controls = finding_fields(body, 0)
        delay = 0.02
        for attempt in range(RETRIES):
            try:
                return self._append_once(run, text_, findings, controls, signer)
            except (OperationalError, DBAPIError) as exc:
                if attempt == RETRIES - 1 or not _retryable(exc):
                    raise HistoryError(f"run {run['run_id']} could not be recorded: {_brief(exc)}") from None
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    def _append_once(
        self,
        run: dict[str, Any],
        text_: str,
        findings: list[dict[str, Any]],
        controls: list[dict[str, Any]],
        signer: Signer | None,
    ) -> Recorded:
        repository = run["repository"]
        with self._write() as connection:
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(repository)})
            existing = connection.execute(
                select(RunRow.repository, RunRow.seq, RunRow.hash).where(RunRow.run_id == run["run_id"])
            ).first()
            if existing is not None:
                return Recorded(run["run_id"], existing.repository, existing.seq, existing.hash, duplicate=True)
            head_query = select(ChainHeadRow).where(ChainHeadRow.repository == repository)
            if self.dialect == "postgresql":
                head_query = head_query.with_for_update()
            head = connection.execute(head_query).first()
            prev_hash, seq = (head.hash, head.seq + 1) if head else (GENESIS, 1)
            recorded_at = now()
            body_sha = sha256_text(text_)
            hash_ = chain_hash(repository, seq, prev_hash, body_sha, run["run_id"], recorded_at)
            key_id = signature = None
            if signer is not None:
                key_id, signature = signer.key_id, signer.sign("head", head_statement(repository, seq, hash_))
            connection.execute(insert(RunRow).values(
                **run, seq=seq, recorded_at=recorded_at, body=text_, body_sha256=body_sha, prev_hash=prev_hash,
                hash=hash_, key_id=key_id, signature=signature,
            ))
            if findings:
                connection.execute(insert(FindingRow), [{**f, "seq": seq} for f in findings])
            if controls:
                connection.execute(insert(FindingControlRow), [{**c, "seq": seq} for c in controls])
            values = {"seq": seq, "hash": hash_, "run_id": run["run_id"], "updated_at": recorded_at}
            if head is None:
                connection.execute(insert(ChainHeadRow).values(repository=repository, **values))
            else:
                connection.execute(update(ChainHeadRow).where(ChainHeadRow.repository == repository).values(**values))
        return Recorded(run["run_id"], repository, seq, hash_)

    # --- reading ----------------------------------------------------------------------------------------

    def repositories(self) -> list[str]:
        """Every repository with at least one record, sorted."""
        with self.engine.connect() as connection:
            names = set(connection.scalars(select(RunRow.repository).distinct()))
            names |= set(connection.scalars(select(ChainHeadRow.repository)))
        return sorted(names)

    def heads(self) -> dict[str, Head]:
        """The newest record of every repository (from the records themselves, not the chain-head table)."""
        latest = select(RunRow.repository, func.max(RunRow.seq).label("seq")).group_by(RunRow.repository).subquery()
        query = select(RunRow.repository, RunRow.seq, RunRow.hash, RunRow.recorded_at, RunRow.key_id,
                       RunRow.signature).join(latest, (RunRow.repository == latest.c.repository)
                                              & (RunRow.seq == latest.c.seq))
        with self.engine.connect() as connection:
            return {r.repository: Head(r.repository, r.seq, r.hash, r.recorded_at, r.key_id, r.signature)
                    for r in connection.execute(query)}

    def rows(self, repository: str, first_seq: int = 1, last_seq: int | None = None) -> Iterator[Row[Any]]:
        """Records of one repository in chain order (rows with RunRow's columns)."""
        with self.engine.connect() as connection:
            query = select(*RunRow.__table__.columns).where(RunRow.repository == repository, RunRow.seq >= first_seq)
            if last_seq is not None:
                query = query.where(RunRow.seq <= last_seq)
            yield from connection.execute(query.order_by(RunRow.seq).execution_options(yield_per=200))

    def bodies(self) -> Iterator[dict[str, Any]]:
        """Every run's report JSON (the record body's ``report``), each repository's in chain order."""
        for repository in self.repositories():
            for row in self.rows(repository):
                body = json.loads(row.body)
                yield dict(body.get("report") or body)

    def connect(self) -> Connection:
        """A read connection (for the query functions in ``annexa.history.queries``)."""
        return self.engine.connect()

    # --- verifying --------------------------------------------------------------------------------------

    def verify(self, verifier: Verifier | None = None) -> tuple[int, list[str]]:
        """Recompute every chain: the number of records checked, and every problem found (first break first)."""
        from annexa.history.verify import verify_store

        return verify_store(self, verifier)

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def delete_all(store: HistoryStore) -> None:
    """Empty a store (tests and benchmarks only)."""
    with store._write() as connection:
        for table in (FindingControlRow, FindingRow, RunRow, ChainHeadRow):
            connection.execute(delete(table))


def _sqlite_immediate(engine: Engine) -> None:
    """SQLite: WAL journal, and every transaction takes the write lock at BEGIN (no upgrade deadlocks)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("annexa_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _retryable(exc: DBAPIError) -> bool:
    message = str(exc.orig if exc.orig is not None else exc).lower()
    code = getattr(exc.orig, "sqlstate", None)
    return (
        "database is locked" in message
        or "database is busy" in message
        or code in {"40001", "40P01", "23505"}
        or "deadlock" in message
        or "could not serialize" in message
        or "unique" in message
    )


def _brief(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig).strip().splitlines()[0]
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _safe(url: str) -> str:
    """The URL without a password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"
