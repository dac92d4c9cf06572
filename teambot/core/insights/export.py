"""All cases with their figures, one row each, for spreadsheets.

Compensation is totalled per currency, never across: a case whose grants are all in one currency
(the usual) has one number in `compensation` and its code in `currency`; a case with grants in
several (the team changed currency) lists them in the same order, "25.00;80.00" and "USD;EUR".

Typed text reaches the file (a problem, a customer's name, a root cause); a cell a spreadsheet
would run as a formula (`=`, `+`, `-`, `@`, tab or carriage return first) gets a leading `'`,
so opening the export never runs what somebody typed (CSV injection)."""

from __future__ import annotations

import csv
import re
from typing import IO

from sqlmodel import select

from teambot.core.cases.queries import all_cases, grants_by_case
from teambot.core.db import Database
from teambot.core.improvement.models import Cause
from teambot.core.money import from_minor

COLUMNS = [
    "team", "case", "status", "opened_at", "opened_by", "customer", "category", "severity", "owner",
    "minutes_to_own", "minutes_to_apology", "hours_to_resolve", "compensation", "currency", "grants",
    "approved_above_authority", "satisfied", "score", "won_back", "root_cause", "problem", "closed_at",
    "cause",  # the team's cause the root cause is filed under (issue 24); last, so older columns keep their place
]  # fmt: skip


_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would read as a formula, neutralised; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _minutes(a, b) -> str:  # type: ignore[no-untyped-def]
    return f"{(b - a).total_seconds() / 60:.1f}" if a and b else ""


async def export_csv(db: Database, out: IO[str], team_id: str | None = None) -> int:
    cases = await all_cases(db, team_id)
    grants = await grants_by_case(db, team_id)
    async with db.read() as s:
        q = select(Cause.id, Cause.name)
        names = dict((await s.exec(q.where(Cause.team_id == team_id) if team_id else q)).all())
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for c in cases:
        gs = grants.get(c.id or 0, [])
        per: dict[str, int] = {}
        for g in gs:
            per[g.currency] = per.get(g.currency, 0) + g.amount_minor
        currency = ";".join(per)
        total = ";".join(str(from_minor(m, c)) for c, m in per.items())
        resolve = f"{(c.resolved_at - c.opened_at).total_seconds() / 3600:.2f}" if c.resolved_at else ""
        writer.writerow(
            safe_cell(cell)
            for cell in [
                c.team_id, c.number, c.status.value, c.opened_at.isoformat(), c.opened_by, c.customer_name or "",
                c.category, c.severity, c.owner_id or "", _minutes(c.opened_at, c.owned_at),
                _minutes(c.opened_at, c.apologised_at), resolve, total, currency, len(gs),
                sum(1 for g in gs if not g.within_authority), "" if c.satisfied is None else c.satisfied,
                c.score or "", "" if c.won_back is None else c.won_back, c.root_cause or "", c.problem,
                c.closed_at.isoformat() if c.closed_at else "", names.get(c.cause_id, "") if c.cause_id else "",
            ]
        )  # fmt: skip
    return len(cases)
