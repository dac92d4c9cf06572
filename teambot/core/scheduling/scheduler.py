"""APScheduler in-process: it only decides *when* to look; *what* is due lives in the database.

Two jobs: the sweep (every few seconds: claim due items, send them) and the planner (every
few minutes: make sure each team's next digest is a due item). Both read and write rows
only, so a restart, or several workers on one PostgreSQL, lose and duplicate nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from teambot.core.scheduling.deadlines import Deadlines, SweepReport

log = logging.getLogger(__name__)

Planner = Callable[[datetime], Awaitable[object]]


class Scheduler:
    """Wraps an AsyncIOScheduler; `tick()` is what each job run does, callable from tests."""

    def __init__(
        self, deadlines: Deadlines, planners: list[Planner] | None = None, *,
        sweep_seconds: float = 15, plan_seconds: float = 300,
    ) -> None:  # fmt: skip
        self.deadlines = deadlines
        self.planners: list[Planner] = list(planners or [])
        self.sweep_seconds = sweep_seconds
        self.plan_seconds = plan_seconds
        self.aps: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()  # one sweep at a time in this process
        self._running: set[asyncio.Task[object]] = set()  # job runs under way (see `_job`)
        self._stopping = False
        self.ticks = 0
        self.ticked = asyncio.Event()
        self._soon: asyncio.Future[SweepReport] | None = None

    async def plan(self) -> None:
        now = self.deadlines.clock.now()
        for planner in self.planners:
            try:
                await planner(now)
            except Exception:
                log.exception("planner %s failed; it runs again at the next tick", planner)

    async def sweep(self) -> SweepReport:
        async with self._lock:
            try:
                return await self.deadlines.sweep()
            except Exception:
                log.exception("sweep failed; it runs again at the next tick")
                return SweepReport()

    async def tick(self) -> SweepReport:
        """Plan, then send whatever is due: what `teambot worker` does on every beat."""
        await self.plan()
        report = await self.sweep()
        self.ticks += 1
        self.ticked.set()
        return report

    def soon(self) -> None:
        """Sweep now rather than at the next tick (new webhook deliveries were committed), when this
        process runs the scheduler; one extra sweep at a time, never in the caller's way."""
        if not self.running or (self._soon is not None and not self._soon.done()):
            return
        self._soon = asyncio.ensure_future(self.sweep())

    def start(self) -> None:
        if self.aps is not None:
            return
        self._stopping = False
        self.aps = AsyncIOScheduler(timezone="UTC")
        self.aps.add_job(
            self._job, IntervalTrigger(seconds=self.sweep_seconds), args=(self.sweep,), id="sweep",
            max_instances=1, coalesce=True, replace_existing=True,
        )  # fmt: skip
        self.aps.add_job(
            self._job, IntervalTrigger(seconds=self.plan_seconds), args=(self.tick,), id="plan",
            max_instances=1, coalesce=True, replace_existing=True, next_run_time=datetime.now().astimezone(),
        )  # fmt: skip
        self.aps.start()
        log.info("scheduler started as %s", self.deadlines.worker_id)

    async def _job(self, work: Callable[[], Awaitable[object]]) -> None:
        """What APScheduler runs: the work in a task this scheduler owns. APScheduler's shutdown
        cancels its jobs mid-statement and logs the CancelledError as an ERROR with a traceback;
        here its cancel only stops the waiting, and `stop` lets the work finish or cancels it itself."""
        if self._stopping:
            return
        task = asyncio.ensure_future(work())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)

    async def stop(self, grace: float = 1.0) -> None:
        """No new runs; the one under way gets `grace` seconds to finish (a tick is a few short
        transactions), then it is cancelled: what it claimed is retried after its lease."""
        self._stopping = True
        if self.aps is not None:
            self.aps.shutdown(wait=False)
            self.aps = None
        running = list(self._running)
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=0.5)
        for task in running:  # retrieved, so none is reported as "never retrieved"
            if task.done() and not task.cancelled():
                task.exception()

    @property
    def running(self) -> bool:
        return self.aps is not None and self.aps.running
