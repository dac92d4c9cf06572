"""Currency is part of every amount: each grant and approval request names its own currency.

Both tables have had a `currency` column since 0001, written with the team's currency at the
time of the grant, so a row made before the team changed currency already says so and must
keep it: relabelling every row with the team's *current* currency would turn $25 given last
year into €25. What this migration does is make the column trustworthy for the readers that now
total per currency (cards, digest, CSV, authority checks):

* a row whose currency is missing or blank gets the currency its team has (the only thing it
  can have meant; a team without a policy row had the default, USD);
* a code written in lower case or with spaces is normalised ("eur " -> "EUR"), so one
  currency is never totalled as two.

Downgrade changes nothing: the values stay valid under the old schema.

Revision ID: 0008_money
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_money"
down_revision: str | None = "0010_loop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("grants", "approval_requests")


def upgrade() -> None:
    op.execute(sa.text("UPDATE policies SET currency = UPPER(TRIM(currency)) WHERE currency <> UPPER(TRIM(currency))"))
    for table in TABLES:
        op.execute(
            sa.text(
                f"UPDATE {table} SET currency = COALESCE("
                f"(SELECT policies.currency FROM policies WHERE policies.team_id = {table}.team_id), 'USD') "
                "WHERE currency IS NULL OR TRIM(currency) = ''"
            )
        )
        op.execute(
            sa.text(f"UPDATE {table} SET currency = UPPER(TRIM(currency)) WHERE currency <> UPPER(TRIM(currency))")
        )


def downgrade() -> None:
    pass
