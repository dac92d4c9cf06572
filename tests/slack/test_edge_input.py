"""What a stranger or a slip can send to Slack's endpoint: a body that is not UTF-8, a card action
nobody defined, Slack's own tokens and escaping in what people type (issue 22)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from teambot.core.cases.models import Case, Customer
from teambot.core.intake.models import IntakeItem
from teambot.core.recognition.models import Shoutout
from teambot.slack.text import from_slack
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


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        ("B&amp;B &lt;3 &amp;lt; a&gt;b", "B&B <3 &lt; a>b"),
        ("<@U1|ana> <@U2> <#C1|general> <#C2>", "<@U1> <@U2> #general <#C2>"),
        ("<!here> <!channel|channel> <!everyone> <!subteam^S1|@ops> <!date^1392734382^{date}|Feb 18>",
         "@here @channel @everyone @ops Feb 18"),
        ("<https://x.example|x> <https://y.example/?a=1&amp;b=2> <mailto:a@b.co|a@b.co>",
         "x https://y.example/?a=1&b=2 a@b.co"),
    ],
)
def test_slack_text_is_read_as_typed(sent: str, typed: str) -> None:
    assert from_slack(sent) == typed


def _mrkdwn(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str) else []
        return found + [t for v in node.values() for t in _mrkdwn(v)]
    if isinstance(node, list):
        return [t for v in node for t in _mrkdwn(v)]
    return []


async def _customer(slack: Slack, case: Case) -> Customer:
    async with slack.container.db.session() as s:
        found = await s.get(Customer, case.customer_id)
    assert found is not None
    return found


async def test_slack_tokens_in_a_quick_open_are_no_address_and_never_ping(slack: Slack) -> None:
    status, _, key = await slack.command("<!here> Evil <!channel>: ping <!everyone> <!subteam^S1|@ops> wants: refund")
    assert status == 200
    cases = await slack.cases()
    assert len(cases) == 1, [all_text(m) for m in slack.fake.to(key)]
    assert cases[0].customer_name == "@here Evil @channel"
    assert cases[0].problem == "ping @everyone @ops" and cases[0].wants == "refund"
    card = slack.fake.posts("C1", thread=False)[0]
    texts = [*_mrkdwn(card.get("blocks", [])), str(card.get("text", ""))]
    assert texts and not any(p in t for t in texts for p in ("<!here", "<!channel", "<!everyone", "<!subteam"))


@pytest.mark.parametrize(
    ("typed", "name", "email"),
    [
        ("Jane Doe &lt;<mailto:jane@example.com|jane@example.com>&gt;", "Jane Doe", "jane@example.com"),
        ("Jane Doe <mailto:jane@example.com|jane@example.com>", "Jane Doe", "jane@example.com"),
        ("<@U7|ana> &amp; <#C9|kitchen> <https://x.example|x.example>", "<@U7> & #kitchen x.example", None),
    ],
)
async def test_slack_escaping_is_undone_once_for_customer_and_problem(
    slack: Slack, typed: str, name: str, email: str | None
) -> None:
    await slack.command(f"{typed}: B&amp;B guest: towels &lt;3 &amp;lt; wants: a refund &amp; a note")
    case = (await slack.cases())[0]
    assert case.problem == "B&B guest: towels <3 &lt;" and case.wants == "a refund & a note"
    customer = await _customer(slack, case)
    assert (case.customer_name, customer.name, customer.email) == (name, name, email)
    card = " ".join(_mrkdwn(slack.fake.posts("C1", thread=False)[0]["blocks"]))
    assert "B&amp;B guest" in card and "&amp;amp;" not in card and "&amp;lt;3" not in card  # escaped once, for Slack


async def test_slack_escaping_is_undone_for_root_cause_and_shoutout(slack: Slack) -> None:
    await slack.command("Mr Obi: cold soup")
    await slack.command("claim 1")
    await slack.command("apologise 1 in_person so sorry")
    await slack.command("resolve 1 re-heated it &amp; apologised | kitchen &lt;-&gt; pass too slow")
    case = (await slack.case(1))
    assert case.resolution == "re-heated it & apologised" and case.root_cause == "kitchen <-> pass too slow"
    await slack.command("shoutout <@U2|ana> 1 calm &amp; kind &lt;3")
    async with slack.container.db.session() as s:
        shout = (await s.exec(select(Shoutout))).one()
    assert (shout.recipient, shout.message) == ("U2", "calm & kind <3")
