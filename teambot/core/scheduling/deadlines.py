"""Due items: schedule, claim with a lease, mark sent, retry.

The database is the source of truth. A case change schedules or cancels rows in its own
transaction (a RecoveryService hook); a worker claims due rows with a lease (on PostgreSQL
`FOR UPDATE SKIP LOCKED`, everywhere a conditional UPDATE on `version` and the lease),
sends through the Notifier port, then marks them sent. A crash mid-send leaves the lease
to expire and another worker retries; a delivery failure backs off and retries.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import re
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.events import CaseChanged
from teambot.core.cases.models import (
    ApprovalRequest,
    ApprovalStatus,
    Case,
    CaseStatus,
    NextStep,
    TimelineEvent,
)
from teambot.core.cases.service import touch
from teambot.core.cases.summary import duration, when
from teambot.core.db import Database
from teambot.core.errors import BadInput, Conflict, InvalidStep, NotAllowed, NotFound
from teambot.core.money import format_amount, from_minor
from teambot.core.observability import count_send
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import approvers_of, backups_of
from teambot.core.ports import Clock, Notice, Notifier, Recipient
from teambot.core.scheduling.models import CANCELLED, FAILED, PENDING, SENT, DueItem

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
RESOLVE_EARLY = 0.75  # the owner hears at 75% of the resolve target, "well before" it
CASE_KINDS = ("nudge_unowned", "nudge_resolve", "followup_due", "step_due", "approval_waiting", "approval_escalation")
APPROVAL_KINDS = ("approval_waiting", "approval_escalation")
BOT = "teambot"  # the actor of what the bot itself records


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes, at most an hour: a chat API that is down gets room to recover."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


# ----- working hours ----------------------------------------------------------------------


def _hm(text: str) -> time:
    hh, mm = (int(x) for x in text.split(":"))
    return time(hh, mm)




def zone_of(policy: Policy, user: str | None) -> ZoneInfo:
    name = (policy.timezones or {}).get(user or "") or policy.digest_timezone or "UTC"
    return ZoneInfo(name)


def _window(day: datetime, policy: Policy, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    if day.weekday() not in (policy.work_days or []):
        return None
    start = datetime.combine(day.date(), _hm(policy.work_start), zone)
    end = datetime.combine(day.date(), _hm(policy.work_end), zone)
    return (start, end) if end > start else None


def next_working_moment(at: datetime, policy: Policy, zone: ZoneInfo) -> datetime:
    """`at` itself inside working hours, else the start of the next working period."""
    local = at.astimezone(zone)
    for _ in range(15):
        win = _window(local, policy, zone)
        if win and local < win[1]:
            return max(local, win[0]).astimezone(UTC)
        local = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
    return at  # no working days configured: never hold a nudge back


def add_working_time(start: datetime, delta: timedelta, policy: Policy, zone: ZoneInfo) -> datetime:
    """`start + delta` counting only working hours (targets set to count working hours)."""
    remaining = delta
    local = start.astimezone(zone)
    for _ in range(800):
        win = _window(local, policy, zone)
        if win and local < win[1]:
            begin = max(local, win[0])
            available = win[1] - begin
            if remaining <= available:
                return (begin + remaining).astimezone(UTC)
            remaining -= available
        local = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
    return start + delta


def target_time(start: datetime, delta: timedelta, policy: Policy) -> datetime:
    if policy.targets_in_working_hours:
        return add_working_time(start, delta, policy, zone_of(policy, None))
    return start + delta


def leads_of(policy: Policy) -> list[str]:
    """Who hears when a case misses its deadline twice: leads and managers, else the admins."""
    leads = [u for u, r in (policy.roles or {}).items() if r in ("lead", "manager")]
    return leads or list(policy.admins)


# ----- scheduling from case events (runs inside the case's transaction) --------------------


def due_item(case: Case, kind: str, base: str, due: datetime, now: datetime, **kw: Any) -> DueItem:
    """Keys from case events carry a random token: the same event kind may recur on a case
    (resolved, reopened, resolved again) and each occurrence is its own deadline."""
    key = f"{base}:{uuid.uuid4().hex[:12]}:{kw.get('stage', 1)}"
    return DueItem(
        key=key, team_id=case.team_id, kind=kind, case_id=case.id, due_at=due, created_at=now, **kw
    )


async def _cancel(
    s: AsyncSession, case_id: int | None, kinds: tuple[str, ...], ref: str | None = None
) -> None:
    q = (
        update(DueItem)
        .where(col(DueItem.case_id) == case_id, col(DueItem.status) == PENDING, col(DueItem.kind).in_(kinds))
        .values(status=CANCELLED, lease_owner=None, lease_until=None, version=DueItem.version + 1)  # type: ignore[operator]
        .execution_options(synchronize_session=False)
    )
    if ref is not None:
        q = q.where(col(DueItem.ref) == ref)
    with s.no_autoflush:
        await s.exec(q)  # type: ignore[call-overload]


async def on_case_changed(event: CaseChanged) -> None:
    """What each case change means for what is due: nudges scheduled or cancelled. Never flushes;
    the items one change schedules go in together (one INSERT for the two or three of an opening)."""
    s, case, policy, kind, data, now = event.session, event.case, event.policy, event.kind, event.data, event.at
    cid = case.id
    due: list[DueItem] = []
    if kind == "opened":
        if case.owner_id is None:
            at = now + timedelta(minutes=policy.own_within_minutes)  # the channel hears at once
            due.append(due_item(case, "nudge_unowned", f"unowned:{cid}", at, now))
        target = timedelta(hours=policy.resolve_within_hours)
        due.append(
            due_item(case, "nudge_resolve", f"resolve:{cid}:early", target_time(now, target * RESOLVE_EARLY, policy),
                     now, ref="early", stage=0)
        )  # fmt: skip
        due.append(
            due_item(
                case,
                "nudge_resolve",
                f"resolve:{cid}:due",
                target_time(now, target, policy),
                now,
                ref="due",
            )
        )
    elif kind in ("claimed",):
        await _cancel(s, cid, ("nudge_unowned",))
    elif kind == "resolved":
        await _cancel(s, cid, ("nudge_resolve", "nudge_unowned"))
        if case.followup_due_at is not None:
            stamp = int(case.followup_due_at.timestamp())
            due.append(
                due_item(
                    case,
                    "followup_due",
                    f"followup:{cid}:{stamp}",
                    case.followup_due_at,
                    now,
                    ref=str(stamp),
                )
            )
    elif kind == "followup_answered":
        await _cancel(s, cid, ("followup_due",))
        if case.status == CaseStatus.CLOSED:
            await _cancel(s, cid, CASE_KINDS)
    elif kind == "step_added" and data.get("due_at"):
        pos = str(data["position"])
        due.append(due_item(case, "step_due", f"step:{cid}:{pos}", data["due_at"], now, ref=pos))
    elif kind == "step_done":
        await _cancel(s, cid, ("step_due",), ref=str(data["position"]))
    elif kind == "approval_requested" and data.get("approval_id"):
        aid = str(data["approval_id"])
        at = now + timedelta(minutes=policy.own_within_minutes)
        due.append(due_item(case, "approval_waiting", f"approval:{aid}", at, now, ref=aid))
        # Unanswered after the escalation time (working hours), the backups are asked, once.
        late = add_working_time(now, timedelta(hours=policy.escalation_hours), policy, zone_of(policy, None))
        due.append(due_item(case, "approval_escalation", f"escalate:{aid}", late, now, ref=aid))
    elif kind in ("approved", "denied", "withdrawn"):
        await _cancel(s, cid, APPROVAL_KINDS, ref=str(data["approval_id"]))
    elif kind == "cancelled":  # a cancelled case nudges nobody again
        await _cancel(s, cid, CASE_KINDS)
    await _schedule(s, due)


async def _schedule(s: AsyncSession, items: list[DueItem]) -> None:
    """One item is added to the session; several go in one multi-row INSERT (SQLite would otherwise
    send one INSERT ... RETURNING per row: nothing here needs their ids back)."""
    if len(items) == 1:
        s.add(items[0])
    elif items:
        rows = [item.model_dump(exclude={"id"}) for item in items]
        with s.no_autoflush:
            await s.exec(insert(DueItem.__table__).values(rows))  # type: ignore[attr-defined,call-overload]


# ----- what a handler decides -------------------------------------------------------------


@dataclass
class Outcome:
    """What to do with a claimed item: send these, or hold it until later, or drop it."""

    messages: list[tuple[Recipient, Notice]] = field(default_factory=list)
    defer_until: datetime | None = None
    cancel: bool = False
    then: list[DueItem] = field(default_factory=list)  # scheduled once this one is sent
    result: dict[str, Any] = field(default_factory=dict)  # kept in the item's data


Handler = Callable[["Deadlines", DueItem], Awaitable[Outcome]]


@dataclass
class SweepReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Deadlines:
    """Claims due rows and turns them into notices; one per process (or per test container)."""

    def __init__(
        self, db: Database, clock: Clock, notifier: Notifier, *, worker_id: str | None = None,
        lease: timedelta = LEASE, concurrency: int = 16,
    ) -> None:  # fmt: skip
        self.db = db
        self.clock = clock
        self.notifier = notifier
        self.worker_id = worker_id or new_worker_id()
        self.lease = lease
        self.concurrency = concurrency  # items processed at once within one claimed batch
        self.handlers: dict[str, Handler] = {
            "nudge_unowned": _nudge_unowned,
            "nudge_resolve": _nudge_resolve,
            "followup_due": _followup_due,
            "step_due": _step_due,
            "approval_waiting": _approval_waiting,
            "approval_escalation": _approval_escalation,
        }

    def register(self, kind: str, handler: Handler) -> None:
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
    ) -> tuple[list[DueItem], _Batch | None]:
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
        batch: _Batch | None = None
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

        async def claim() -> tuple[list[DueItem], _Batch | None]:
            t = monotonic()
            try:
                return await self._claim(limit, preload=True)
            finally:
                claiming[0] += monotonic() - t

        # One claim is always under way while the last one's items run: a claim's round trips
        # then never leave the slots idle.
        upcoming: asyncio.Task[tuple[list[DueItem], _Batch | None]] | None = asyncio.create_task(claim())
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
                batch_token = _BATCH.set(batch)
                try:
                    for item in items:
                        await gate.acquire()  # one notifier paces each channel itself
                        task = asyncio.create_task(one(item))
                        running.add(task)
                        task.add_done_callback(running.discard)
                finally:
                    _BATCH.reset(batch_token)
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
        due = self.clock.now() + backoff(item.attempts)
        await self._settle(item, due_at=due, last_error=error, data=data)
        report.deferred.append(item.id or 0)
        count_send(item.kind, "retried")

    # ----- reading and snoozing -----------------------------------------------------------

    async def pending_for_case(self, case_id: int) -> list[DueItem]:
        async with self.db.session() as s:
            rows = await s.exec(
                select(DueItem)
                .where(col(DueItem.case_id) == case_id, col(DueItem.status) == PENDING)
                .order_by(col(DueItem.due_at))
            )
            return list(rows.all())

    async def snooze(
        self, team_id: str, number: int, actor: str, for_text: str | None
    ) -> tuple[Case, datetime]:
        """Move the follow-up nudge later: `1h`, `2d`, or (default) tomorrow morning for the owner."""
        for _ in range(5):
            async with self.db.session() as s:
                now = self.clock.now()
                case = (
                    await s.exec(select(Case).where(Case.team_id == team_id, Case.number == number))
                ).first()
                if case is None:
                    raise NotFound(
                        f"There is no case #{number} in this team.", "See open cases with /recover list."
                    )
                policy = await s.get(Policy, team_id)
                assert policy is not None
                if actor != case.owner_id and actor not in policy.admins:
                    raise NotAllowed(
                        f"Only the owner (<@{case.owner_id}>) or an admin can snooze case #{number}.",
                        f"Ask them, or take the case over: /recover handover {number} @you.",
                    )
                items = list(
                    (
                        await s.exec(
                            select(DueItem).where(
                                col(DueItem.case_id) == case.id,
                                col(DueItem.kind) == "followup_due",
                                col(DueItem.status) == PENDING,
                            )
                        )
                    ).all()
                )
                if case.status != CaseStatus.RESOLVED or not items:
                    raise InvalidStep(
                        f"Case #{number} has no follow-up waiting, so there is nothing to snooze.",
                        f"The follow-up nudge comes after /recover resolve {number} ...",
                    )
                until = snooze_until(for_text, now, policy, zone_of(policy, case.owner_id))
                for item in items:
                    item.due_at, item.lease_owner, item.lease_until = until, None, None
                    item.stage = 1  # a snoozed follow-up starts counting misses again
                    item.version += 1
                    s.add(item)
                case.followup_due_at = until
                touch(case, now)
                s.add(case)
                s.add(
                    TimelineEvent(
                        team_id=team_id, case_id=case.id, kind="snoozed", actor=actor, at=now,
                        data={"until": until.isoformat(), "for": for_text},
                    )
                )  # fmt: skip
                try:
                    await s.commit()
                except StaleDataError:
                    await s.rollback()
                    continue
                return case, until
        raise Conflict(f"Case #{number} changed at the same moment.", "Try the snooze again.")


_SNOOZE = re.compile(r"(\d+)\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|weeks?)")
_SNOOZE_UNITS = {"m": 1, "h": 60, "d": 1440, "w": 10080}


def parse_span(text: str | None) -> timedelta:
    """`1h`, `30m`, `2d`, `1w` (also `for 2h`, `in 2 hours`): how long to wait."""
    raw = (text or "").strip().lower().removeprefix("for ").removeprefix("in ").strip()
    m = _SNOOZE.fullmatch(raw)
    if not m or int(m.group(1)) <= 0:
        raise BadInput(f"I can't read {text!r} as a length of time.", "Try 30m, 1h, 2d or 1w.")
    minutes = int(m.group(1)) * _SNOOZE_UNITS[m.group(2)[0]]
    if minutes > 60 * 24 * 30:
        raise BadInput("That is longer than 30 days.", "Give at most 30d, then look again.")
    return timedelta(minutes=minutes)


def snooze_until(text: str | None, now: datetime, policy: Policy, zone: ZoneInfo) -> datetime:
    """`1h`, `2d` ... from now, or (default, `tomorrow`) the start of the owner's next working day."""
    raw = (text or "").strip().lower().removeprefix("for ").strip()
    if raw in ("", "tomorrow", "tomorrow morning", "morning"):
        local = now.astimezone(zone)
        tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
        return next_working_moment(tomorrow, policy, zone)
    try:
        return now + parse_span(raw)
    except BadInput as err:
        raise BadInput(
            f"I can't read {text!r} as a snooze.", "Try /recover snooze <case> for 1h, for 2d, or tomorrow."
        ) from err


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
class _Batch:
    """What the handlers of one claimed batch need, read with the claim (snapshot at claim time;
    a case that changes meanwhile cancels its items, and the settle then finds the lease lost)."""

    cases: dict[int, Case]
    policies: dict[str, Policy]


async def _preload(s: AsyncSession, items: list[DueItem]) -> _Batch:
    """Two queries for the whole batch; kinds that are not about a case load what they need."""
    case_ids = sorted({i.case_id for i in items if i.case_id is not None and i.kind in CASE_KINDS})
    teams = sorted({i.team_id for i in items if i.case_id is not None and i.kind in CASE_KINDS})
    cases = (await s.exec(select(Case).where(col(Case.id).in_(case_ids)))).all() if case_ids else []
    policies = (await s.exec(select(Policy).where(col(Policy.team_id).in_(teams)))).all() if teams else []
    return _Batch({c.id: c for c in cases if c.id is not None}, {p.team_id: p for p in policies})


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

    def __init__(self, dl: Deadlines) -> None:
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
_BATCH: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("teambot_due_batch", default=None)


# ----- the case handlers ------------------------------------------------------------------


async def _load(dl: Deadlines, item: DueItem) -> tuple[Case, Policy]:
    batch = _BATCH.get()
    if batch is not None and item.case_id in batch.cases and item.team_id in batch.policies:
        return batch.cases[item.case_id], batch.policies[item.team_id]
    async with dl.db.session() as s:
        case = await s.get(Case, item.case_id)
        policy = await s.get(Policy, item.team_id)
        assert case is not None and policy is not None
        return case, policy


def _notice(kind: str, text: str, case: Case, **data: Any) -> Notice:
    return Notice(
        kind=kind, text=text, team_id=case.team_id, case_id=case.id, data={"number": case.number, **data}
    )


def _channel(case: Case) -> Recipient:
    return Recipient("channel", case.channel_id, case.platform)


def _user(case: Case, user: str) -> Recipient:
    return Recipient("user", user, case.platform)


def _again(item: DueItem, due: datetime, now: datetime) -> DueItem:
    """The second nudge of the same deadline: when it fires, the deadline was missed twice."""
    key = (item.key[:-2] if item.key.endswith(":1") else item.key) + ":2"
    return DueItem(
        key=key, team_id=item.team_id, kind=item.kind, case_id=item.case_id, ref=item.ref, stage=2,
        due_at=due, created_at=now, data={"first_sent_at": now.isoformat()},
    )  # fmt: skip


def _escalate(case: Case, policy: Policy, what: str) -> list[tuple[Recipient, Notice]]:
    leads = [u for u in leads_of(policy) if u != case.owner_id]
    owner = f"<@{case.owner_id}>" if case.owner_id else "nobody"
    who = ", ".join(f"<@{u}>" for u in leads)
    text = (
        f"Case #{case.number} missed {what} twice (owner: {owner}): {case.problem}. "
        + (f"{who}, can you help? " if who else "")
        + f"See it with /recover show {case.number}."
    )
    notice = _notice("nudge_escalated", text, case, what=what, leads=leads)
    return [(_channel(case), notice)] + [(_user(case, u), notice) for u in leads]


def _person_defer(dl: Deadlines, policy: Policy, user: str | None) -> datetime | None:
    """A nudge to a person waits for their working day; None when it may go now."""
    now = dl.clock.now()
    at = next_working_moment(now, policy, zone_of(policy, user))
    return at if at > now else None


async def _nudge_unowned(dl: Deadlines, item: DueItem) -> Outcome:
    case, policy = await _load(dl, item)
    if case.owner_id is not None or case.status != CaseStatus.OPEN:
        return Outcome(cancel=True)
    now = dl.clock.now()
    waited = duration(now - case.opened_at)
    text = (
        f"Case #{case.number} has had no owner for {waited} (target {policy.own_within_minutes} min): "
        f"{case.problem}. Who takes it? /recover claim {case.number}"
    )
    msgs = [(_channel(case), _notice("nudge_unowned", text, case, actions=["claim"]))]
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, "its time to own")[1:])
    return Outcome(
        messages=msgs, then=[_again(item, now + timedelta(minutes=policy.own_within_minutes), now)]
    )


async def _nudge_resolve(dl: Deadlines, item: DueItem) -> Outcome:
    case, policy = await _load(dl, item)
    if case.status not in (CaseStatus.OPEN, CaseStatus.OWNED):
        return Outcome(cancel=True)
    now = dl.clock.now()
    target = case.opened_at + timedelta(hours=policy.resolve_within_hours)
    if policy.targets_in_working_hours:
        target = target_time(case.opened_at, timedelta(hours=policy.resolve_within_hours), policy)
    if case.owner_id is None:  # nobody to nudge: the channel hears it, now
        who, rcpt = "Nobody owns it yet", _channel(case)
    else:
        defer = _person_defer(dl, policy, case.owner_id)
        if defer is not None:
            return Outcome(defer_until=defer)
        who, rcpt = f"<@{case.owner_id}>", _user(case, case.owner_id)
    if item.stage == 0:
        text = (
            f"{who}: case #{case.number} should be resolved by {when(target, policy.digest_timezone)} "
            f"({duration(target - now)} left): {case.problem}. "
            f"/recover resolve {case.number} <what you did> | <root cause>"
        )
        return Outcome(messages=[(rcpt, _notice("nudge_resolve", text, case, due_at=target.isoformat()))])
    late = duration(now - case.opened_at)
    text = (
        f"{who}: case #{case.number} is past its {policy.resolve_within_hours} h resolve target "
        f"(open {late}): {case.problem}. /recover resolve {case.number} <what you did> | <root cause>"
    )
    msgs = [(rcpt, _notice("nudge_resolve", text, case, due_at=target.isoformat(), overdue=True))]
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, "its resolve target"))
    repeat = timedelta(hours=max(1, policy.resolve_within_hours // 4))
    return Outcome(messages=msgs, then=[_again(item, now + repeat, now)])


async def _followup_due(dl: Deadlines, item: DueItem) -> Outcome:
    case, policy = await _load(dl, item)
    if case.status != CaseStatus.RESOLVED or case.owner_id is None:
        return Outcome(cancel=True)
    now = dl.clock.now()
    if case.followup_due_at is not None and case.followup_due_at > now:
        return Outcome(defer_until=case.followup_due_at)  # snoozed since this was claimed
    defer = _person_defer(dl, policy, case.owner_id)
    if defer is not None:
        return Outcome(defer_until=defer)
    customer = case.customer_name or "the customer"
    text = (
        f"<@{case.owner_id}>: time to follow up with {customer} on case #{case.number} ({case.problem}). "
        f"Are they satisfied now? Answer with /recover followup {case.number} satisfied|not <score 1-5>, "
        f"or /recover snooze {case.number} for 1h (or tomorrow)."
    )
    notice = _notice(
        "followup_due", text, case, actions=["satisfied", "not_yet", "snooze"], customer=customer
    )
    msgs = [(_user(case, case.owner_id), notice)]
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, "its follow-up"))
    return Outcome(messages=msgs, then=[_again(item, now + timedelta(hours=24), now)])


async def _step_due(dl: Deadlines, item: DueItem) -> Outcome:
    case, policy = await _load(dl, item)
    async with dl.db.session() as s:
        step = (
            await s.exec(
                select(NextStep).where(NextStep.case_id == case.id, NextStep.position == int(item.ref or 0))
            )
        ).first()
    if step is None or step.done or case.status == CaseStatus.CLOSED:
        return Outcome(cancel=True)
    defer = _person_defer(dl, policy, step.owner_id)
    if defer is not None:
        return Outcome(defer_until=defer)
    now = dl.clock.now()
    text = (
        f"<@{step.owner_id}>: next step {case.number}.{step.position} is due: {step.text}. "
        f"When it is done: /recover done {case.number}.{step.position}"
    )
    notice = _notice("step_due", text, case, position=step.position, step_text=step.text, owner=step.owner_id)
    msgs = [(_user(case, step.owner_id), notice)]
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, f"next step {step.position}"))
    return Outcome(messages=msgs, then=[_again(item, now + timedelta(hours=24), now)])


async def _approval_waiting(dl: Deadlines, item: DueItem) -> Outcome:
    case, policy = await _load(dl, item)
    async with dl.db.session() as s:
        req = await s.get(ApprovalRequest, int(item.ref or 0))
    if req is None or req.status != ApprovalStatus.PENDING:
        return Outcome(cancel=True)
    now = dl.clock.now()
    waited = duration(now - req.requested_at)
    msgs = []
    for approver in [a for a in approvers_of(policy) if a != req.requested_by]:
        text = (
            f"<@{approver}>: <@{req.requested_by}> has waited {waited} for your answer on {req.gesture} "
            f"for case #{case.number} ({case.problem}). /recover approve {req.id} or /recover deny {req.id} <reason>"
        )
        msgs.append(
            (
                _user(case, approver),
                _notice("approval_request", text, case, approval_id=req.id, reminder=True),
            )
        )
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, "an approval")[1:])
    return Outcome(
        messages=msgs, then=[_again(item, now + timedelta(minutes=policy.own_within_minutes * 2), now)]
    )


async def _approval_escalation(dl: Deadlines, item: DueItem) -> Outcome:
    """A request the approvers left unanswered for the policy's escalation time goes once to the
    backup approvers (every admin when none are named), and the case's timeline says so."""
    case, policy = await _load(dl, item)
    async with dl.db.session() as s:
        req = await s.get(ApprovalRequest, int(item.ref or 0))
    if req is None or req.status != ApprovalStatus.PENDING or case.status == CaseStatus.CANCELLED:
        return Outcome(cancel=True)
    backups = [u for u in backups_of(policy) if u != req.requested_by]
    if not backups:
        return Outcome(cancel=True, result={"why": "no backup approver"})
    now = dl.clock.now()
    waited = duration(now - req.requested_at)
    async with dl.db.session() as s:  # said in the timeline once, even when delivery is retried
        events = (
            await s.exec(
                select(TimelineEvent).where(TimelineEvent.case_id == case.id, TimelineEvent.kind == "escalated")
            )
        ).all()
        if not any(e.data.get("approval_id") == req.id for e in events):
            s.add(
                TimelineEvent(
                    team_id=case.team_id, case_id=case.id, kind="escalated", actor=BOT, at=now,
                    data={"approval_id": req.id, "to": backups, "waited": waited, "gesture": req.gesture},
                )
            )  # fmt: skip
            await s.commit()
    amount = format_amount(from_minor(req.amount_minor, req.currency), req.currency)
    msgs = []
    for backup in backups:
        text = (
            f"<@{backup}>: <@{req.requested_by}> has waited {waited} for an approver on {req.gesture} ({amount}) "
            f"for case #{case.number} ({case.problem}). You are a backup approver: "
            f"/recover approve {req.id} or /recover deny {req.id} <reason>"
        )
        notice = _notice("approval_request", text, case, approval_id=req.id, escalated=True)
        msgs.append((_user(case, backup), notice))
    return Outcome(messages=msgs, result={"to": backups})
