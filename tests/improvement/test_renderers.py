"""The improvement loop's pure renderers: a digest's flags become one-click actions in Slack and
Teams notices; the digest text's improvement part."""

from __future__ import annotations

from teambot.core.improvement.render import digest_lines
from teambot.core.insights.delivery import flag_choices
from teambot.core.insights.digest import Digest, Figures
from teambot.core.ports import Notice
from teambot.slack.blocks import notice_message
from teambot.teams.cards import notice_card


def _digest(**kw: object) -> Digest:
    return Digest(team_id="T1", week="2026-W48", start="2026-11-23T00:00:00+00:00", end="2026-11-30T00:00:00+00:00",
                  timezone="UTC", currency="USD", this=Figures(), last=Figures(), **kw)  # type: ignore[arg-type]  # fmt: skip


def test_a_digest_flag_is_one_click_from_an_action() -> None:
    d = _digest(flagged=[{"number": 12, "note": "Check the pass\n  lamps daily", "by": "ana", "category": "food"}])
    choices = flag_choices(d)
    assert choices == [("Action from #12's flag", "action 12 Check the pass lamps daily")]
    notice = Notice(kind="digest", text="digest", team_id="T1", data={"choices": choices})
    slack = notice_message(notice)
    [row] = [b for b in slack["blocks"] if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in row["elements"]] == [("run:0", choices[0][1])]
    teams = notice_card(notice, {})
    assert [(a["data"]["teambot"], a["data"]["command"]) for a in teams["actions"]] == [("run", choices[0][1])]


def test_the_digest_improvement_lines() -> None:
    assert digest_lines({}) == []
    quiet = {"fix_first": [], "groups": [], "actions": {"opened": 0, "done": 0, "overdue": 0, "worked": []}}
    assert digest_lines(quiet) == []
    busy = {
        "fix_first": [{"name": "Heat lamp"}], "fix_first_lines": ["1. *Heat lamp*: 4 cases"],
        "groups": ["2 root causes look alike (#1, #3): ..."],
        "actions": {"opened": 1, "done": 0, "overdue": 1, "overdue_lines": ["2 <@ana>"], "worked": [
            {"text": "New lamp", "done": "12 Nov", "cause": "Heat lamp", "before": 3.0, "after": 0.5}]},
    }  # fmt: skip
    assert digest_lines(busy) == [
        "*What to fix first* (causes by cost this week):",
        "  1. *Heat lamp*: 4 cases",
        "Unfiled root causes that look alike (name them from /recover causes):",
        "  • 2 root causes look alike (#1, #3): ...",
        "Improvement actions: 1 opened, 0 done, 1 overdue (2 <@ana>).",
        "  • Did it work? New lamp (done 12 Nov): Heat lamp 3.0 → 0.5 cases a week (worked)",
    ]
