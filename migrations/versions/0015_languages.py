"""Languages: the customer's on a case, the team's default and each person's own choice.

Revision ID: 0015_languages
Revises: 0013_improvement
Create Date: 2026-12-07

- cases.customer_language: what the follow-up mail and the feedback page speak (NULL: the team's
  language for the mail; the page then follows the customer's browser).
- policies.language: the team's default ("en" for every team that exists today, as before).
- policies.languages: a person's own choice over their platform's (user id -> code), like timezones.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015_languages"
down_revision: str | None = "0013_improvement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("customer_language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
    with op.batch_alter_table("policies") as batch:
        batch.add_column(
            sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False, server_default="en")
        )
        batch.add_column(sa.Column("languages", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("languages")
        batch.drop_column("language")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("customer_language")
