"""The Slack open form asks for the customer's language (optional); the case keeps it."""

from __future__ import annotations

from tests.slack.conftest import Slack


async def test_the_open_form_sets_the_customers_language(slack: Slack) -> None:
    await slack.command("")
    form = slack.fake.last_view("open")
    [block] = [b for b in form["blocks"] if b.get("block_id") == "language"]
    assert block["optional"] is True
    options = {o["value"]: o["text"]["text"] for o in block["element"]["options"]}
    assert options["de"] == "Deutsch" and options["pt"] == "Português" and len(options) == 6
    status, ack = await slack.submit(form, {"customer": "Frau Weber", "problem": "Kalte Suppe", "language": "de"})
    assert status == 200 and ack is None
    assert (await slack.case(1)).customer_language == "de"
    await slack.command("")
    await slack.submit(slack.fake.last_view("open"), {"problem": "No towels"})
    assert (await slack.case(2)).customer_language is None  # left empty: the team's
