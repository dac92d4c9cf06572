"""The intake queue: record before the ack, lease, take over, finish once.

Every request a platform got a 200 for is an `IntakeItem` committed *before* the ack, held by the
process that answered (`lease_owner`, `lease_until`). That process runs the work at once; while it
lives, a heartbeat renews its leases with one UPDATE. When it dies (SIGKILL, OOM, a lost host) its
leases run out and any live process (web or `teambot worker`) claims the rows (`FOR UPDATE SKIP
LOCKED` on PostgreSQL, a conditional UPDATE everywhere) and runs them again. On SIGTERM a process
stops claiming, lets its running work finish for a few seconds and hands the rest back (leases
released), so the next process starts on them at once.

Exactly-once in effect: the core transaction that changes a case for a row marks the row `applied`
(a CaseEvents subscriber; the row id travels in a context variable), so a row taken over after a
crash never repeats a committed step; opening is idempotent through the case's `source_ref` too.

Card outbox: every case change arms the case's `card:<platform>` row in the same transaction
(an upsert that bumps `generation`), so a case whose card was never posted, or whose card or thread
missed a change, is brought up to date by whichever process holds that row next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from teambot.core.cases.events import CaseChanged
from teambot.core.cases.models import Case
from teambot.core.db import Database, insert_or_skip
from teambot.core.errors import Conflict
from teambot.core.intake.models import DONE, FAILED, PENDING, IntakeItem
from teambot.core.scheduling.deadlines import new_worker_id

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)  # renewed every LEASE/3 while the holder lives
CARD_GRACE = timedelta(seconds=10)  # an armed card row waits this long for the request's own process
MAX_ATTEMPTS = 8
# The intake row whose work is running in this task: the core's transaction marks it applied.
APPLYING: ContextVar[int | None] = ContextVar("teambot_intake_applying", default=None)

Handler = Callable[[IntakeItem], Awaitable[None]]


def card_key(platform: str, case_id: int | None) -> str:
    return f"card:{platform}:{case_id}"


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts, 0), 120))


class Intake:
    """One per process: records, claims, renews, finishes and hands back intake rows."""

    def __init__(self, db: Database, *, worker_id: str | None = None, lease: timedelta = LEASE,
                 card_grace: timedelta = CARD_GRACE, poll_seconds: float = 1.0, slots: int = 4) -> None:  # fmt: skip
        self.db = db
        self.worker_id = worker_id or new_worker_id()
        self.lease = lease
        self.card_grace = card_grace
        self.poll_seconds = poll_seconds
        self.handlers: dict[str, Handler] = {}
        self._slots = asyncio.Semaphore(slots)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False
        self.taken_over = 0  # rows this process claimed from another (or a dead) one
        self._holding: set[str] = set()  # keys held by running work in this process

    def now(self) -> datetime:
        return datetime.now(UTC)

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    @property
    def accepting(self) -> bool:
        return not self._stopping

    # ----- writing rows ---------------------------------------------------------------------

    async def record(self, key: str, kind: str, team_id: str, payload: dict[str, Any]) -> IntakeItem | None:
        """Commit a request before its ack, held by this process; None when the key was recorded
        already (a redelivery: its work is done or under way somewhere)."""
        now = self.now()
        item = IntakeItem(key=key[:255], kind=kind, team_id=team_id[:128], payload=payload, created_at=now,
                          lease_owner=self.worker_id, lease_until=now + self.lease)  # fmt: skip
        for attempt in range(3):
            try:
                return await self._insert(item, retry=attempt > 0)
            except DBAPIError as exc:  # a connection cut under us (pool_pre_ping catches most)
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        return None

    async def _insert(self, item: IntakeItem, *, retry: bool = False) -> IntakeItem | None:
        async with self.db.session() as s:
            stmt = insert_or_skip(IntakeItem.__table__, ("key",))  # type: ignore[attr-defined]
            res = await s.exec(stmt, params=item.model_dump(exclude={"id"}))  # type: ignore[call-overload]
            row = res.first()
            if row is None and retry:
                # The connection died at our commit: the row may be ours after all (same holder,
                # same moment), in which case this request is recorded and still ours to run.
                mine = await s.exec(
                    select(IntakeItem.id).where(
                        IntakeItem.key == item.key, IntakeItem.lease_owner == self.worker_id,
                        IntakeItem.created_at == item.created_at, IntakeItem.status == PENDING,
                    )
                )  # fmt: skip
                row = mine.first()
                row = (row,) if row is not None and not isinstance(row, tuple) else row
            await s.commit()
        if row is None:
            return None
        item.id = int(row[0])
        self._holding.add(item.key)
        return item

    async def on_case_changed(self, event: CaseChanged) -> None:
        """In the case's transaction: mark the running request applied, arm the case's card row."""
        s, case = event.session, event.case
        with s.no_autoflush:
            rid = APPLYING.get()
            if rid is not None and s.info.get("intake_applied") != rid:
                # Only if nobody applied it yet: a process that took the row over while its first
                # holder was still (slowly) running it must not do the step a second time.
                res = await s.exec(  # type: ignore[call-overload]
                    update(IntakeItem).where(col(IntakeItem.id) == rid, col(IntakeItem.applied).is_(False))
                    .values(applied=True, case_id=case.id).execution_options(synchronize_session=False)
                )  # fmt: skip
                if res.rowcount != 1:
                    raise Conflict("That was done already.", "The case card shows it.")
                s.info["intake_applied"] = rid
            if card_key_kind(case.platform) in self.handlers:
                await self._arm(s, case, event.at)

    async def _arm(self, s: Any, case: Case, at: datetime) -> None:
        table = IntakeItem.__table__  # type: ignore[attr-defined]
        now = self.now()
        insert = pg_insert if s.bind.dialect.name == "postgresql" else sqlite_insert
        payload = {"team": case.team_id, "number": case.number, "case_id": case.id}
        stmt = insert(table).values(
            key=card_key(case.platform, case.id), kind=card_key_kind(case.platform), team_id=case.team_id,
            payload=payload, status=PENDING, attempts=0, applied=False, case_id=case.id, generation=1,
            lease_until=now + self.card_grace, created_at=now,
        )  # fmt: skip
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "status": PENDING, "attempts": 0, "done_at": None, "generation": table.c.generation + 1,
                "lease_until": sql_case((table.c.lease_owner.is_(None), now + self.card_grace),
                                        else_=table.c.lease_until),
            },
        )  # fmt: skip
        await s.exec(stmt)

    # ----- leases ---------------------------------------------------------------------------

    async def claim(self, limit: int = 20) -> list[IntakeItem]:
        """Rows nobody holds (or whose holder's lease ran out), now held by this process."""
        now = self.now()
        async with self.db.session() as s:
            q = (
                select(IntakeItem)
                .where(col(IntakeItem.status) == PENDING,
                       or_(col(IntakeItem.lease_until).is_(None), col(IntakeItem.lease_until) < now))
                .order_by(col(IntakeItem.id))
                .limit(limit)
            )  # fmt: skip
            if s.bind.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            candidates = list((await s.exec(q)).all())
            claimed: list[IntakeItem] = []
            for item in candidates:
                res = await s.exec(  # type: ignore[call-overload]
                    update(IntakeItem)
                    .where(col(IntakeItem.id) == item.id, col(IntakeItem.status) == PENDING,
                           col(IntakeItem.generation) == item.generation,
                           or_(col(IntakeItem.lease_until).is_(None), col(IntakeItem.lease_until) < now))
                    .values(lease_owner=self.worker_id, lease_until=now + self.lease, attempts=IntakeItem.attempts + 1)
                    .execution_options(synchronize_session=False)
                )  # fmt: skip
                if res.rowcount == 1 and item.key not in self._holding:
                    if item.lease_owner not in (None, self.worker_id):
                        self.taken_over += 1
                    item.lease_owner, item.attempts = self.worker_id, item.attempts + 1
                    self._holding.add(item.key)
                    claimed.append(item)
            await s.commit()
            return claimed

    async def take(self, key: str) -> IntakeItem | None:
        """Hold one row now (the request's own process, not waiting out the card grace); None when
        another live process holds it or there is nothing to do."""
        now = self.now()
        async with self.db.session() as s:
            item = (await s.exec(select(IntakeItem).where(col(IntakeItem.key) == key))).first()
            if item is None or item.status != PENDING or key in self._holding:
                return None
            if item.lease_owner not in (None, self.worker_id) and item.lease_until and item.lease_until > now:
                return None
            res = await s.exec(  # type: ignore[call-overload]
                update(IntakeItem)
                .where(col(IntakeItem.id) == item.id, col(IntakeItem.status) == PENDING,
                       col(IntakeItem.generation) == item.generation,
                       or_(col(IntakeItem.lease_owner).is_(None), col(IntakeItem.lease_owner) == self.worker_id,
                           col(IntakeItem.lease_until) < now))
                .values(lease_owner=self.worker_id, lease_until=now + self.lease)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            await s.commit()
            if res.rowcount != 1:
                return None
            item.lease_owner = self.worker_id
            self._holding.add(key)
            return item

    async def held_elsewhere(self, key: str) -> bool:
        """Pending and under another process's live lease (or running here already)."""
        if key in self._holding:
            return True
        async with self.db.session() as s:
            item = (await s.exec(select(IntakeItem).where(col(IntakeItem.key) == key))).first()
        return bool(item is not None and item.status == PENDING and item.lease_owner not in (None, self.worker_id)
                    and item.lease_until is not None and item.lease_until > self.now())  # fmt: skip

    async def renew(self) -> None:
        """The heartbeat: every row this process holds stays held while it lives."""
        async with self.db.session() as s:
            await s.exec(  # type: ignore[call-overload]
                update(IntakeItem)
                .where(col(IntakeItem.lease_owner) == self.worker_id, col(IntakeItem.status) == PENDING)
                .values(lease_until=self.now() + self.lease)
                .execution_options(synchronize_session=False)
            )
            await s.commit()

    async def finish(self, item: IntakeItem, *, failed: str | None = None) -> bool:
        """Done (or failed for good), unless the row was re-armed meanwhile: then it is only let go."""
        self._holding.discard(item.key)
        async with self.db.session() as s:
            res = await s.exec(  # type: ignore[call-overload]
                update(IntakeItem)
                .where(col(IntakeItem.id) == item.id, col(IntakeItem.lease_owner) == self.worker_id,
                       col(IntakeItem.generation) == item.generation)
                .values(status=FAILED if failed else DONE, last_error=failed[:500] if failed else None,
                        done_at=self.now(), lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            await s.commit()
        if res.rowcount != 1:
            await self.release(item)
            return False
        return True

    async def release(self, item: IntakeItem, *, delay: timedelta | None = None, error: str | None = None) -> None:
        self._holding.discard(item.key)
        values: dict[str, Any] = {"lease_owner": None, "lease_until": self.now() + delay if delay else None}
        if error:
            values["last_error"] = error[:500]
        async with self.db.session() as s:
            await s.exec(  # type: ignore[call-overload]
                update(IntakeItem)
                .where(col(IntakeItem.id) == item.id, col(IntakeItem.lease_owner) == self.worker_id)
                .values(**values).execution_options(synchronize_session=False)
            )  # fmt: skip
            await s.commit()

    async def release_all(self) -> int:
        """Hand every held row back (graceful shutdown): the next process takes them at once."""
        async with self.db.session() as s:
            res = await s.exec(  # type: ignore[call-overload]
                update(IntakeItem)
                .where(col(IntakeItem.lease_owner) == self.worker_id, col(IntakeItem.status) == PENDING)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )
            await s.commit()
            return int(res.rowcount or 0)

    @contextlib.asynccontextmanager
    async def held(self, key: str) -> AsyncIterator[IntakeItem | None]:
        """Hold a row for a block of work; finished when the block ends, handed back (retried) on error."""
        item = await self.take(key)
        if item is None:
            yield None
            return
        try:
            yield item
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.release(item, delay=backoff(item.attempts), error=repr(exc)))
            raise
        await self.finish(item)

    # ----- running rows ---------------------------------------------------------------------

    async def process(self, item: IntakeItem) -> None:
        """Run a claimed row's handler; a failure is retried with back-off, then given up."""
        handler = self.handlers.get(item.kind)
        if handler is None:
            await self.release(item, delay=timedelta(minutes=5), error=f"no handler for {item.kind} here")
            return
        token = APPLYING.set(item.id)
        try:
            await handler(item)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.release(item))
            raise
        except Exception as exc:
            log.exception("intake row %s (%s) failed", item.id, item.kind)
            if item.attempts >= MAX_ATTEMPTS:
                await self.finish(item, failed=f"{type(exc).__name__}: {exc}")
            else:
                await self.release(item, delay=backoff(item.attempts), error=f"{type(exc).__name__}: {exc}")
            return
        finally:
            APPLYING.reset(token)
        await self.finish(item)

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guarded(self, item: IntakeItem) -> None:
        async with self._slots:
            await self.process(item)

    def run_soon(self, item: IntakeItem) -> asyncio.Task[Any]:
        """Run a row this process just recorded (and holds), after the ack, in one of the slots."""
        return self.spawn(self._guarded(item))

    async def poll_once(self) -> int:
        free = self._slots._value
        if free <= 0 or self._stopping:
            return 0
        items = await self.claim(limit=free)
        for item in items:
            self.spawn(self._guarded(item))
        return len(items)

    async def _run(self) -> None:
        beat = self.lease.total_seconds() / 3
        last_beat = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                if loop.time() - last_beat >= beat:
                    await self.renew()
                    last_beat = loop.time()
                await self.poll_once()
            except Exception:
                log.exception("intake poll failed; it runs again")
            await asyncio.sleep(self.poll_seconds)

    def start(self) -> None:
        if self._loop is None:
            self._stopping = False
            self._loop = asyncio.ensure_future(self._run())

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def pause(self) -> None:
        """Stop claiming (SIGTERM): rows already running carry on."""
        self._stopping = True

    async def stop(self, grace: float = 5.0) -> int:
        """Stop claiming, give running rows `grace` seconds, cancel the rest and hand them back."""
        self._stopping = True
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loop
            self._loop = None
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=1)
        return await self.release_all()


def card_key_kind(platform: str) -> str:
    return f"card:{platform}"
