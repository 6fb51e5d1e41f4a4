"""Persistence: SQLAlchemy schema, queries, evidence files."""

from streetwarden.store.db import Database

__all__ = ["Database"]
