"""Working hours, the target clock, pattern thresholds, the shout-out allowance and time zones."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from teambot.bootstrap import Container
from teambot.core.commands.context import Context
from teambot.core.commands.replies import ErrorReply
from teambot.core.policy.models import Policy
from teambot.core.policy.replies import PolicyReply
from teambot.core.policy.rules import new_policy
from teambot.core.scheduling.working_hours import add_working_time, next_working_moment
from tests.helpers import FakeClock
from tests.scheduling.helpers import CH, T


async def test_admins_edit_the_schedule_and_anyone_reads_it(container: Container, clock: FakeClock) -> None:
    cmd, admin, bob = container.commands, Context(T, CH, "alice"), Context(T, CH, "bob")
    await container.service.open_case(T, CH, "alice", "first use makes alice the admin")
    reply = await cmd.run_text("policy workhours 08:00 16:30 mon,tue,wed,thu", admin)
    assert (
        isinstance(reply, PolicyReply) and "Working hours are 08:00–16:30 on mon, tue, wed, thu." in reply.text
    )
    reply = await cmd.run_text("policy patterns 4 150% 14", admin)
    assert isinstance(reply, PolicyReply) and "4 cases in 7 days or 150% of the usual" in reply.text
    assert isinstance(await cmd.run_text("policy targetclock working", admin), PolicyReply)
    assert isinstance(await cmd.run_text("policy shoutouts 5", admin), PolicyReply)
    mine = await cmd.run_text("policy timezone @bob Asia/Tokyo", bob)  # anyone sets their own
    assert isinstance(mine, PolicyReply) and "<@bob> is in Asia/Tokyo" in mine.text
    for text, says in (
        ("policy shoutouts 5", "Only a Teambot admin"),
        ("policy timezone @carol Asia/Tokyo", "only your own time zone"),
    ):
        refused = await cmd.run_text(text, bob)
        assert isinstance(refused, ErrorReply) and says in refused.text, text
    for text, says in (
        ("policy workhours 18:00 09:00", "must end after it starts"),
        ("policy workhours 9am 5pm", "not a time of day"),
        ("policy workhours 09:00 17:00 weekdays", "not a list of days"),
        ("policy patterns 1 150 14", "not a valid number of cases"),
        ("policy targetclock sometimes", "Say working or wall"),
        ("policy timezone @alice Mars/Olympus", "not a time zone"),
    ):
        refused = await cmd.run_text(text, admin)
        assert isinstance(refused, ErrorReply) and says in refused.text and refused.echo == text, text
    shown = await cmd.run_text("policy schedule", bob)
    assert isinstance(shown, PolicyReply)
    assert (
        "Time targets count: working hours" in shown.text and "Shout-outs: 5 per person per day" in shown.text
    )
    async with container.db.session() as s:
        row = await s.get(Policy, T)
    assert row is not None and row.work_days == [0, 1, 2, 3] and row.timezones == {"bob": "Asia/Tokyo"}
    assert (row.pattern_min_cases, row.pattern_rise_percent, row.repeat_customer_days) == (4, 150, 14)
    core = await cmd.run_text("policy currency EUR", admin)  # the core's own settings still work
    assert isinstance(core, PolicyReply) and core.message.startswith("Currency is now EUR.")


def test_working_time_arithmetic() -> None:
    sched = new_policy(T, "alice", datetime.now(UTC))
    paris = ZoneInfo("Europe/Paris")
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert next_working_moment(saturday, sched, paris) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    inside = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert next_working_moment(inside, sched, paris) == inside
    friday_late = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 17:00 in Paris, 1 h left that day
    assert add_working_time(friday_late, timedelta(hours=3), sched, paris) == datetime(
        2026, 11, 30, 10, 0, tzinfo=UTC
    )  # Monday 11:00 Paris
    sched.work_days = []
    assert next_working_moment(saturday, sched, paris) == saturday  # no working days: never held back


async def test_two_admins_creating_the_settings_row_at_once_both_land(container: Container) -> None:
    cmd = container.commands
    await container.service.policy(T, "alice")
    await cmd.run_text("policy admin add @carol", Context(T, CH, "alice"))
    replies = await asyncio.gather(
        cmd.run_text("policy shoutouts 7", Context(T, CH, "alice")),
        cmd.run_text("policy timezone @carol Asia/Tokyo", Context(T, CH, "carol")),
    )
    assert all(isinstance(r, PolicyReply) for r in replies), replies
    async with container.db.session() as s:
        row = await s.get(Policy, T)
    assert row is not None and row.timezones.get("carol") == "Asia/Tokyo" and row.shoutouts_per_day == 7
