"""Recompute chains, signatures and derived rows; compare with an external checkpoint.

The same chain check runs over a store and over the ``records.jsonl`` of an evidence bundle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from annexa.history.models import ChainHeadRow, FindingControlRow, FindingRow
from annexa.history.record import GENESIS, RecordError, chain_hash, finding_fields, head_statement, run_fields
from annexa.history.record import sha256_text as _sha
from annexa.history.signing import Verifier

if TYPE_CHECKING:
    from annexa.history.store import HistoryStore

RUN_DERIVED = ("run_id", "repository", "started_at", "verdict", "platform", "platform_run_id", "ref", "commit",
               "pull_request", "tool_version", "actor", "trigger", "policy_digest", "config_digest", "catalog_digest")


def check_chain(
    repository: str,
    rows: Iterable[Mapping[str, Any]],
    verifier: Verifier | None,
    *,
    prev_hash: str = GENESIS,
    first_seq: int = 1,
    derived: Mapping[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] | None = None,
) -> Iterator[str]:
    """Problems of one repository's records, in chain order; ``rows`` carry RunRow's columns (body as text).

    ``derived`` maps seq to the stored finding and finding-control rows, compared with the body when given.
    """
    expected_seq = prev_seq = first_seq
    last: Mapping[str, Any] | None = None
    signed_before = False
    for row in rows:
        where = f"{repository} record {row['seq']} (run {row['run_id']})"
        if row["seq"] != expected_seq:
            if row["seq"] > expected_seq:
                yield f"{where}: expected record {expected_seq}; records {expected_seq}..{row['seq'] - 1} are missing"
            else:
                yield f"{where}: expected record {expected_seq}; records are duplicated or reordered"
        body_sha = _sha(row["body"])
        if body_sha != row["body_sha256"]:
            yield f"{where}: the run record was edited (body hash mismatch)"
        if row["prev_hash"] != prev_hash:
            if last is None and prev_hash == GENESIS:
                yield f"{where}: does not start the chain (chain broken: previous hash is not the genesis hash)"
            else:
                yield f"{where}: does not follow record {prev_seq} (chain broken: previous hash differs)"
        expect = chain_hash(repository, row["seq"], row["prev_hash"], row["body_sha256"], row["run_id"],
                            row["recorded_at"])
        if row["hash"] != expect:
            yield f"{where}: its hash does not match its content, place or time (hash or seq altered)"
        yield from _signature(where, row, verifier)
        if verifier is not None and signed_before and not row["signature"]:
            yield f"{where}: unsigned, after signed records (appended without the signing key)"
        signed_before = signed_before or bool(row["signature"])
        if body_sha == row["body_sha256"]:
            yield from _derived(where, row, derived.get(row["seq"], ([], [])) if derived is not None else None)
        prev_hash, prev_seq, expected_seq, last = row["hash"], row["seq"], row["seq"] + 1, row
    if last is not None and verifier is not None and not last["signature"] and not signed_before:
        yield f"{repository} record {last['seq']} (run {last['run_id']}): the chain head is not signed"


def _signature(where: str, row: Mapping[str, Any], verifier: Verifier | None) -> Iterator[str]:
    key, signature = row["key_id"], row["signature"]
    if bool(key) != bool(signature):
        yield f"{where}: key id and signature must both be present or both absent (signature removed or altered)"
        return
    if verifier is None or not signature:
        return
    if not verifier.verify("head", head_statement(row["repository"], row["seq"], row["hash"]), signature):
        yield f"{where}: the signature is not valid for key {verifier.key_id}"
    elif key != verifier.key_id:
        yield f"{where}: key id {key} does not name the key that signed it ({verifier.key_id})"


def _derived(
    where: str, row: Mapping[str, Any], stored: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None
) -> Iterator[str]:
    try:
        body = json.loads(row["body"])
        fields = run_fields(body)
    except (ValueError, RecordError) as exc:
        yield f"{where}: the body is not a run record ({exc})"
        return
    changed = [name for name in RUN_DERIVED if fields[name] != row[name]]
    if changed:
        yield f"{where}: columns {', '.join(changed)} differ from the hashed body (edited)"
    if stored is None:
        return
    findings, controls = finding_fields(body, row["seq"])
    if _key(findings) != _key(stored[0]):
        yield f"{where}: its findings rows differ from the hashed body (edited, added or deleted)"
    if _key(controls) != _key(stored[1]):
        yield f"{where}: its finding-control rows differ from the hashed body (edited, added or deleted)"


def _key(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)


def verify_store(store: HistoryStore, verifier: Verifier | None) -> tuple[int, list[str]]:
    """Every chain of the store, the chain-head table and the normalised rows: (records checked, problems)."""
    problems: list[str] = []
    count = 0
    with store.connect() as connection:
        table_heads = {r.repository: r for r in connection.execute(select(ChainHeadRow))}
    for repository in store.repositories():
        derived = _stored_rows(store, repository)
        tally = _Tally()
        problems.extend(check_chain(repository, tally.rows(store.rows(repository)), verifier, derived=derived))
        count += tally.count
        last, seqs = tally.last, tally.seqs
        extra = sorted(set(derived) - seqs)
        if extra:
            problems.append(f"{repository}: findings rows of records {extra} whose run records are gone")
        head = table_heads.get(repository)
        if last is None:
            if head is not None:
                problems.append(f"{repository}: the chain head says record {head.seq}, but no records exist "
                                "(records deleted)")
        elif head is None:
            problems.append(f"{repository}: no chain-head row (deleted)")
        elif (head.seq, head.hash, head.run_id, head.updated_at) != (
            last["seq"], last["hash"], last["run_id"], last["recorded_at"]
        ):
            problems.append(f"{repository}: the chain head says record {head.seq} ({head.hash[:12]}, "
                            f"{head.updated_at}), the newest record is {last['seq']} ({last['hash'][:12]}, "
                            f"{last['recorded_at']}): records deleted or the head altered")
    return count, problems


class _Tally:
    """Counts the rows that pass through and keeps the last one and every seq."""

    def __init__(self) -> None:
        self.count = 0
        self.last: Mapping[str, Any] | None = None
        self.seqs: set[int] = set()

    def rows(self, rows: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
        for r in rows:
            self.count += 1
            self.last = r._mapping
            self.seqs.add(r.seq)
            yield r._mapping


def _stored_rows(store: HistoryStore, repository: str) -> dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    out: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    with store.connect() as connection:
        for r in connection.execute(select(*FindingRow.__table__.columns).where(FindingRow.repository == repository)):
            out.setdefault(r.seq, ([], []))[0].append(dict(r._mapping))
        for r in connection.execute(
            select(*FindingControlRow.__table__.columns).where(FindingControlRow.repository == repository)
        ):
            out.setdefault(r.seq, ([], []))[1].append(dict(r._mapping))
    return out
