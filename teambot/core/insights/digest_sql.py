"""Order statistics and durations computed by the database, for the digest.

A busy week has tens of thousands of cases; sending every duration to Python to take a median
cost more than everything else the digest does. Here the database ranks the values and only
the two middle values and the p90 value travel back: PostgreSQL with `percentile_disc`, SQLite
(no percentile aggregate) with one `row_number()` pass filtered to those ranks.

Durations are exact integer microseconds on both databases, so Python turns them into minutes
or hours with the same float arithmetic as `timedelta.total_seconds()`: the figures are the
ones the Python definitions (`digest.median`, `digest.p90`) give over the same rows, to the bit.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Integer, case, cast, extract, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select
from sqlmodel.ext.asyncio.session import AsyncSession

US = 1_000_000  # microseconds in a second


async def dialect_of(s: AsyncSession) -> str:
    return (await s.connection()).dialect.name


def materialized(cte: Any, dialect: str) -> Any:
    """A CTE computed once: PostgreSQL and SQLite (3.35+) would otherwise inline it, re-running
    a per-row subquery (a case's opening, its last state event) at every use of its columns."""
    if dialect == "postgresql" or (dialect == "sqlite" and sqlite3.sqlite_version_info >= (3, 35)):
        return cte.prefix_with("MATERIALIZED")
    return cte


def micros(dialect: str, later: Any, earlier: Any) -> ColumnElement[int]:
    """`later - earlier` in whole microseconds, exactly (no float on the way)."""
    if dialect == "postgresql":
        return cast(extract("epoch", later - earlier) * US, BigInteger)
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds from the first 19 characters (so
    # strftime's millisecond rounding never carries into them), microseconds from the rest.
    def whole(t: Any) -> ColumnElement[int]:
        return cast(func.strftime("%s", func.substr(t, 1, 19)), Integer)

    def frac(t: Any) -> ColumnElement[int]:
        return cast(func.substr(t, 21, 6), Integer)

    return (whole(later) - whole(earlier)) * US + frac(later) - frac(earlier)


@dataclass
class Ranked:
    """What a median, a nearest-rank p90 and a count under a limit need of a set of values."""

    n: int = 0
    lower: Any = None  # the value at rank ceil(n/2)
    upper: Any = None  # the value at rank floor(n/2) + 1 (the same one when n is odd)
    p90: Any = None  # the value at rank ceil(0.9 n)
    within: int = 0  # values <= the limit given

    @classmethod
    def of(cls, values: list[Any], limit: float | None = None) -> Ranked:
        """The same from values already fetched (the chart needs every time to resolve anyway)."""
        v = sorted(values)
        if not v:
            return cls()
        n = len(v)
        within = sum(1 for x in v if x <= limit) if limit is not None else 0
        return cls(n, v[(n + 1) // 2 - 1], v[n // 2], v[max(math.ceil(0.9 * n), 1) - 1], within)

    def median(self, conv: Callable[[Any], float]) -> float | None:
        """As `statistics.median` over the converted values (the mean of the two middle ones)."""
        if not self.n:
            return None
        lo, hi = conv(self.lower), conv(self.upper)
        return round(lo if self.n % 2 else (lo + hi) / 2, 1)

    def p90_value(self, conv: Callable[[Any], float]) -> float | None:
        return round(conv(self.p90), 1) if self.n else None


async def ranked(s: AsyncSession, dialect: str, values: Select[Any], limit: float | None = None) -> Ranked:
    """Rank the one-column `values` in the database, leaving out NULLs (a cancelled case's)."""
    sub = materialized(values.cte("vals"), dialect)
    v = next(iter(sub.c))
    live = v.is_not(None)
    under = case((v <= limit, 1), else_=0) if limit is not None else literal(0)
    if dialect == "postgresql":
        q = select(
            func.count(v),
            func.percentile_disc(0.5).within_group(v),
            func.percentile_disc(0.5).within_group(v.desc()),  # the upper middle, from the top
            func.percentile_disc(0.9).within_group(v),
            func.coalesce(func.sum(under), 0),
        ).where(live)
        n, lower, upper, top, within = (await s.exec(q)).one()  # type: ignore[call-overload]
        return Ranked(int(n), lower, upper, top, int(within))
    rk = select(
        v.label("v"),
        func.row_number().over(order_by=v).label("rn"),
        func.count().over().label("n"),
        func.sum(under).over().label("w"),
    ).where(live).subquery()
    n = rk.c.n
    p90_rank = cast(0.9 * n, Integer) + case((0.9 * n > cast(0.9 * n, Integer), 1), else_=0)
    rows = (
        await s.exec(  # type: ignore[call-overload]
            select(rk.c.v, rk.c.rn, rk.c.n, rk.c.w).where(
                or_(rk.c.rn == (n + 1) // 2, rk.c.rn == n // 2 + 1, rk.c.rn == p90_rank)
            )
        )
    ).all()
    if not rows:
        return Ranked()
    total = int(rows[0].n)
    at = {int(r.rn): r.v for r in rows}
    top = at[max(math.ceil(0.9 * total), 1)]  # the same float product as SQL's and `digest.p90`'s
    return Ranked(total, at[(total + 1) // 2], at[total // 2 + 1], top, int(rows[0].w or 0))


def minutes(us: int) -> float:
    """Microseconds to minutes as `timedelta.total_seconds() / 60` computes them."""
    return us / US / 60


def hours(us: int) -> float:
    return us / US / 3600
