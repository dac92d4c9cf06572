"""Bulk rows for the scale benchmarks, generated inside the database (generate_series on
PostgreSQL, a recursive CTE on SQLite), one statement per batch, in one transaction per call.

Rows are shaped like the ones the code writes (same columns, same value formats: SQLite keeps
`YYYY-MM-DD HH:MM:SS.ffffff` UTC text as SQLAlchemy does), so the code under test reads them
exactly as it reads its own. Derived rows (events, grants, due items) are INSERT ... SELECT
from the cases just made.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

CATEGORIES = ["food", "room", "noise", "billing", "booking", "staff", "cleanliness", "uncategorised"]
CAUSES = [
    "late kitchen ticket",
    "housekeeping missed",
    "overbooked",
    "wrong rate",
    "broken boiler",
    "no handover",
]


class Dialect:
    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def ts(self, seconds_expr: str) -> str:
        """A UTC timestamp from an epoch-seconds SQL expression, stored as the code stores it."""
        if self.pg:
            return f"to_timestamp({seconds_expr})"
        return f"(strftime('%Y-%m-%d %H:%M:%S', {seconds_expr}, 'unixepoch') || '.000000')"

    def bool(self, expr: str) -> str:
        return f"({expr})" if self.pg else f"(CASE WHEN {expr} THEN 1 ELSE 0 END)"

    def json_empty(self) -> str:
        return "'{}'::json" if self.pg else "'{}'"

    def json_obj(self, *pairs: str) -> str:
        return ("json_build_object(" if self.pg else "json_object(") + ", ".join(pairs) + ")"

    def pick(self, options: list[str], expr: str) -> str:
        """One of `options` by `expr` modulo their count."""
        whens = " ".join(f"WHEN {i} THEN '{o}'" for i, o in enumerate(options))
        return f"(CASE ({expr}) % {len(options)} {whens} END)"

    def series(self, a: int, b: int) -> tuple[str, str]:
        """(prefix, from-clause) yielding x = a..b."""
        if self.pg:
            return "", f"FROM generate_series({a}, {b}) AS g(x)"
        return f"WITH RECURSIVE g(x) AS (SELECT {a} UNION ALL SELECT x + 1 FROM g WHERE x < {b}) ", "FROM g"


async def dialect(conn: AsyncConnection) -> Dialect:
    return Dialect(conn.dialect.name)


async def insert_series(conn: AsyncConnection, table: str, cols: dict[str, str], a: int, b: int,
                        batch: int = 200_000) -> None:  # fmt: skip
    """INSERT INTO table (cols) SELECT <exprs of x> for x in a..b, in batches."""
    d = await dialect(conn)
    names, exprs = ", ".join(cols), ", ".join(cols.values())
    lo = a
    while lo <= b:
        hi = min(b, lo + batch - 1)
        with_, from_ = d.series(lo, hi)
        if d.pg:
            sql = f"INSERT INTO {table} ({names}) SELECT {exprs} {from_}"
        else:
            sql = f"INSERT INTO {table} ({names}) {with_}SELECT {exprs} {from_}"
        await conn.execute(text(sql))
        lo = hi + 1


async def fix_sequences(conn: AsyncConnection, tables: list[str]) -> None:
    """Rows inserted with explicit ids: move PostgreSQL's sequences past them."""
    if conn.dialect.name != "postgresql":
        return
    for t in tables:
        await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                                f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {t}), 1))"))  # fmt: skip


def case_columns(d: Dialect, team: str, opened: str, *, status: str, owner: str, channel: str,
                 customers: int, platform: str = "slack", extra: dict[str, str] | None = None) -> dict[str, str]:  # fmt: skip
    """Columns of a `cases` row from x: `opened` is an epoch-seconds expression; `status` an SQL
    expression giving the status; id = number = x."""
    owned = f"{opened} + 300 + (x % 37) * 60"
    resolved = f"{opened} + 3600 * (2 + x % 30)"
    active_owner = f"(CASE WHEN {status} = 'open' THEN NULL ELSE {owner} END)"
    done = f"{status} IN ('resolved', 'closed')"
    # (x % n) first keeps the product inside a 32-bit integer on PostgreSQL; the result is the same.
    cust = f"(1 + ((x % {customers}) * 7919) % {customers})" if customers else "NULL"
    cols = {
        "id": "x", "team_id": f"'{team}'", "number": "x", "platform": f"'{platform}'", "channel_id": channel,
        "opened_by": "'U' || (x % 40)", "opened_at": d.ts(opened),
        "customer_id": f"(CASE WHEN x % 2 = 0 THEN {cust} END)" if customers else "NULL",
        "customer_name": f"(CASE WHEN x % 2 = 0 THEN 'Guest ' || {cust} END)" if customers else "NULL",
        "problem": "'Breakfast arrived cold, case ' || x", "wants": "'a refund'",
        "category": d.pick(CATEGORIES, "x"), "severity": d.pick(["low", "medium", "medium", "high"], "x"),
        "status": status, "owner_id": active_owner,
        "owned_at": f"(CASE WHEN {status} = 'open' THEN NULL ELSE {d.ts(owned)} END)",
        "resolved_at": f"(CASE WHEN {done} THEN {d.ts(resolved)} END)",
        "resolution": f"(CASE WHEN {done} THEN 'Comped the meal' END)",
        "root_cause": f"(CASE WHEN {done} THEN {d.pick(CAUSES, 'x')} END)",
        "followup_due_at": f"(CASE WHEN {done} THEN {d.ts(resolved + ' + 172800')} END)",
        "followup_at": f"(CASE WHEN {status} = 'closed' THEN {d.ts(resolved + ' + 172800')} END)",
        "satisfied": f"(CASE WHEN {status} = 'closed' THEN {d.bool('x % 5 <> 0')} END)",
        "score": f"(CASE WHEN {status} = 'closed' THEN 1 + x % 5 END)",
        "won_back": f"(CASE WHEN {status} = 'closed' AND x % 3 = 0 THEN {d.bool('x % 2 = 0')} END)",
        "closed_at": f"(CASE WHEN {status} = 'closed' THEN {d.ts(resolved + ' + 172800')} END)",
        "reopened_count": "0", "updated_at": d.ts(opened), "version": "1",
    }  # fmt: skip
    cols.update(extra or {})
    return cols


async def events_from_cases(conn: AsyncConnection, lo: int, hi: int) -> None:
    """The timeline a case's fields imply: opened, claimed, resolved, follow-up answered."""
    d = await dialect(conn)
    empty = d.json_empty()
    rng = f"team_id IS NOT NULL AND id BETWEEN {lo} AND {hi}"
    if d.pg:
        answer = "json_build_object('satisfied', satisfied, 'score', score, 'won_back', won_back)"
    else:
        answer = ("json_object('satisfied', json(CASE satisfied WHEN 1 THEN 'true' ELSE 'false' END), "
                  "'score', score, 'won_back', json(CASE won_back WHEN 1 THEN 'true' WHEN 0 THEN 'false' "
                  "ELSE 'null' END))")  # fmt: skip
    for kind, at, cond, data in [
        ("opened", "opened_at", "TRUE", empty),
        ("claimed", "owned_at", "owned_at IS NOT NULL", empty),
        ("resolved", "resolved_at", "resolved_at IS NOT NULL", empty),
        ("followup_answered", "followup_at", "followup_at IS NOT NULL", answer),
    ]:
        cond = cond if d.pg else cond.replace("TRUE", "1")
        await conn.execute(text(
            f"INSERT INTO timeline_events (team_id, case_id, kind, actor, at, data) "
            f"SELECT team_id, id, '{kind}', COALESCE(owner_id, opened_by), {at}, {data} FROM cases "
            f"WHERE {rng} AND {cond}"
        ))  # fmt: skip


async def grants_from_cases(conn: AsyncConnection, lo: int, hi: int) -> None:
    """Compensation on three cases in ten; one in ten of all cases above the giver's authority."""
    d = await dialect(conn)
    await conn.execute(text(
        f"INSERT INTO grants (team_id, case_id, granted_by, gesture, amount_minor, currency, within_authority, "
        f"granted_at) SELECT team_id, id, COALESCE(owner_id, opened_by), {d.pick(['Waived fee', 'Free breakfast', 'Room upgrade'], 'id')}, "
        f"1000 + (id % 20) * 500, 'USD', {d.bool('id % 10 <> 0')}, COALESCE(owned_at, opened_at) FROM cases "
        f"WHERE id BETWEEN {lo} AND {hi} AND id % 10 < 3"
    ))  # fmt: skip


async def customers(conn: AsyncConnection, team: str, n: int, at: str) -> None:
    d = await dialect(conn)
    await insert_series(conn, "customers", {
        "id": "x", "team_id": f"'{team}'", "key": "'guest ' || x", "name": "'Guest ' || x",
        "notes": "'[]'" + ("::json" if d.pg else ""), "created_at": d.ts(at),
    }, 1, n)  # fmt: skip


def pg(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


async def scalar(conn: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await conn.execute(text(sql), params)).scalar()
