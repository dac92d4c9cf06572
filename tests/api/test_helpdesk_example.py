"""docs/helpdesk.md works as written: its Zendesk trigger body, placeholders filled in as Zendesk
would, opens one case per ticket however often the trigger fires; and the README's ten-line
receiver verifies what Teambot sends (and refuses a forgery)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

from teambot.bootstrap import Container
from tests.api.conftest import Api, ctx
from tests.stress.intake_crash import _free_port

ROOT = Path(__file__).resolve().parents[2]
ZENDESK = {"ticket.title": "Parcel lost twice", "ticket.requester.name": "Ann Lee",
           "ticket.requester.email": "ann@example.com", "ticket.id": "81723"}  # fmt: skip


def trigger_body() -> dict[str, object]:
    doc = (ROOT / "docs" / "helpdesk.md").read_text()
    raw = re.search(r"```json\n(.*?)```", doc, re.S)
    assert raw is not None
    text = re.sub(r"\{\{([a-z_.]+)\}\}", lambda m: ZENDESK[m.group(1)], raw.group(1))
    return json.loads(text)  # type: ignore[no-any-return]


async def test_the_zendesk_trigger_opens_one_case_per_ticket(api: Api) -> None:
    token = await api.token("zendesk", "write")
    body = trigger_body()
    first = await api.call("POST", "/api/v1/cases", token=token, body=body)
    again = await api.call("POST", "/api/v1/cases", token=token, body=body)  # the trigger fired twice
    assert first.status == again.status == 201 and first.json()["number"] == again.json()["number"] == 1
    case = first.json()
    assert case["customer"] == {"name": "Ann Lee"} and case["problem"] == "Parcel lost twice"
    assert case["wants"] == "See Zendesk ticket 81723" and again.headers["Idempotent-Replayed"] == "true"


def test_the_readme_shows_the_receiver_that_is_tested() -> None:
    code = (ROOT / "docs" / "examples" / "webhook_receiver.py").read_text()
    assert len(code.strip().splitlines()) <= 10 and code.strip() in (ROOT / "README.md").read_text()


async def test_the_ten_line_receiver_verifies_a_delivery(container: Container) -> None:
    c = container
    port = _free_port()
    reply = await c.commands.run_text(f"webhook add http://127.0.0.1:{port}/", ctx())
    secret = "whsec_" + reply.text.split("whsec_", 1)[1].split()[0]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "docs" / "examples" / "webhook_receiver.py"),
        env={**os.environ, "WEBHOOK_SECRET": secret, "RECEIVER_PORT": str(port)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        for _ in range(100):  # until it listens
            attempt = await c.webhooks.test("T1", "U_ADMIN", f"http://127.0.0.1:{port}/")
            if attempt is not None and attempt.status_code is not None:
                break
            await asyncio.sleep(0.1)
        assert attempt is not None and attempt.ok, attempt
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        assert line.startswith("verified msg_") and "webhook.test" in line
        # A forged signature is refused by the same ten lines.
        hook = (await c.webhooks.list("T1", "U_ADMIN"))[0]
        hook_secret = c.box.seal("whsec_" + "QUFB" * 11)
        async with c.db.session() as s:
            hook.secret = hook_secret
            s.add(hook)
            await s.commit()
        forged = await c.webhooks.test("T1", "U_ADMIN", f"http://127.0.0.1:{port}/")
        assert forged is not None and not forged.ok and forged.status_code == 401
    finally:
        proc.kill()
        await proc.wait()
