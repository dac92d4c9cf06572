"""The Slack open form asks for the customer's language (optional); the case keeps it."""

from __future__ import annotations

from tests.slack.conftest import Slack, all_text


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


async def test_help_speaks_the_persons_slack_language(slack: Slack) -> None:
    """users.info with include_locale says the person's Slack language; it is cached with their name."""
    slack.fake.locales["U2"] = "es-ES"
    _, _, key = await slack.command("help", user="U2")
    [answer] = slack.fake.to(key)
    assert "Teambot: recuperar a cada cliente" in all_text(answer) and "/recover claim <case>" in all_text(answer)
    _, _, key = await slack.command("help", user="U3")  # Slack says en-US
    assert "Teambot: service recovery" in all_text(slack.fake.to(key)[0])
    await slack.command("help", user="U2")
    lookups = [call for call in slack.fake.of("users.info") if call.get("user") == "U2"]
    assert len(lookups) == 1 and str(lookups[0].get("include_locale")).lower() in ("true", "1")
