"""Due items: schedule, claim with a lease, mark sent, retry.

The database is the source of truth. A case change schedules or cancels rows in its own
transaction (`subscriber.py`); a worker claims due rows with a lease (on PostgreSQL
`FOR UPDATE SKIP LOCKED`, everywhere a conditional UPDATE on `version` and the lease),
sends through the Notifier port, then marks them sent. A crash mid-send leaves the lease
to expire and another worker retries; a delivery failure backs off and retries.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic
from typing import Any

from sqlalchemy import bindparam, insert, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.models import Case
from teambot.core.db import Database
from teambot.core.leases import DUE, MAX_ATTEMPTS, new_worker_id
from teambot.core.observability import count_send
from teambot.core.policy.models import Policy
from teambot.core.ports import Clock, Notice, Notifier, Recipient
from teambot.core.scheduling.models import CANCELLED, CASE_KINDS, FAILED, PENDING, SENT, DueItem

log = logging.getLogger(__name__)

# ----- what a handler decides -------------------------------------------------------------


@dataclass
class Outcome:
    """What to do with a claimed item: send these, or hold it until later, or drop it."""

    messages: list[tuple[Recipient, Notice]] = field(default_factory=list)
    defer_until: datetime | None = None
    cancel: bool = False
    then: list[DueItem] = field(default_factory=list)  # scheduled once this one is sent
    result: dict[str, Any] = field(default_factory=dict)  # kept in the item's data


DueHandler = Callable[["DueQueue", DueItem], Awaitable[Outcome]]


@dataclass
class SweepReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


class DueQueue:
    """Claims due rows and turns them into notices through the handlers registered by kind."""

    def __init__(
        self, db: Database, clock: Clock, notifier: Notifier, *, worker_id: str | None = None,
        lease: timedelta = DUE.hold, concurrency: int = 16,
    ) -> None:  # fmt: skip
        self.db = db
        self.clock = clock
        self.notifier = notifier
        self.worker_id = worker_id or new_worker_id()
        self.lease = lease
        self.concurrency = concurrency  # items processed at once within one claimed batch
        self.handlers: dict[str, DueHandler] = {}

    def register(self, kind: str, handler: DueHandler) -> None:
        self.handlers[kind] = handler

    # ----- the queue ----------------------------------------------------------------------

    async def schedule(self, item: DueItem) -> bool:
        """Insert unless its key exists already; True when this call created it."""
        async with self.db.session() as s:
            created = await insert_new(s, item)
            await s.commit()
            return created

    async def claim(self, limit: int = 50, *, key: str | None = None) -> list[DueItem]:
        """Take up to `limit` due rows under a lease in one statement; rows another worker holds
        (or is claiming this instant: SKIP LOCKED on PostgreSQL, the write lock on SQLite) are skipped.

        `key` claims only that row (a mail someone just asked to send), not the whole queue."""
        items, _ = await self._claim(limit, key=key)
        return items

    async def _claim(
        self, limit: int, *, key: str | None = None, preload: bool = False
    ) -> tuple[list[DueItem], SweepBatch | None]:
        """`claim`, and with `preload` the claimed items' cases and policies read in the same
        transaction (two queries a batch instead of a session and two lookups per item)."""
        now = self.clock.now()
        due = (
            select(DueItem.id)
            .where(
                col(DueItem.status) == PENDING,
                col(DueItem.due_at) <= now,
                or_(col(DueItem.lease_until).is_(None), col(DueItem.lease_until) < now),
            )
            .order_by(col(DueItem.due_at), col(DueItem.id))
            .limit(limit)
        )
        batch: SweepBatch | None = None
        async with self.db.session() as s:
            if key is not None:
                due = due.where(col(DueItem.key) == key)
            if s.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            rows = await s.exec(  # type: ignore[call-overload]
                update(DueItem)
                .where(col(DueItem.id).in_(due.scalar_subquery()))
                .values(
                    lease_owner=self.worker_id,
                    lease_until=now + self.lease,
                    attempts=DueItem.attempts + 1,
                    version=DueItem.version + 1,  # type: ignore[operator]
                )
                .returning(DueItem)
                .execution_options(synchronize_session=False)
            )
            claimed = [row for row in rows.scalars().all() if row.lease_owner == self.worker_id]
            if preload and claimed:
                batch = await _preload(s, claimed)
            await s.commit()
        claimed.sort(key=lambda item: (item.due_at, item.id or 0))
        return claimed, batch

    def _held(self, item: DueItem) -> tuple[Any, ...]:
        """Still pending and leased to this worker: the guard on every write after a claim."""
        return (
            col(DueItem.id) == item.id,
            col(DueItem.lease_owner) == self.worker_id,
            col(DueItem.status) == PENDING,
        )

    async def _settle(self, item: DueItem, then: list[DueItem] | None = None, **values: Any) -> bool:
        """Write the outcome only if we still hold the lease; add follow-on items with it.

        Inside a sweep the write joins the next group commit (see `_Settler`): `process` still
        returns only once its item is settled, so nothing is marked before it was delivered."""
        settler = _SETTLER.get()
        if settler is not None:
            return await settler.settle(_Settlement(item, values, list(then or [])))
        return await self._settle_one(item, then, **values)

    async def _settle_one(self, item: DueItem, then: list[DueItem] | None = None, **values: Any) -> bool:
        async with self.db.session() as s:
            res = await s.exec(  # type: ignore[call-overload]
                update(DueItem)
                .where(*self._held(item))
                .values(lease_owner=None, lease_until=None, version=DueItem.version + 1, **values)  # type: ignore[operator]
                .execution_options(synchronize_session=False)
            )
            if res.rowcount != 1:
                await s.rollback()
                log.warning("due item %s: lease lost before settling", item.id)
                return False
            for extra in then or []:
                await insert_new(s, extra)
            await s.commit()
            return True

    async def _still_mine(self, item: DueItem) -> bool:
        """Renew the lease just before sending: a worker that stalled past it must not send.

        Within the first half of a lease this worker took, nobody else can hold the row (a
        lease is only taken over once it has run out), so the round trip is skipped."""
        now = self.clock.now()
        if item.lease_owner == self.worker_id and item.lease_until and now < item.lease_until - self.lease / 2:
            return True
        async with self.db.session() as s:
            res = await s.exec(  # type: ignore[call-overload]
                update(DueItem)
                .where(*self._held(item), col(DueItem.lease_until) > now)
                .values(lease_until=now + self.lease, version=DueItem.version + 1)  # type: ignore[operator]
                .execution_options(synchronize_session=False)
            )
            await s.commit()
            return bool(res.rowcount == 1)

    async def _settle_many(self, batch: list[_Settlement]) -> list[bool]:
        """Settle many items in one transaction: which are still ours (one SELECT), their new values
        (one executemany per shape of outcome), their follow-on items (one INSERT)."""
        table = DueItem.__table__  # type: ignore[attr-defined]
        ids = sorted({r.item.id for r in batch if r.item.id is not None})
        async with self.db.session() as s:
            mine = (
                select(DueItem.id)
                .where(col(DueItem.id).in_(ids), col(DueItem.lease_owner) == self.worker_id,
                       col(DueItem.status) == PENDING)
                .order_by(col(DueItem.id))
            )  # fmt: skip
            if s.bind.dialect.name == "postgresql":
                mine = mine.with_for_update()  # nobody cancels them between this and the UPDATE
            held = set((await s.exec(mine)).all())
            shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            then: list[DueItem] = []
            for r in batch:
                if r.item.id not in held:
                    log.warning("due item %s: lease lost before settling", r.item.id)
                    continue
                shape = tuple(sorted(r.values))
                shapes.setdefault(shape, []).append({"_id": r.item.id, **{f"v_{k}": v for k, v in r.values.items()}})
                then.extend(r.then)
            conn = await s.connection()
            for shape, params in shapes.items():
                stmt = (
                    update(table)
                    .where(table.c.id == bindparam("_id"), table.c.lease_owner == self.worker_id,
                           table.c.status == PENDING)
                    .values(lease_owner=None, lease_until=None, version=table.c.version + 1,
                            **{k: bindparam(f"v_{k}", type_=table.c[k].type) for k in shape})
                )  # fmt: skip
                await conn.execute(stmt, params)
            await _insert_many(s, then)
            await s.commit()
        return [r.item.id in held for r in batch]

    async def sweep(self, limit: int | None = None, rounds: int = 2000) -> SweepReport:
        """Claim and process until nothing is due (items a handler adds now are due now too).

        Items stream through `concurrency` slots: the next batch is claimed (with its cases and
        policies) while this one's items wait for slots and run, and finished items are settled
        together (`_Settler`), so the database sees a few statements per batch, not per item.
        `rounds` only guards against a handler that keeps adding due-now work."""
        limit = limit or max(50, 2 * self.concurrency)
        report = SweepReport()
        gate = asyncio.Semaphore(self.concurrency)
        running: set[asyncio.Task[None]] = set()
        errors: list[BaseException] = []

        async def one(item: DueItem) -> None:
            try:
                await self.process(item, report)
            except Exception as exc:  # the database failed us: stop claiming, report it after
                errors.append(exc)
            finally:
                gate.release()

        settler = _Settler(self)
        settler_token = _SETTLER.set(settler)
        started, claiming, claimed = monotonic(), [0.0], 0

        async def claim() -> tuple[list[DueItem], SweepBatch | None]:
            t = monotonic()
            try:
                return await self._claim(limit, preload=True)
            finally:
                claiming[0] += monotonic() - t

        # One claim is always under way while the last one's items run: a claim's round trips
        # then never leave the slots idle.
        upcoming: asyncio.Task[tuple[list[DueItem], SweepBatch | None]] | None = asyncio.create_task(claim())
        try:
            for round_ in range(rounds):
                assert upcoming is not None
                items, batch = await upcoming
                upcoming = None
                claimed += len(items)
                if errors:  # the database is failing: these are retried after their lease
                    break
                if not items:
                    if not running:
                        break
                    await asyncio.wait(running)  # what they schedule may be due now
                if round_ + 1 < rounds:
                    upcoming = asyncio.create_task(claim())
                if not items:
                    continue
                batch_token = SWEEP_BATCH.set(batch)
                try:
                    for item in items:
                        await gate.acquire()  # one notifier paces each channel itself
                        task = asyncio.create_task(one(item))
                        running.add(task)
                        task.add_done_callback(running.discard)
                finally:
                    SWEEP_BATCH.reset(batch_token)
        finally:
            if upcoming is not None:  # cancelled or failed: what it claimed is retried after its lease
                upcoming.cancel()
                await asyncio.wait([upcoming])
            if running:
                await asyncio.wait(running)
            _SETTLER.reset(settler_token)
        if claimed:
            log.info(
                "sweep: %d items in %.1f s (claiming %.1f s; %d commits settled them in %.1f s)",
                claimed, monotonic() - started, claiming[0], settler.commits, settler.seconds,
            )  # fmt: skip
        if errors:
            raise errors[0]
        return report

    async def run_now(self, key: str) -> SweepReport:
        """Process one item at once if it is due and free; the sweep retries it if this fails."""
        report = SweepReport()
        for item in await self.claim(1, key=key):
            await self.process(item, report)
        return report

    async def process(self, item: DueItem, report: SweepReport | None = None) -> None:
        report = report if report is not None else SweepReport()
        now = self.clock.now()
        handler = self.handlers.get(item.kind)
        if handler is None:
            await self._settle(item, status=FAILED, last_error=f"no handler for {item.kind}")
            report.failed.append(item.id or 0)
            count_send(item.kind, "failed")
            return
        try:
            outcome = await handler(self, item)
        except Exception as exc:  # a bug or the database: retry later, keep the worker alive
            log.exception("due item %s (%s): handler failed", item.id, item.kind)
            await self._retry(item, exc, list(item.data.get("delivered", [])), report)
            return
        if outcome.cancel:
            await self._settle(item, status=CANCELLED, data={**item.data, **outcome.result})
            report.cancelled.append(item.id or 0)
            count_send(item.kind, "cancelled")
            return
        if outcome.defer_until is not None and outcome.defer_until > now:
            await self._settle(item, due_at=outcome.defer_until, attempts=max(item.attempts - 1, 0))
            report.deferred.append(item.id or 0)
            count_send(item.kind, "deferred")
            return
        if outcome.messages and not await self._still_mine(item):
            log.warning("due item %s: lease expired before sending; another worker has it", item.id)
            return
        delivered = list(item.data.get("delivered", []))
        for recipient, notice in outcome.messages:
            tag = f"{recipient.kind}:{recipient.platform}:{recipient.id}"
            if tag in delivered:
                continue  # a retry after a partial failure: this one already has it
            try:
                await self.notifier.notify(recipient, notice)
            except Exception as exc:
                log.warning("due item %s: delivery to %s failed: %s", item.id, tag, exc)
                await self._retry(item, exc, delivered, report)
                return
            delivered.append(tag)
        data = {**item.data, **outcome.result, "delivered": delivered}
        if await self._settle(item, outcome.then, status=SENT, sent_at=self.clock.now(), data=data):
            report.sent.append(item.id or 0)
            count_send(item.kind, "sent")

    async def _retry(self, item: DueItem, exc: Exception, delivered: list[str], report: SweepReport) -> None:
        error = f"{type(exc).__name__}: {exc}"[:500]
        data = {**item.data, "delivered": delivered}
        if item.attempts >= MAX_ATTEMPTS:
            await self._settle(item, status=FAILED, last_error=error, data=data)
            report.failed.append(item.id or 0)
            count_send(item.kind, "failed")
            return
        due = self.clock.now() + DUE.backoff(item.attempts)
        await self._settle(item, due_at=due, last_error=error, data=data)
        report.deferred.append(item.id or 0)
        count_send(item.kind, "retried")


async def insert_new(s: AsyncSession, item: DueItem) -> bool:
    """Insert a due item unless one with its key exists (two workers planning the same digest)."""
    exists = (await s.exec(select(DueItem.id).where(DueItem.key == item.key))).first()
    if exists is not None:
        return False
    try:
        async with s.begin_nested():
            s.add(item)
            await s.flush()
    except IntegrityError:
        return False
    return True


async def _insert_many(s: AsyncSession, items: list[DueItem]) -> None:
    """`insert_new` for many at once, in one statement: `INSERT ... ON CONFLICT (key) DO NOTHING`
    (PostgreSQL and SQLite), so a key that exists, or that another worker is inserting, is skipped."""
    rows = {item.key: item.model_dump(exclude={"id"}) for item in reversed(items)}  # the first wins
    if not rows:
        return
    table = DueItem.__table__  # type: ignore[attr-defined]
    dialect = s.bind.dialect.name
    if dialect == "postgresql":
        stmt: Any = pg_insert(table).on_conflict_do_nothing(index_elements=["key"])
    elif dialect == "sqlite":
        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=["key"])
    else:  # pragma: no cover (neither): look the keys up first
        existing = set((await s.exec(select(DueItem.key).where(col(DueItem.key).in_(list(rows))))).all())
        rows = {k: v for k, v in rows.items() if k not in existing}
        if not rows:
            return
        stmt = insert(table)
    conn = await s.connection()
    await conn.execute(stmt, list(rows.values()))


# ----- a sweep's batches ------------------------------------------------------------------


@dataclass
class SweepBatch:
    """What the handlers of one claimed batch need, read with the claim (snapshot at claim time;
    a case that changes meanwhile cancels its items, and the settle then finds the lease lost)."""

    cases: dict[int, Case]
    policies: dict[str, Policy]


async def _preload(s: AsyncSession, items: list[DueItem]) -> SweepBatch:
    """Two queries for the whole batch; kinds that are not about a case load what they need."""
    case_ids = sorted({i.case_id for i in items if i.case_id is not None and i.kind in CASE_KINDS})
    teams = sorted({i.team_id for i in items if i.case_id is not None and i.kind in CASE_KINDS})
    cases = (await s.exec(select(Case).where(col(Case.id).in_(case_ids)))).all() if case_ids else []
    policies = (await s.exec(select(Policy).where(col(Policy.team_id).in_(teams)))).all() if teams else []
    return SweepBatch({c.id: c for c in cases if c.id is not None}, {p.team_id: p for p in policies})


@dataclass
class _Settlement:
    """One item's outcome, waiting for the group commit: its new column values and follow-ons."""

    item: DueItem
    values: dict[str, Any]
    then: list[DueItem]


class _Settler:
    """Group commit for one sweep: settlements that arrive while a commit is under way go
    together in the next one. Each caller still waits for its own, so the at-least-once window
    stays the sends in flight plus those that finished during one commit's round trips."""

    def __init__(self, dl: DueQueue) -> None:
        self.dl = dl
        self.pending: list[tuple[_Settlement, asyncio.Future[bool]]] = []
        self.task: asyncio.Task[None] | None = None
        self.commits = 0
        self.seconds = 0.0  # spent committing, for the sweep's log line

    async def settle(self, settlement: _Settlement) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.pending.append((settlement, future))
        if self.task is None or self.task.done():
            # A fresh context: the commits must not inherit a caller's SQLite write turn.
            self.task = asyncio.create_task(self._drain(), context=contextvars.Context())
        return await future

    async def _drain(self) -> None:
        while self.pending:
            group, self.pending = self.pending, []
            started = monotonic()
            try:
                held = await self.dl._settle_many([r for r, _ in group])
                self.commits += 1
                self.seconds += monotonic() - started
            except DBAPIError:  # e.g. a deadlock with a case's change, a connection lost
                log.warning("settling %d due items together failed; one by one", len(group), exc_info=True)
                for r, future in group:
                    await self._one(r, future)
                continue
            except Exception as exc:  # each waiting `process` raises it, as a lone settle would
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:
                for _, future in group + self.pending:
                    future.cancel()
                raise
            for (_, future), ok in zip(group, held, strict=True):
                if not future.done():
                    future.set_result(ok)

    async def _one(self, r: _Settlement, future: asyncio.Future[bool]) -> None:
        try:
            ok = await self.dl._settle_one(r.item, r.then, **r.values)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(ok)


_SETTLER: contextvars.ContextVar[_Settler | None] = contextvars.ContextVar("teambot_due_settler", default=None)
SWEEP_BATCH: contextvars.ContextVar[SweepBatch | None] = contextvars.ContextVar("teambot_due_batch", default=None)
