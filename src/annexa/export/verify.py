"""``annexa export verify``: check an evidence bundle offline (file hashes, manifest signature, record chains)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from annexa.errors import AnnexaError
from annexa.export.bundle import BUNDLE_SCHEMA, MANIFEST, RECORDS, manifest_statement
from annexa.history.record import body_text
from annexa.history.signing import Verifier
from annexa.history.verify import check_chain


class BundleError(AnnexaError):
    """The file is not a readable evidence bundle."""


def verify_bundle(path: Path, verifier: Verifier | None) -> tuple[int, list[str]]:
    """(files and records checked, problems)."""
    problems: list[str] = []
    checked = 0
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleError(f"{path}: not a readable zip: {exc}") from None
    with zf:
        try:
            manifest = json.loads(zf.read(MANIFEST))
        except (KeyError, ValueError) as exc:
            raise BundleError(f"{path}: no readable {MANIFEST}: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("schema") != BUNDLE_SCHEMA:
            raise BundleError(f"{path}: {MANIFEST}: not an {BUNDLE_SCHEMA} manifest")
        files: dict[str, str] = manifest.get("files") or {}
        present = set(zf.namelist()) - {MANIFEST}
        for name in sorted(present - set(files)):
            problems.append(f"{name}: in the bundle but not in the manifest (added)")
        for name, want in sorted(files.items()):
            checked += 1
            if name not in present:
                problems.append(f"{name}: listed in the manifest but missing (deleted)")
                continue
            digest = hashlib.sha256()
            with zf.open(name) as member:
                for block in iter(lambda: member.read(1 << 20), b""):
                    digest.update(block)
            if digest.hexdigest() != want:
                problems.append(f"{name}: SHA-256 differs from the manifest (edited)")
        if verifier is not None and not verifier.verify(
            "manifest", manifest_statement(manifest), manifest.get("signature")
        ):
            problems.append(f"{MANIFEST}: signature missing or not made by key {verifier.key_id}")
        if RECORDS in present:
            count, chain_problems = _check_records(zf, manifest.get("chains") or {}, verifier)
            checked += count
            problems.extend(chain_problems)
    return checked, problems


def _check_records(zf: zipfile.ZipFile, chains: dict[str, Any], verifier: Verifier | None) -> tuple[int, list[str]]:
    by_repo: dict[str, list[dict[str, Any]]] = {}
    problems: list[str] = []
    count = 0
    with zf.open(RECORDS) as member:
        for number, raw in enumerate(member, 1):
            try:
                record = json.loads(raw)
                record["body"] = body_text(record["body"])
                by_repo.setdefault(str(record["repository"]), []).append(record)
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(f"{RECORDS} line {number}: not a record ({exc})")
    for repository in sorted(set(by_repo) | set(chains)):
        records = by_repo.get(repository, [])
        segment = chains.get(repository)
        if segment is None:
            problems.append(f"{repository}: records in {RECORDS} but no chain segment in the manifest")
            continue
        count += len(records)
        problems.extend(check_chain(repository, _rows(records), verifier, prev_hash=str(segment.get("prev_hash")),
                                    first_seq=int(segment["first_seq"])))
        last = records[-1] if records else None
        if last is None or last["seq"] != segment["last_seq"] or last["hash"] != segment.get("head_hash"):
            problems.append(f"{repository}: the manifest says records {segment['first_seq']}..{segment['last_seq']} "
                            f"ending in {str(segment.get('head_hash'))[:12]}; {RECORDS} does not end there "
                            "(records deleted or altered)")
    return count, problems


def _rows(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for r in records:
        yield {**_run_columns(r), **r}


def _run_columns(record: dict[str, Any]) -> dict[str, Any]:
    from annexa.history.record import run_fields

    try:
        return run_fields(json.loads(record["body"]))
    except (ValueError, AnnexaError):
        return {}
