"""APScheduler in-process: it only decides *when* to look; *what* is due lives in the database.

Two jobs: the sweep (every few seconds: claim due items, send them) and the planner (every
few minutes: make sure each team's next digest is a due item). Both read and write rows
only, so a restart, or several workers on one PostgreSQL, lose and duplicate nothing.
"""

from __future__ import annotations

import asyncio
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
        self.aps = AsyncIOScheduler(timezone="UTC")
        self.aps.add_job(
            self.sweep, IntervalTrigger(seconds=self.sweep_seconds), id="sweep",
            max_instances=1, coalesce=True, replace_existing=True,
        )  # fmt: skip
        self.aps.add_job(
            self.tick, IntervalTrigger(seconds=self.plan_seconds), id="plan",
            max_instances=1, coalesce=True, replace_existing=True, next_run_time=datetime.now().astimezone(),
        )  # fmt: skip
        self.aps.start()
        log.info("scheduler started as %s", self.deadlines.worker_id)

    async def stop(self) -> None:
        if self.aps is not None:
            self.aps.shutdown(wait=False)
            self.aps = None
            await asyncio.sleep(0)  # let a cancelled job unwind

    @property
    def running(self) -> bool:
        return self.aps is not None and self.aps.running
