"""Cases for the HTTP API: filtered, newest first, a page at a time behind an opaque cursor."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from teambot.core.cases.models import Case, TimelineEvent
from teambot.core.db import Database
from teambot.core.errors import BadInput, NotFound
from teambot.core.improvement.models import Cause
from teambot.core.improvement.vocabulary import cause_key

MAX_LIMIT = 200


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    category: str | None = None
    cause: str | None = None  # the team's cause (its name, any case)
    owner: str | None = None
    opened_after: datetime | None = None
    opened_before: datetime | None = None
    resolved_after: datetime | None = None
    resolved_before: datetime | None = None


def encode_cursor(number: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": number}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)["before"]
        if not isinstance(value, int) or value < 1:
            raise ValueError
        return value
    except (ValueError, KeyError, TypeError):
        raise BadInput("The cursor is not one this API gave out.",
                       "Pass next_cursor from the previous page unchanged, or leave it out to start again.",
                       field="cursor") from None  # fmt: skip


async def list_cases(db: Database, team_id: str, f: CaseFilter, *, cursor: str | None = None,
                     limit: int = 50) -> tuple[list[Case], str | None]:  # fmt: skip
    """One page and the cursor of the next (None on the last page)."""
    q = select(Case).where(Case.team_id == team_id)
    if f.status:
        q = q.where(col(Case.status) == f.status)
    if f.category:
        q = q.where(func.lower(col(Case.category)) == f.category.strip().lower())
    if f.cause:
        named = select(Cause.id).where(Cause.team_id == team_id, Cause.key == cause_key(f.cause))
        q = q.where(col(Case.cause_id).in_(named.scalar_subquery()))
    if f.owner:
        q = q.where(col(Case.owner_id) == f.owner)
    for column, after, before in ((Case.opened_at, f.opened_after, f.opened_before),
                                  (Case.resolved_at, f.resolved_after, f.resolved_before)):  # fmt: skip
        if after is not None:
            q = q.where(col(column) >= after)
        if before is not None:
            q = q.where(col(column) < before)
    if cursor:
        q = q.where(col(Case.number) < decode_cursor(cursor))
    limit = max(1, min(limit, MAX_LIMIT))
    async with db.session() as s:
        rows = list((await s.exec(q.order_by(col(Case.number).desc()).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].number) if more and rows else None


async def cause_names(db: Database, cases: list[Case]) -> dict[int, str]:
    """Cause id -> name for these cases' causes (one query a page)."""
    ids = {c.cause_id for c in cases if c.cause_id is not None}
    if not ids:
        return {}
    async with db.session() as s:
        return {int(i): str(n) for i, n in (await s.exec(select(Cause.id, Cause.name).where(col(Cause.id).in_(ids)))).all()}


async def case_and_timeline(db: Database, team_id: str, number: int) -> tuple[Case, list[TimelineEvent]]:
    async with db.session() as s:
        case = (await s.exec(select(Case).where(Case.team_id == team_id, Case.number == number))).first()
        if case is None:
            raise NotFound(f"There is no case #{number} in this team.", "List the team's cases with GET /api/v1/cases.")
        events = await s.exec(
            select(TimelineEvent).where(TimelineEvent.case_id == case.id)
            .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
        )  # fmt: skip
        return case, list(events.all())
