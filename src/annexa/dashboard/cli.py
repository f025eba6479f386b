"""``annexa dashboard --out DIR``: write ``DIR/index.html`` from the history store."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from annexa.errors import AnnexaError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``annexa dashboard``."""
    parser.add_argument("--out", type=Path, required=True, help="folder to write index.html into")
    parser.add_argument("--history", help="history store URL (default: $ANNEXA_HISTORY_URL or the local store)")


def run(args: argparse.Namespace) -> str:
    """Build the page; returns a one-line message for the user."""
    from annexa.dashboard import build_dashboard
    from annexa.history import DEFAULT_URL, HistoryStore

    url = args.history or os.environ.get("ANNEXA_HISTORY_URL") or DEFAULT_URL
    records = list(HistoryStore(url).bodies())
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise AnnexaError(f"--out {out}: not a directory")
    out.mkdir(parents=True, exist_ok=True)
    page = build_dashboard(records)
    target = out / "index.html"
    target.write_text(page, encoding="utf-8")
    repositories = len({r.get("run", {}).get("repository") for r in records})
    noun = "repository" if repositories == 1 else "repositories"
    runs = "run record" if len(records) == 1 else "run records"
    return f"annexa: dashboard of {repositories} {noun} ({len(records)} {runs}) written to {target}"
