"""model registry: registered model versions (state, scope) and shadow models' would-be candidates.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:20:00

Tables are created only where missing (like the baseline), so a database adopted from before
migrations, made by create_all with these tables, passes through.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _absent(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _absent('model_versions'):
        _create_versions()
    if _absent('shadow_candidates'):
        _create_shadow()


def _create_versions() -> None:
    op.create_table('model_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('file', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('family', sa.String(length=32), nullable=True),
    sa.Column('card', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('score_threshold', sa.Float(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('cameras', sa.JSON(), nullable=False),
    sa.Column('shadow_cameras', sa.JSON(), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('registered_at', sa.Float(), nullable=False),
    sa.Column('shadow_since', sa.Float(), nullable=True),
    sa.Column('shadow_until', sa.Float(), nullable=True),
    sa.Column('activated_at', sa.Float(), nullable=True),
    sa.Column('retired_at', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'version', name='uq_model_version')
    )
    op.create_index('ix_model_versions_state', 'model_versions', ['state'], unique=False)


def _create_shadow() -> None:
    op.create_table('shadow_candidates',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('zone_id', sa.String(length=64), nullable=False),
    sa.Column('violation', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('box', sa.JSON(), nullable=False),
    sa.Column('first_seen', sa.Float(), nullable=False),
    sa.Column('last_seen', sa.Float(), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('incident', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_versions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_shadow_candidates_model', 'shadow_candidates', ['model_version_id', 'camera_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_shadow_candidates_model', table_name='shadow_candidates')
    op.drop_table('shadow_candidates')
    op.drop_index('ix_model_versions_state', table_name='model_versions')
    op.drop_table('model_versions')
