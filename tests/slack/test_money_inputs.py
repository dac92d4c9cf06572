"""Slack, through signed requests (issue 13): the grant modal's amount is a number_input (decimals
only where the currency has them, above zero) and says how much authority is left on the case;
the next step's due time is a datetimepicker read back in the person's zone; typed commands still
read free text exactly."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from teambot.core.cases.queries import case_detail
from teambot.core.money import from_minor
from tests.helpers import FakeClock
from tests.slack.conftest import TEAM, Slack


def block(view: dict[str, object], block_id: str) -> dict[str, object]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)  # type: ignore[union-attr,attr-defined]


async def test_grant_and_step_forms_in_a_euro_team(slack: Slack, clock: FakeClock) -> None:
    fake = slack.fake
    fake.time_zones.update({"U2": "Asia/Tokyo"})
    await slack.command("policy currency EUR", user="U1")  # U1 is the first, so admin
    await slack.command("Soup was cold", user="U1")
    ts = (await slack.case(1)).card_ref["ts"]  # type: ignore[index]
    await slack.click("case:claim", "1", user="U2", message_ts=ts)
    await slack.command("apologise 1 phone", user="U2")

    await slack.click("case:grant", "1", user="U2", message_ts=ts)
    form = fake.last_view("grant")
    amount = block(form, "amount")["element"]
    assert amount == amount | {"type": "number_input", "is_decimal_allowed": True, "min_value": "0.01"}  # type: ignore[operator]
    assert "You can give up to €50.00 more on this case; above that an approver is asked." in str(form["blocks"][0])
    status, ack = await slack.submit(form, {"gesture": "Waived fee", "other": "Soup voucher", "amount": "25.5"}, user="U2")
    assert status == 200 and ack is None
    await slack.command("grant 1 Coffee 4,50", user="U2")  # typed: the decimal comma
    _, _, key = await slack.command("grant 1 Tea £5", user="U2")
    assert "£5 is in GBP but this team records EUR" in str(fake.to(key))
    detail = await case_detail(slack.container.db, TEAM, 1)
    assert [(str(from_minor(g.amount_minor, g.currency)), g.currency) for g in detail.grants] == [
        ("25.50", "EUR"), ("4.50", "EUR"),
    ]  # fmt: skip

    # The next form knows what is left: 50 - 25.50 - 4.50.
    await slack.click("case:grant", "1", user="U2", message_ts=ts)
    assert "You can give up to €20.00 more on this case" in str(fake.last_view("grant")["blocks"][0])
    # A refused amount comes back under the amount input.
    status, ack = await slack.submit(fake.last_view("grant"), {"gesture": "Waived fee", "amount": "10.999"}, user="U2")
    assert ack is not None and "more decimals than EUR allows" in ack["errors"]["amount"]

    # The datetimepicker sends epoch seconds; the step is due at that moment.
    await slack.click("case:step", "1", user="U2", message_ts=ts)
    form = fake.last_view("step")
    assert block(form, "due")["element"]["type"] == "datetimepicker"  # type: ignore[index]
    picked = (clock.now().astimezone(ZoneInfo("Asia/Tokyo")) + timedelta(days=2)).replace(
        hour=9, minute=30, second=0, microsecond=0
    )
    status, ack = await slack.submit(form, {"text": "Call her", "owner": "U2", "due": int(picked.timestamp())}, user="U2")
    assert status == 200 and ack is None
    detail = await case_detail(slack.container.db, TEAM, 1)
    assert detail.steps[0].due_at == picked
    # A time already past is refused under the picker.
    await slack.click("case:step", "1", user="U2", message_ts=ts)
    past = int((clock.now() - timedelta(hours=1)).timestamp())
    status, ack = await slack.submit(fake.last_view("step"), {"text": "Late", "owner": "U2", "due": past}, user="U2")
    assert ack is not None and "already in the past" in ack["errors"]["due"]


async def test_a_yen_team_gets_whole_numbers(slack: Slack) -> None:
    await slack.command("policy currency JPY", user="U1")
    await slack.command("Soup was cold", user="U1")
    ts = (await slack.case(1)).card_ref["ts"]  # type: ignore[index]
    await slack.click("case:claim", "1", user="U1", message_ts=ts)
    await slack.command("apologise 1 phone", user="U1")
    await slack.click("case:grant", "1", user="U1", message_ts=ts)
    amount = block(slack.fake.last_view("grant"), "amount")["element"]
    assert amount["is_decimal_allowed"] is False and amount["min_value"] == "1"  # type: ignore[index]
