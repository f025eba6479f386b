"""Signed checkpoints: the chain heads of a store at one moment, kept outside the store (a CI artifact).

A checkpoint anchors the newest records: deleting records after it is written, or rewriting any record up to
it, no longer matches the hash it holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from annexa.errors import AnnexaError
from annexa.history.record import now
from annexa.history.signing import Signer, Verifier
from annexa.history.store import HistoryStore

CHECKPOINT_SCHEMA = "annexa.checkpoint/v1"


class CheckpointError(AnnexaError):
    """A checkpoint file cannot be read or is malformed."""


def make_checkpoint(store: HistoryStore, signer: Signer | None) -> dict[str, Any]:
    """The store's chain heads now, signed when a key is given."""
    heads = {
        h.repository: {"seq": h.seq, "hash": h.hash, "recorded_at": h.recorded_at}
        for h in sorted(store.heads().values(), key=lambda h: h.repository)
    }
    checkpoint: dict[str, Any] = {"schema": CHECKPOINT_SCHEMA, "created_at": now(), "heads": heads}
    if signer is not None:
        checkpoint["key_id"] = signer.key_id
        checkpoint["signature"] = signer.sign("checkpoint", _statement(checkpoint))
    return checkpoint


def _statement(checkpoint: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in checkpoint.items() if k not in ("signature", "key_id")}


def write_checkpoint(path: Path, checkpoint: dict[str, Any]) -> None:
    """Write a checkpoint file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(checkpoint, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Read and shape-check a checkpoint file."""
    try:
        checkpoint = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint: {exc}") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("schema") != CHECKPOINT_SCHEMA:
        raise CheckpointError(f"{path}: schema: not an {CHECKPOINT_SCHEMA} file")
    heads = checkpoint.get("heads")
    if not isinstance(heads, dict) or not all(
        isinstance(h, dict) and isinstance(h.get("seq"), int) and isinstance(h.get("hash"), str)
        for h in heads.values()
    ):
        raise CheckpointError(f"{path}: heads: expected {{repository: {{seq, hash, recorded_at}}}}")
    return checkpoint


def check_checkpoint(store: HistoryStore, checkpoint: dict[str, Any], verifier: Verifier | None) -> list[str]:
    """Problems between a checkpoint and the store: a bad signature, a head that is gone or different."""
    problems: list[str] = []
    created = checkpoint.get("created_at", "?")
    if verifier is not None and not verifier.verify(
        "checkpoint", _statement(checkpoint), checkpoint.get("signature")
    ):
        problems.append(f"checkpoint of {created}: signature missing or not made by key {verifier.key_id}")
    heads = store.heads()
    for repository, want in sorted(checkpoint["heads"].items()):
        head = heads.get(repository)
        seq, hash_ = want["seq"], want["hash"]
        if head is None:
            problems.append(f"{repository}: the checkpoint of {created} has record {seq}; the store has no records "
                            "(all deleted)")
            continue
        if head.seq < seq:
            problems.append(f"{repository}: the checkpoint of {created} has record {seq}; the store ends at record "
                            f"{head.seq} (records {head.seq + 1}..{seq} deleted)")
            continue
        stored = next(iter(store.rows(repository, seq, seq)), None)
        if stored is None:
            problems.append(f"{repository} record {seq}: in the checkpoint of {created}, missing from the store")
        elif stored.hash != hash_:
            problems.append(f"{repository} record {seq}: hash {stored.hash[:12]} differs from the checkpoint of "
                            f"{created} ({hash_[:12]}): the chain up to it was rewritten")
    return problems
