"""``annexa export``: write one evidence bundle (zip) for a date window from the history store.

Every file is streamed into the zip while its SHA-256 is computed; ``manifest.json`` lists the hashes, the
window's chain segments (first record, its predecessor's hash, last record and its head signature) and is
signed with the signing key when one is given.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from annexa import __version__
from annexa.controls import control_title
from annexa.export.html import render_html
from annexa.export.oscal import assessment_results
from annexa.history import queries
from annexa.history.record import now
from annexa.history.signing import Signer
from annexa.history.store import HistoryStore

BUNDLE_SCHEMA = "annexa.evidence/v1"
MANIFEST = "manifest.json"
RECORDS = "records.jsonl"
FINDING_COLUMNS = ("repository", "seq", "run_id", "started_at", "fingerprint", "rule", "status", "severity", "path",
                   "line", "introduced", "controls", "message", "first_failed_at", "waiver_ticket",
                   "waiver_approved_by", "waiver_expires")
WAIVER_COLUMNS = ("repository", "rule", "path", "controls", "ticket", "approved_by", "requested_by", "expires", "risk",
                  "justification", "runs", "first_applied", "last_applied")
RECORD_KEYS = ("run_id", "repository", "seq", "recorded_at", "prev_hash", "hash", "body_sha256", "key_id", "signature")


@dataclass(frozen=True)
class ExportRequest:
    """What to export: UTC days ``start``..``end`` inclusive, optionally some repositories and controls."""

    start: dt.date
    end: dt.date
    repositories: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportSummary:
    """What went into a bundle."""

    runs: int
    findings: int
    controls: int
    files: Mapping[str, str]


class _Hashing(io.RawIOBase):
    """A write-only stream that hashes what passes through to a zip member."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = bytes(data)
        self.digest.update(view)
        self.target.write(view)
        return len(view)


class _Bundle:
    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.hashes: dict[str, str] = {}

    def write_bytes(self, name: str, data: bytes) -> None:
        self.zf.writestr(_info(name), data)
        self.hashes[name] = hashlib.sha256(data).hexdigest()

    def write_json(self, name: str, value: Any) -> None:
        self.write_bytes(name, (json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode())

    def stream_lines(self, name: str, lines: Iterable[str]) -> int:
        count = 0
        with self.zf.open(_info(name), "w", force_zip64=True) as member:
            hashing = _Hashing(member)
            buffered = io.BufferedWriter(hashing, buffer_size=1 << 16)
            for line in lines:
                buffered.write(line.encode())
                count += 1
            buffered.flush()
            self.hashes[name] = hashing.digest.hexdigest()
        return count

    def stream_csv(self, name: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
        def lines() -> Iterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(columns)
            yield buffer.getvalue()
            for row in rows:
                buffer.seek(0)
                buffer.truncate()
                writer.writerow(["" if row.get(c) is None else _cell(row.get(c)) for c in columns])
                yield buffer.getvalue()

        return self.stream_lines(name, lines()) - 1


def _cell(value: Any) -> str:
    text = str(value)
    # A cell a spreadsheet would run as a formula is prefixed so it stays text (CSV injection); a handle like
    # "@alice" is no formula, "@SUM(A1)" is.
    formula = text[:1] in ("=", "+", "-", "\t", "\r") or (text[:1] == "@" and "(" in text)
    return "'" + text if formula and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def control_summaries(connection: Any, window: queries.Window, controls: Sequence[str]) -> list[dict[str, Any]]:
    """Per Annex A control: runs, pass rate, status at the end of the window, open failures, waivers."""
    statuses = queries.control_statuses(connection, window, controls)
    failures = queries.open_failures(connection, window, controls)
    waivers = queries.waivers_in_window(connection, window, controls)
    summaries: dict[str, dict[str, Any]] = {}
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for row in statuses:
        s = summaries.setdefault(row["control"], {"control": row["control"], "title": control_title(row["control"]),
                                                  "runs": 0, "passed": 0, "failed": 0, "unknown": 0,
                                                  "not_applicable": 0})
        s["runs"] += 1
        s[{"pass": "passed", "fail": "failed", "unknown": "unknown"}.get(row["status"], "not_applicable")] += 1
        key = (row["control"], row["repository"])
        if key not in latest or row["seq"] > latest[key][0]:
            latest[key] = (row["seq"], row["status"])
    for s in summaries.values():
        evaluated = s["passed"] + s["failed"] + s["unknown"]
        s["pass_rate"] = round(s["passed"] / evaluated, 4) if evaluated else None
        ends = {repo: status for (control, repo), (_, status) in latest.items() if control == s["control"]}
        s["status_at_end"] = next((status for status in ("fail", "unknown", "pass") if status in ends.values()),
                                  "not_applicable")
        s["repositories"] = {repo: ends[repo] for repo in sorted(ends)}
        s["open_failures"] = [
            {k: f[k] for k in ("repository", "rule", "severity", "path", "line", "message", "fingerprint",
                               "first_seen_at", "first_seen_seq")}
            for f in failures if f["control"] == s["control"]
        ]
        s["waivers"] = [
            {"repository": w["repository"], "rule": w["rule"], "path": w["path"], "ticket": w["waiver_ticket"],
             "approved_by": w["waiver_approved_by"], "requested_by": w["waiver_requested_by"],
             "expires": w["waiver_expires"], "risk": w["waiver_risk"], "runs": w["runs"]}
            for w in waivers if s["control"] in w["controls"]
        ]
    from annexa.report import _control_key

    return [summaries[c] for c in sorted(summaries, key=_control_key)]


def write_bundle(store: HistoryStore, request: ExportRequest, out: Path, signer: Signer | None) -> ExportSummary:
    """Write the evidence bundle for ``request`` to ``out`` (a zip)."""
    window = queries.Window(request.start, request.end, request.repositories)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with store.connect() as connection, zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
        bundle = _Bundle(zf)
        runs = queries.runs_in_window(connection, window)
        ranges = queries.window_seq_ranges(connection, window)
        summaries = control_summaries(connection, window, request.controls)
        waivers = queries.waivers_in_window(connection, window, request.controls)
        first_failed = {repo: queries.first_seen(connection, repo) for repo in ranges}

        bundle.write_json("controls.json", summaries)
        bundle.stream_csv("runs.csv", queries.RUN_COLUMNS, runs)

        def finding_rows() -> Iterator[dict[str, Any]]:
            for f in queries.findings_in_window(connection, window, request.controls):
                seen = first_failed.get(f["repository"], {}).get(f["fingerprint"])
                f["first_failed_at"] = seen[1] if seen else None
                yield f

        findings = bundle.stream_csv("findings.csv", FINDING_COLUMNS, finding_rows())
        bundle.stream_csv("waivers.csv", WAIVER_COLUMNS, (
            {**w, "controls": " ".join(w["controls"]), "ticket": w["waiver_ticket"],
             "approved_by": w["waiver_approved_by"], "requested_by": w["waiver_requested_by"],
             "expires": w["waiver_expires"], "risk": w["waiver_risk"], "justification": w["waiver_justification"]}
            for w in waivers))

        chains: dict[str, dict[str, Any]] = {}

        def record_lines() -> Iterator[str]:
            for repository, (first, last) in sorted(ranges.items()):
                segment: dict[str, Any] = {"first_seq": first, "last_seq": last}
                for row in store.rows(repository, first, last):
                    m = row._mapping
                    if m["seq"] == first:
                        segment["prev_hash"] = m["prev_hash"]
                    segment.update(head_hash=m["hash"], head_key_id=m["key_id"], head_signature=m["signature"])
                    record = {k: m[k] for k in RECORD_KEYS}
                    record["body"] = json.loads(m["body"])
                    yield json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
                chains[repository] = segment

        bundle.stream_lines(RECORDS, record_lines())
        heads = store.heads()
        for repository, segment in chains.items():
            head = heads.get(repository)
            if head is not None:
                segment["store_head"] = {"seq": head.seq, "hash": head.hash, "key_id": head.key_id,
                                         "signature": head.signature}

        oscal = assessment_results(request, runs, summaries, connection, window, __version__)
        bundle.write_json("oscal/assessment-results.json", oscal)
        bundle.write_bytes("report.html", render_html(request, runs, summaries, waivers, chains).encode())

        manifest: dict[str, Any] = {
            "schema": BUNDLE_SCHEMA,
            "created_at": now(),
            "tool": {"name": "annexa", "version": __version__},
            "window": {"from": request.start.isoformat(), "to": request.end.isoformat()},
            "filters": {"repositories": list(request.repositories), "controls": list(request.controls)},
            "counts": {"runs": len(runs), "findings": findings, "controls": len(summaries)},
            "files": dict(sorted(bundle.hashes.items())),
            "chains": chains,
        }
        if signer is not None:
            manifest["key_id"] = signer.key_id
            manifest["signature"] = signer.sign("manifest", manifest_statement(manifest))
        bundle.write_bytes(MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    tmp.replace(out)
    return ExportSummary(len(runs), findings, len(summaries), bundle.hashes)


def manifest_statement(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What the manifest signature covers: everything but the signature and its key id."""
    return {k: v for k, v in manifest.items() if k not in ("signature", "key_id")}
