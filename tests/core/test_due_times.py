"""Due times are read in the person's own zone and never land in the past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teambot.core.errors import BadInput
from teambot.core.when import DUE_EXAMPLES, HINT, parse_due

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 15:00 UTC, 16:00 in Paris
PARIS = ZoneInfo("Europe/Paris")


def local(text: str, now: datetime = NOW) -> datetime:
    """The due time as the person in Paris sees it, without tzinfo for short expectations."""
    return parse_due(text, now, "Europe/Paris").astimezone(PARIS).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fri", datetime(2026, 11, 27, 17, 0)),
        ("Friday", datetime(2026, 11, 27, 17, 0)),
        ("next friday", datetime(2026, 11, 27, 17, 0)),  # the coming one, as "friday"
        ("mon", datetime(2026, 11, 30, 17, 0)),  # never today
        ("thurs", datetime(2026, 11, 26, 17, 0)),
        ("fri 9:00", datetime(2026, 11, 27, 9, 0)),
        ("friday at 3pm", datetime(2026, 11, 27, 15, 0)),
        ("next fri 9:00", datetime(2026, 11, 27, 9, 0)),
        ("by friday", datetime(2026, 11, 27, 17, 0)),
        ("tomorrow", datetime(2026, 11, 24, 17, 0)),
        ("tomorrow at 10:00", datetime(2026, 11, 24, 10, 0)),
        ("tomorrow 10am", datetime(2026, 11, 24, 10, 0)),
        ("10am tomorrow", datetime(2026, 11, 24, 10, 0)),
        ("tomorrow 12pm", datetime(2026, 11, 24, 12, 0)),
        ("tomorrow 12am", datetime(2026, 11, 24, 0, 0)),
        ("tomorrow noon", datetime(2026, 11, 24, 12, 0)),
        ("today 16:30", datetime(2026, 11, 23, 16, 30)),
        ("eod", datetime(2026, 11, 23, 17, 0)),
        ("end of day", datetime(2026, 11, 23, 17, 0)),
        ("tomorrow eod", datetime(2026, 11, 24, 17, 0)),
        ("friday end of day", datetime(2026, 11, 27, 17, 0)),
        ("noon", datetime(2026, 11, 24, 12, 0)),  # today's noon has passed: the next one
        ("midnight", datetime(2026, 11, 24, 0, 0)),  # the end of today
        ("friday midnight", datetime(2026, 11, 28, 0, 0)),  # the end of friday
        ("08:00", datetime(2026, 11, 24, 8, 0)),
        ("at 17:30", datetime(2026, 11, 23, 17, 30)),
        ("in 2h", datetime(2026, 11, 23, 18, 0)),
        ("in 30 min", datetime(2026, 11, 23, 16, 30)),
        ("in an hour", datetime(2026, 11, 23, 17, 0)),
        ("in 3 days", datetime(2026, 11, 26, 16, 0)),
        ("in 2 weeks", datetime(2026, 12, 7, 16, 0)),
        ("2026-12-04", datetime(2026, 12, 4, 17, 0)),
        ("2026-12-04 14:30", datetime(2026, 12, 4, 14, 30)),
        ("2026-12-04T14:30", datetime(2026, 12, 4, 14, 30)),
        ("2026-12-04 at 2:30pm", datetime(2026, 12, 4, 14, 30)),
        ("  Tomorrow   AT 10:00 ", datetime(2026, 11, 24, 10, 0)),
    ],
)
def test_due_times_people_type(text: str, expected: datetime) -> None:
    assert local(text) == expected


def test_the_result_is_aware_utc_in_the_persons_zone() -> None:
    due = parse_due("tomorrow 10:00", NOW, "America/New_York")
    assert due.tzinfo == UTC and due == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert parse_due("tomorrow 10:00", NOW) == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_days_keep_the_clock_time_across_a_dst_change() -> None:
    before = datetime(2026, 10, 23, 8, 0, tzinfo=UTC)  # Friday 10:00 in Paris, summer time
    assert local("in 3 days", before) == datetime(2026, 10, 26, 10, 0)  # winter time by then
    assert parse_due("in 72h", before, "Europe/Paris") == before + timedelta(hours=72)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("today 09:00", "already in the past"),
        ("2020-01-01 10:00", "already in the past"),
        ("in 0 min", "already in the past"),
        ("yesterday", "can't read"),
        ("2026-02-30", "can't read"),
        ("25:00", "can't read"),
        ("13pm", "can't read"),
        ("friday 10", "can't read"),  # a bare number is not a time
        ("next", "can't read"),
        ("in 2 fortnights", "can't read"),
        ("in 99999 days", "can't read"),
        ("today tomorrow", "can't read"),
        ("", "can't read"),
    ],
)
def test_refusals_list_examples(text: str, says: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_due(text, NOW, "Europe/Paris")
    assert says in err.value.message and err.value.field == "due"
    assert "tomorrow at 10:00" in (err.value.hint or "") and "next friday" in (err.value.hint or "")


def test_every_example_parses_whenever_it_is_typed() -> None:
    assert all(example in HINT for example in DUE_EXAMPLES)
    for now in (NOW, datetime(2026, 11, 27, 23, 30, tzinfo=UTC), datetime.now(UTC)):
        for example in DUE_EXAMPLES:
            assert parse_due(example, now, "Pacific/Auckland") > now, example


@settings(max_examples=200, deadline=None)
@given(
    example=st.sampled_from(DUE_EXAMPLES),
    now=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
    tz=st.sampled_from(["UTC", "Europe/Paris", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham"]),
)
def test_examples_are_always_in_the_future(example: str, now: datetime, tz: str) -> None:
    due = parse_due(example, now, tz)
    assert due.tzinfo == UTC and now < due < now + timedelta(days=800)
