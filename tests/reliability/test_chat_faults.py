"""The chat API misbehaving: 429 with Retry-After, 500s and dropped connections on ~30 % of calls.

Every card update, thread line and scheduled nudge must still arrive, once, in order per case.
Card work retries in-process (slack_sdk's handlers, 5 retries each); nudges also retry durably
(the due item backs off 1, 2, 4... minutes and is sent again by the next sweep).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from sqlmodel import select

from teambot.bootstrap import Container
from teambot.core.scheduling.deadlines import Deadlines
from teambot.core.scheduling.models import DueItem
from tests.helpers import FakeClock
from tests.slack.conftest import Slack, _harness, all_text
from tests.slack.fake_slack import FakeSlack

RATE = 0.3


@dataclass
class FaultySlack(FakeSlack):
    """Fails ~30 % of Web API calls before they take effect; never one request more than 3 times running
    (an outage longer than the client's retries is the durable retry's job, tested on nudges below)."""

    rng: random.Random = field(default_factory=lambda: random.Random(20261124))
    faults: Counter[str] = field(default_factory=Counter)
    streak: Counter[str] = field(default_factory=Counter)
    outage: bool = False  # every call answers 500 while set

    async def _api(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        key = hashlib.sha1(request.path.encode() + body).hexdigest()
        if self.outage:
            self.faults["outage 500"] += 1
            return web.json_response({"ok": False, "error": "internal_error"}, status=500)
        if self.streak[key] < 3 and self.rng.random() < RATE:
            self.streak[key] += 1
            kind = self.rng.choice(["429", "500", "drop"])
            self.faults[kind] += 1
            if kind == "drop":
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            if kind == "429":
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                         headers={"Retry-After": "0"})  # fmt: skip
            return web.json_response({"ok": False, "error": "internal_error"}, status=500)
        self.streak[key] = 0
        return await super()._api(request)


@pytest.fixture
async def faulty(container: Container) -> AsyncIterator[Slack]:
    fake = FaultySlack()
    await fake.start()
    try:
        async for h in _harness(container, fake, slack_bot_token="xoxb-single"):
            for handler in h.runtime.client.retry_handlers:  # the production handlers, with short sleeps
                handler.interval_calculator = FixedValueRetryIntervalCalculator(0.005)
            yield h
    finally:
        await fake.close()


async def test_cards_threads_and_nudges_all_arrive_once_in_order_despite_faults(
    faulty: Slack, clock: FakeClock
) -> None:
    fake = faulty.fake
    assert isinstance(fake, FaultySlack)
    cases = 6
    for i in range(1, cases + 1):
        status, _, _ = await faulty.command(f"Guest {i}: cold room {i}", channel=f"C{i % 3}")
        assert status == 200
    for i in range(4, cases + 1):  # 1-3 stay unowned (nudged), 4-6 get claimed and an apology
        await faulty.command(f"claim {i}", user="U2", channel=f"C{i % 3}")
        await faulty.command(f"apologise {i} phone", user="U2", channel=f"C{i % 3}")
    dl = faulty.container.deadlines
    assert isinstance(dl, Deadlines)
    for _ in range(40):  # the worker's beats over a few hours of fake time
        clock.advance(minutes=5)
        await dl.sweep()
    await faulty.idle()

    # Cards: one post each, and the last update shows the final state.
    for i in range(1, cases + 1):
        case = await faulty.case(i)
        ref = case.card_ref or {}
        assert ref.get("ts"), f"case {i} has no card"
        posts = [
            p
            for p in fake.posts(ref["channel"], thread=False)
            if any(b.get("block_id") == f"case-{i}" for b in p.get("blocks") or [])
        ]
        assert len(posts) == 1, f"case {i}: {len(posts)} cards"
        if i >= 4:
            last = faulty.card_updates(ref["ts"])[-1]
            assert "<@U2>" in all_text(last) and "apologised" in all_text(last).lower()
            thread = [
                p["text"] for p in fake.posts(ref["channel"], thread=True) if p.get("thread_ts") == ref["ts"]
            ]
            assert len(thread) == 2 and "took ownership" in thread[0] and "apologised (phone)" in thread[1]
    # Nudges: every due item sent (none failed or stuck), each nudge posted exactly once.
    async with faulty.container.db.session() as s:
        items = list((await s.exec(select(DueItem).where(DueItem.kind == "nudge_unowned"))).all())
    unowned = {(await faulty.case(i)).id for i in range(1, 4)}
    assert not [it for it in items if it.status in ("failed", "pending") and it.due_at <= clock.now()]
    items = [it for it in items if it.case_id in unowned]
    assert items and all(it.status == "sent" for it in items), [(it.id, it.status) for it in items]
    retried = [it for it in items if it.attempts > 1]
    for i in range(1, 4):
        case = await faulty.case(i)
        nudges = [
            p
            for p in fake.posts(case.channel_id, thread=False)
            if f"Case #{i} has had no owner" in p.get("text", "")
        ]
        sent = [it for it in items if it.case_id == case.id]
        assert len(nudges) == len(sent) == 2, (i, len(nudges), len(sent))
        assert "15 min" in nudges[0]["text"] and "30 min" in nudges[1]["text"]  # in order
    assert fake.faults["429"] and fake.faults["500"] and fake.faults["drop"]
    print(f"faults injected: {dict(fake.faults)}; calls that got through: {len(fake.calls)}; "
          f"nudges retried by the scheduler: {len(retried)}")  # fmt: skip


async def test_a_nudge_outlasting_the_client_retries_is_sent_by_a_later_sweep_once(
    faulty: Slack, clock: FakeClock
) -> None:
    fake = faulty.fake
    assert isinstance(fake, FaultySlack)
    await faulty.command("Guest: no towels")
    dl = faulty.container.deadlines
    assert isinstance(dl, Deadlines)
    fake.outage = True

    def nudges() -> list[dict[str, object]]:
        return [p for p in fake.posts("C1", thread=False) if "has had no owner" in str(p.get("text", ""))]

    clock.advance(minutes=15)
    await dl.sweep()  # Slack down: backed off, not lost, not marked sent
    clock.advance(minutes=1)
    await dl.sweep()  # still down at the first retry
    assert nudges() == []
    fake.outage = False
    clock.advance(minutes=2)  # the second back-off (2 min) has passed
    await dl.sweep()
    await dl.sweep()
    assert len(nudges()) == 1
    async with faulty.container.db.session() as s:
        [item] = (
            await s.exec(select(DueItem).where(DueItem.kind == "nudge_unowned", DueItem.stage == 1))
        ).all()
    assert item.status == "sent" and item.attempts == 3 and fake.faults["outage 500"] >= 12
