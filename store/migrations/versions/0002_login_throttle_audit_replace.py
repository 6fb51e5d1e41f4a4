"""login throttle counters; the audit log also refuses REPLACE / upsert / TRUNCATE.

- `login_throttle`: failed-login counters per (client address, account) and per address, shared
  by every server process (api/auth/throttle.py).
- SQLite's `REPLACE INTO` / `INSERT OR REPLACE` rewrites an audit row by deleting and inserting
  it; with `recursive_triggers` off (the default) the delete trigger of 0001 does not fire. A
  BEFORE INSERT trigger now refuses any insert whose id already exists (REPLACE runs it before
  resolving the conflict). `INSERT … ON CONFLICT DO UPDATE` runs the UPDATE trigger on both
  databases. PostgreSQL's TRUNCATE skips row triggers: a statement trigger refuses it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_SQLITE_GUARD = [
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_replace BEFORE INSERT ON audit_log "
    "WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_PG_GUARD = [  # audit_log_append_only() is the function 0001 made
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]
_UNGUARD = {"sqlite": ["DROP TRIGGER IF EXISTS audit_log_no_replace"],
            "postgresql": ["DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log"]}


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table('login_throttle'):  # adopted databases may have it already
        op.create_table('login_throttle',
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('leak_from', sa.Float(), nullable=False),
        sa.Column('blocked_until', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('address', 'username')
        )
        op.create_index(op.f('ix_login_throttle_leak_from'), 'login_throttle', ['leak_from'], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_GUARD if dialect == "sqlite" else _PG_GUARD if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    for statement in _UNGUARD.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    op.drop_index(op.f('ix_login_throttle_leak_from'), table_name='login_throttle')
    op.drop_table('login_throttle')
