"""Races as a busy channel makes them: fifty people press Claim on the same card at once."""

from __future__ import annotations

import asyncio

from teambot.core.cases.models import CaseStatus
from tests.slack.conftest import Slack, all_text


async def test_fifty_simultaneous_claim_clicks_make_one_owner_and_49_clear_answers(slack: Slack) -> None:
    await slack.command("Mrs Patel: no hot water in 412")
    case = await slack.case(1)
    ts = case.card_ref["ts"]  # type: ignore[index]
    clickers = [f"U{i:03d}" for i in range(50)]
    results = await asyncio.gather(*(slack.click("case:claim", "1", user=u, message_ts=ts) for u in clickers))
    assert [status for status, _, _ in results] == [200] * 50
    case = await slack.case(1)
    assert case.status == CaseStatus.OWNED and case.owner_id in clickers
    answers = {u: slack.fake.to(key) for u, (_, _, key) in zip(clickers, results, strict=True)}
    losers = [u for u in clickers if u != case.owner_id]
    for u in losers:
        [answer] = answers[u]  # exactly one private answer each, nothing silent
        assert answer["response_type"] == "ephemeral"
        assert f"already owned by <@{case.owner_id}>" in all_text(answer), all_text(answer)
    # The winner sees the card change; no private error for them.
    assert not any("already owned" in all_text(a) for a in answers[case.owner_id])
    # One "took ownership" line in the thread, one card, never a second claim event.
    thread = [p["text"] for p in slack.fake.posts("C1", thread=True)]
    assert sum("took ownership" in line for line in thread) == 1
    assert len(slack.fake.posts("C1", thread=False)) == 1
    assert f"<@{case.owner_id}>" in all_text(slack.card_updates(ts)[-1])
