"""The shell shows nudges and the digest as they come: `/later` moves its clock and runs due work."""

from __future__ import annotations

import io

from teambot.bootstrap import Container
from teambot.shell.session import ShellClock, ShellSession

SCRIPT = """\
/recover Mrs Patel: no hot water in room 412
/later 20m
/as @ana
/recover claim 1
/recover apologise 1 in_person so sorry
/recover resolve 1 moved her to 512 | boiler not serviced
/later 2d
3
1h
/later 30m
/later 30m
1
5
/recover shoutout @ana 1 myself
/as @you
/recover shoutout @ana 1 turned it around
/recover leaderboard
/recover digest
/later soon
/quit
"""


async def test_a_scripted_shell_session_sees_nudges_snoozes_and_answers(container: Container) -> None:
    out = io.StringIO()
    await ShellSession(container, stdin=io.StringIO(SCRIPT), stdout=out, user="you").run()
    text = out.getvalue()
    assert "⏩ 20m later: Monday 23 November, 09:20 (UTC)." in text
    assert "🔔 [#general] Case #1 has had no owner for 20 min (target 15 min)" in text
    followups = text.count("[DM to @ana] @ana: time to follow up with Mrs Patel on case #1")
    assert followups == 2  # at 48 h, and again after the 1 h snooze
    assert "[1] Satisfied  [2] Not yet  [3] Snooze" in text
    assert "Follow-up nudge for case #1 snoozed until Wednesday 25 November, 10:20." in text
    assert "(nothing fell due)" in text  # the first half hour of the snooze
    assert "Customer satisfied (5/5); case #1 is closed." in text
    assert "✗ Shout-outs are for teammates, not yourself." in text
    assert "🔔 [#general] 🎉 @you gave @ana a shout-out for case #1: turned it around" in text
    assert "1. @ana: 1 recovered, 1 shout-outs, average score 5/5" in text
    assert "Recovery digest 2026-W48 (so far)" in text and "Cases: 1 opened (last week 0)" in text
    assert "I can't read 'soon' as a length of time." in text


def test_the_shell_clock_moves_only_forward_from_real_time() -> None:
    clock = ShellClock()
    before = clock.now()
    later = clock.advance(hours=2)
    assert (later - before).total_seconds() >= 7200
