"""Stores under test: a SQLite file and the PostgreSQL server of ``$ANNEXA_TEST_POSTGRES_URL`` (.ci/run starts one).

Without that variable the PostgreSQL cases are skipped locally, and fail in CI (``CI=true``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

POSTGRES_VARIABLE = "ANNEXA_TEST_POSTGRES_URL"
TABLES = ("annexa_finding_controls", "annexa_findings", "annexa_runs", "annexa_chain_heads", "annexa_alembic_version")


def postgres_url() -> str:
    """The test server's URL, or skip (locally) / fail (CI) without one."""
    url = os.environ.get(POSTGRES_VARIABLE)
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {POSTGRES_VARIABLE} is not set: .ci/run must start PostgreSQL")
        pytest.skip(f"{POSTGRES_VARIABLE} not set (a PostgreSQL server for the history tests)")
    return url


def reset_postgres(url: str) -> None:
    """Drop every annexa table so the next store starts empty."""
    engine = create_engine(url)
    with engine.begin() as connection:
        for table in TABLES:
            connection.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store URL of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/history.db"
        return
    url = postgres_url()
    reset_postgres(url)
    yield url
    reset_postgres(url)
