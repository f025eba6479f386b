"""Questions over the normalised history: runs in a window, first seen, fixed at, per-control trends.

Every function takes a SQLAlchemy connection (``HistoryStore.connect()``) and answers from the runs and
findings tables with SQL, never by scanning record bodies. The export and the dashboard use these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from annexa.history.models import FindingControlRow, FindingRow, RunRow


@dataclass(frozen=True)
class Window:
    """Runs started on or after ``start`` and before ``end`` (UTC days), optionally of some repositories."""

    start: dt.date
    end: dt.date
    repositories: tuple[str, ...] = ()

    @property
    def lower(self) -> str:
        """ISO lower bound (inclusive)."""
        return self.start.isoformat()

    @property
    def upper(self) -> str:
        """ISO upper bound (exclusive): the day after ``end``."""
        return (self.end + dt.timedelta(days=1)).isoformat()

    def runs(self) -> Any:
        """The WHERE clause on annexa_runs."""
        clause = and_(RunRow.started_at >= self.lower, RunRow.started_at < self.upper)
        if self.repositories:
            clause = and_(clause, RunRow.repository.in_(self.repositories))
        return clause


RUN_COLUMNS = ("run_id", "repository", "seq", "started_at", "recorded_at", "verdict", "platform", "platform_run_id",
               "ref", "commit", "pull_request", "tool_version", "actor", "trigger", "policy_digest", "config_digest",
               "catalog_digest", "body_sha256", "prev_hash", "hash", "key_id", "signature")


def runs_in_window(connection: Connection, window: Window) -> list[dict[str, Any]]:
    """The runs of the window (no bodies), by repository and chain order."""
    columns = [getattr(RunRow, c) for c in RUN_COLUMNS]
    query = select(*columns).where(window.runs()).order_by(RunRow.repository, RunRow.seq)
    return [dict(r._mapping) for r in connection.execute(query)]


def window_seq_ranges(connection: Connection, window: Window) -> dict[str, tuple[int, int]]:
    """Per repository, the first and last record of the window."""
    query = (select(RunRow.repository, func.min(RunRow.seq), func.max(RunRow.seq))
             .where(window.runs()).group_by(RunRow.repository))
    return {r[0]: (r[1], r[2]) for r in connection.execute(query)}


def findings_in_window(
    connection: Connection, window: Window, controls: Sequence[str] = ()
) -> Iterator[dict[str, Any]]:
    """Every finding of every run of the window, streamed, with the run's start time and its controls."""
    controls_text = func.group_concat(FindingControlRow.control) if connection.dialect.name == "sqlite" else \
        func.string_agg(FindingControlRow.control, ",")
    per_finding = (
        select(FindingControlRow.run_id, FindingControlRow.fingerprint, controls_text.label("controls"))
        .group_by(FindingControlRow.run_id, FindingControlRow.fingerprint)
    )
    if controls:
        per_finding = per_finding.where(FindingControlRow.control.in_(controls))
    sub = per_finding.subquery()
    query = (
        select(*FindingRow.__table__.columns, RunRow.started_at, sub.c.controls)
        .join(RunRow, RunRow.run_id == FindingRow.run_id)
        .join(sub, and_(sub.c.run_id == FindingRow.run_id, sub.c.fingerprint == FindingRow.fingerprint),
              isouter=not controls)
        .where(window.runs())
        .order_by(FindingRow.repository, FindingRow.seq, FindingRow.fingerprint)
        .execution_options(yield_per=2000)
    )
    for row in connection.execute(query):
        item = dict(row._mapping)
        item["controls"] = ",".join(sorted((item["controls"] or "").split(","))).strip(",")
        yield item


def first_seen(connection: Connection, repository: str, fingerprints: Sequence[str] | None = None,
               status: str = "fail") -> dict[str, tuple[int, str]]:
    """Per fingerprint, the first record (seq, started_at) in the whole history where it had ``status``."""
    first = (select(FindingRow.fingerprint, func.min(FindingRow.seq).label("seq"))
             .where(FindingRow.repository == repository, FindingRow.status == status)
             .group_by(FindingRow.fingerprint))
    if fingerprints is not None:
        first = first.where(FindingRow.fingerprint.in_(list(fingerprints)))
    sub = first.subquery()
    query = select(sub.c.fingerprint, sub.c.seq, RunRow.started_at).join(
        RunRow, and_(RunRow.repository == repository, RunRow.seq == sub.c.seq))
    return {r.fingerprint: (r.seq, r.started_at) for r in connection.execute(query)}


def fixed_at(connection: Connection, repository: str, fingerprint: str) -> tuple[int, str] | None:
    """The first record after the fingerprint's latest failure that no longer fails it, or None if still failing.

    A finding that disappears (the file was fixed or removed) counts as fixed at the next run of the repository.
    """
    last_fail = connection.execute(
        select(func.max(FindingRow.seq)).where(FindingRow.repository == repository,
                                               FindingRow.fingerprint == fingerprint, FindingRow.status == "fail")
    ).scalar()
    if last_fail is None:
        return None
    row = connection.execute(
        select(RunRow.seq, RunRow.started_at).where(RunRow.repository == repository, RunRow.seq > last_fail)
        .order_by(RunRow.seq).limit(1)
    ).first()
    return (row.seq, row.started_at) if row else None


def _rollup() -> Any:
    fails = func.sum(case((FindingControlRow.status == "fail", 1), else_=0))
    unknowns = func.sum(case((FindingControlRow.status == "unknown", 1), else_=0))
    passes = func.sum(case((FindingControlRow.status.in_(("pass", "waived")), 1), else_=0))
    return case((fails > 0, "fail"), (unknowns > 0, "unknown"), (passes > 0, "pass"), else_="not_applicable")


def control_trend(connection: Connection, control: str, repository: str | None = None,
                  window: Window | None = None) -> list[dict[str, Any]]:
    """Per run, the rolled-up status of one control (fail > unknown > pass/waived > not applicable)."""
    query = (
        select(FindingControlRow.repository, FindingControlRow.seq, RunRow.started_at, _rollup().label("status"))
        .join(RunRow, RunRow.run_id == FindingControlRow.run_id)
        .where(FindingControlRow.control == control)
        .group_by(FindingControlRow.repository, FindingControlRow.seq, RunRow.started_at)
        .order_by(FindingControlRow.repository, FindingControlRow.seq)
    )
    if repository is not None:
        query = query.where(FindingControlRow.repository == repository)
    if window is not None:
        query = query.where(window.runs())
    return [dict(r._mapping) for r in connection.execute(query)]


def control_statuses(connection: Connection, window: Window, controls: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Per control and run of the window: the rolled-up status (one query for every control)."""
    query = (
        select(FindingControlRow.control, FindingControlRow.repository, FindingControlRow.seq,
               FindingControlRow.run_id, RunRow.started_at, _rollup().label("status"))
        .join(RunRow, RunRow.run_id == FindingControlRow.run_id)
        .where(window.runs())
        .group_by(FindingControlRow.control, FindingControlRow.repository, FindingControlRow.seq,
                  FindingControlRow.run_id, RunRow.started_at)
        .order_by(FindingControlRow.control, FindingControlRow.repository, FindingControlRow.seq)
    )
    if controls:
        query = query.where(FindingControlRow.control.in_(controls))
    return [dict(r._mapping) for r in connection.execute(query)]


def open_failures(connection: Connection, window: Window, controls: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Failures in the last run of each repository of the window, with their controls and first-seen record."""
    last = (select(RunRow.repository, func.max(RunRow.seq).label("seq")).where(window.runs())
            .group_by(RunRow.repository).subquery())
    query = (
        select(FindingRow.repository, FindingRow.seq, FindingRow.fingerprint, FindingRow.rule, FindingRow.severity,
               FindingRow.path, FindingRow.line, FindingRow.message, FindingControlRow.control)
        .join(last, and_(last.c.repository == FindingRow.repository, last.c.seq == FindingRow.seq))
        .join(FindingControlRow, and_(FindingControlRow.run_id == FindingRow.run_id,
                                      FindingControlRow.fingerprint == FindingRow.fingerprint))
        .where(FindingRow.status == "fail")
        .order_by(FindingControlRow.control, FindingRow.repository, FindingRow.rule, FindingRow.path, FindingRow.line)
    )
    if controls:
        query = query.where(FindingControlRow.control.in_(controls))
    rows = [dict(r._mapping) for r in connection.execute(query)]
    by_repo: dict[str, set[str]] = {}
    for r in rows:
        by_repo.setdefault(r["repository"], set()).add(r["fingerprint"])
    seen = {repo: first_seen(connection, repo, sorted(fps)) for repo, fps in by_repo.items()}
    for r in rows:
        seq, started = seen[r["repository"]].get(r["fingerprint"], (r["seq"], ""))
        r["first_seen_seq"], r["first_seen_at"] = seq, started
    return rows


def waivers_in_window(connection: Connection, window: Window, controls: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Each waiver applied in the window (rule, path, approver, expiry, ticket) with the runs it covered."""
    query = (
        select(FindingRow.repository, FindingRow.rule, FindingRow.path, FindingRow.waiver_ticket,
               FindingRow.waiver_approved_by, FindingRow.waiver_requested_by, FindingRow.waiver_expires,
               FindingRow.waiver_risk, FindingRow.waiver_justification,
               func.count(func.distinct(FindingRow.run_id)).label("runs"),
               func.min(RunRow.started_at).label("first_applied"), func.max(RunRow.started_at).label("last_applied"))
        .join(RunRow, RunRow.run_id == FindingRow.run_id)
        .where(window.runs(), FindingRow.status == "waived")
        .group_by(FindingRow.repository, FindingRow.rule, FindingRow.path, FindingRow.waiver_ticket,
                  FindingRow.waiver_approved_by, FindingRow.waiver_requested_by, FindingRow.waiver_expires,
                  FindingRow.waiver_risk, FindingRow.waiver_justification)
        .order_by(FindingRow.repository, FindingRow.rule, FindingRow.path)
    )
    rows = [dict(r._mapping) for r in connection.execute(query)]
    touched = waiver_controls(connection, window)
    for r in rows:
        r["controls"] = sorted(touched.get((r["repository"], r["rule"], r["path"]), set()))
    return [r for r in rows if not controls or set(r["controls"]) & set(controls)]


def waiver_controls(connection: Connection, window: Window) -> dict[tuple[str, str, str | None], set[str]]:
    """Which controls each waived (repository, rule, path) touches in the window."""
    query = (
        select(FindingRow.repository, FindingRow.rule, FindingRow.path, FindingControlRow.control).distinct()
        .join(RunRow, RunRow.run_id == FindingRow.run_id)
        .join(FindingControlRow, and_(FindingControlRow.run_id == FindingRow.run_id,
                                      FindingControlRow.fingerprint == FindingRow.fingerprint))
        .where(window.runs(), FindingRow.status == "waived")
    )
    out: dict[tuple[str, str, str | None], set[str]] = {}
    for r in connection.execute(query):
        out.setdefault((r.repository, r.rule, r.path), set()).add(r.control)
    return out


def rule_outcomes(connection: Connection, window: Window, controls: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Per repository and rule: how many findings of each status the window's runs had, and the last run."""
    query = (
        select(FindingRow.repository, FindingRow.rule, FindingRow.status, func.count().label("count"),
               func.max(RunRow.started_at).label("last_at"), func.max(FindingRow.run_id).label("any_run"))
        .join(RunRow, RunRow.run_id == FindingRow.run_id)
        .where(window.runs())
        .group_by(FindingRow.repository, FindingRow.rule, FindingRow.status)
        .order_by(FindingRow.repository, FindingRow.rule, FindingRow.status)
    )
    if controls:
        covered = select(FindingControlRow.run_id).where(FindingControlRow.control.in_(controls),
                                                         FindingControlRow.fingerprint == FindingRow.fingerprint,
                                                         FindingControlRow.run_id == FindingRow.run_id)
        query = query.where(covered.exists())
    return [dict(r._mapping) for r in connection.execute(query)]


def rule_controls(connection: Connection, window: Window) -> dict[str, set[str]]:
    """Which controls each rule evidenced in the window."""
    query = (select(FindingRow.rule, FindingControlRow.control).distinct()
             .join(FindingControlRow, and_(FindingControlRow.run_id == FindingRow.run_id,
                                           FindingControlRow.fingerprint == FindingRow.fingerprint))
             .join(RunRow, RunRow.run_id == FindingRow.run_id).where(window.runs()))
    out: dict[str, set[str]] = {}
    for r in connection.execute(query):
        out.setdefault(r.rule, set()).add(r.control)
    return out
