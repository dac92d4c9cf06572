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

from sqlalchemy import bindparam, or_, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from teambot.core.cases.card_ref import merge_card_ref
from teambot.core.cases.events import CaseChanged
from teambot.core.cases.models import Case
from teambot.core.db import Database, insert_rows_or_skip
from teambot.core.errors import Conflict
from teambot.core.i18n import gettext as _
from teambot.core.intake.holders import is_dead_local, local_prefix, made_here
from teambot.core.intake.models import DONE, FAILED, PENDING, IntakeItem
from teambot.core.leases import INTAKE, MAX_ATTEMPTS, new_worker_id
from teambot.core.logcontext import bind_request
from teambot.core.observability import INTAKE_TAKEOVERS

log = logging.getLogger(__name__)

CARD_GRACE = timedelta(seconds=10)  # an armed card row waits this long for the request's own process
BATCH = 200  # records committed together at most (group commit)
CHUNKS = (50, 10, 2, 1)  # a batch's INSERTs: statements of these row counts only (each compiled once)
# The intake row whose work is running in this task: the core's transaction marks it applied.
APPLYING: ContextVar[int | None] = ContextVar("teambot_intake_applying", default=None)
# Set by an adapter whose request needs nothing more once its step is committed but the card (which
# has its own row): the step's transaction then finishes the request row too (no second transaction).
DONE_WITH_STEP: ContextVar[bool] = ContextVar("teambot_intake_done_with_step", default=False)
DEFER_GRACE = timedelta(seconds=10)  # a deferred row no worker took by then is run by the web process
ARMED_KEPT = 2000  # card rows armed for this process and not yet picked up, remembered at most
DEAD_LOOK_SECONDS = 2.0  # how often the poll looks for rows held by a dead process on this host

IntakeHandler = Callable[[IntakeItem], Awaitable[None]]


def card_key(platform: str, case_id: int | None) -> str:
    return f"card:{platform}:{case_id}"


class Intake:
    """One per process: records, claims, renews, finishes and hands back intake rows."""

    def __init__(self, db: Database, *, worker_id: str | None = None, lease: timedelta = INTAKE.hold,
                 card_grace: timedelta = CARD_GRACE, poll_seconds: float = 1.0, slots: int = 4,
                 defer: bool = False) -> None:  # fmt: skip
        self.db = db
        # `defer` (TEAMBOT_WORK=worker): this web process records and acks; `teambot worker` processes
        # run the rows, woken at once (PostgreSQL NOTIFY) instead of by their poll.
        self.defer = defer
        self.worker_id = worker_id or new_worker_id()
        made_here(self.worker_id)
        self.lease = lease
        self.card_grace = card_grace
        self.poll_seconds = poll_seconds
        self.handlers: dict[str, IntakeHandler] = {}
        self._slots = asyncio.Semaphore(slots)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False
        self.taken_over = 0  # rows this process claimed from another (or a dead) one
        self._holding: set[str] = set()  # keys held by running work in this process
        self._batch: list[tuple[IntakeItem, asyncio.Future[IntakeItem | None]]] = []  # waiting for a commit
        # Committed by a step's own transaction: card rows armed held by this process (key -> id,
        # generation), and request rows finished with their step (ids): no statement to take or finish them.
        self._armed: dict[str, tuple[int, int, int | None]] = {}  # key -> id, generation, request row
        self._finished_with_step: set[int] = set()
        self._flusher: asyncio.Task[None] | None = None
        # A row to claim may be waiting (a NOTIFY came, a slot freed after a claim that filled them all).
        self._wake = asyncio.Event()
        self._full = False  # the last claim filled every free slot: more may be waiting
        self._listener: Any = None  # the PostgreSQL connection that LISTENs for new rows
        self._dead_looked: float | None = None  # event-loop time of the last look for dead local holders
        self._busy = False  # the poll loop is in the middle of its statements (not waiting for the next round)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def register(self, kind: str, handler: IntakeHandler) -> None:
        self.handlers[kind] = handler

    @property
    def accepting(self) -> bool:
        return not self._stopping

    # ----- writing rows ---------------------------------------------------------------------

    async def record(self, key: str, kind: str, team_id: str, payload: dict[str, Any], *,
                     here: bool = False) -> IntakeItem | None:  # fmt: skip
        """Commit a request before its ack; None when the key was recorded already (a redelivery:
        its work is done or under way somewhere). Held by this process unless it defers its work to
        the workers; `here` holds it anyway (work that must run within seconds of the request, such
        as opening a form while its trigger lives, or that answers in the HTTP response).

        Group commit: requests that arrive while a commit is under way share the next one, so in a
        burst an ack waits for one commit instead of one per ack ahead of it in the writer queue."""
        now = self.now()
        held = here or not self.defer
        item = IntakeItem(key=key[:255], kind=kind, team_id=team_id[:128], payload=payload, created_at=now,
                          lease_owner=self.worker_id if held else None,
                          lease_until=now + self.lease if held else None)  # fmt: skip
        done: asyncio.Future[IntakeItem | None] = asyncio.get_running_loop().create_future()
        self._batch.append((item, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        # The flush commits whether or not this request still waits; shielded so a cancelled
        # request cannot cancel the commit its neighbours wait for.
        try:
            recorded = await asyncio.shield(done)
        except asyncio.CancelledError:
            # Never acknowledged and never to be run here: not renewed, so it is taken over when
            # its lease runs out (a redelivery finds the row and must not be left without a runner).
            done.add_done_callback(lambda f: f.cancelled() or f.exception() or self._holding.discard(item.key))
            raise
        if recorded is not None:  # every later line of this request's work says which request it is
            bind_request(recorded.id, kind, team_id)
        return recorded

    async def _flush(self) -> None:
        """Commit every waiting record, batch after batch, until none waits."""
        while self._batch:
            batch, self._batch = self._batch[:BATCH], self._batch[BATCH:]
            try:
                rows = await self._insert_batch([item for item, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for item, done in batch:
                if done.done():
                    continue
                rid = rows.get(item.key)
                if rid is None or rid[1] is not item:
                    done.set_result(None)
                    continue
                item.id = rid[0]
                if item.lease_owner is not None:
                    self._holding.add(item.key)
                done.set_result(item)

    async def _insert_batch(self, items: list[IntakeItem]) -> dict[str, tuple[int, IntakeItem]]:
        """One INSERT for the batch (a key twice in it: the first wins); retried when the connection
        was cut under us (pool_pre_ping catches most)."""
        first: dict[str, IntakeItem] = {}
        for item in items:
            first.setdefault(item.key, item)
        for attempt in range(3):
            try:
                return await self._insert(list(first.values()), retry=attempt > 0)
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        return {}

    async def _insert(self, items: list[IntakeItem], *, retry: bool = False) -> dict[str, tuple[int, IntakeItem]]:
        by_key = {item.key: item for item in items}
        notify = not self.db.sqlite and any(item.lease_owner is None for item in items)
        # One INSERT alone (a request not in a burst, no NOTIFY, not a retry) commits itself: the ack
        # waits for no BEGIN and COMMIT round trips. More statements share one transaction.
        alone = len(items) in CHUNKS and not notify and not retry
        async with self.db.one_statement() if alone else self.db.session() as s:
            table = IntakeItem.__table__  # type: ignore[attr-defined]
            # One row, or a burst split into a few fixed sizes: every statement compiled once.
            rows: dict[str, int] = {}
            at = 0
            while at < len(items):
                size = next(n for n in CHUNKS if n <= len(items) - at)
                params = {f"{name}_{i}": value for i, item in enumerate(items[at : at + size])
                          for name, value in item.model_dump(exclude={"id"}).items()}  # fmt: skip
                stmt = insert_rows_or_skip(table, ("key",), size, ("id", "key"))
                res = await s.exec(stmt, params=params)  # type: ignore[call-overload]
                rows.update({str(key): int(rid) for rid, key in res.all()})
                at += size
            if notify:
                await s.exec(_NOTIFY)  # type: ignore[call-overload]  # delivered to the workers at commit
            if retry and len(rows) < len(items):
                # The connection died at our commit: some rows may be ours after all (same key, same
                # moment), in which case those requests are recorded (and, if held, still ours to run;
                # a deferred one may be with a worker already).
                missing = [k for k in by_key if k not in rows]
                q = select(IntakeItem.id, IntakeItem.key, IntakeItem.created_at).where(col(IntakeItem.key).in_(missing))
                mine = await s.exec(q)
                for rid, key, created in mine.all():
                    if created == by_key[key].created_at:
                        rows[str(key)] = int(rid)
            await s.commit()
        return {key: (rid, by_key[key]) for key, rid in rows.items()}

    async def on_case_changed(self, event: CaseChanged) -> None:
        """In the case's transaction: mark the running request applied, arm the case's card row."""
        s, case = event.session, event.case
        with s.no_autoflush:
            rid = APPLYING.get()
            if rid is not None and s.info.get("intake_applied") != rid:
                # Only if nobody applied it yet: a process that took the row over while its first
                # holder was still (slowly) running it must not do the step a second time.
                values: dict[str, Any] = {"applied": True, "case_id": case.id}
                done = DONE_WITH_STEP.get()
                if done:
                    values.update(status=DONE, done_at=self.now(), lease_owner=None, lease_until=None)
                res = await s.exec(  # type: ignore[call-overload]
                    update(IntakeItem).where(col(IntakeItem.id) == rid, col(IntakeItem.applied).is_(False))
                    .values(**values).execution_options(synchronize_session=False)
                )  # fmt: skip
                if res.rowcount != 1:
                    raise Conflict(_("That was done already."), _("The case card shows it."))
                s.info["intake_applied"] = rid
                if done:
                    self._on_commit(s)["finished"].add(rid)
            if card_key_kind(case.platform) in self.handlers:
                await self._arm(s, case, hold=rid is not None)

    def _on_commit(self, s: Any) -> dict[str, Any]:
        """What this transaction did for this process, kept in memory only once it commits."""
        pending = s.info.get("intake_on_commit")
        if pending is None:
            pending = s.info["intake_on_commit"] = {"finished": set(), "armed": {}}
            sync = s.sync_session

            def committed(_: Any) -> None:
                done = sync.info.pop("intake_on_commit", None) or {"finished": set(), "armed": {}}
                self._finished_with_step |= done["finished"]
                self._armed.update(done["armed"])
                while len(self._armed) > ARMED_KEPT:  # never picked up (no adapter ran after that step)
                    self._armed.pop(next(iter(self._armed)))

            def rolled_back(*_: Any) -> None:
                sync.info.pop("intake_on_commit", None)

            sa_event.listen(sync, "after_commit", committed, once=True)
            sa_event.listen(sync, "after_soft_rollback", rolled_back, once=True)
        return pending

    async def _arm(self, s: Any, case: Case, *, hold: bool = False) -> None:
        """Upsert the case's card row, bumping its generation. With `hold` (a request running here,
        whose adapter shows the card next) the row is armed held by this process when nobody else
        holds it, so the adapter picks it up without a statement; else it waits the card grace."""
        now = self.now()
        key = card_key(case.platform, case.id)
        params = {
            "key": key, "kind": card_key_kind(case.platform), "team_id": case.team_id,
            "payload": {"team": case.team_id, "number": case.number, "case_id": case.id},
            "status": PENDING, "case_id": case.id, "owner": self.worker_id if hold else None,
            "until": now + (self.lease if hold else self.card_grace), "now": now, "me": self.worker_id,
        }  # fmt: skip
        row = (await s.exec(_ARM[hold], params=params)).first()  # type: ignore[call-overload]
        if hold and row is not None and row[2] == self.worker_id:
            self._on_commit(s)["armed"][key] = (int(row[0]), int(row[1]), APPLYING.get())

    async def let_go_unadopted(self, request_id: int | None) -> None:
        """After a request's work: card rows its step armed for it that nothing picked up (a reply
        that showed no card) are handed back at once, so the outbox runs them within a poll instead
        of after the lease."""
        left = [(k, v) for k, v in self._armed.items() if v[2] == request_id and request_id is not None]
        for key, (rid, generation, _request) in left:
            self._armed.pop(key, None)
            if key not in self._holding:
                await self.release(self._held_row(key, rid, generation))

    def adopt(self, key: str) -> IntakeItem | None:
        """The card row the step of the request running in this task armed held for it (committed):
        held now, no statement. None when there is none, when it was armed for another request (a
        later step of the same case: that one shows its own change), or when work here holds the row
        already (it sees the change too: the row's generation moved)."""
        got = self._armed.get(key)
        if got is None or got[2] != APPLYING.get():
            return None
        del self._armed[key]
        if key in self._holding:
            return None
        self._holding.add(key)
        rid, generation, _request = got
        return self._held_row(key, rid, generation)

    def _held_row(self, key: str, rid: int, generation: int) -> IntakeItem:
        """A card row this process holds, known from memory: what finish and release need of it."""
        return IntakeItem(id=rid, key=key, kind=key.rsplit(":", 1)[0], team_id="", payload={}, generation=generation,
                          lease_owner=self.worker_id, created_at=self.now())  # fmt: skip

    async def take_card_row(self, key: str) -> tuple[IntakeItem | None, bool]:
        """The card row for a request's reply, and whether it is *fresh*: armed for this very request
        by its step's transaction, so the detail that step read is current and nobody posted before."""
        row = self.adopt(key)
        if row is not None:
            return row, True
        return await self.take(key), False

    # ----- leases ---------------------------------------------------------------------------

    async def dead_local_holders(self) -> list[str]:
        """Holders of live leases that are dead processes on this host (see `holders`): their rows
        need not wait out the lease. One small read; the poll does it at start-up and every few seconds."""
        t = IntakeItem.__table__  # type: ignore[attr-defined]
        q = (
            select(t.c.lease_owner).distinct()
            .where(t.c.status == PENDING, t.c.lease_until >= self.now(),
                   t.c.lease_owner.startswith(local_prefix(), autoescape=True))
        )  # fmt: skip
        async with self.db.read() as s:
            owners = [str(owner) for owner in (await s.exec(q)).all()]  # type: ignore[call-overload]
        return [owner for owner in owners if owner != self.worker_id and is_dead_local(owner)]

    async def claim(self, limit: int = 20, *, min_age: timedelta | None = None,
                    dead: list[str] | None = None) -> list[IntakeItem]:  # fmt: skip
        """Rows nobody holds (or whose holder's lease ran out, or whose holder is in `dead`), now held
        by this process: one SELECT (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers never wait on
        each other's rows; SQLite's writer holds the lock) and one UPDATE for the batch. `min_age`
        leaves younger rows to others."""
        now = self.now()
        t = IntakeItem.__table__  # type: ignore[attr-defined]
        free = or_(t.c.lease_until.is_(None), t.c.lease_until < now)
        if dead:
            free = or_(free, t.c.lease_owner.in_(dead))
        q = select(IntakeItem).where(col(IntakeItem.status) == PENDING, free)
        if min_age is not None:
            q = q.where(col(IntakeItem.created_at) < now - min_age)
        q = q.order_by(col(IntakeItem.id)).limit(limit)
        async with self.db.session() as s:
            if s.bind.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            candidates = [item for item in (await s.exec(q)).all() if item.key not in self._holding]
            if not candidates:
                await s.commit()
                return []
            ids = [item.id for item in candidates]
            res = await s.exec(  # type: ignore[call-overload]
                update(t).where(t.c.id.in_(ids), t.c.status == PENDING, free)
                .values(lease_owner=self.worker_id, lease_until=now + self.lease, attempts=t.c.attempts + 1)
                .returning(t.c.id)
            )  # fmt: skip
            got = {int(rid) for (rid,) in res.all()}
            await s.commit()
        claimed: list[IntakeItem] = []
        from_dead = 0
        for item in candidates:
            if item.id not in got or item.key in self._holding:
                continue
            if item.lease_owner not in (None, self.worker_id):
                self.taken_over += 1
                INTAKE_TAKEOVERS.inc()
                from_dead += item.lease_owner in (dead or ())
            item.lease_owner, item.lease_until, item.attempts = self.worker_id, now + self.lease, item.attempts + 1
            self._holding.add(item.key)
            claimed.append(item)
        if from_dead:
            log.warning("took over %d intake row(s) at once from %s: no longer running on this host",
                        from_dead, ", ".join(dead or ()))  # fmt: skip
        return claimed

    def runs_here(self, item: IntakeItem) -> bool:
        """This process holds the row, so it runs it (a deferred row waits for a worker)."""
        return item.lease_owner == self.worker_id

    async def take(self, key: str) -> IntakeItem | None:
        """Hold one row now (the request's own process, not waiting out the card grace); None when
        another live process holds it or there is nothing to do. One UPDATE ... RETURNING."""
        if key in self._holding:
            return None
        adopted = self.adopt(key)
        if adopted is not None:
            return adopted
        now = self.now()
        t = IntakeItem.__table__  # type: ignore[attr-defined]
        async with self.db.session() as s:
            res = await s.exec(  # type: ignore[call-overload]
                update(t)
                .where(t.c.key == key, t.c.status == PENDING,
                       or_(t.c.lease_owner.is_(None), t.c.lease_owner == self.worker_id, t.c.lease_until < now))
                .values(lease_owner=self.worker_id, lease_until=now + self.lease)
                .returning(t.c.id, t.c.kind, t.c.team_id, t.c.payload, t.c.attempts, t.c.applied, t.c.case_id,
                           t.c.generation, t.c.created_at)
            )  # fmt: skip
            row = res.first()
            await s.commit()
        if row is None or key in self._holding:
            return None
        self._holding.add(key)
        rid, kind, team, payload, attempts, applied, case_id, generation, created = row
        return IntakeItem(id=rid, key=key, kind=kind, team_id=team, payload=payload, attempts=attempts, applied=applied,
                          case_id=case_id, generation=generation, created_at=created, lease_owner=self.worker_id,
                          lease_until=now + self.lease, status=PENDING)  # fmt: skip

    async def held_elsewhere(self, key: str) -> bool:
        """Pending and under another process's live lease (or running here already)."""
        if key in self._holding:
            return True
        async with self.db.session() as s:
            item = (await s.exec(select(IntakeItem).where(col(IntakeItem.key) == key))).first()
        return bool(item is not None and item.status == PENDING and item.lease_owner not in (None, self.worker_id)
                    and item.lease_until is not None and item.lease_until > self.now())  # fmt: skip

    async def renew(self) -> None:
        """The heartbeat: every row this process is running (or queued to run) stays held while it
        lives. Only those: a row let go in memory (its hand-back failed in a database outage) must
        not be kept alive by a process that will never run it; its lease runs out for a taker."""
        held = list(self._holding)
        if not held:
            return
        async with self.db.session() as s:
            for at in range(0, len(held), 500):
                await s.exec(  # type: ignore[call-overload]
                    update(IntakeItem)
                    .where(col(IntakeItem.lease_owner) == self.worker_id, col(IntakeItem.status) == PENDING,
                           col(IntakeItem.key).in_(held[at : at + 500]))
                    .values(lease_until=self.now() + self.lease)
                    .execution_options(synchronize_session=False)
                )  # fmt: skip
            await s.commit()

    async def finish(self, item: IntakeItem, *, failed: str | None = None,
                     card_ref: tuple[int, dict[str, Any]] | None = None) -> bool:  # fmt: skip
        """Done (or failed for good), unless the row was re-armed meanwhile: then it is only let go.
        `card_ref` (case id, the adapter's bookkeeping) is written in the same transaction, by the
        holder of that case's card row."""
        self._holding.discard(item.key)
        if item.id in self._finished_with_step:  # its step's own transaction finished it
            self._finished_with_step.discard(item.id)
            return True
        async with self.db.session() as s:
            if card_ref is not None:
                await s.exec(merge_card_ref(s.bind.dialect.name, col(Case.id) == card_ref[0], card_ref[1]))
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
        if item.id in self._finished_with_step:  # finished by its step: nothing to hand back
            self._finished_with_step.discard(item.id)
            return
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
                await asyncio.shield(self.release(item, delay=INTAKE.backoff(item.attempts), error=repr(exc)))
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
        bind_request(item.id, item.kind, item.team_id)  # this task runs this row only
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
                await self.release(item, delay=INTAKE.backoff(item.attempts), error=f"{type(exc).__name__}: {exc}")
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
        try:
            async with self._slots:
                await self.process(item)
        finally:
            if self._full:  # the last claim took all it could: look again now a slot is free
                self._wake.set()

    def run_soon(self, item: IntakeItem) -> asyncio.Task[Any]:
        """Run a row this process just recorded (and holds), after the ack, in one of the slots."""
        return self.spawn(self._guarded(item))

    async def poll_once(self) -> int:
        free = self._slots._value
        if self._stopping:
            return 0
        if free <= 0:
            self._full = True
            return 0
        # A web process that defers its work leaves fresh rows to the workers, and runs only what no
        # worker took in time (none running, all down): deferred work is late, never lost.
        dead = await self._look_for_dead()
        items = await self.claim(limit=free, min_age=DEFER_GRACE if self.defer else None, dead=dead)
        self._full = len(items) == free
        late = [item for item in items if not item.kind.startswith("card:")]
        if late and self.defer:
            log.warning("%d deferred request(s) waited %.0f s for a worker; running them here (is `teambot "
                        "worker` running?)", len(late), DEFER_GRACE.total_seconds())  # fmt: skip
        for item in items:
            self.spawn(self._guarded(item))
        return len(items)

    async def _look_for_dead(self) -> list[str]:
        now = asyncio.get_running_loop().time()
        if self._dead_looked is not None and now - self._dead_looked < DEAD_LOOK_SECONDS:
            return []
        self._dead_looked = now
        return await self.dead_local_holders()

    async def _listen(self) -> None:
        """On PostgreSQL a process that runs deferred rows LISTENs for them, so a request waits for
        no poll; the poll stays as the fallback (a dropped listener is opened again at the next beat)."""
        if self.db.sqlite or self.defer:
            return
        if self._listener is not None:
            if not self._listener[1].is_closed():
                return
            await self._unlisten()
        conn = await self.db.engine.connect()
        try:
            raw = (await conn.get_raw_connection()).driver_connection
            await raw.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
        except BaseException:
            await conn.close()
            raise
        self._listener = (conn, raw)
        self._wake.set()  # rows recorded while nobody listened

    async def _unlisten(self) -> None:
        if self._listener is not None:
            conn = self._listener[0]
            self._listener = None
            with contextlib.suppress(Exception):
                await conn.invalidate()  # closed: its LISTEN must not go back to the pool
            with contextlib.suppress(Exception):
                await conn.close()

    async def _run(self) -> None:
        beat = self.lease.total_seconds() / 3
        last_beat = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()  # a wake arriving during the poll below is kept for the next round
            self._busy = True
            try:
                if loop.time() - last_beat >= beat:
                    await self.renew()
                    gap = loop.time() - last_beat
                    if last_beat and gap > self.lease.total_seconds():
                        # A loaded machine (or a stalled database) let the leases lapse: another
                        # process may have taken over rows this one is still running.
                        log.warning("intake heartbeat %.1f s apart, longer than the %.0f s lease",
                                    gap, self.lease.total_seconds())  # fmt: skip
                    last_beat = loop.time()
                    try:
                        await self._listen()
                    except Exception as exc:
                        log.warning("intake LISTEN failed (%s); polling every %.1f s", type(exc).__name__,
                                    self.poll_seconds)  # fmt: skip
                await self.poll_once()
            except Exception:
                log.exception("intake poll failed; it runs again")
            finally:
                self._busy = False
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    def run_as_worker(self, slots: int) -> None:
        """A `teambot worker` process: it runs rows (deferred or left behind), `slots` at a time."""
        self.defer = False
        self._slots = asyncio.Semaphore(slots)

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
            if self._busy:  # mid-statement: a cancel there leaves its connection half reset (an ERROR)
                await asyncio.wait([self._loop], timeout=1.0)
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loop
            self._loop = None
        await self._unlisten()
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=1)
        return await self.release_all()


NOTIFY_CHANNEL = "teambot_intake"
_NOTIFY = text(f"SELECT pg_notify('{NOTIFY_CHANNEL}', '')")


def card_key_kind(platform: str) -> str:
    return f"card:{platform}"


def _arm_statement(hold: bool) -> Any:
    """The card-row upsert as a typed text() compiled once (SQLAlchemy never caches the dialects'
    `insert().on_conflict_do_update()`; building and compiling it was ~6 % of the event loop behind a
    `/recover` burst). With `hold`, the row becomes ours unless another live process holds it; without,
    a free row waits the card grace and a held one keeps its holder."""
    t = IntakeItem.__table__  # type: ignore[attr-defined]
    if hold:
        free_sql = 'intake.lease_owner IS NULL OR intake.lease_owner = :me OR intake.lease_until < :now'
        owner_sql = f"CASE WHEN {free_sql} THEN :me ELSE intake.lease_owner END"
        until_sql = f"CASE WHEN {free_sql} THEN :until ELSE intake.lease_until END"
    else:
        owner_sql = "intake.lease_owner"
        until_sql = "CASE WHEN intake.lease_owner IS NULL THEN :until ELSE intake.lease_until END"
    sql = (
        'INSERT INTO intake ("key", kind, team_id, payload, status, attempts, applied, case_id, generation, '
        "lease_owner, lease_until, created_at) "
        "VALUES (:key, :kind, :team_id, :payload, :status, 0, false, :case_id, 1, :owner, :until, :now) "
        'ON CONFLICT ("key") DO UPDATE SET status = :status, attempts = 0, done_at = NULL, '
        f"generation = intake.generation + 1, lease_owner = {owner_sql}, lease_until = {until_sql} "
        "RETURNING id, generation, lease_owner"
    )
    return text(sql).bindparams(
        bindparam("payload", type_=t.c.payload.type), bindparam("until", type_=t.c.lease_until.type),
        bindparam("now", type_=t.c.created_at.type),
    )


_ARM = {hold: _arm_statement(hold) for hold in (False, True)}
