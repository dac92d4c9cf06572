"""A `teambot worker` process killed with SIGKILL mid-sweep: after its leases expire another worker
sends the rest; nothing is lost, and at most the one notice in flight at the kill is sent twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlmodel import select

from teambot.bootstrap import Container
from teambot.core.leases import DUE
from teambot.core.scheduling.deadlines import Deadlines
from teambot.core.scheduling.models import DueItem
from tests.helpers import FakeClock
from tests.slack.conftest import Slack, _harness
from tests.slack.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
CASES = 12


class SlowSlack(FakeSlack):
    """Each post takes a moment, so the kill lands in the middle of a sweep."""

    async def _api(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.15)
        return await super()._api(request)


@pytest.fixture
async def slow(container: Container) -> AsyncIterator[Slack]:
    fake = SlowSlack()
    await fake.start()
    try:
        async for h in _harness(container, fake, slack_bot_token="xoxb-single"):
            yield h
    finally:
        await fake.close()


def _nudged(fake: FakeSlack) -> Counter[int]:
    out: Counter[int] = Counter()
    for p in fake.posts("C1", thread=False):
        text = str(p.get("text", ""))
        if "has had no owner" in text:
            out[int(text.split("#")[1].split(" ")[0])] += 1
    return out


async def test_sigkilled_worker_loses_nothing(slow: Slack, clock: FakeClock, db_url: str) -> None:
    if not db_url.startswith("postgres"):
        pytest.skip(
            "separate worker processes are a PostgreSQL deployment; SQLite lease takeover: tests/scheduling"
        )
    real_now = datetime.now(UTC)
    clock.current = real_now - timedelta(hours=1)  # opened an hour ago: the first nudges are due now
    for i in range(CASES):
        await slow.container.service.open_case("T1", "C1", "U1", f"Guest {i} waited", platform="slack")
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": slow.container.settings.database_url,
        "SLACK_BOT_TOKEN": "xoxb-single", "SLACK_SIGNING_SECRET": "x" * 32,
        "SLACK_API_URL": f"{slow.fake.url}/api/", "TEAMBOT_SWEEP_SECONDS": "1", "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "teambot.cli", "worker", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(3000):  # until it is part-way through (bounded; no timing is asserted)
            if sum(_nudged(slow.fake).values()) >= 3 or proc.returncode is not None:
                break
            await asyncio.sleep(0.01)
        if proc.returncode is not None:
            assert proc.stderr is not None
            raise AssertionError((await proc.stderr.read()).decode()[-2000:])
        proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    before = _nudged(slow.fake)
    assert 3 <= sum(before.values()) < CASES, before  # killed mid-sweep, with work left

    # Another worker (this process), after the dead one's leases ran out.
    clock.current = datetime.now(UTC) + DUE.hold + timedelta(minutes=1)
    dl = slow.container.deadlines
    assert isinstance(dl, Deadlines)
    await dl.sweep()
    await slow.idle()
    after = _nudged(slow.fake)
    assert sorted(after) == list(range(1, CASES + 1)), after  # nothing lost
    assert all(n in (1, 2) for n in after.values()) and sum(after.values()) <= CASES + 1, (
        after
    )  # at-least-once
    async with slow.container.db.session() as s:
        first = (
            await s.exec(select(DueItem).where(DueItem.kind == "nudge_unowned", DueItem.stage == 1))
        ).all()
    assert len(first) == CASES and all(it.status == "sent" for it in first)
