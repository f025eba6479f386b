"""The run history: every run record, hash-chained per repository, in a SQL database."""

from annexa.history.store import DEFAULT_URL, HistoryError, HistoryStore

__all__ = ["DEFAULT_URL", "HistoryError", "HistoryStore"]
