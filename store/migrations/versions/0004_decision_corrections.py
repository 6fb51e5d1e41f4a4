"""decision corrections: the reviewer's corrected class and box, stored with the decision.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 14:10:00

Two nullable columns on `decisions` (the correction lives and dies with its decision: an undo drops
both). Added only where missing, as the earlier revisions create tables only where missing, so a
database adopted from before migrations, made by create_all with these columns, passes through.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

COLUMNS = (
    ('corrected_label', lambda: sa.String(length=64)),
    ('corrected_box', lambda: sa.JSON()),
)


def _present() -> set[str]:
    return {c['name'] for c in sa.inspect(op.get_bind()).get_columns('decisions')}


def upgrade() -> None:
    have = _present()
    for name, kind in COLUMNS:
        if name not in have:
            op.add_column('decisions', sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    have = _present()
    with op.batch_alter_table('decisions') as batch:
        for name, _ in reversed(COLUMNS):
            if name in have:
                batch.drop_column(name)
