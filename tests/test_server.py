"""The HTTP server and the command line, as a deployment sees them."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from teambot.bootstrap import Container
from teambot.core.db import Database
from teambot.server import create_app


async def test_healthz_checks_the_database(container: Container) -> None:
    async with TestClient(TestServer(create_app(container))) as client:
        resp = await client.get("/healthz")
        assert resp.status == 200
        body = await resp.json()
        assert body["status"] == "ok" and body["database"] == "ok"
        # Unknown paths are plain 404s, not tracebacks.
        assert (await client.get("/nope")).status == 404


async def test_healthz_reports_an_unreachable_database(container: Container) -> None:
    dead = replace(container, db=Database("postgresql://postgres@127.0.0.1:1/nothing"))
    async with TestClient(TestServer(create_app(dead))) as client:
        resp = await client.get("/healthz")
        assert resp.status == 503
        assert await resp.json() == {"status": "error", "database": "unreachable"}
    await dead.db.dispose()


def test_every_command_has_help() -> None:
    teambot = Path(sys.executable).parent / "teambot"
    for args in (["--help"], ["run", "--help"], ["serve", "--help"], ["shell", "--help"], ["db", "upgrade", "--help"],
                 ["export", "--help"]):  # fmt: skip
        done = subprocess.run([str(teambot), *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "usage: teambot" in done.stdout, (args, done.stderr)


def test_db_upgrade_creates_a_fresh_sqlite_database(tmp_path: Path) -> None:
    teambot = Path(sys.executable).parent / "teambot"
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db"}
    done = subprocess.run(
        [str(teambot), "db", "upgrade"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "latest schema" in done.stdout and (tmp_path / "fresh.db").exists()
