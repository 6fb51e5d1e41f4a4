"""baseline: the schema as it stood when migrations began (StreetWarden 0.1.0).

Databases created before migrations existed already hold these tables: each table (with its
indexes) is created only where it is missing, so such a database is adopted as it is.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29 14:18:24.887048
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


# The audit log is append-only in the database itself, not only in the ORM.
_SQLITE_GUARD = [
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_PG_GUARD = [
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
]


def _absent(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def _guard_audit_log() -> None:
    """(Re)create the append-only triggers; also on an adopted database, whatever it had."""
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_GUARD if dialect == "sqlite" else _PG_GUARD if dialect == "postgresql" else []:
        op.execute(statement)


def upgrade() -> None:
    if _absent('audit_log'):
        op.create_table('audit_log',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('at', sa.Float(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('target_type', sa.String(length=32), nullable=True),
        sa.Column('target_id', sa.String(length=64), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
        )
        op.create_index(op.f('ix_audit_log_action'), 'audit_log', ['action'], unique=False)
        op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
        op.create_index('ix_audit_target', 'audit_log', ['target_type', 'target_id'], unique=False)
    if _absent('cameras'):
        op.create_table('cameras',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=True),
        sa.Column('source_masked', sa.Text(), nullable=False),
        sa.Column('analysis_fps', sa.Float(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=True),
        sa.Column('latitude', sa.Float(), nullable=True),
        sa.Column('longitude', sa.Float(), nullable=True),
        sa.Column('config_hash', sa.String(length=64), nullable=True),
        sa.Column('zones_version', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id')
        )
    if _absent('outbox'):
        op.create_table('outbox',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('event_type', sa.String(length=32), nullable=False),
        sa.Column('aggregate_ref', sa.String(length=32), nullable=False),
        sa.Column('idempotency_key', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.Float(), nullable=False),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('claimed_until', sa.Float(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('delivered_at', sa.Float(), nullable=True),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('idempotency_key')
        )
        op.create_index(op.f('ix_outbox_aggregate_ref'), 'outbox', ['aggregate_ref'], unique=False)
        op.create_index('ix_outbox_due', 'outbox', ['status', 'next_attempt_at', 'id'], unique=False)
    if _absent('shops'):
        op.create_table('shops',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=True),
        sa.Column('contact', sa.String(length=200), nullable=True),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id')
        )
    if _absent('users'):
        op.create_table('users',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=200), nullable=True),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username')
        )
    if _absent('auth_tokens'):
        op.create_table('auth_tokens',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('csrf', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('expires_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_sha256')
        )
        op.create_index(op.f('ix_auth_tokens_expires_at'), 'auth_tokens', ['expires_at'], unique=False)
        op.create_index(op.f('ix_auth_tokens_user_id'), 'auth_tokens', ['user_id'], unique=False)
    if _absent('camera_settings'):
        op.create_table('camera_settings',
        sa.Column('camera_id', sa.String(length=64), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('camera_id')
        )
    if _absent('candidates'):
        op.create_table('candidates',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('camera_id', sa.String(length=64), nullable=False),
        sa.Column('zone_id', sa.String(length=64), nullable=False),
        sa.Column('violation', sa.String(length=32), nullable=False),
        sa.Column('label', sa.String(length=64), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('box', sa.JSON(), nullable=False),
        sa.Column('frame_width', sa.Integer(), nullable=False),
        sa.Column('frame_height', sa.Integer(), nullable=False),
        sa.Column('first_seen', sa.Float(), nullable=False),
        sa.Column('last_seen', sa.Float(), nullable=False),
        sa.Column('live', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('incident', sa.String(length=64), nullable=False),
        sa.Column('attributes', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ),
        sa.PrimaryKeyConstraint('id')
        )
        op.create_index(op.f('ix_candidates_camera_id'), 'candidates', ['camera_id'], unique=False)
        op.create_index('ix_candidates_dedupe', 'candidates', ['camera_id', 'zone_id', 'violation', 'last_seen'], unique=False)
        op.create_index(op.f('ix_candidates_incident'), 'candidates', ['incident'], unique=False)
        op.create_index('ix_candidates_status_id', 'candidates', ['status', 'id'], unique=False)
        op.create_index('ix_candidates_status_violation', 'candidates', ['status', 'violation'], unique=False)
        op.create_index(op.f('ix_candidates_violation'), 'candidates', ['violation'], unique=False)
    if _absent('idempotency_keys'):
        op.create_table('idempotency_keys',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('response', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_user_key')
        )
        op.create_index(op.f('ix_idempotency_keys_created_at'), 'idempotency_keys', ['created_at'], unique=False)
    if _absent('shop_zones'):
        op.create_table('shop_zones',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('shop_id', sa.String(length=64), nullable=False),
        sa.Column('camera_id', sa.String(length=64), nullable=False),
        sa.Column('zone_id', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('camera_id', 'zone_id', name='uq_shop_zone')
        )
        op.create_index(op.f('ix_shop_zones_shop_id'), 'shop_zones', ['shop_id'], unique=False)
    if _absent('zones'):
        op.create_table('zones',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('camera_id', sa.String(length=64), nullable=False),
        sa.Column('zone_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=True),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('polygon', sa.JSON(), nullable=False),
        sa.Column('dwell_seconds', sa.Float(), nullable=True),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('camera_id', 'zone_id', name='uq_zone_camera')
        )
        op.create_index(op.f('ix_zones_camera_id'), 'zones', ['camera_id'], unique=False)
    if _absent('claims'):
        op.create_table('claims',
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('claimed_at', sa.Float(), nullable=False),
        sa.Column('expires_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('candidate_id')
        )
        op.create_index(op.f('ix_claims_expires_at'), 'claims', ['expires_at'], unique=False)
        op.create_index(op.f('ix_claims_user_id'), 'claims', ['user_id'], unique=False)
    if _absent('decisions'):
        op.create_table('decisions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('decided_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('candidate_id')
        )
        op.create_index(op.f('ix_decisions_decided_at'), 'decisions', ['decided_at'], unique=False)
        op.create_index('ix_decisions_user', 'decisions', ['user_id', 'id'], unique=False)
    if _absent('evidence'):
        op.create_table('evidence',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('path', sa.Text(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('media_type', sa.String(length=64), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('ts', sa.Float(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
        op.create_index(op.f('ix_evidence_candidate_id'), 'evidence', ['candidate_id'], unique=False)
    if _absent('skips'):
        op.create_table('skips',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('skipped_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
        op.create_index('ix_skips_candidate_user', 'skips', ['candidate_id', 'user_id', 'skipped_at'], unique=False)
        op.create_index('ix_skips_user_time', 'skips', ['user_id', 'skipped_at'], unique=False)
    if _absent('notices'):
        op.create_table('notices',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('ref', sa.String(length=32), nullable=True),
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('issued_by', sa.String(length=100), nullable=False),
        sa.Column('issued_at', sa.Float(), nullable=False),
        sa.Column('grace_seconds', sa.Float(), nullable=False),
        sa.Column('deadline', sa.Float(), nullable=False),
        sa.Column('next_check_at', sa.Float(), nullable=False),
        sa.Column('recheck_attempts', sa.Integer(), nullable=False),
        sa.Column('recheck_note', sa.Text(), nullable=True),
        sa.Column('checked_at', sa.Float(), nullable=True),
        sa.Column('recheck_evidence_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.Float(), nullable=True),
        sa.Column('close_reason', sa.String(length=32), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('camera_id', sa.String(length=64), nullable=False),
        sa.Column('zone_id', sa.String(length=64), nullable=False),
        sa.Column('violation', sa.String(length=32), nullable=False),
        sa.Column('label', sa.String(length=64), nullable=False),
        sa.Column('box', sa.JSON(), nullable=False),
        sa.Column('frame_width', sa.Integer(), nullable=False),
        sa.Column('frame_height', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=True),
        sa.Column('latitude', sa.Float(), nullable=True),
        sa.Column('longitude', sa.Float(), nullable=True),
        sa.Column('first_seen', sa.Float(), nullable=False),
        sa.Column('last_seen', sa.Float(), nullable=False),
        sa.Column('live', sa.Boolean(), nullable=False),
        sa.Column('shop_id', sa.String(length=64), nullable=True),
        sa.Column('plate_text', sa.String(length=16), nullable=True),
        sa.Column('plate_confidence', sa.Float(), nullable=True),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
        sa.ForeignKeyConstraint(['recheck_evidence_id'], ['evidence.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ref')
        )
        op.create_index(op.f('ix_notices_camera_id'), 'notices', ['camera_id'], unique=False)
        op.create_index(op.f('ix_notices_candidate_id'), 'notices', ['candidate_id'], unique=False)
        op.create_index(op.f('ix_notices_shop_id'), 'notices', ['shop_id'], unique=False)
        op.create_index('ix_notices_status_check', 'notices', ['status', 'next_check_at'], unique=False)
        op.create_index('ix_notices_updated', 'notices', ['updated_at', 'id'], unique=False)
        op.create_index(op.f('ix_notices_updated_at'), 'notices', ['updated_at'], unique=False)
        op.create_index(op.f('ix_notices_violation'), 'notices', ['violation'], unique=False)
    if _absent('cases'):
        op.create_table('cases',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('ref', sa.String(length=32), nullable=True),
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=True),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('result', sa.Text(), nullable=True),
        sa.Column('external_id', sa.String(length=100), nullable=True),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('camera_id', sa.String(length=64), nullable=False),
        sa.Column('zone_id', sa.String(length=64), nullable=False),
        sa.Column('violation', sa.String(length=32), nullable=False),
        sa.Column('label', sa.String(length=64), nullable=False),
        sa.Column('box', sa.JSON(), nullable=False),
        sa.Column('frame_width', sa.Integer(), nullable=False),
        sa.Column('frame_height', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=True),
        sa.Column('latitude', sa.Float(), nullable=True),
        sa.Column('longitude', sa.Float(), nullable=True),
        sa.Column('first_seen', sa.Float(), nullable=False),
        sa.Column('last_seen', sa.Float(), nullable=False),
        sa.Column('live', sa.Boolean(), nullable=False),
        sa.Column('shop_id', sa.String(length=64), nullable=True),
        sa.Column('plate_text', sa.String(length=16), nullable=True),
        sa.Column('plate_confidence', sa.Float(), nullable=True),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
        sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ref')
        )
        op.create_index(op.f('ix_cases_camera_id'), 'cases', ['camera_id'], unique=False)
        op.create_index(op.f('ix_cases_candidate_id'), 'cases', ['candidate_id'], unique=False)
        op.create_index(op.f('ix_cases_notice_id'), 'cases', ['notice_id'], unique=False)
        op.create_index(op.f('ix_cases_shop_id'), 'cases', ['shop_id'], unique=False)
        op.create_index('ix_cases_updated', 'cases', ['updated_at', 'id'], unique=False)
        op.create_index(op.f('ix_cases_updated_at'), 'cases', ['updated_at'], unique=False)
        op.create_index(op.f('ix_cases_violation'), 'cases', ['violation'], unique=False)
    if _absent('case_history'):
        op.create_table('case_history',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('from_status', sa.String(length=16), nullable=True),
        sa.Column('to_status', sa.String(length=16), nullable=False),
        sa.Column('result', sa.Text(), nullable=True),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
        op.create_index(op.f('ix_case_history_case_id'), 'case_history', ['case_id'], unique=False)
    _guard_audit_log()


def downgrade() -> None:
    raise RuntimeError("the baseline is not undone: restore a backup of the database instead")
