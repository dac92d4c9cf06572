"""`teambot worker` as an operator runs it: it says it is alive (the workers table, so `teambot
doctor` and `teambot_workers_seen` see it), serves its own /metrics on METRICS_PORT, and on SIGTERM
leaves cleanly and is no longer counted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from teambot.config import load_settings
from teambot.core.db import Database
from teambot.core.heartbeat import workers_seen
from teambot.core.migrate import upgrade_async
from teambot.ops import probes
from tests.mail.test_senders import _free_port


async def _metrics(port: int) -> str | None:
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            return await resp.text() if resp.status == 200 else None
    except aiohttp.ClientError:
        return None


async def test_a_worker_beats_serves_its_metrics_and_leaves_cleanly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ops.db"
    await upgrade_async(url)
    port = _free_port()
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "METRICS_PORT": str(port), "HOST": "127.0.0.1",
           "TEAMBOT_WORK": "worker", "LOG_FORMAT": "json"}  # fmt: skip
    teambot = Path(sys.executable).parent / "teambot"
    proc = subprocess.Popen(  # noqa: ASYNC220  (a process that runs beside the test, polled below)
        [str(teambot), "worker"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    db = Database(url)
    try:
        text = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (text is None or "teambot_workers_seen 1.0" not in text):
            assert proc.poll() is None, proc.communicate()
            await asyncio.sleep(0.2)
            text = await _metrics(port)
        assert text is not None and "teambot_workers_seen 1.0" in text, text
        settings = load_settings(database_url=url, work="worker")
        assert (await probes.worker(settings, db)).status == probes.OK
        os.kill(proc.pid, signal.SIGTERM)
        _, err = await asyncio.to_thread(proc.communicate, timeout=30)
        assert proc.returncode == 0, err
        assert await workers_seen(db) == []  # a clean stop is not counted as a live worker
        assert (await probes.worker(settings, db)).status == probes.FAIL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await db.dispose()
