"""`/metrics`, scraped over HTTP from the running app: where it is served (METRICS_PORT, or the main
port behind METRICS_TOKEN), that counters and histograms move when a case is opened from Slack, a
nudge goes out and a mail fails, that the shared figures come from the database at scrape time, and
that every name passes `promtool check metrics` (and the same naming rules in Python)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from teambot.bootstrap import Container, build
from teambot.config import load_settings
from teambot.core.db import Database
from teambot.core.heartbeat import beat
from teambot.core.intake.models import IntakeItem
from teambot.core.scheduling.models import DueItem
from teambot.server import create_app
from tests.conftest import _truncate
from tests.helpers import FakeClock, RecordingNotifier
from tests.mail.test_senders import _free_port
from tests.slack.conftest import Slack, _harness
from tests.slack.fake_slack import FakeSlack
from tests.teams.conftest import ALICE, Teams, start_teams
from tests.teams.fakes import IdentityProvider

TOKEN = "metrics-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Label names Teambot's metrics may carry: each has a fixed, small set of values.
BOUNDED_LABELS = {"platform", "kind", "outcome", "result", "pool", "le"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(http: TestClient) -> str:
    resp = await http.get("/metrics", headers=AUTH)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return await resp.text()


@pytest.fixture
async def slack(container: Container, fake_slack: FakeSlack) -> AsyncIterator[Slack]:
    async for h in _harness(container, fake_slack, slack_bot_token="xoxb-single", metrics_token=TOKEN):
        yield h


# ----- where /metrics is served ----------------------------------------------------------------


async def test_main_port_serves_metrics_only_with_the_token(container: Container) -> None:
    async with TestClient(TestServer(create_app(container))) as http:
        assert (await http.get("/metrics")).status == 404  # neither METRICS_PORT nor METRICS_TOKEN: not served
    container.settings = container.settings.model_copy(update={"metrics_token": load_settings(
        metrics_token=TOKEN).metrics_token})  # fmt: skip
    async with TestClient(TestServer(create_app(container))) as http:
        assert (await http.get("/metrics")).status == 401
        assert (await http.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 401
        text = await scrape(http)
    assert "teambot_requests_total" in text and "process_cpu_seconds_total" in text


async def test_metrics_port_serves_metrics_apart_from_the_main_port(container: Container) -> None:
    port = _free_port()
    container.settings = container.settings.model_copy(update={"metrics_port": port, "host": "127.0.0.1"})
    async with TestClient(TestServer(create_app(container))) as http:
        assert (await http.get("/metrics")).status == 404  # never on the public port
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200
            assert "teambot_intake_pending" in await resp.text()
    with pytest.raises(aiohttp.ClientConnectionError):  # stopped with the app
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics"):
            pass


# ----- counters and histograms move -------------------------------------------------------------


async def test_opening_a_case_from_slack_counts_the_request_and_its_ack(slack: Slack) -> None:
    before = await scrape(slack.http)
    status, _, _ = await slack.command("the soup was cold wants: a hot one")
    assert status == 200 and len(await slack.cases()) == 1
    bad, _ = await slack.post("command=%2Frecover&text=x", "application/x-www-form-urlencoded", signed=False)
    assert bad == 401
    after = await scrape(slack.http)
    ok = {"platform": "slack", "kind": "command", "outcome": "ok"}
    assert value(after, "teambot_requests_total", **ok) == value(before, "teambot_requests_total", **ok) + 1
    refused = {"platform": "slack", "kind": "command", "outcome": "unauthorized"}
    assert value(after, "teambot_requests_total", **refused) == value(before, "teambot_requests_total", **refused) + 1
    acks = {"platform": "slack", "kind": "command"}
    assert value(after, "teambot_request_ack_seconds_count", **acks) == value(
        before, "teambot_request_ack_seconds_count", **acks) + 2  # fmt: skip
    assert value(after, "teambot_request_ack_seconds_bucket", le="+Inf", **acks) == value(
        after, "teambot_request_ack_seconds_count", **acks)  # fmt: skip
    assert value(after, "teambot_request_ack_seconds_sum", **acks) > value(before, "teambot_request_ack_seconds_sum", **acks)


async def scrape_teams(teams: Teams) -> str:
    async with teams.session.get(f"{teams.url}/metrics", headers=AUTH) as resp:
        assert resp.status == 200
        return await resp.text()


async def test_a_teams_message_and_a_refused_one_are_counted(container: Container, identity: IdentityProvider) -> None:
    container.settings = container.settings.model_copy(update={"metrics_token": load_settings(
        metrics_token=TOKEN).metrics_token})  # fmt: skip
    async for teams in start_teams(container, identity):

        before = await scrape_teams(teams)
        assert await teams.say(ALICE, "the soup was cold") == 201
        refused = await teams.post(teams.activity(ALICE, text="hi"), token="Bearer not-a-jwt")
        assert refused.status == 401
        after = await scrape_teams(teams)
    for outcome, moved in (("ok", 1), ("unauthorized", 1), ("error", 0)):
        labels = {"platform": "teams", "kind": "message", "outcome": outcome}
        assert value(after, "teambot_requests_total", **labels) == value(before, "teambot_requests_total", **labels) + moved
    acks = {"platform": "teams", "kind": "message"}
    assert value(after, "teambot_request_ack_seconds_count", **acks) == value(
        before, "teambot_request_ack_seconds_count", **acks) + 2  # fmt: skip


async def test_a_nudge_sent_counts_as_a_send(slack: Slack, clock: FakeClock) -> None:
    await slack.command("the soup was cold")
    before = await scrape(slack.http)
    clock.advance(minutes=31)  # nobody claimed it within the team's target
    await slack.container.deadlines.sweep()
    after = await scrape(slack.http)
    sent = {"kind": "nudge_unowned", "result": "sent"}
    assert value(after, "teambot_sends_total", **sent) == value(before, "teambot_sends_total", **sent) + 1
    assert any("not been claimed" in str(p.get("text")) or "claim" in str(p.get("text")).lower()
               for p in slack.fake.posts())  # fmt: skip


async def test_a_failing_mail_counts_retries_then_the_failure(
    db_url: str, clock: FakeClock, notifier: RecordingNotifier, tmp_path: Path
) -> None:
    settings = load_settings(database_url=db_url, smtp_url=f"smtp://127.0.0.1:{_free_port()}", metrics_token=TOKEN,
                             outbox_dir=str(tmp_path), secret="loop-test-secret-0123456789abcdef")  # fmt: skip
    c = await build(settings, clock=clock, migrate=False)
    await _truncate(c)
    c.notifier.fallback = notifier
    try:
        async with TestClient(TestServer(create_app(c))) as http:
            before = await scrape(http)
            for text in ("Jane Doe <jane@example.com>: the soup was cold", "claim 1",
                         "resolve 1 A fresh bowl | the lamp was off", "send 1"):  # fmt: skip
                await c.commands.run_text(text, _ctx())
            middle = await scrape(http)
            for _ in range(6):
                clock.advance(minutes=61)
                await c.deadlines.sweep()
            after = await scrape(http)
    finally:
        await c.close()
    assert value(middle, "teambot_mails_total", result="retried") == value(before, "teambot_mails_total",
                                                                            result="retried") + 1  # fmt: skip
    assert value(after, "teambot_mails_total", result="retried") == value(before, "teambot_mails_total",
                                                                           result="retried") + 4  # fmt: skip
    assert value(after, "teambot_mails_total", result="failed") == value(before, "teambot_mails_total", result="failed") + 1
    assert value(after, "teambot_mails_total", result="sent") == value(before, "teambot_mails_total", result="sent")
    retried = {"kind": "followup_mail", "result": "retried"}
    assert value(after, "teambot_sends_total", **retried) >= value(before, "teambot_sends_total", **retried) + 4


def _ctx() -> Any:
    from teambot.core.commands.context import Context

    return Context("T1", "C1", "ana")


async def test_a_digest_build_is_timed(container: Container, clock: FakeClock) -> None:
    await container.commands.run_text("the soup was cold", _ctx())
    container.settings = container.settings.model_copy(update={"metrics_token": load_settings(
        metrics_token=TOKEN).metrics_token})  # fmt: skip
    now = clock.now()
    item = DueItem(key="digest:T1:2026-W47", team_id="T1", kind="digest", ref="2026-W47", due_at=now, created_at=now)
    async with TestClient(TestServer(create_app(container))) as http:
        before = await scrape(http)
        await container.deadlines.schedule(item)
        await container.deadlines.run_now(item.key)
        after = await scrape(http)
    assert value(after, "teambot_digest_build_seconds_count") == value(before, "teambot_digest_build_seconds_count") + 1
    sent = {"kind": "digest", "result": "sent"}
    assert value(after, "teambot_sends_total", **sent) == value(before, "teambot_sends_total", **sent) + 1


async def test_a_lease_taken_over_is_counted(container: Container) -> None:
    container.settings = container.settings.model_copy(update={"metrics_token": load_settings(
        metrics_token=TOKEN).metrics_token})  # fmt: skip
    async with TestClient(TestServer(create_app(container))) as http:
        before = await scrape(http)
    past = datetime.now(UTC) - timedelta(minutes=5)
    async with container.db.session() as s:  # a row whose holder died: its lease ran out
        s.add(IntakeItem(key="slack:cmd:orphan", kind="slack", team_id="T1", lease_owner="dead:1:x",
                         lease_until=past, created_at=past))  # fmt: skip
        s.add(IntakeItem(key="slack:cmd:free", kind="slack", team_id="T1", created_at=past))  # nobody held it
        await s.commit()
    assert len(await container.intake.claim()) == 2  # (no server runs: its own poll would race this one)
    async with TestClient(TestServer(create_app(container))) as http:
        after = await scrape(http)
    assert value(after, "teambot_intake_takeovers_total") == value(before, "teambot_intake_takeovers_total") + 1


# ----- figures read from the database at scrape time ------------------------------------------------


async def test_backlog_lag_and_workers_come_from_the_database(container: Container, clock: FakeClock) -> None:
    wall = datetime.now(UTC)
    async with container.db.session() as s:
        s.add(IntakeItem(key="slack:cmd:old", kind="slack", team_id="T1", created_at=wall - timedelta(seconds=90)))
        s.add(IntakeItem(key="teams:x:1", kind="teams", team_id="T2", created_at=wall - timedelta(seconds=5)))
        s.add(IntakeItem(key="slack:cmd:done", kind="slack", team_id="T1", status="done", created_at=wall - timedelta(hours=1)))
        s.add(IntakeItem(key="card:slack:1", kind="card:slack", team_id="T1", created_at=wall))
        now = clock.now()
        s.add(DueItem(key="late", team_id="T1", kind="nudge_unowned", due_at=now - timedelta(minutes=7), created_at=now))
        s.add(DueItem(key="later", team_id="T1", kind="nudge_unowned", due_at=now + timedelta(hours=1), created_at=now))
        await s.commit()
    await beat(container.db, "host:9:worker")
    container.settings = container.settings.model_copy(update={"metrics_token": load_settings(
        metrics_token=TOKEN).metrics_token})  # fmt: skip
    async with TestClient(TestServer(create_app(container))) as http:
        text = await scrape(http)
    assert value(text, "teambot_intake_pending", platform="slack") == 1
    assert value(text, "teambot_intake_pending", platform="teams") == 1
    assert 90 <= value(text, "teambot_intake_oldest_pending_age_seconds") < 300
    assert value(text, "teambot_card_outbox_backlog") == 1
    assert value(text, "teambot_due_items_due") == 1
    assert value(text, "teambot_sweep_lag_seconds") == 7 * 60
    assert value(text, "teambot_workers_seen") == 1
    assert ("teambot_db_pool_in_use", (("pool", "main"),)) in samples(text)
    assert "T1" not in text and "T2" not in text and "slack:cmd" not in text  # no team ids, no keys


async def test_with_the_database_away_the_process_still_reports_its_own(container: Container) -> None:
    dead = replace(container, db=Database("postgresql://postgres@127.0.0.1:1/nothing"))
    dead.settings = dead.settings.model_copy(update={"metrics_token": load_settings(metrics_token=TOKEN).metrics_token})
    try:
        async with TestClient(TestServer(create_app(dead))) as http:
            text = await scrape(http)
    finally:
        await dead.db.dispose()
    assert "teambot_requests_total" in text and ("teambot_db_pool_in_use", (("pool", "main"),)) in samples(text)
    assert "teambot_intake_pending" not in text  # not reported as 0: absent, so an alert on it does not fire falsely


# ----- names and labels ---------------------------------------------------------------------------


async def test_metric_names_pass_promtool_and_the_naming_rules(slack: Slack) -> None:
    await slack.command("the soup was cold")
    text = await scrape(slack.http)
    promtool = shutil.which("promtool")
    if promtool is not None:  # Debian's `prometheus` package
        done = await asyncio.to_thread(subprocess.run, [promtool, "check", "metrics"], input=text,
                                       capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stdout + done.stderr
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("teambot_"):
            continue
        assert family.documentation, family.name
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples), family.name
        if family.type == "histogram" or family.name.endswith("_age_seconds"):
            assert family.name.endswith("_seconds"), family.name
        for sample in family.samples:
            assert set(sample.labels) <= BOUNDED_LABELS, (family.name, sample.labels)
