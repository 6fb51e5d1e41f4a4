"""Persistence: SQLAlchemy schema, queries, evidence files."""

from store.db import Database

__all__ = ["Database"]
