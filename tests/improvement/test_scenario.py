"""A manager's improvement loop end to end, through the commands every adapter runs, on SQLite
and PostgreSQL: twelve cases resolved with root causes worded by different people, the look-alike
groups proposed and named with their buttons, a new root cause filed by meaning, the causes
ranked by cost, an action created and completed, time moved forward, and the digest telling
whether the fix worked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from teambot.bootstrap import Container
from teambot.core.commands.context import Context
from teambot.core.commands.replies import ChoiceReply, ErrorReply, Reply, TextReply
from teambot.core.insights import digest as digests
from teambot.core.insights.digest import digest_text
from tests.helpers import FakeClock

T, CH = "T24", "C1"  # a team of its own: nothing another test leaves behind for T1 can be in it
BOSS, ANA = "boss", "ana"

# (root cause as the owner wrote it, the cause a manager would file it under)
CAUSES = [
    ("housekeeping list missed the room", "housekeeping"),
    ("room was skipped on the cleaning rota", "housekeeping"),
    ("houskeeping forgot the room", "housekeeping"),
    ("cleaner skipped the room", "housekeeping"),
    ("heat lamp on the pass was broken", "lamp"),
    ("food waited under a dead heat lamp", "lamp"),
    ("pass heat lamp not working", "lamp"),
    ("minibar charge posted twice by the night audit", "charge"),
    ("customer was charged twice", "charge"),
    ("double charged on the card", "charge"),
    ("courier was late", "other"),
    ("AC broken in the room", "other"),
]


async def run(c: Container, text: str, user: str = ANA) -> Reply:
    return await c.commands.run_text(text, Context(team_id=T, channel_id=CH, user_id=user))


def said(reply: Reply) -> str:
    assert not isinstance(reply, ErrorReply), reply.text
    return getattr(reply, "text", "") or getattr(reply, "message", "")


async def resolved_case(c: Container, clock: FakeClock, problem: str, cause: str, gift: bool = False) -> int:
    reply = await run(c, f"Guest {problem[-2:].strip()}: {problem}")
    number = reply.detail.case.number  # type: ignore[attr-defined]
    said(await run(c, f"claim {number}"))
    said(await run(c, f"apologise {number} in_person so sorry"))
    if gift:
        said(await run(c, f"grant {number} Waived fee"))
    clock.advance(minutes=30)
    said(await run(c, f"resolve {number} put it right | {cause}"))
    return number


async def test_the_improvement_loop(container: Container, clock: FakeClock) -> None:
    c = container
    policy = await run(c, "policy", BOSS)  # the first user is the team's admin
    assert policy.policy.admins == [BOSS], policy.policy  # type: ignore[attr-defined]
    said(await run(c, f"policy role @{ANA} lead", BOSS))
    numbers: dict[str, list[int]] = {}
    for i, (words, truth) in enumerate(CAUSES):
        n = await resolved_case(c, clock, f"problem {i}", words, gift=truth == "lamp")
        numbers.setdefault(truth, []).append(n)

    # The manager asks what to fix first: nothing is filed yet, so look-alike groups are proposed.
    reply = await run(c, "causes week", BOSS)
    assert isinstance(reply, ChoiceReply)
    groups = [sorted(int(x) for x in cmd.split()[1].split(",")) for _, cmd in reply.choices]
    truth_of = {n: t for t, ns in numbers.items() for n in ns}
    for g in groups:  # never a wrong merge
        assert len({truth_of[n] for n in g}) == 1, (g, reply.text)
    for theme in ("housekeeping", "lamp", "charge"):  # and each theme is proposed
        assert any(set(g) <= set(numbers[theme]) and len(g) >= 2 for g in groups), (theme, reply.text)
    assert "root causes look alike" in reply.text and "Name them as one cause?" in reply.text

    # A lead may not create causes; the manager presses the buttons (the suggested name, then renames).
    refused = await run(c, reply.choices[0][1], ANA)
    assert isinstance(refused, ErrorReply) and "admins and managers" in refused.text
    for _, command in reply.choices:
        said(await run(c, command, BOSS))
    listing = said(await run(c, "causes week", BOSS))
    lamp_cause = next(line for line in listing.splitlines() if f"#{numbers['lamp'][0]}" in line)
    lamp_name = lamp_cause.split("*")[1]
    said(await run(c, f"policy cause rename {lamp_name} to Heat lamp", BOSS))

    # A new root cause, worded yet another way, is filed by meaning at resolve, with a change button.
    clock.advance(hours=1)
    reply = await run(c, "Guest: cold plates")
    late = reply.detail.case.number  # type: ignore[attr-defined]
    await run(c, f"claim {late}")
    await run(c, f"apologise {late} in_person sorry")
    resolved = await run(c, f"resolve {late} replated | heat lamp out on the pass")
    assert "Root cause filed under *Heat lamp*" in resolved.message  # type: ignore[attr-defined]
    assert ("Change cause", f"cause {late}") in resolved.choices  # type: ignore[attr-defined]
    numbers["lamp"].append(late)
    timeline = await run(c, f"timeline {late}")
    filed = [e.data for e in timeline.detail.events if e.kind == "cause_filed"]  # type: ignore[attr-defined]
    assert filed and filed[-1]["cause"] == "Heat lamp" and filed[-1]["by"] == "meaning"

    # Ranked by cost: the heat lamp (4 cases, compensation given) comes first, with its case numbers.
    listing = said(await run(c, "causes week", BOSS))
    first = listing.splitlines()[1]
    assert first.startswith("1. *Heat lamp*: 4 cases, compensation $75.00"), listing
    assert ", ".join(f"#{n}" for n in numbers["lamp"]) in first

    # An action on a heat-lamp case, owned by Ana, due in two days; done the next day.
    made = said(await run(c, f"action {numbers['lamp'][0]} Replace the heat lamp and keep a spare @{ANA} due in 3 days", BOSS))
    assert "Improvement action 1 for <@ana>" in made and "cause *Heat lamp*" in made
    open_list = said(await run(c, "actions", BOSS))
    assert "1. Replace the heat lamp and keep a spare [Heat lamp] · <@ana> · due" in open_list
    clock.advance(days=1)
    done = said(await run(c, "action done 1 new lamp fitted, spare in the store", ANA))
    assert "marked action 1 (Replace the heat lamp and keep a spare) done: new lamp fitted" in done
    assert "None." in said(await run(c, "actions", BOSS))
    home = str(await run(c, "home", BOSS))
    assert "Causes to fix first (this month, by cost):\n  1. *Heat lamp*: 4 cases" in home

    # This week's digest opens with what to fix first.
    week = digests.current_monday(clock.now(), "UTC")
    d = await digests.compute(c.db, T, week, clock.now(), preview=True)
    text = digest_text(d)
    assert "*What to fix first* (causes by cost this week):" in text
    assert text.index("What to fix first") < text.index("Cases:")
    assert d.improvement["fix_first"][0]["name"] == "Heat lamp"
    assert d.improvement["pareto"][0]["cause"] == "Heat lamp"
    assert "Improvement actions: 1 opened, 1 done, 0 overdue." in text

    # Three weeks later, with no heat-lamp case since, the digest says the fix worked.
    clock.advance(days=21)
    housekeeping = await resolved_case(c, clock, "dusty room", "room skipped by housekeeping again")
    assert housekeeping
    d = await digests.compute(c.db, T, digests.current_monday(clock.now(), "UTC") - timedelta(days=7), clock.now())
    text = digest_text(d)
    assert "Did it work? Replace the heat lamp and keep a spare (done 24 Nov): Heat lamp 1.0 → 0.0 cases a week (worked)" in text, text


async def test_causes_need_a_lead_and_a_period(container: Container) -> None:
    said(await run(container, "policy", BOSS))
    refused = await run(container, "causes", ANA)
    assert isinstance(refused, ErrorReply) and "leads, managers and admins" in refused.text
    bad = await run(container, "causes fortnight", BOSS)
    assert isinstance(bad, ErrorReply) and "not a period" in bad.text
    empty = await run(container, "causes", BOSS)
    assert isinstance(empty, TextReply) and "No case resolved in this period is filed under a cause yet." in empty.text


def test_the_clock_starts_on_a_monday() -> None:
    assert FakeClock().now() == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
