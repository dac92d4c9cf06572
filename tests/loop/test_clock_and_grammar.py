"""Pure parts: the 24-hour clock's facts, and quick open with the customer's address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from teambot.core.cases.models import Case, CaseStatus
from teambot.core.cases.queries import CaseDetail
from teambot.core.cases.summary import case_facts, deadlines
from teambot.core.commands.grammar import parse
from teambot.core.commands.intents import Open
from teambot.core.policy.models import Policy
from teambot.slack.blocks import _localised_facts
from teambot.teams.cards import teams_date

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def detail(**case: object) -> CaseDetail:
    c = Case(team_id="T", number=1, channel_id="C", opened_by="u", opened_at=T0, problem="cold soup",
             updated_at=T0, **case)  # type: ignore[arg-type]  # fmt: skip
    p = Policy(team_id="T", own_within_minutes=15, resolve_within_hours=24, created_at=T0, updated_at=T0)
    return CaseDetail(case=c, policy=p)


def test_deadlines_come_from_the_policy() -> None:
    own, apologise, resolve = deadlines(detail())
    assert (own.label, own.due) == ("Own by", T0 + timedelta(minutes=15))
    assert (apologise.label, apologise.due) == ("Apologise by", T0 + timedelta(minutes=15))
    assert (resolve.label, resolve.due) == ("Resolve by", T0 + timedelta(hours=24))


def test_the_card_counts_down_then_says_overdue() -> None:
    facts = dict(case_facts(detail(), T0 + timedelta(minutes=5)))
    assert facts["Own by"] == "Monday 23 November, 09:15 · in 10 min"
    assert facts["Resolve by"] == "Tuesday 24 November, 09:00 · in 23 h 55 min"
    late = dict(case_facts(detail(), T0 + timedelta(minutes=20)))
    assert late["Own by"] == "Monday 23 November, 09:15 · overdue by 5 min"
    assert late["Apologise by"].endswith("overdue by 5 min")


def test_met_deadlines_say_on_time_or_how_late() -> None:
    d = detail(status=CaseStatus.OWNED, owner_id="u", owned_at=T0 + timedelta(minutes=3),
               apologised_at=T0 + timedelta(minutes=40))  # fmt: skip
    facts = dict(case_facts(d, T0 + timedelta(hours=1)))
    assert facts["Own by"].endswith("done on time")
    assert facts["Apologise by"].endswith("done 25 min late")


def test_slack_shows_live_dates_and_teams_the_viewers_zone() -> None:
    facts = dict(_localised_facts(detail(), T0, "UTC"))
    epoch = int((T0 + timedelta(minutes=15)).timestamp())
    assert facts["Own by"].startswith(f"<!date^{epoch}^{{date_short_pretty}} {{time}}|Monday 23 November, 09:15>")
    assert teams_date(T0) == "{{DATE(2026-11-23T09:00:00Z, SHORT)}} {{TIME(2026-11-23T09:00:00Z)}}"


def test_quick_open_takes_the_address() -> None:
    intent = parse("Jane Doe <jane@example.com>: the soup was cold wants: a hot one #food !high")
    assert isinstance(intent, Open)
    assert (intent.customer, intent.email, intent.problem) == ("Jane Doe", "jane@example.com", "the soup was cold")
    # `#food` is matched against the team's categories when the case opens, not by the grammar.
    assert (intent.wants, intent.category, intent.severity) == ("a hot one #food", None, "high")
    slack = parse("Jane Doe <mailto:jane@example.com|jane@example.com>: the soup was cold")
    assert isinstance(slack, Open) and (slack.customer, slack.email) == ("Jane Doe", "jane@example.com")
    plain = parse("Mrs Patel: no hot water")
    assert isinstance(plain, Open) and (plain.customer, plain.email) == ("Mrs Patel", None)
