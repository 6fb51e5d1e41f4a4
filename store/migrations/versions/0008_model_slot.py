"""model registry slots: a version names the configured model it stands in for.

- `model_versions.slot`: the key in `models` of the configuration (e.g. `garbage`, run as a camera's
  extra model); NULL = the camera's own `model`, so every version registered before keeps meaning
  what it meant.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns('model_versions')}
    if 'slot' not in have:  # a database adopted from create_all has it already
        op.add_column('model_versions', sa.Column('slot', sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column('model_versions', 'slot')
