"""Close the loop with the customer: the customer's email, who gave the follow-up verdict,
single-use feedback links, and the secret Teambot makes itself to sign them.

Revision ID: 0010_loop
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from teambot.core.types import UTCDateTime

revision: str = "0010_loop"
down_revision: str | None = "0011_teams"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("followup_source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
    op.create_table(
        "feedback_tokens",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feedback_tokens_case", "feedback_tokens", ["case_id"])
    op.create_table(
        "site_secrets",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("site_secrets")
    op.drop_index("ix_feedback_tokens_case", table_name="feedback_tokens")
    op.drop_table("feedback_tokens")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("followup_source")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("email")
