"""Alembic environment: always run online, on the connection ``annexa.history.store`` hands over."""

from __future__ import annotations

from alembic import context

from annexa.history.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, version_table="annexa_alembic_version")
with context.begin_transaction():
    context.run_migrations()
