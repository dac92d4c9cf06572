"""Deadlines, nudges, shout-outs and digest runs (owned by the scheduling work)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

due_items: every nudge, digest and pattern alert still to send (or sent), claimed with a
lease. team_schedules: working hours, pattern thresholds, shout-out allowance, time zones.
shoutouts: recognition between teammates.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import teambot.core.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('team_schedules',
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('work_start', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('work_end', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('work_days', sa.JSON(), nullable=False),
    sa.Column('targets_in_working_hours', sa.Boolean(), nullable=False),
    sa.Column('pattern_min_cases', sa.Integer(), nullable=False),
    sa.Column('pattern_rise_percent', sa.Integer(), nullable=False),
    sa.Column('repeat_customer_days', sa.Integer(), nullable=False),
    sa.Column('shoutouts_per_day', sa.Integer(), nullable=False),
    sa.Column('timezones', sa.JSON(), nullable=False),
    sa.Column('updated_at', teambot.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('team_id')
    )
    op.create_table('due_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('due_at', teambot.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('lease_until', teambot.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', teambot.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', teambot.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name='uq_due_items_key')
    )
    op.create_index('ix_due_items_case_status', 'due_items', ['case_id', 'status'], unique=False)
    op.create_index('ix_due_items_status_due', 'due_items', ['status', 'due_at'], unique=False)
    op.create_index('ix_due_items_team_kind', 'due_items', ['team_id', 'kind'], unique=False)
    op.create_table('shoutouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('giver', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('at', teambot.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_shoutouts_giver_at', 'shoutouts', ['team_id', 'giver', 'at'], unique=False)
    op.create_index('ix_shoutouts_team_at', 'shoutouts', ['team_id', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_shoutouts_team_at', table_name='shoutouts')
    op.drop_index('ix_shoutouts_giver_at', table_name='shoutouts')
    op.drop_table('shoutouts')
    op.drop_index('ix_due_items_team_kind', table_name='due_items')
    op.drop_index('ix_due_items_status_due', table_name='due_items')
    op.drop_index('ix_due_items_case_status', table_name='due_items')
    op.drop_table('due_items')
    op.drop_table('team_schedules')
