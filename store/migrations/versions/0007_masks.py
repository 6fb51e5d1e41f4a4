"""masks: a camera's mask polygons live on its `cameras` row, next to its zones.

- `cameras.masks`: the polygons (frame fractions) where nothing is analysed, edited in the zone
  editor; `cameras.masks_hash`: the hash of the masks last imported from the config file, so the
  file's masks are re-imported only when they change there (as `config_hash` does for zones).
- Masks a camera had in its settings JSON (`camera_settings.settings.masks`, where they were kept
  before) are moved onto the row; the hash stays empty, so the next config import sets it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:10:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns('cameras')}


def upgrade() -> None:
    have = _columns()  # a database adopted from create_all may have them already
    # plain ADD COLUMN on both databases, never a batch copy: on SQLite that drops and re-creates
    # `cameras`, and with foreign keys on, the drop cascades to the camera's zones and settings
    if 'masks' not in have:
        op.add_column('cameras', sa.Column('masks', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    if 'masks_hash' not in have:
        op.add_column('cameras', sa.Column('masks_hash', sa.String(length=64), nullable=True))
    if 'masks' not in have:
        _move_masks_from_settings()


def _move_masks_from_settings() -> None:
    conn = op.get_bind()
    if not sa.inspect(conn).has_table('camera_settings'):
        return
    rows = conn.execute(sa.text("SELECT camera_id, settings FROM camera_settings")).all()
    for camera_id, settings in rows:
        data = json.loads(settings) if isinstance(settings, str) else (settings or {})
        if data.get('masks'):
            conn.execute(sa.text("UPDATE cameras SET masks = :masks WHERE id = :id")
                         .bindparams(sa.bindparam("masks", type_=sa.JSON())), {"masks": data['masks'], "id": camera_id})


def downgrade() -> None:
    op.drop_column('cameras', 'masks_hash')  # ALTER TABLE DROP COLUMN (SQLite 3.35+), no table copy
    op.drop_column('cameras', 'masks')
