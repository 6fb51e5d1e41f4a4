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


def _cascading_children(parents: list[str]) -> list[str]:
    """Tables whose foreign keys to one of `parents` act on delete (CASCADE / SET NULL / SET DEFAULT):
    SQLite's DROP TABLE, the last step of a copy, deletes the parent's rows first, and those actions
    run even with the checks deferred (e.g. dropping `cases` emptied `case_history`)."""
    bind = op.get_bind()
    names = [r[0] for r in bind.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                   "AND name NOT LIKE 'sqlite_%'")).all()]
    out = []
    for name in names:
        rows = bind.execute(sa.text(f'PRAGMA foreign_key_list("{name}")')).mappings().all()
        if any(r["table"] in parents and r["on_delete"].upper() in ("CASCADE", "SET NULL", "SET DEFAULT") for r in rows):
            out.append(name)
    return out


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    op.execute("PRAGMA defer_foreign_keys = ON")  # rows referencing a table being copied stay valid at commit
    todo = [t for t in TABLES if _without_autoincrement(t)]  # a database made by create_all has it already
    if not todo:
        return
    keep = _cascading_children(todo)
    for child in keep:  # kept aside while their parents are copied, put back as they were
        op.execute(f'CREATE TEMP TABLE "_keep_{child}" AS SELECT * FROM "{child}"')
    for table in todo:
        with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': True}):
            pass
    for child in keep:
        op.execute(f'DELETE FROM "{child}"')
        op.execute(f'INSERT INTO "{child}" SELECT * FROM "_keep_{child}"')
        op.execute(f'DROP TABLE "_keep_{child}"')


def downgrade() -> None:
    pass  # AUTOINCREMENT is harmless to keep
