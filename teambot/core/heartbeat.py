"""Which `teambot worker` processes are alive: each writes its row every few seconds.

With TEAMBOT_WORK=worker, web processes only record and acknowledge; if no worker runs, requests wait
10 s for the web process to run them itself. `teambot doctor`, `/metrics` (`teambot_workers_seen`) and
an alert on it say so before customers notice. One small table, one UPDATE per process per beat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Field, SQLModel, col, select

from teambot.core.db import Database
from teambot.core.types import UTCDateTime

log = logging.getLogger(__name__)

WORKER_SEEN = timedelta(minutes=1)  # a worker not seen for this long counts as gone
BEAT = timedelta(seconds=15)
FORGOTTEN = timedelta(days=1)  # rows of processes gone this long are deleted


class WorkerBeat(SQLModel, table=True):
    """One process that runs work behind the ack (`role` = "worker"), and when it was last alive."""

    __tablename__ = "workers"

    id: str = Field(primary_key=True, max_length=128)  # the process's worker id (host:pid:random)
    role: str = Field(default="worker", max_length=16)
    started_at: datetime = Field(sa_type=UTCDateTime)
    seen_at: datetime = Field(sa_type=UTCDateTime, index=True)


async def beat(db: Database, worker_id: str, role: str = "worker", now: datetime | None = None) -> None:
    """Say this process is alive (an UPDATE; an INSERT the first time)."""
    at = now or datetime.now(UTC)
    async with db.session() as s:
        res = await s.exec(  # type: ignore[call-overload]
            update(WorkerBeat).where(col(WorkerBeat.id) == worker_id).values(seen_at=at)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if res.rowcount == 0:
            s.add(WorkerBeat(id=worker_id, role=role, started_at=at, seen_at=at))
            await s.exec(delete(WorkerBeat).where(col(WorkerBeat.seen_at) < at - FORGOTTEN))  # type: ignore[call-overload]
        await s.commit()


async def workers_seen(db: Database, now: datetime | None = None) -> list[WorkerBeat]:
    at = now or datetime.now(UTC)
    async with db.read() as s:
        q = select(WorkerBeat).where(col(WorkerBeat.role) == "worker", col(WorkerBeat.seen_at) >= at - WORKER_SEEN)
        return list((await s.exec(q)).all())


async def gone(db: Database, worker_id: str) -> None:
    """A clean stop: this worker is no longer counted."""
    async with db.session() as s:
        await s.exec(delete(WorkerBeat).where(col(WorkerBeat.id) == worker_id))  # type: ignore[call-overload]
        await s.commit()


class Heartbeat:
    """The beat loop of one process; a failed beat (the database away) is logged and tried again."""

    def __init__(self, db: Database, worker_id: str, role: str = "worker", every: timedelta = BEAT) -> None:
        self.db, self.worker_id, self.role, self.every = db, worker_id, role, every
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                await beat(self.db, self.worker_id, self.role)
            except Exception as exc:
                log.warning("worker heartbeat failed (%s); it beats again in %.0f s", type(exc).__name__,
                            self.every.total_seconds())  # fmt: skip
            await asyncio.sleep(self.every.total_seconds())

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
            with contextlib.suppress(Exception):
                await gone(self.db, self.worker_id)
