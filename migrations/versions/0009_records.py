"""Clean records: a cancelled case says when, why and which case it duplicated; an approval
left unanswered goes to backup approvers after the policy's escalation time.

Revision ID: 0009_records
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_records"
down_revision: str | None = "0008_money"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("backup_approvers", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("escalation_hours", sa.Integer(), nullable=False, server_default=sa.text("4")))


def downgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("escalation_hours")
        batch.drop_column("backup_approvers")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("duplicate_of")
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_at")
