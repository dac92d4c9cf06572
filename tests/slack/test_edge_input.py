"""What a stranger or a slip can send to Slack's endpoint: a body that is not UTF-8, a card action
nobody defined, Slack's own tokens and escaping in what people type (issue 22)."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import func
from sqlmodel import select

from teambot.core.cases.models import Case
from teambot.core.intake.models import IntakeItem
from tests.slack.conftest import Slack, all_text


async def _rows(slack: Slack) -> tuple[int, int]:
    async with slack.container.db.session() as s:
        return (
            (await s.exec(select(func.count()).select_from(Case))).one(),
            (await s.exec(select(func.count()).select_from(IntakeItem))).one(),
        )


async def test_a_body_that_is_not_utf8_is_refused_quietly(slack: Slack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"}  # fmt: skip
    resp = await slack.http.post("/slack/events", data=b"\xff\xfe\x00\x01=&&&==%%%", headers=headers)
    assert resp.status in (400, 401)
    assert [r for r in caplog.records if r.levelno > logging.WARNING] == []
    assert await _rows(slack) == (0, 0)


async def test_an_unknown_card_action_is_told_like_any_refusal(slack: Slack, caplog: pytest.LogCaptureFixture) -> None:
    await slack.command("Mrs Ode: lost luggage")
    caplog.set_level(logging.DEBUG)
    status, _, key = await slack.click("case:nonexistent_step", "1")
    assert status == 200
    said = " ".join(all_text(m) for m in slack.fake.to(key))
    assert said and "went wrong" not in said.lower(), said
    assert [r for r in caplog.records if r.levelno > logging.WARNING] == []
    assert not any(r.exc_info for r in caplog.records)
