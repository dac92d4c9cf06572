"""`teambot digest` and `teambot worker` on the command line (a fresh SQLite file, no chat)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from teambot.bootstrap import build
from teambot.cli import main
from teambot.config import load_settings


def test_digest_prints_a_week_and_refuses_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)

    async def seed() -> None:
        c = await build(load_settings(database_url=url))
        await c.service.open_case("T9", "C1", "alice", "Soup was cold")
        await c.close()

    asyncio.run(seed())
    assert main(["digest", "--team", "T9", "--week", "2020-W01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("*Recovery digest 2020-W01*\nNo cases this week")
    assert main(["digest", "--team", "T9", "--json"]) == 0
    assert '"opened": 1' in capsys.readouterr().out
    assert main(["digest", "--team", "T9", "--week", "soon"]) == 2
    assert "'soon' is not an ISO week. Write it like 2026-W47." in capsys.readouterr().err
    assert main(["digest", "--team", "nobody", "--week", "2020-W01"]) == 2
    assert "Team 'nobody' has no cases or policy yet" in capsys.readouterr().err


def test_worker_is_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["worker", "--help"])
    assert exc.value.code == 0 and "scheduler" in capsys.readouterr().out
