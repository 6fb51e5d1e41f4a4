"""Alembic environment: runs on the connection store.migrate hands over (never reads alembic.ini),
against the metadata of every table module."""

from __future__ import annotations

from alembic import context

import streetwarden.store.tables  # noqa: F401 - registers every table on Base.metadata
from streetwarden.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
