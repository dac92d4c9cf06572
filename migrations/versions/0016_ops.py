"""Running it like a service: the `workers` table, where each `teambot worker` says it is alive.

Revision ID: 0016_ops
Revises: 0012_digest_indexes
Create Date: 2026-12-07

`teambot doctor` and `/metrics` (`teambot_workers_seen`) read it: with TEAMBOT_WORK=worker a
deployment needs at least one worker seen in the last minute.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from teambot.core.types import UTCDateTime

revision: str = "0016_ops"
down_revision: str | None = "0012_digest_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_workers_seen_at", "workers", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_workers_seen_at", table_name="workers")
    op.drop_table("workers")
