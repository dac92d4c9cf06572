"""Where an adapter posted a case's card: its bookkeeping, written without touching the case's version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, update
from sqlmodel import col, select

from teambot.core.cases.card_ref import merge_card_ref
from teambot.core.cases.common import CaseSteps
from teambot.core.cases.models import Case


class CardRefSteps(CaseSteps):
    """The adapter's card bookkeeping on the case row."""

    async def write_card_ref(self, team_id: str, number: int, patch: dict[str, Any]) -> None:
        """Merge `patch` into the adapter's bookkeeping in one UPDATE (see `card_ref.py`)."""
        await self._merge_card_ref(and_(col(Case.team_id) == team_id, col(Case.number) == number), patch)

    async def write_card_ref_by_id(self, case_id: int, patch: dict[str, Any]) -> None:
        """`write_card_ref` for a caller that knows the case's id."""
        await self._merge_card_ref(col(Case.id) == case_id, patch)

    async def _merge_card_ref(self, which: Any, patch: dict[str, Any]) -> None:
        async with self.db.session() as s:
            await s.exec(merge_card_ref(s.bind.dialect.name, which, patch))
            await s.commit()

    async def set_card_ref(self, team_id: str, number: int, ref: dict[str, Any]) -> None:
        """Where an adapter posted the case card, so it can update it in place later."""
        await self.write_card_ref(team_id, number, ref)

    async def update_card_ref(
        self, team_id: str, number: int, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        """Read-modify-write of the adapter's bookkeeping: the row is locked for it (PostgreSQL; SQLite's
        writer turn does the same), and the case's version is left alone so no step has to retry."""
        async with self.db.session() as s:
            q = select(Case.id, Case.card_ref).where(col(Case.team_id) == team_id, col(Case.number) == number)
            if s.bind.dialect.name == "postgresql":
                q = q.with_for_update()
            row = (await s.exec(q)).first()
            if row is None:
                return
            await s.exec(  # type: ignore[call-overload]
                update(Case).where(col(Case.id) == row[0]).values(card_ref=change(dict(row[1] or {})))
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            await s.commit()
