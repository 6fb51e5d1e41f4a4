"""workers: worker nodes and camera leases (many worker nodes on one PostgreSQL).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 11:30:00

Tables are created only where missing (like the baseline), so a database adopted from before
migrations, made by create_all with these tables, passes through.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _absent(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # only where missing, as the baseline does: a database adopted from before migrations may have them
    if _absent('worker_nodes'):
        _create_nodes()
    if _absent('camera_leases'):
        _create_leases()


def _create_nodes() -> None:
    op.create_table('worker_nodes',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('capacity', sa.Float(), nullable=False),
    sa.Column('load', sa.Float(), nullable=False),
    sa.Column('cameras', sa.Integer(), nullable=False),
    sa.Column('lag_seconds', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('heartbeat_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_worker_nodes_expires', 'worker_nodes', ['status', 'expires_at'], unique=False)


def _create_leases() -> None:
    op.create_table('camera_leases',
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.Float(), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.Column('cost', sa.Float(), nullable=False),
    sa.Column('acquired_at', sa.Float(), nullable=True),
    sa.Column('moves', sa.Integer(), nullable=False),
    sa.Column('wanted_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('camera_id')
    )
    op.create_index('ix_camera_leases_owner', 'camera_leases', ['owner', 'lease_until'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_camera_leases_owner', table_name='camera_leases')
    op.drop_table('camera_leases')
    op.drop_index('ix_worker_nodes_expires', table_name='worker_nodes')
    op.drop_table('worker_nodes')
