"""Teams: each person's home card (updated in place in their chat with the bot)

Revision ID: 0011_teams
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011_teams"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("teams_people") as batch:
        batch.add_column(sa.Column("home_activity_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("teams_people") as batch:
        batch.drop_column("home_activity_id")
