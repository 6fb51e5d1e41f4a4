"""ids that are never handed out twice on SQLite: notices, cases, case history, decisions, outbox.

Undoing a decision deletes its held notice / case / outbox rows and the decision. Without
AUTOINCREMENT SQLite gives the next row max(id) + 1, so after undoing the newest one the next
notice got the same id and the same public ref (SW-N-…) that the audit log already names for the
undone one. AUTOINCREMENT (sqlite_sequence) never reuses an id; SQLite can only add it by copying
the table, which batch mode does (rows, ids, indexes and constraints kept). Foreign keys are
checked at commit (defer_foreign_keys), when the copies are in place. PostgreSQL's sequences never
reuse ids: nothing to do there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ('notices', 'cases', 'case_history', 'decisions', 'outbox')


def _without_autoincrement(table: str) -> bool:
    sql = op.get_bind().execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                                {"t": table}).scalar()
    return sql is not None and "AUTOINCREMENT" not in sql.upper()


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    op.execute("PRAGMA defer_foreign_keys = ON")  # rows referencing a table being copied stay valid at commit
    for table in TABLES:
        if _without_autoincrement(table):  # a database made by create_all of this version has it already
            with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': True}):
                pass


def downgrade() -> None:
    pass  # AUTOINCREMENT is harmless to keep
