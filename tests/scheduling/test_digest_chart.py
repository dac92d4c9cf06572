"""The digest's chart: a real PNG, attached to the posted digest, saved by the shell."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

from teambot.bootstrap import Container
from teambot.core.insights.charts import digest_chart
from teambot.core.insights.digest import Digest, Figures
from teambot.shell.session import ShellSession

PNG = b"\x89PNG\r\n\x1a\n"


def _digest(**kw: object) -> Digest:
    base = dict(
        team_id="T1", week="2026-W48", start="2026-11-23T00:00:00+00:00", end="2026-11-30T00:00:00+00:00",
        timezone="UTC", currency="USD", this=Figures(), last=Figures(),
    )  # fmt: skip
    return Digest(**{**base, **kw})  # type: ignore[arg-type]


def test_chart_is_a_png_for_busy_and_empty_weeks() -> None:
    busy = digest_chart(
        _digest(
            opened_per_day={"2026-11-23": {"booking": 2, "delivery": 1}, "2026-11-26": {"booking": 4}},
            resolve_hours=[1.5, 3.0, 30.0, 12.0],
        )
    )
    empty = digest_chart(_digest())
    assert busy.startswith(PNG) and empty.startswith(PNG)
    assert busy != empty and len(busy) > 5_000


async def test_the_shell_saves_the_posted_digest_chart(container: Container) -> None:
    script = (
        "/recover policy digest monday 09:00 UTC #managers\n"
        "/recover Mr Lee: parcel lost #delivery\n"
        "/later 8d\n"
    )
    out = io.StringIO()
    await ShellSession(container, stdin=io.StringIO(script), stdout=out, user="you").run()
    text = out.getvalue()
    assert "🔔 [#managers] " in text
    found = re.search(r"📎 Recovery cases, 2026-W48: (\S+\.png)", text)
    assert found, text[-2000:]
    assert (await asyncio.to_thread(Path(found.group(1)).read_bytes)).startswith(PNG)
