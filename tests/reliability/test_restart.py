"""`kill -9` on a `teambot serve` in the middle of an acknowledged /recover, then a restart on the same
host: the new process sees the holder is dead and runs the request at once, not after the 30 s lease."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import select

from teambot.bootstrap import Container
from teambot.core.cases.models import Case
from teambot.core.intake.models import IntakeItem
from tests.slack.conftest import SECRET, sign
from tests.slack.fake_slack import FakeSlack
from tests.stress.intake_crash import ROOT, Proc, _free_port


class StallingSlack(FakeSlack):
    """While `stall` is set, looking a person up hangs (the bot gives up after 1.5 s): the request's work
    is under way, its case not yet opened."""

    stall = True
    stalled = 0

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if self.stall and request.match_info["method"] == "users.info":
            self.stalled += 1
            await asyncio.sleep(60)
        return await super()._api(request)


@pytest.fixture
async def stalling() -> AsyncIterator[StallingSlack]:
    fake = StallingSlack()
    await fake.start()
    yield fake
    await fake.close()


async def _rows(container: Container) -> tuple[list[IntakeItem], list[Case]]:
    async with container.db.session() as s:
        return list((await s.exec(select(IntakeItem))).all()), list((await s.exec(select(Case))).all())


async def test_a_request_held_by_a_killed_process_runs_within_5_s_of_the_restart(
    container: Container, stalling: StallingSlack, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": container.settings.database_url,
           "SLACK_BOT_TOKEN": "xoxb-restart", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": f"{stalling.url}/api/",
           "TEAMBOT_SCHEDULER": "off", "LOG_LEVEL": "WARNING", "PORT": str(_free_port())}  # fmt: skip
    web1 = Proc("web", ["serve"], env, int(env["PORT"]), tmp_path / "web1.log")
    await web1.start()
    body = urlencode({"team_id": "T1", "user_id": "U1", "channel_id": "C1", "command": "/recover",
                      "text": "Mr Kim: cold coffee", "trigger_id": "trig.restart",
                      "response_url": stalling.response_url("restart")})  # fmt: skip
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    try:
        async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{web1.port}/slack/events", data=body, headers=headers
        ) as r:
            assert r.status == 200  # acknowledged: recorded, held by web1
        for _ in range(600):  # until its work is stuck looking the person up
            if stalling.stalled:
                break
            await asyncio.sleep(0.01)
        web1_pid = web1.proc.pid if web1.proc else 0
        await web1.stop(signal.SIGKILL)
        rows, cases = await _rows(container)
        assert [r.status for r in rows] == ["pending"] and rows[0].lease_owner and not cases
        assert rows[0].lease_owner.split(":")[1] == str(web1_pid)
    finally:
        await web1.stop(signal.SIGKILL)
    stalling.stall = False
    web2 = Proc("web", ["serve"], env, int(env["PORT"]), tmp_path / "web2.log")
    await web2.start()  # answers /healthz: started
    try:
        started = time.monotonic()
        while time.monotonic() - started < 5:
            _, cases = await _rows(container)
            if cases:
                break
            await asyncio.sleep(0.1)
        took = time.monotonic() - started
    finally:
        await web2.stop()
    assert [c.problem for c in cases] == ["cold coffee"], (tmp_path / "web2.log").read_text()[-2000:]
    assert took < 5
    assert "took over 1 intake row(s) at once" in (tmp_path / "web2.log").read_text()
