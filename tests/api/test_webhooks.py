"""Issue 26: webhooks out. Deliveries are written in the case change's transaction, signed as
Standard Webhooks (verified here with the spec's own `standardwebhooks` package), sent in order
per case, retried with the same event id, and an endpoint failing for 24 hours is disabled and
its admins told. A real local receiver over HTTP; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import jsonschema
import pytest
from sqlmodel import col, select
from standardwebhooks.webhooks import Webhook as Verifier

from teambot.api.openapi import document
from teambot.api.routes import PREFIX, ROUTES
from teambot.api.transport import AiohttpTransport
from teambot.bootstrap import Container
from teambot.core.errors import BadInput
from teambot.core.scheduling.models import PENDING, DueItem
from teambot.core.webhooks.models import DISABLED, Webhook, WebhookAttempt
from teambot.core.webhooks.outbox import EVENT_TYPES
from teambot.core.webhooks.signing import check_url
from tests.api.conftest import ADMIN, ctx
from tests.api.receiver import receiver
from tests.helpers import FakeClock, RecordingNotifier


async def check_against_document(c: Container, body: dict[str, object]) -> None:
    """A delivered body matches the WebhookEvent schema the OpenAPI document publishes."""
    doc = document(ROUTES, PREFIX)
    assert set(doc["webhooks"]) == set(EVENT_TYPES)
    ref = doc["webhooks"]["case.opened"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**ref, "components": doc["components"]})


async def add(c: Container, url: str, events: str = "") -> str:
    reply = await c.commands.run_text(f"webhook add {url} {events}".strip(), ctx())
    assert "whsec_" in reply.text, reply.text
    return "whsec_" + reply.text.split("whsec_", 1)[1].split()[0]


async def sweep(c: Container) -> None:
    await c.deadlines.sweep()


async def test_a_case_change_is_delivered_signed_and_verifiable(container: Container) -> None:
    c = container
    async with receiver() as r:
        secret = await add(c, r.url)
        async with c.db.session() as s:
            stored = (await s.exec(select(Webhook))).one()
        assert secret not in stored.secret and stored.secret  # sealed at rest
        opened = await c.service.open_case("T1", "C1", ADMIN, "Cold soup", customer="Ann")
        async with c.db.session() as s:  # the outbox row was committed with the case
            rows = list((await s.exec(select(DueItem).where(DueItem.kind == "webhook"))).all())
        assert [(row.case_id, row.data["type"]) for row in rows] == [(opened.case.id, "case.opened")]
        await sweep(c)
        assert r.types() == ["case.opened"]
        got = r.got[0]
        payload = Verifier(secret).verify(got.body, got.headers)  # the reference algorithm
        await check_against_document(c, got.data)
        assert payload["data"]["case"]["number"] == 1 and payload["data"]["case"]["customer"] == {"name": "Ann"}
        assert got.headers["webhook-id"].startswith("msg_") and got.headers["Content-Type"] == "application/json"
        with pytest.raises(Exception, match="signature"):
            Verifier("whsec_" + "A" * 44).verify(got.body, got.headers)  # another secret does not verify
        log = await c.commands.run_text(f"webhook log {r.url}", ctx())
        assert "case.opened" in log.text and "✓ 204" in log.text


async def test_events_follow_the_case_and_the_subscription(container: Container) -> None:
    c = container
    async with receiver() as r:
        await add(c, r.url, "case.resolved,case.closed,feedback.received,approval.requested,case.cancelled")
        await c.service.open_case("T1", "C1", ADMIN, "Cold soup", own=True)
        await c.service.apologise("T1", 1, ADMIN, "phone")
        await c.service.resolve("T1", 1, ADMIN, "Refunded", "kitchen")
        await c.service.answer_followup("T1", 1, "customer", True, 5, by_customer=True)
        await c.service.open_case("T1", "C1", ADMIN, "Wrong order")
        await c.service.cancel("T1", 2, ADMIN, "mistake")
        for _ in range(3):
            c.clock.advance(seconds=5)  # type: ignore[attr-defined]
            await sweep(c)
        per_case: dict[int, list[str]] = {}
        for d in r.got:  # in order per case (across cases, no order is promised)
            per_case.setdefault(d.data["data"]["case"]["number"], []).append(d.data["type"])
        assert per_case == {1: ["case.resolved", "feedback.received", "case.closed"], 2: ["case.cancelled"]}
        feedback = next(d.data["data"] for d in r.got if d.data["type"] == "feedback.received")
        assert feedback["feedback"]["score"] == 5 and feedback["case"]["status"] == "closed"


async def test_in_order_per_case_and_the_same_id_on_every_retry(container: Container) -> None:
    c, clock = container, container.clock
    assert isinstance(clock, FakeClock)
    async with receiver() as r:
        secret = await add(c, r.url)
        r.statuses = [503, 500]  # the first two attempts fail
        await c.service.open_case("T1", "C1", ADMIN, "Cold soup")
        await c.service.claim("T1", 1, "U_OWNER")
        await c.service.apologise("T1", 1, "U_OWNER", "phone")
        await c.service.resolve("T1", 1, "U_OWNER", "Refunded", "kitchen")
        await sweep(c)  # case.opened fails; the later events wait behind it
        assert r.types() == ["case.opened"]
        clock.advance(seconds=6)
        await sweep(c)  # the retry fails again (5 min next)
        assert r.types() == ["case.opened", "case.opened"]
        clock.advance(minutes=6)
        for _ in range(4):
            await sweep(c)
            clock.advance(seconds=2)
        types = r.types()
        assert types == ["case.opened"] * 3 + ["case.claimed", "case.resolved"]
        ids = [d.headers["webhook-id"] for d in r.got]
        assert len(set(ids[:3])) == 1 and len(set(ids)) == 3  # a retry keeps its id; each event has its own
        for d in r.got:
            Verifier(secret).verify(d.body, d.headers)


async def test_an_endpoint_failing_for_24_hours_is_disabled_and_admins_told(
    container: Container, notifier: RecordingNotifier
) -> None:
    c, clock = container, container.clock
    assert isinstance(clock, FakeClock)
    async with receiver() as r:
        r.status = 500
        await add(c, r.url)
        await c.service.open_case("T1", "C1", ADMIN, "Cold soup")
        waits = 0
        for _ in range(40):
            await sweep(c)
            async with c.db.session() as s:
                hook = (await s.exec(select(Webhook))).one()
            if hook.status == DISABLED:
                break
            clock.advance(hours=1)
            waits += 1
        assert hook.status == DISABLED and 24 <= waits <= 26
        attempts = len(r.got)
        assert 6 <= attempts <= 10  # backed off: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h...
        told = [n for rcpt, n in notifier.sent if n.kind == "webhook_disabled"]
        assert told and rcpt_ids(notifier) == {ADMIN} and "failed for 24 hours" in told[0].text
        await c.service.claim("T1", 1, ADMIN)  # a disabled endpoint gets nothing more
        clock.advance(hours=1)
        await sweep(c)
        assert len(r.got) == attempts
        listed = await c.commands.run_text("webhook list", ctx())
        assert "disabled" in listed.text


def rcpt_ids(notifier: RecordingNotifier) -> set[str]:
    return {r.id for r, n in notifier.sent if n.kind == "webhook_disabled"}


async def test_ping_remove_and_admins_only(container: Container) -> None:
    c = container
    async with receiver() as r:
        await add(c, r.url)
        reply = await c.commands.run_text(f"webhook test {r.url}", ctx())
        assert "Ping delivered" in reply.text and r.types() == ["webhook.test"]
        member = await c.commands.run_text("webhook add https://example.com/x", ctx(user="U_MEMBER"))
        assert "Only a Teambot admin can add webhooks" in member.text
        gone = await c.commands.run_text(f"webhook remove {r.url}", ctx())
        assert "Removed" in gone.text
        await c.service.open_case("T1", "C1", ADMIN, "Cold soup")
        await sweep(c)
        assert r.types() == ["webhook.test"]


async def test_only_https_or_loopback_http() -> None:
    assert check_url("https://hooks.example.com/x") == "https://hooks.example.com/x"
    assert check_url("http://127.0.0.1:8080/x") and check_url("http://localhost/x") and check_url("http://[::1]/x")
    for bad in ("http://hooks.example.com/x", "ftp://example.com", "hooks.example.com", "http://10.0.0.1/x"):
        with pytest.raises(BadInput):
            check_url(bad)


async def test_no_redirect_a_timeout_and_a_64_kb_read_cap() -> None:
    async with receiver() as r:
        transport = AiohttpTransport(timeout=0.5)
        try:
            r.statuses = [302]
            answer = await transport.post(r.url, b"{}", {})
            assert answer.status == 302 and len(r.got) == 1  # not followed to /hook/elsewhere
            r.huge, r.status = True, 200
            big = await transport.post(r.url, b"{}", {})
            assert big.status == 200 and len(big.body) == 64 * 1024
            r.huge, r.stall = False, 2.0
            with pytest.raises(TimeoutError):
                await transport.post(r.url, b"{}", {})
        finally:
            await transport.close()


async def test_a_failed_attempt_is_logged_and_retried_not_lost(container: Container) -> None:
    c = container
    async with receiver() as r:
        await add(c, r.url)
        url = r.url
    # The receiver is gone: a refused connection.
    await c.service.open_case("T1", "C1", ADMIN, "Cold soup")
    await sweep(c)
    async with c.db.session() as s:
        attempt = (await s.exec(select(WebhookAttempt))).one()
        pending = list((await s.exec(select(DueItem).where(DueItem.kind == "webhook", col(DueItem.status) == PENDING))).all())
    assert not attempt.ok and attempt.error and len(pending) == 1
    log = await c.commands.run_text(f"webhook log {url}", ctx())
    assert "✗" in log.text


def test_which_changes_are_which_events() -> None:
    """The mapping from case changes (CaseEvents kinds) to webhook event types, the improvement
    loop's action events included, with their payload parts JSON-ready."""
    from dataclasses import dataclass as dc
    from datetime import UTC, datetime

    from teambot.core.cases.models import CaseStatus
    from teambot.core.webhooks.outbox import _extra, event_types

    @dc
    class Case:
        status: CaseStatus = CaseStatus.OWNED

    def kinds(kind: str, data: dict[str, object], status: CaseStatus = CaseStatus.OWNED) -> list[str]:
        return event_types(type("E", (), {"kind": kind, "data": data, "case": Case(status)})())  # type: ignore[arg-type]

    assert kinds("opened", {"own": True}) == ["case.opened", "case.claimed"]
    assert kinds("followup_answered", {"source": "customer"}, CaseStatus.CLOSED) == ["feedback.received", "case.closed"]
    assert kinds("followup_answered", {"source": "customer", "status_before": "closed"}) == ["feedback.received", "case.reopened"]
    assert kinds("followup_answered", {"source": "staff"}) == []
    assert kinds("action_created", {}) == ["action.created"] and kinds("action_done", {}) == ["action.done"]
    assert kinds("apologised", {}) == [] and kinds("granted", {}) == []
    due = datetime(2026, 12, 9, tzinfo=UTC)
    part = _extra("action.created", {"action": 3, "text": "Check the lamp", "owner": "U1", "due_at": due})
    assert part["action"]["due_at"] == "2026-12-09T00:00:00+00:00" and part["action"]["number"] == 3


async def test_the_delivery_commits_or_rolls_back_with_its_change(container: Container) -> None:
    """The outbox row is written in the change's own transaction: a change that fails after it
    leaves no delivery behind, and one that commits always has its delivery."""
    c = container
    async with receiver() as r:
        await add(c, r.url)

        async def fail_after(event: object) -> None:
            raise RuntimeError("a subscriber after the outbox fails: the whole change rolls back")

        c.events.subscribe(fail_after)
        with pytest.raises(RuntimeError):
            await c.service.open_case("T1", "C1", ADMIN, "Cold soup")
        c.events.subscribers.remove(fail_after)
        async with c.db.session() as s:
            assert (await s.exec(select(DueItem).where(DueItem.kind == "webhook"))).first() is None
        await c.service.open_case("T1", "C1", ADMIN, "Cold soup")
        async with c.db.session() as s:
            assert len(list((await s.exec(select(DueItem).where(DueItem.kind == "webhook"))).all())) == 1


async def test_a_process_that_dies_mid_send_leaves_the_event_to_another(container: Container) -> None:
    """Claimed under a lease by a process that dies before settling it: once the lease runs out,
    another process's sweep sends it, with the same webhook-id."""
    from teambot.core.scheduling.deadlines import Deadlines

    c, clock = container, container.clock
    assert isinstance(clock, FakeClock)
    async with receiver() as r:
        await add(c, r.url)
        await c.service.open_case("T1", "C1", ADMIN, "Cold soup")
        dead = Deadlines(c.db, clock, c.notifier, lease=timedelta(minutes=5))
        claimed = [i for i in await dead.claim() if i.kind == "webhook"]  # ... and it is gone before sending
        assert len(claimed) == 1
        await sweep(c)
        assert r.got == []  # still leased to the dead process
        clock.advance(minutes=6)
        await sweep(c)
        assert r.types() == ["case.opened"] and r.got[0].headers["webhook-id"] == claimed[0].data["event_id"]


async def test_a_committed_delivery_goes_out_at_once_not_at_the_next_sweep(container: Container) -> None:
    """With the scheduler running, committed deliveries start a sweep at once (the next tick is 15 s
    away), after the change's own transaction: the chat answer never waits for it."""
    import asyncio

    c = container
    async with receiver() as r:
        await add(c, r.url)
        c.scheduler.start()
        try:
            await asyncio.wait_for(c.scheduler.ticked.wait(), 10)  # the start-up tick is over
            await c.service.open_case("T1", "C1", ADMIN, "Cold soup")
            for _ in range(100):
                if r.got:
                    break
                await asyncio.sleep(0.05)
            assert r.types() == ["case.opened"]
        finally:
            await c.scheduler.stop()
