"""``annexa dashboard``: one self-contained HTML file for security owners, built from the run history.

The page embeds its data as JSON (``<`` ``>`` ``&`` escaped, so no repository string can close the script
element), renders it with DOM APIs and ``textContent`` only, and carries a Content-Security-Policy that allows
no network request of any kind: it works from ``file://`` offline.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from annexa.dashboard.data import build_data

__all__ = ["build_dashboard", "build_data", "render_dashboard"]


def _asset(name: str) -> str:
    return resources.files("annexa.dashboard").joinpath("assets", name).read_text(encoding="utf-8")


def _embed(data: Mapping[str, Any]) -> str:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render_dashboard(data: Mapping[str, Any]) -> str:
    """The page for ``data`` (from :func:`build_data`)."""
    script = _asset("app.js")
    style = _asset("style.css")
    csp = (f"default-src 'none'; script-src '{_hash(script)}'; style-src '{_hash(style)}'; img-src data: blob:; "
           "connect-src 'none'; form-action 'none'; base-uri 'none'")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>annexa conformance dashboard</title>\n"
        f"<style>{style}</style>\n</head>\n<body>\n"
        "<header><h1>annexa conformance dashboard</h1><p id=\"generated\"></p></header>\n"
        "<nav id=\"tabs\" role=\"tablist\" aria-label=\"views\"></nav>\n<main>\n"
        "<section id=\"view-overview\" role=\"tabpanel\" aria-labelledby=\"tab-overview\"></section>\n"
        "<section id=\"view-matrix\" role=\"tabpanel\" aria-labelledby=\"tab-matrix\" hidden>"
        "<h2>Repositories by policy, control or rule</h2><div id=\"matrix-controls\"></div>"
        "<div id=\"matrix-table\"></div></section>\n"
        "<section id=\"view-trend\" role=\"tabpanel\" aria-labelledby=\"tab-trend\" hidden></section>\n"
        "<section id=\"view-changes\" role=\"tabpanel\" aria-labelledby=\"tab-changes\" hidden></section>\n"
        "<section id=\"view-offenders\" role=\"tabpanel\" aria-labelledby=\"tab-offenders\" hidden></section>\n"
        "<section id=\"view-waivers\" role=\"tabpanel\" aria-labelledby=\"tab-waivers\" hidden></section>\n"
        "<section id=\"view-unknowns\" role=\"tabpanel\" aria-labelledby=\"tab-unknowns\" hidden></section>\n"
        "<section id=\"view-repository\" role=\"tabpanel\" aria-labelledby=\"tab-repository\" hidden>"
        "<h2>Repository</h2><div id=\"repo-detail\"></div></section>\n"
        "</main>\n"
        f"<script type=\"application/json\" id=\"annexa-data\">{_embed(data)}</script>\n"
        f"<script>{script}</script>\n</body>\n</html>\n"
    )


def build_dashboard(records: Iterable[Mapping[str, Any]], now: dt.datetime | None = None) -> str:
    """The page for a set of run record bodies."""
    return render_dashboard(build_data(records, now))
