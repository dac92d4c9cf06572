"""The adapters render what the core decides, each completely (issue 23): a notice kind offers the
same actions on Slack and Teams, in the same order (core/notice_actions.py), and every kind of
reply has its own rendering in the shell, Slack and Teams (none falls back to bare text)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

from teambot.core.cases.home import Figures, HomeReply
from teambot.core.cases.models import ApprovalRequest
from teambot.core.cases.replies import ApprovalsReply, CaseReply, DraftReply, ListReply, TimelineReply
from teambot.core.commands.replies import ChoiceReply, ErrorReply, FormReply, Reply, TextReply
from teambot.core.errors import BadInput
from teambot.core.insights.replies import DigestReply
from teambot.core.notice_actions import NOTICE_ACTIONS, notice_actions
from teambot.core.policy.replies import PolicyReply
from teambot.core.ports import Notice
from teambot.core.recognition.replies import LeaderboardReply
from teambot.shell.render import render as shell_render
from teambot.slack import blocks
from teambot.teams import cards
from tests.slack.test_blocks import NOW, huge_detail

KINDS = sorted({*NOTICE_ACTIONS, "digest", "shoutout", "pattern", "escalated", "snoozed", "followup_mail_failed"})
DATA: list[dict[str, Any]] = [
    {"number": 3, "approval_id": 9, "position": 2},
    {"number": 3},
    {"approval_id": 9},
    {},
]


def slack_actions(notice: Notice) -> list[str]:
    """What each Slack button under the notice does, in the core's words."""
    msg = blocks.notice_message(notice)
    ids = [el["action_id"] for b in msg["blocks"] if b["type"] == "actions" for el in b["elements"]]
    return [action_id.split(":", 1)[1] for action_id in ids]


def _teams_action(action: dict[str, Any]) -> str:
    if action["type"] == "Action.ShowCard":  # a form under the button: what its own button sends
        inner = action["card"]["actions"][0]
        satisfied = [f.get("value") for f in action["card"]["body"] if f.get("id") == "satisfied"]
        return f"followup_{satisfied[0]}" if inner["verb"] == "followup" and satisfied else str(inner["verb"])
    return str(action["verb"])


def teams_actions(notice: Notice) -> list[str]:
    return [_teams_action(a) for a in cards.notice_card(notice, {}).get("actions", [])]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("data", DATA, ids=["all", "case", "approval", "none"])
def test_a_notice_offers_the_same_actions_on_slack_and_teams(kind: str, data: dict[str, Any]) -> None:
    notice = Notice(kind, "Something happened", "T1", 1, dict(data))
    core = [a.action for a in notice_actions(notice)]
    assert slack_actions(notice) == core
    assert teams_actions(notice) == core


def test_each_case_notice_ends_with_the_case_and_its_kind_leads() -> None:
    notice = Notice("nudge_resolve", "Case #3 waits", "T1", 1, {"number": 3})
    assert [a.action for a in notice_actions(notice)] == ["resolve", "step", "snooze", "show"]
    assert [a.action for a in notice_actions(Notice("digest", "x", "T1"))] == []


# ----- every Reply has a renderer in every adapter ------------------------------------------------


def _subclasses(cls: type) -> set[type]:
    out: set[type] = set()
    for sub in cls.__subclasses__():
        out |= {sub, *_subclasses(sub)}
    return out


def _samples() -> dict[type, Reply]:
    """One realistic reply of each kind the core produces (a new kind needs one here, and a renderer)."""
    detail = huge_detail(steps=2)
    policy = detail.policy
    approval = ApprovalRequest(id=9, team_id="T1", case_id=1, requested_by="U1", gesture="Free dinner",
                               amount_minor=9000, currency="USD", requested_at=NOW)  # fmt: skip
    return {
        TextReply: TextReply(text="Done and dusted."),
        ChoiceReply: ChoiceReply(text="Did you mean /recover claim 1?", choices=[("/recover claim 1", "claim 1")]),
        FormReply: FormReply(form="open"),
        ErrorReply: ErrorReply(error=BadInput("No such case.", "See /recover list."), echo="show 99"),
        CaseReply: CaseReply(detail=detail, message="Claimed."),
        ListReply: ListReply(title="Open cases", cases=[detail.case]),
        ApprovalsReply: ApprovalsReply(approvals=[approval]),
        TimelineReply: TimelineReply(detail=detail),
        DraftReply: DraftReply(detail=detail, text="Dear Mrs Patel, ..."),
        PolicyReply: PolicyReply(policy=policy, viewer="U1"),
        HomeReply: HomeReply(user="U1", open_cases=[detail.case], approvals=[approval], figures=Figures(owned=1)),
        DigestReply: DigestReply(text="*Recovery digest 2026-W48*\nNo cases this week."),
        LeaderboardReply: LeaderboardReply(text="Recovery addicts: <@U2> 3 recovered"),
    }


RENDERERS = {
    "shell": lambda reply: shell_render(reply, NOW),
    "slack": lambda reply: blocks.reply_message(reply, NOW),
    "teams": lambda reply: cards.render(reply, NOW, policy=None),
}


def test_every_reply_kind_has_a_sample() -> None:
    import teambot.bootstrap  # noqa: F401  (imports every feature, so every Reply subclass is known)

    kinds = {cls.__name__ for cls in _subclasses(Reply) if cls.__module__.startswith("teambot.")}
    missing = kinds - {cls.__name__ for cls in _samples()}
    assert not missing, f"add a sample of {sorted(missing)} here, and a renderer in the shell, Slack and Teams"


@pytest.mark.parametrize("adapter", sorted(RENDERERS))
def test_every_reply_kind_has_a_renderer_in_every_adapter(adapter: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    for cls, reply in _samples().items():
        caplog.clear()
        rendered = RENDERERS[adapter](reply)
        unrendered = [r.getMessage() for r in caplog.records if "rendering for" in r.getMessage()]
        assert rendered and not unrendered, f"{adapter} has no renderer for {cls.__name__}"
        assert cls.__name__ not in str(rendered), f"{adapter} shows {cls.__name__} by its class name"


@pytest.mark.parametrize("adapter", sorted(RENDERERS))
def test_the_guard_sees_a_reply_kind_nobody_renders(adapter: str, caplog: pytest.LogCaptureFixture) -> None:
    @dataclass
    class Unheard(Reply):
        text: str = "something new"

    caplog.set_level(logging.WARNING)
    RENDERERS[adapter](Unheard())
    assert any("rendering for Unheard" in r.getMessage() for r in caplog.records)


# The shell and Slack dispatch on the reply's type (functools.singledispatch): a subclass of a kind
# they render (a new `...Reply(TextReply)`) would silently borrow its parent's renderer, so each kind
# must be registered with a renderer of its own.
DISPATCHERS = {"shell": shell_render, "slack": blocks.reply_message}


def _unregistered(dispatcher: Any, kinds: set[type]) -> list[str]:
    return sorted(cls.__name__ for cls in kinds if cls not in dispatcher.registry)


@pytest.mark.parametrize("adapter", sorted(DISPATCHERS))
def test_every_reply_kind_is_registered_with_its_own_renderer(adapter: str) -> None:
    import teambot.bootstrap  # noqa: F401  (imports every feature, so every Reply subclass is known)

    kinds = {cls for cls in _subclasses(Reply) if cls.__module__.startswith("teambot.")}
    missing = _unregistered(DISPATCHERS[adapter], kinds)
    assert not missing, f"{adapter} renders {missing} with another kind's renderer: register one of their own"


@pytest.mark.parametrize("adapter", sorted(DISPATCHERS))
def test_the_registry_check_sees_a_borrowed_renderer(adapter: str) -> None:
    @dataclass
    class Echo(TextReply):
        pass

    assert DISPATCHERS[adapter].dispatch(Echo) is DISPATCHERS[adapter].dispatch(TextReply)  # borrowed unseen
    assert _unregistered(DISPATCHERS[adapter], {Echo, TextReply}) == ["Echo"]
