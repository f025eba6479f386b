"""The history tables: runs chained per repository, their findings normalised, one chain head per repository.

The migrations under ``migrations/versions`` create exactly these tables; a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (migrations depend on them)."""

    metadata = MetaData(naming_convention=NAMING)


class RunRow(Base):
    """One run record: its chain position, the columns queries filter on, and the hashed body."""

    __tablename__ = "annexa_runs"
    __table_args__ = (
        UniqueConstraint("repository", "seq"),
        Index("ix_annexa_runs_repository_started_at", "repository", "started_at"),
    )

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    repository: Mapped[str] = mapped_column(String(512))
    seq: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[str] = mapped_column(String(40))
    verdict: Mapped[str] = mapped_column(String(8))
    platform: Mapped[str] = mapped_column(String(32))
    platform_run_id: Mapped[str | None] = mapped_column(String(256))
    ref: Mapped[str | None] = mapped_column(String(512))
    commit: Mapped[str | None] = mapped_column(String(64))
    pull_request: Mapped[int | None] = mapped_column(Integer)
    tool_version: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(256))
    trigger: Mapped[str | None] = mapped_column(String(64))
    policy_digest: Mapped[str | None] = mapped_column(String(80))
    config_digest: Mapped[str | None] = mapped_column(String(80))
    catalog_digest: Mapped[str | None] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(128))


class FindingRow(Base):
    """One finding of one run, keyed by fingerprint and run (first seen / fixed at are queries over these)."""

    __tablename__ = "annexa_findings"
    __table_args__ = (
        Index("ix_annexa_findings_fingerprint_repository_seq", "fingerprint", "repository", "seq"),
        Index("ix_annexa_findings_repository_seq", "repository", "seq"),
    )

    run_id: Mapped[str] = mapped_column(ForeignKey("annexa_runs.run_id"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(80), primary_key=True)
    repository: Mapped[str] = mapped_column(String(512))
    seq: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    path: Mapped[str | None] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer)
    introduced: Mapped[bool | None] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(Text)
    waiver_ticket: Mapped[str | None] = mapped_column(String(256))
    waiver_approved_by: Mapped[str | None] = mapped_column(String(256))
    waiver_requested_by: Mapped[str | None] = mapped_column(String(256))
    waiver_expires: Mapped[str | None] = mapped_column(String(40))
    waiver_risk: Mapped[str | None] = mapped_column(String(64))
    waiver_justification: Mapped[str | None] = mapped_column(Text)


class FindingControlRow(Base):
    """Which Annex A controls a finding evidences (per-control trends join through here)."""

    __tablename__ = "annexa_finding_controls"
    __table_args__ = (Index("ix_annexa_finding_controls_control_repository_seq", "control", "repository", "seq"),)

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(80), primary_key=True)
    control: Mapped[str] = mapped_column(String(32), primary_key=True)
    repository: Mapped[str] = mapped_column(String(512))
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))


class ChainHeadRow(Base):
    """The newest record of each repository's chain; appends lock this row (PostgreSQL) to serialise."""

    __tablename__ = "annexa_chain_heads"

    repository: Mapped[str] = mapped_column(String(512), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[str] = mapped_column(String(40))
