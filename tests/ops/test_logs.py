"""Logs that join up: with LOG_FORMAT=json every line logged for a request, from the moment it is
recorded (its background work, its card delivery, a takeover by another process), carries the same
request id (the intake row id), the platform and the team; and nothing at INFO or above carries a
customer's name, email or words."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from teambot.bootstrap import Container
from teambot.core.intake.models import IntakeItem
from teambot.core.logcontext import bind_request
from teambot.logs import handler_for
from teambot.mail.senders import SmtpSender
from tests.helpers import FakeClock
from tests.mail.test_senders import _free_port, _serve
from tests.slack.conftest import _harness
from tests.slack.fake_slack import FakeSlack

CUSTOMER = ("Jane", "jane@example.com", "soup", "hot one", "lamp")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every record at INFO and above, rendered as LOG_FORMAT=json renders it."""
    yield from _capture("json")


@pytest.fixture
def text_log() -> Iterator[io.StringIO]:
    yield from _capture("text")


def _capture(fmt: str) -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = handler_for(fmt, out)
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    # INFO for the loggers these tests read, whatever an earlier test's `configure()` left them at.
    loggers = [root, logging.getLogger("teambot")]
    levels = [logger.level for logger in loggers]
    root.addHandler(handler)
    for logger in loggers:
        logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_a_slack_request_its_work_and_its_card_log_under_one_request_id(
    container: Container, fake_slack: FakeSlack, json_log: io.StringIO
) -> None:
    # users.info refused (the work of the first request logs a warning) and chat.update refused (the
    # card delivery of the second logs one): lines from after the ack, from two parts of the work.
    fake_slack.failures.update({"users.info": [400], "chat.update": [400]})
    async for slack in _harness(container, fake_slack, slack_bot_token="xoxb-single"):
        await slack.command("the soup was cold")
        await slack.command("claim 1")
        assert len(await slack.cases()) == 1 and fake_slack.of("chat.update")
    async with container.db.session() as s:
        rows = (await s.exec(select(IntakeItem).where(col(IntakeItem.key).like("slack:cmd:%"))
                             .order_by(col(IntakeItem.id)))).all()  # fmt: skip
    first, second = (row.id for row in rows)
    ours = [line for line in lines(json_log) if line["logger"].startswith("teambot.")]
    work = [line for line in ours if line["logger"] == "teambot.slack.people"]
    card = [line for line in ours if line["logger"] == "teambot.slack.cards"]
    assert work and card, ours
    assert {line["request_id"] for line in work} == {first}
    assert {line["request_id"] for line in card} == {second} and "not updated" in card[0]["event"]
    for line in ours:
        assert (line.get("platform"), line.get("team")) == ("slack", "T1") and line.get("request_id") in (first, second)
        assert line["level"] in ("info", "warning", "error") and line["timestamp"].endswith("Z")


async def test_a_row_taken_over_logs_its_work_and_what_that_starts_under_its_id(
    container: Container, json_log: io.StringIO
) -> None:
    work = logging.getLogger("teambot.test.work")

    async def handler(item: IntakeItem) -> None:
        work.warning("working on it")
        await asyncio.create_task(asyncio.sleep(0, result=work.warning("in a task it started")))

    container.intake.register("probe", handler)
    past = datetime.now(UTC) - timedelta(minutes=5)
    async with container.db.session() as s:
        s.add(IntakeItem(key="probe:1", kind="probe", team_id="T9", lease_owner="dead:1:x", lease_until=past,
                         created_at=past))  # fmt: skip
        await s.commit()
    [item] = await container.intake.claim()
    bind_request(999, "slack", "T1")  # whatever this task held before does not leak into the row's work
    await asyncio.create_task(container.intake.process(item))
    got = [line for line in lines(json_log) if line["logger"] == "teambot.test.work"]
    assert [line["event"] for line in got] == ["working on it", "in a task it started"]
    assert all((line["request_id"], line["platform"], line["team"]) == (item.id, "probe", "T9") for line in got)


def test_text_lines_end_with_the_request_context(text_log: io.StringIO) -> None:
    log = logging.getLogger("teambot.test.text")

    async def one() -> None:
        bind_request(42, "card:teams", "tenant-1")
        log.warning("card not updated")

    log.warning("outside any request")
    asyncio.run(one())
    first, second = text_log.getvalue().splitlines()
    assert first.endswith("teambot.test.text: outside any request")
    assert second.endswith("card not updated [request=42 platform=teams team=tenant-1]")


class Refuser:
    """aiosmtpd handler: refuses every recipient the way real servers do, naming the address."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


async def test_no_customer_name_email_or_words_at_info_or_above(
    container: Container, fake_slack: FakeSlack, text_log: io.StringIO, clock: FakeClock
) -> None:
    fake_slack.failures.update({"users.info": [400], "chat.postMessage": [500]})
    async for slack in _harness(container, fake_slack, slack_bot_token="xoxb-single"):
        await slack.command("Jane Doe <jane@example.com>: the soup was cold wants: a hot one !high")
        await slack.command("claim 1")
        await slack.command("resolve 1 A fresh bowl | the lamp was off")
        for port in _serve(Refuser()):  # a server that refuses the customer's address, quoting it
            container.mailer.sender = SmtpSender(f"smtp://127.0.0.1:{port}")
            sent = await container.mailer.send_now("T1", 1, "U1", None)  # what the send form's submit runs
        assert not sent.ok and "SMTPRecipientsRefused" in sent.error and "<address>" in sent.error
        container.mailer.sender = SmtpSender(f"smtp://127.0.0.1:{_free_port()}")  # then nothing listens
        clock.advance(minutes=5)
        await container.deadlines.sweep()
        await slack.command("frobnicate Jane's soup")  # not a command
    # Every line but the SMTP stand-in's own (aiosmtpd logs each envelope at INFO, as a server would).
    text = "\n".join(line for line in text_log.getvalue().splitlines() if " mail.log: " not in line)
    assert "not sent" in text and "SMTPRecipientsRefused" in text  # the failure was logged, without the address
    for word in CUSTOMER:
        assert word not in text, [line for line in text.splitlines() if word in line]
