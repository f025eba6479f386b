"""The run history: every run record, hash-chained per repository and signed, in a SQL database.

Names are loaded on first use so that importing ``annexa.history.cli`` (argument definitions) stays cheap.
"""

from __future__ import annotations

from typing import Any

DEFAULT_URL = "sqlite:///.annexa/history.db"
__all__ = ["DEFAULT_URL", "HistoryError", "HistoryStore", "Recorded"]


def __getattr__(name: str) -> Any:
    if name in ("HistoryError", "HistoryStore", "Recorded"):
        from annexa.history import store

        return getattr(store, name)
    raise AttributeError(name)
