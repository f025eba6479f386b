"""Run records in SQLite or PostgreSQL (SQLAlchemy), each chained to the previous one of its repository.

A record's hash is ``sha256(previous hash + sha256(canonical JSON body))``; editing, deleting or reordering any
record breaks every hash after it, which ``verify`` reports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint, create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from annexa.errors import AnnexaError
from annexa.redact import redact_json
from annexa.report import Report

DEFAULT_URL = "sqlite:///.annexa/history.db"
GENESIS = "0" * 64


class HistoryError(AnnexaError):
    """The history store cannot be opened or written."""


class _Base(DeclarativeBase):
    pass


class RunRow(_Base):
    """One run record."""

    __tablename__ = "annexa_runs"
    __table_args__ = (UniqueConstraint("repository", "seq"),)

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    repository: Mapped[str] = mapped_column(String(512), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[str] = mapped_column(String(40))
    verdict: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class Recorded:
    """Where a run landed in its repository's chain."""

    run_id: str
    repository: str
    seq: int
    hash: str


def canonical(body: dict[str, Any]) -> str:
    """The exact text that is hashed: sorted keys, no insignificant white space."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, body_sha256: str) -> str:
    """The hash of a record given the previous record's hash."""
    return hashlib.sha256(f"{prev_hash}{body_sha256}".encode()).hexdigest()


class HistoryStore:
    """A history database at a SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://...``)."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = create_engine(url)
            _Base.metadata.create_all(self.engine)
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise HistoryError(f"history store {_safe(url)} cannot be opened: {exc}") from exc

    def record(self, report: Report) -> Recorded:
        """Append the run record of ``report`` to its repository's chain."""
        body = canonical(redact_json(report.to_json()))
        body_sha = hashlib.sha256(body.encode()).hexdigest()
        repository = report.run.repository
        try:
            with Session(self.engine) as session, session.begin():
                last = session.scalars(
                    select(RunRow).where(RunRow.repository == repository).order_by(RunRow.seq.desc()).limit(1)
                ).first()
                prev_hash, seq = (last.hash, last.seq + 1) if last else (GENESIS, 1)
                row = RunRow(
                    run_id=report.run.id, repository=repository, seq=seq, started_at=report.run.started_at,
                    verdict=report.verdict, body=body, body_sha256=body_sha, prev_hash=prev_hash,
                    hash=chain_hash(prev_hash, body_sha),
                )
                session.add(row)
                recorded = Recorded(row.run_id, repository, seq, row.hash)
            return recorded
        except SQLAlchemyError as exc:
            raise HistoryError(f"run {report.run.id} could not be recorded: {exc}") from exc

    def verify(self) -> tuple[int, list[str]]:
        """Recompute every chain: the number of records checked, and every gap or edit found."""
        problems: list[str] = []
        count = 0
        with Session(self.engine) as session:
            repositories = session.scalars(select(RunRow.repository).distinct().order_by(RunRow.repository)).all()
            for repository in repositories:
                prev_hash, expected_seq = GENESIS, 1
                rows = session.scalars(select(RunRow).where(RunRow.repository == repository).order_by(RunRow.seq))
                for row in rows:
                    count += 1
                    where = f"{repository} record {row.seq} (run {row.run_id})"
                    if row.seq != expected_seq:
                        problems.append(f"{where}: expected record {expected_seq}; records are missing")
                    if hashlib.sha256(row.body.encode()).hexdigest() != row.body_sha256:
                        problems.append(f"{where}: the run record was edited (body hash mismatch)")
                    if row.prev_hash != prev_hash:
                        problems.append(f"{where}: does not follow the previous record (chain broken)")
                    if row.hash != chain_hash(row.prev_hash, row.body_sha256):
                        problems.append(f"{where}: its hash was altered")
                    prev_hash, expected_seq = row.hash, row.seq + 1
        return count, problems


def _safe(url: str) -> str:
    """The URL without a password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"
