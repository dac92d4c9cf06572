"""Issue 14, a digest managers can trust: a digest from day one, past weeks as of their end,
one hand-computed week with cancelled, reopened and escalated cases, spend on demand, approvals
that never strand a case, privacy and export. Real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from sqlmodel import select

from teambot.bootstrap import Container
from teambot.core.cases.models import ApprovalRequest, ApprovalStatus, ImprovementFlag, TimelineEvent
from teambot.core.cases.queries import case_detail
from teambot.core.cases.summary import event_line
from teambot.core.commands.context import Context
from teambot.core.commands.replies import ErrorReply, Reply, TextReply
from teambot.core.insights.digest import compute, digest_text, span
from teambot.core.insights.export import export_csv, safe_cell
from teambot.core.insights.spend import parse_period
from teambot.core.policy.facts import policy_facts
from teambot.core.recognition.models import Shoutout
from teambot.core.scheduling.models import PENDING, DueItem
from tests.helpers import FakeClock, RecordingNotifier
from tests.scheduling.helpers import configure, deadlines, of_kind, scheduler

T = "T1"
W48 = date(2026, 11, 23)


def at(day: int, hh: int, mm: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=UTC)


async def run(c: Container, text: str, user: str = "alice", channel: str = "C1", direct: bool = False) -> Reply:
    return await c.commands.run_text(text, Context(T, channel, user, direct=direct))


def said(reply: Reply) -> str:
    """What a reply says: a policy change's message, or a text reply's text."""
    return str(getattr(reply, "message", None) or getattr(reply, "text", ""))


def facts(policy: object) -> dict[str, str]:
    return dict(policy_facts(policy))  # type: ignore[arg-type]


# ----- A. a digest from day one ------------------------------------------------------------------


async def test_a_new_teams_digest_goes_to_the_channel_where_it_first_opened_a_case(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    await run(container, "policy", channel="D1", direct=True)  # the policy is born in a DM
    policy = await container.service.policy(T, "alice")
    assert policy.digest_channel is None
    assert "by direct message to each admin" in facts(policy)["Digest"]
    await run(container, "Soup was cold", channel="D1", direct=True)  # a DM is no place for it
    assert (await container.service.policy(T, "alice")).digest_channel is None
    await run(container, "Parcel lost", channel="C9")
    await run(container, "Wrong room", channel="C10")  # the first channel stays
    policy = await container.service.policy(T, "alice")
    assert policy.digest_channel == "C9"
    assert facts(policy)["Digest"] == "Mondays 09:00 UTC in <#C9>"
    # The first Monday after, it goes out there: no admin had to set anything.
    clock.current = at(30, 9, 1)
    await scheduler(container).tick()
    await scheduler(container).tick()
    ((rcpt, notice),) = of_kind(notifier, "digest")
    assert (rcpt.kind, rcpt.id) == ("channel", "C9") and notice.data["week"] == "2026-W48"
    assert [a.filename for a in notice.attachments] == ["teambot-digest-T1-2026-W48.png"]


async def test_without_a_channel_each_admin_gets_the_digest_by_dm_and_an_empty_week_has_no_chart(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    await run(container, "policy admin add @bob", channel="D1", direct=True)
    clock.current = at(30, 9, 1)
    await scheduler(container).tick()
    await scheduler(container).tick()
    sent = of_kind(notifier, "digest")
    assert sorted((r.kind, r.id) for r, _ in sent) == [("user", "alice"), ("user", "bob")]
    notice = sent[0][1]
    assert notice.attachments == []  # an empty week: one line, no chart
    assert notice.text == "*Recovery digest 2026-W48*\nNo cases this week (last week: 0 opened). Still open: 0."


async def test_short_weekday_names_set_the_digest(container: Container) -> None:
    reply = await run(container, "policy digest mon 09:00 Europe/London")
    assert "Mondays at 09:00 Europe/London" in said(reply)
    await run(container, "policy digest Fri 16:30 UTC #managers")
    policy = await container.service.policy(T, "alice")
    assert (policy.digest_weekday, policy.digest_time, policy.digest_channel) == (4, "16:30", "managers")
    bad = await run(container, "policy digest mo 09:00 UTC")
    assert isinstance(bad, ErrorReply) and "is not a weekday" in str(bad.error)


def test_durations_read_in_hours_and_days() -> None:
    assert [span(m) for m in (None, 0.2, 45, 60, 200, 1380, 1440, 3120, 6360)] == [
        "–", "under 1 min", "45 min", "1 h", "3 h 20 min", "23 h", "1 d", "2 d 4 h", "4 d 10 h",
    ]  # fmt: skip


# ----- C. one hand-computed week -----------------------------------------------------------------


async def _seed_week(c: Container, clock: FakeClock) -> None:
    """W48 (Mon 23 – Sun 29 Nov 2026, UTC) with a cancelled, a reopened and an escalated case.
    Resolve target 12 h; dan is the backup approver; carol's limit is the member's 50."""
    s = c.service
    clock.current = at(22, 12)
    await configure(c, T, "alice", resolve_within_hours=12, backup_approvers=["dan"])
    # Case 1, reopened: resolved twice in the week; counts once, by its last resolution.
    clock.current = at(23, 9)
    await s.open_case(T, "C1", "alice", "Booked the wrong night")
    clock.current = at(23, 9, 10)  # owned in 10 min
    await s.claim(T, 1, "bob")
    await s.apologise(T, 1, "bob", "phone")
    await s.grant(T, 1, "bob", "Waived fee")  # 25 within
    clock.current = at(23, 12)  # resolved in 3 h ...
    await s.resolve(T, 1, "bob", "rebooked", "overbooking")
    clock.current = at(24, 10)
    await s.answer_followup(T, 1, "bob", satisfied=True, score=5)  # superseded below
    clock.current = at(25, 9)
    await s.reopen(T, 1, "alice", "charged twice")
    clock.current = at(25, 13)  # ... and again 52 h after opening: the one that counts
    await s.resolve(T, 1, "bob", "refunded the charge", "overbooking")
    clock.current = at(26, 10)
    await s.answer_followup(T, 1, "bob", satisfied=True, score=4)
    # Case 2, escalated: the approver (alice) never answers, the backup (dan) does.
    clock.current = at(23, 10)
    await s.open_case(T, "C1", "alice", "Second parcel late too")
    clock.current = at(23, 10, 30)  # owned in 30 min
    await s.claim(T, 2, "carol")
    await s.apologise(T, 2, "carol", "email")
    await s.grant(T, 2, "carol", "Free round of drinks")  # 30 within
    clock.current = at(23, 11)
    await s.grant(T, 2, "carol", "Room upgrade")  # 80: 110 > 50, request 1 to alice
    clock.current = at(23, 15)  # 4 working hours later
    await scheduler(c).tick()
    clock.current = at(23, 15, 30)
    await s.decide(T, 1, "dan", True)  # approved after 270 min
    clock.current = at(24, 8)  # resolved 22 h after opening; never followed up
    await s.resolve(T, 2, "carol", "sent a replacement", "late courier")
    # Case 3, a duplicate of 2: its grant and its everything count nowhere.
    clock.current = at(24, 9)
    await s.open_case(T, "C1", "alice", "Parcel late (again)")
    clock.current = at(24, 9, 1)
    await s.claim(T, 3, "bob")
    await s.grant(T, 3, "bob", "Discount on next purchase")  # 20, cancelled below
    clock.current = at(24, 9, 5)
    await s.cancel(T, 3, "alice", "duplicate", duplicate_of=2)
    # Case 4, never owned.
    clock.current = at(25, 14)
    await s.open_case(T, "C1", "alice", "Nobody answered the phone")
    # Case 5, being worked at the week's end; closed only afterwards.
    clock.current = at(26, 9)
    await s.open_case(T, "C1", "alice", "Kitchen forgot the order")
    clock.current = at(26, 9, 5)  # owned in 5 min
    await s.claim(T, 5, "bob")
    clock.current = at(26, 9, 10)
    await s.apologise(T, 5, "bob", "in_person")
    # Case 6, resolved within the 12 h target, waiting for its follow-up at the week's end.
    clock.current = at(27, 9)
    await s.open_case(T, "C1", "alice", "Room not cleaned")
    clock.current = at(27, 9, 3)  # owned in 3 min
    await s.claim(T, 6, "carol")
    await s.apologise(T, 6, "carol", "in_person")
    clock.current = at(27, 14)  # 5 h
    await s.resolve(T, 6, "carol", "cleaned it", "rota gap")
    # After the week: case 5 is resolved and closed; the past week must not change.
    clock.current = at(1, 10, month=12)
    await s.resolve(T, 5, "bob", "remade it", "ticket lost")
    clock.current = at(1, 11, month=12)
    await s.answer_followup(T, 5, "bob", satisfied=True, score=5)


async def test_a_past_week_with_cancelled_reopened_and_escalated_cases_matches_the_hand_figures(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    await _seed_week(container, clock)
    # The backup heard once, 4 working hours after the request, and the timeline says so.
    escalated = [(r.id, n) for r, n in of_kind(notifier, "approval_request") if n.data.get("escalated")]
    assert [who for who, _ in escalated] == ["dan"]
    detail = await case_detail(container.db, T, 2)
    said = [e for e in detail.events if e.kind == "escalated"]
    assert len(said) == 1 and said[0].at == at(23, 15)
    assert event_line("escalated", said[0].data) == "asked backup approvers <@dan> about request 1 after 4 h"

    clock.current = at(1, 12, month=12)
    d = await compute(container.db, T, W48, clock.now())
    t = d.this
    # Opened: 1, 2, 4, 5, 6 (3 is cancelled).
    assert t.opened == 5
    # Owned within 15 min: 10, 30, 5, 3 minutes -> median 7.5, p90 (nearest rank 4 of 4) 30; 3 of 5.
    assert (t.own_median_min, t.own_p90_min, t.owned_within_target, t.own_share) == (7.5, 30, 3, 0.6)
    # Resolved once each: 1 (52 h, its last resolution), 2 (22 h), 6 (5 h); within 12 h: only 6.
    assert (t.resolved, t.resolve_median_h, t.resolve_p90_h) == (3, 22, 52)
    assert (t.resolved_within_target, t.resolve_share) == (1, 0.333)
    # Follow-ups: case 1's latest answer only (satisfied, 4).
    assert (t.followups, t.satisfied, t.closed, t.avg_score, t.satisfaction_share) == (1, 1, 1, 4.0, 1.0)
    assert t.apologies == 4  # 1, 2, 5, 6
    # Compensation without case 3's 20: 25 + 30 within, 80 approved.
    assert (t.comp_total_minor, t.comp_within_minor, t.comp_approved_minor) == (13500, 5500, 8000)
    assert t.comp_by_gesture == {"Waived fee": 2500, "Free round of drinks": 3000, "Room upgrade": 8000}
    assert (t.escalated_case_avg_minor, t.within_case_avg_minor, t.escalation_premium_minor) == (11000, 2500, 8500)
    assert (t.escalations, t.approval_wait_median_min) == (1, 270)
    # At the week's end (Mon 30 Nov 00:00): 2 and 6 resolved and waiting, 4 open, 5 owned; 1 closed.
    assert d.still_open == 4
    assert [(c["number"], c["status"], c["age_hours"]) for c in d.slowest] == [(4, "open", 106.0), (5, "owned", 87.0)]
    assert d.resolve_target_h == 12 and sorted(d.resolve_hours) == [5.0, 22.0, 52.0]
    assert d.opened_per_day == {
        "2026-11-23": {"uncategorised": 2}, "2026-11-25": {"uncategorised": 1},
        "2026-11-26": {"uncategorised": 1}, "2026-11-27": {"uncategorised": 1},
    }  # fmt: skip
    text = digest_text(d)
    for line in (
        "Cases: 5 opened (last week 0), 3 resolved (0), 1 closed (0); 4 still open.",
        "Time to own: median 8 min, p90 30 min (last week – / –); owned within target 60% (–).",
        "Time to resolve: median 22 h, p90 2 d 4 h (last week – / –); resolved within the 12 h target 33% (–).",
        "median wait for an approver 4 h 30 min",
        "  • #4 open 4 d 10 h, unowned: Nobody answered the phone",
        "  • #5 open 3 d 15 h, <@bob>: Kitchen forgot the order",
    ):
        assert line in text, line
    assert "min)" not in text.split("Slowest")[1] and "1380 min" not in text
    # The same week asked again later reads the same.
    clock.current = at(20, 12, month=12)
    again = await compute(container.db, T, W48, clock.now())
    assert (again.still_open, again.slowest, again.this) == (d.still_open, d.slowest, d.this)

    # ----- D. spend on demand, from the same week -----
    reply = await run(container, "spend 2026-11")
    assert isinstance(reply, TextReply) and reply.title == "Compensation, November 2026"
    assert reply.text.splitlines() == [
        "*Compensation, November 2026*",
        "USD: $135.00 in 3 grants (within authority $55.00, approved $80.00); escalation premium $60.00.",
        "  by gesture:",
        "    • Room upgrade: $80.00 in 1 grant (within authority $0.00, approved $80.00)",
        "    • Free round of drinks: $30.00 in 1 grant (within authority $30.00, approved $0.00)",
        "    • Waived fee: $25.00 in 1 grant (within authority $25.00, approved $0.00)",
        "  by person:",
        "    • <@carol>: $110.00 in 2 grants (within authority $30.00, approved $80.00); premium $60.00",
        "    • <@bob>: $25.00 in 1 grant (within authority $25.00, approved $0.00)",
    ]
    span_reply = await run(container, "spend 2026-11-24..2026-11-30")
    assert isinstance(span_reply, TextReply) and "No compensation was given" in span_reply.text
    refused = await run(container, "spend month", user="bob")
    assert isinstance(refused, ErrorReply)
    assert "Only leads, managers and admins can see what compensation cost" in str(refused.error)
    await run(container, "policy role @bob lead")
    week = await run(container, "spend week", user="bob")
    assert isinstance(week, TextReply) and week.title.startswith("Compensation, this week")


def test_spend_periods() -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    month = parse_period("month", now, "UTC")
    assert (month.first, month.last, month.label) == (date(2026, 11, 1), date(2026, 11, 26), "November 2026 so far (1\u2009–\u200926 Nov 2026)")
    week = parse_period("week", now, "Europe/London")
    assert (week.first, week.last) == (date(2026, 11, 23), date(2026, 11, 26))
    feb = parse_period("2026-02", now, "UTC")
    assert (feb.start, feb.end) == (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    rng = parse_period("2026-11-30..2026-12-06", now, "UTC")
    assert rng.label == "30 Nov\u2009–\u20096 Dec 2026" and rng.end == datetime(2026, 12, 7, tzinfo=UTC)


# ----- E. approvals never strand a case ----------------------------------------------------------


async def test_an_unanswered_request_goes_once_to_the_admins_when_no_backup_is_named(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    c = container
    await run(c, "policy admin add @erin")
    await run(c, "policy approver add @frank")
    reply = await run(c, "policy escalation 2")
    assert "2 working hours" in said(reply)
    assert "every admin, asked once a request waits 2 working hours" in facts(await c.service.policy(T, "alice"))[
        "Backup approvers"
    ]
    clock.current = at(27, 17)  # Friday 17:00: two working hours end Monday 10:00
    await c.service.open_case(T, "C1", "alice", "Broken lift", own=True)
    await c.service.apologise(T, 1, "alice", "phone")
    await c.service.policy(T, "alice")
    await run(c, "policy limit manager 10")
    await run(c, "policy role @alice manager")
    await c.service.grant(T, 1, "alice", "Room upgrade")  # 80 > 10: frank is asked
    clock.current = at(30, 9, 59)
    await scheduler(c).tick()
    assert not [n for _, n in notifier.sent if n.data.get("escalated")]
    clock.current = at(30, 10)
    await scheduler(c).tick()
    clock.current = at(30, 16)
    await scheduler(c).tick()
    escalated = [(r.id, n) for r, n in notifier.sent if n.data.get("escalated")]
    assert [who for who, _ in escalated] == ["erin"]  # every admin but the requester, once
    decided = await run(c, "approve 1", user="erin")
    assert isinstance(decided, TextReply) or not isinstance(decided, ErrorReply)
    async with c.db.session() as s:
        req = await s.get(ApprovalRequest, 1)
        assert req is not None and req.status == ApprovalStatus.APPROVED and req.decided_by == "erin"
        pending = (await s.exec(select(DueItem).where(DueItem.status == PENDING, DueItem.kind.like("approval%")))).all()  # type: ignore[attr-defined]
        assert pending == []


async def test_backup_approvers_are_a_policy_setting(container: Container) -> None:
    reply = await run(container, "policy backup add @dan")
    assert "<@dan> is now a backup approver." in said(reply)
    policy = await container.service.policy(T, "alice")
    assert policy.backup_approvers == ["dan"] and facts(policy)["Backup approvers"].startswith("<@dan>, asked once")
    await run(container, "policy backup remove @dan")
    assert (await container.service.policy(T, "alice")).backup_approvers == []
    refused = await run(container, "policy backup add @bob", user="bob")
    assert isinstance(refused, ErrorReply) and "change the recovery policy" in str(refused.error)


async def test_a_withdrawn_request_is_not_escalated(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    c = container
    await c.service.policy(T, "alice")
    await c.service.open_case(T, "C1", "alice", "Broken lift")
    await c.service.claim(T, 1, "bob")
    await c.service.apologise(T, 1, "bob", "phone")
    await c.service.grant(T, 1, "bob", "Room upgrade")
    await c.service.withdraw(T, 1, "bob")
    clock.current = at(24, 9)
    await deadlines(c).sweep()
    assert not [n for _, n in notifier.sent if n.data.get("escalated")]


# ----- F. privacy and export ---------------------------------------------------------------------


async def test_forgetting_a_customer_reaches_shoutouts_and_flags_and_refusals_say_why(
    container: Container,
) -> None:
    c = container
    await run(c, "Mrs Patel: no hot water in room 412")
    await run(c, "claim 1", user="bob")
    await run(c, "flag 1 Mrs Patel waited an hour for the plumber", user="carol")
    await run(c, "shoutout @bob 1 turned Patel's evening around", user="carol")
    await run(c, "shoutout @bob brilliant with Mrs Patel", user="dan")  # tied to no case: not hers to erase
    refused = await run(c, "export-customer Mrs Patel", user="bob")
    assert isinstance(refused, ErrorReply)
    assert "Only a Teambot admin can export customer data." in str(refused.error)
    assert "policy" not in str(refused.error)
    refused = await run(c, "forget-customer Mrs Patel", user="bob")
    assert isinstance(refused, ErrorReply) and "erase a customer's data" in str(refused.error)
    done = await run(c, "forget-customer Mrs Patel")
    assert isinstance(done, TextReply) and "Erased" in done.text
    async with c.db.session() as s:
        flags = (await s.exec(select(ImprovementFlag))).all()
        shouts = {sh.message for sh in (await s.exec(select(Shoutout))).all()}
        events = (await s.exec(select(TimelineEvent).where(TimelineEvent.kind == "customer_erased"))).all()
    assert [f.note for f in flags] == ["[erased] waited an hour for the plumber"]
    assert shouts == {"turned [erased]'s evening around", "brilliant with Mrs Patel"}
    assert events


async def test_csv_cells_that_read_as_formulas_are_neutralised(container: Container) -> None:
    c = container
    await c.service.open_case(T, "C1", "alice", "@SUM(A1) broke", customer='=HYPERLINK("http://x")')
    await c.service.open_case(T, "C1", "alice", "-2 stars on the app", customer="+44 caller")
    out = io.StringIO()
    await export_csv(c.db, out, T)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["customer"] == "'=HYPERLINK(\"http://x\")" and rows[0]["problem"] == "'@SUM(A1) broke"
    assert rows[1]["customer"] == "'+44 caller" and rows[1]["problem"] == "'-2 stars on the app"
    assert [safe_cell(v) for v in ("\tx", "\rx", "-1.5", 3, "plain")] == ["'\tx", "'\rx", "-1.5", 3, "plain"]


async def test_export_in_chat_tells_an_admin_how_to_get_the_csv(container: Container) -> None:
    reply = await run(container, "export")
    assert isinstance(reply, TextReply) and "teambot export --csv -o cases.csv --team T1" in reply.text
    refused = await run(container, "export", user="bob")
    assert isinstance(refused, ErrorReply) and "Only a Teambot admin can export the team's case records" in str(
        refused.error
    )
