"""Run records: the body that is hashed, the chain arithmetic, the CI artifact file.

``finalise_body`` is the one place where a record body is built before it is hashed and stored: anything that
must be removed from stored evidence (the redaction gate) is applied there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annexa import __version__
from annexa.errors import AnnexaError
from annexa.history.signing import Signer, Verifier, canonical
from annexa.redact import redact_json

RECORD_SCHEMA = "annexa.record/v1"
ARTIFACT_SCHEMA = "annexa.record-artifact/v1"
ARTIFACT_NAME = "annexa-record.json"
GENESIS = "0" * 64


class RecordError(AnnexaError):
    """A run record or record artifact is malformed."""


@dataclass(frozen=True)
class RunContext:
    """What a run record says besides the report: who and what started the run, and what it ran with."""

    actor: str | None = None
    trigger: str | None = None
    platform_run_id: str | None = None
    policy_digest: str | None = None
    config_digest: str | None = None
    catalog_digest: str | None = None


def sha256_text(text: str) -> str:
    """Hex SHA-256 of UTF-8 text."""
    return hashlib.sha256(text.encode()).hexdigest()


def digest_files(paths: Iterable[Path]) -> str | None:
    """``sha256:`` over the names and bytes of files (sorted), or None when there are none."""
    digest = hashlib.sha256()
    found = False
    for path in sorted(paths):
        if path.is_file():
            found = True
            digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return f"sha256:{digest.hexdigest()}" if found else None


def policy_set_digest(report_json: Mapping[str, Any]) -> str:
    """``sha256:`` over the id, version and digest of every policy that ran."""
    items = sorted((p["id"], p["version"], p["digest"]) for p in report_json.get("policies", []))
    return "sha256:" + sha256_text(canonical(items))


def finalise_body(report_json: Mapping[str, Any], context: RunContext) -> dict[str, Any]:
    """The run record body exactly as it will be hashed and stored: THE place for a redaction gate."""
    return {
        "schema": RECORD_SCHEMA,
        "report": redact_json(dict(report_json)),
        "context": {
            "tool_version": str(report_json.get("tool", {}).get("version") or __version__),
            "actor": context.actor,
            "trigger": context.trigger,
            "platform_run_id": context.platform_run_id,
            "policy_digest": context.policy_digest or policy_set_digest(report_json),
            "config_digest": context.config_digest,
            "catalog_digest": context.catalog_digest,
        },
    }


def body_text(body: Mapping[str, Any]) -> str:
    """The canonical text of a body (what ``body_sha256`` is over)."""
    return canonical(body)


def chain_hash(repository: str, seq: int, prev_hash: str, body_sha256: str, run_id: str, recorded_at: str) -> str:
    """The hash of a record: binds its place (repository, seq), its predecessor, its body and when it was stored."""
    statement = {
        "repository": repository,
        "seq": seq,
        "prev": prev_hash,
        "body_sha256": body_sha256,
        "run_id": run_id,
        "recorded_at": recorded_at,
    }
    return sha256_text(canonical(statement))


def head_statement(repository: str, seq: int, hash_: str) -> dict[str, Any]:
    """What a chain-head signature signs."""
    return {"repository": repository, "seq": seq, "hash": hash_}


def now() -> str:
    """The current UTC time, ISO 8601 with microseconds (record times must order appends)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def run_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """The queryable run columns, all derived from the body (``verify`` recomputes and compares them)."""
    report = body.get("report")
    if body.get("schema") != RECORD_SCHEMA or not isinstance(report, Mapping):
        raise RecordError(f"not an {RECORD_SCHEMA} body")
    run = report.get("run") or {}
    context = body.get("context") or {}
    try:
        return {
            "run_id": str(run["id"]),
            "repository": str(run["repository"]),
            "started_at": str(run["started_at"]),
            "verdict": str(report["verdict"]),
            "platform": str(run.get("platform") or "local"),
            "platform_run_id": context.get("platform_run_id"),
            "ref": run.get("ref"),
            "commit": run.get("commit"),
            "pull_request": run.get("pull_request"),
            "tool_version": str(context.get("tool_version") or ""),
            "actor": context.get("actor"),
            "trigger": context.get("trigger"),
            "policy_digest": context.get("policy_digest"),
            "config_digest": context.get("config_digest"),
            "catalog_digest": context.get("catalog_digest"),
        }
    except KeyError as exc:
        raise RecordError(f"run record body lacks {exc.args[0]!r}") from None


def finding_fields(body: Mapping[str, Any], seq: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The normalised finding rows and finding-control rows of a body."""
    run = run_fields(body)
    findings: list[dict[str, Any]] = []
    controls: list[dict[str, Any]] = []
    for f in body["report"].get("findings", []):
        location = f.get("location") or {}
        waiver = (f.get("evidence") or {}).get("waiver") if f.get("status") == "waived" else None
        waiver = waiver if isinstance(waiver, Mapping) else {}
        findings.append({
            "run_id": run["run_id"],
            "fingerprint": str(f["fingerprint"]),
            "repository": run["repository"],
            "seq": seq,
            "rule": str(f["rule"]),
            "status": str(f["status"]),
            "severity": str(f["severity"]),
            "path": location.get("path"),
            "line": location.get("line"),
            "introduced": f.get("introduced"),
            "message": str(f.get("message") or ""),
            "waiver_ticket": _opt(waiver.get("ticket")),
            "waiver_approved_by": _opt(waiver.get("approved_by")),
            "waiver_requested_by": _opt(waiver.get("requested_by")),
            "waiver_expires": _opt(waiver.get("expires")),
            "waiver_risk": _opt(waiver.get("risk")),
            "waiver_justification": _opt(waiver.get("justification")),
        })
        for control in sorted(set(f.get("controls") or [])):
            controls.append({
                "run_id": run["run_id"],
                "fingerprint": str(f["fingerprint"]),
                "control": str(control),
                "repository": run["repository"],
                "seq": seq,
                "status": str(f["status"]),
            })
    return findings, controls


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def write_artifact(path: Path, body: Mapping[str, Any], signer: Signer | None = None) -> Path:
    """Write a self-contained record artifact (body plus its digest, signed when a key is given)."""
    text = body_text(body)
    digest = sha256_text(text)
    artifact: dict[str, Any] = {"schema": ARTIFACT_SCHEMA, "body_sha256": digest, "body": body}
    if signer is not None:
        artifact["key_id"] = signer.key_id
        artifact["signature"] = signer.sign("record-artifact", {"body_sha256": digest})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(artifact, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_artifact(path: Path, verifier: Verifier | None = None) -> dict[str, Any]:
    """The body of a record artifact, after checking its digest (and signature when a public key is given)."""
    try:
        artifact = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RecordError(f"{path}: cannot read the record artifact: {exc}") from None
    if not isinstance(artifact, dict) or artifact.get("schema") != ARTIFACT_SCHEMA:
        raise RecordError(f"{path}: schema: not an {ARTIFACT_SCHEMA} file")
    body = artifact.get("body")
    if not isinstance(body, dict):
        raise RecordError(f"{path}: body: missing")
    digest = sha256_text(body_text(body))
    if digest != artifact.get("body_sha256"):
        raise RecordError(f"{path}: body_sha256: the body was changed after it was written")
    if verifier is not None and not verifier.verify(
        "record-artifact", {"body_sha256": digest}, artifact.get("signature")
    ):
        raise RecordError(f"{path}: signature: missing or not made by key {verifier.key_id}")
    run_fields(body)
    return body
