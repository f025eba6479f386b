"""The bundle's human-readable report: one self-contained HTML page (inline CSS, no scripts, no external URL).

Everything that comes from a repository (names, paths, messages, approvers) is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from annexa.export.bundle import ExportRequest

_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1b1b}h1{font-size:1.5em}
table{border-collapse:collapse;margin:0 0 1.5em;width:100%}th,td{border:1px solid #ccc;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f2f2f2}.pass{color:#116329}.fail{color:#a40e26}
.unknown{color:#8a5a00}code{font-size:.95em}"""


def _e(value: Any) -> str:
    return "" if value is None else escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], raw: frozenset[int] = frozenset()) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if i in raw else _e(cell)}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status(status: str) -> str:
    return f'<span class="{_e(status)}">{_e(status)}</span>'


def render_html(
    request: ExportRequest,
    runs: Sequence[Mapping[str, Any]],
    summaries: Sequence[Mapping[str, Any]],
    waivers: Sequence[Mapping[str, Any]],
    chains: Mapping[str, Mapping[str, Any]],
) -> str:
    """The report page."""
    window = f"{request.start.isoformat()} to {request.end.isoformat()}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>annexa evidence {_e(window)}</title><style>{_CSS}</style></head><body>",
        f"<h1>annexa evidence, {_e(window)} (UTC)</h1>",
        f"<p>{len(runs)} runs of {len(chains)} repositories"
        + (f"; repositories: {_e(', '.join(request.repositories))}" if request.repositories else "")
        + (f"; controls: {_e(', '.join(request.controls))}" if request.controls else "")
        + ". Every file of this bundle is listed with its SHA-256 in <code>manifest.json</code>; "
        "<code>annexa export verify</code> checks them, the signature and the record chains offline.</p>",
        "<h2>ISO/IEC 27001:2022 Annex A controls</h2>",
        _table(
            ("control", "title", "evaluations", "pass rate", "status at end", "open failures", "waivers"),
            [(s["control"], s["title"], s["runs"],
              "n/a" if s["pass_rate"] is None else f"{s['pass_rate']:.0%}", _status(str(s["status_at_end"])),
              len(s["open_failures"]), len(s["waivers"])) for s in summaries],
            raw=frozenset({4}),
        ),
        "<h2>Open failures (last run of each repository in the window)</h2>",
        _table(
            ("control", "repository", "rule", "severity", "location", "first seen", "message"),
            [(s["control"], f["repository"], f["rule"], f["severity"],
              f"{f['path'] or ''}{':' + str(f['line']) if f['line'] else ''}", f["first_seen_at"], f["message"])
             for s in summaries for f in s["open_failures"]],
        ),
        "<h2>Waivers applied</h2>",
        _table(
            ("repository", "rule", "path", "controls", "approved by", "requested by", "expires", "ticket", "runs"),
            [(w["repository"], w["rule"], w["path"], " ".join(w["controls"]), w["waiver_approved_by"],
              w["waiver_requested_by"], w["waiver_expires"], w["waiver_ticket"], w["runs"]) for w in waivers],
        ),
        "<h2>Runs</h2>",
        _table(
            ("repository", "record", "started", "verdict", "platform", "ref", "commit", "actor", "trigger"),
            [(r["repository"], r["seq"], r["started_at"], _status(str(r["verdict"])), r["platform"], r["ref"],
              (r["commit"] or "")[:12], r["actor"], r["trigger"]) for r in runs],
            raw=frozenset({3}),
        ),
        "<h2>Record chains</h2>",
        _table(
            ("repository", "records", "previous hash", "last hash", "signed by key"),
            [(repo, f"{c['first_seq']}..{c['last_seq']}", str(c.get("prev_hash", ""))[:16],
              str(c.get("head_hash", ""))[:16], c.get("head_key_id") or "unsigned")
             for repo, c in sorted(chains.items())],
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
