"""Request verification, quick open, redeliveries, rate-limit retries: signed requests into the app."""

from __future__ import annotations

import time

from slack_sdk.signature import SignatureVerifier

from tests.slack.conftest import SECRET, Slack, action_ids, all_text, sign


class _At:
    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t


def test_signing_matches_slacks_documented_example() -> None:
    """The vector from Slack's request-verification docs, checked by the verifier Bolt uses."""
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    verifier = SignatureVerifier(SECRET, clock=_At(1531420618))
    assert verifier.generate_signature(timestamp="1531420618", body=body) == expected
    assert verifier.is_valid(body, "1531420618", expected)
    assert not verifier.is_valid(body + "x", "1531420618", expected)
    assert sign(body, 1531420618)["X-Slack-Signature"] == expected


async def test_unsigned_badly_signed_and_stale_requests_are_refused(slack: Slack) -> None:
    body, _ = slack.command_body("Mr Jones: soup was cold")
    form = "application/x-www-form-urlencoded"
    status, _ = await slack.post(body, form, signed=False)
    assert status == 401
    status, _ = await slack.post(body, form, headers=sign(body, secret="0" * 32))
    assert status == 401
    status, _ = await slack.post(body, form, headers=sign(body, int(time.time()) - 6 * 60))
    assert status == 401
    tampered = sign(body)
    status, _ = await slack.post(body.replace("soup", "wine"), form, headers=tampered)
    assert status == 401
    assert await slack.cases() == []
    assert [c.method for c in slack.fake.calls] == []
    status, _ = await slack.post(body, form)  # the same request, signed: accepted
    assert status == 200
    assert len(await slack.cases()) == 1


async def test_quick_open_posts_one_card_and_redeliveries_change_nothing(slack: Slack) -> None:
    body, key = slack.command_body("Mr Jones: soup was cold wants: a hot soup #food-and-drink !high")
    form = "application/x-www-form-urlencoded"
    status, text = await slack.post(body, form)
    assert status == 200 and text == ""  # acknowledged empty; the card is posted after the ack
    for retry in ("1", "2", "3"):
        status, _ = await slack.post(
            body, form, headers={"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        )
        assert status == 200
    cases = await slack.cases()
    assert len(cases) == 1
    case = cases[0]
    assert (case.customer_name, case.problem, case.wants, case.category, case.severity) == (
        "Mr Jones", "soup was cold", "a hot soup", "food and drink", "high",
    )  # fmt: skip
    assert case.platform == "slack" and case.channel_id == "C1"
    cards = slack.fake.posts("C1", thread=False)
    assert len(cards) == 1
    assert case.card_ref and case.card_ref["ts"] and case.card_ref["channel"] == "C1"
    assert "Case #1" in all_text(cards[0]) and "Mr Jones" in all_text(cards[0])
    assert action_ids(cards[0]) == ["case:claim", "case:step", "case:flag", "case:category", "case:cancel"]
    assert slack.fake.to(key) == []  # nothing ephemeral needed


async def test_list_show_and_help_are_private(slack: Slack) -> None:
    await slack.command("Soup was cold")
    _, _, key = await slack.command("list")
    [answer] = slack.fake.to(key)
    assert answer["response_type"] == "ephemeral" and "#1" in all_text(answer)
    _, _, key = await slack.command("show 1")
    [answer] = slack.fake.to(key)
    assert answer["response_type"] == "ephemeral" and "case:claim" in action_ids(answer)
    _, _, key = await slack.command("help")
    [answer] = slack.fake.to(key)
    assert answer["response_type"] == "ephemeral" and "/recover list" in all_text(answer)
    assert len(slack.fake.posts("C1", thread=False)) == 1  # only the card went to the channel


async def test_rate_limited_and_failing_calls_are_retried(slack: Slack) -> None:
    slack.fake.failures["chat.postMessage"] = [429, 503]
    await slack.command("Soup was cold")
    attempts = slack.fake.posts("C1")
    assert len(attempts) == 3  # 429 (Retry-After), 503, then the card
    case = (await slack.cases())[0]
    assert case.card_ref and case.card_ref.get("ts")
