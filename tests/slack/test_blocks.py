"""Block Kit limits hold whatever people type: checked with slack_sdk's own model validators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from teambot.core.cases.home import Figures, HomeReply
from teambot.core.cases.models import ApprovalRequest, Case, CaseStatus, Customer, NextStep, TimelineEvent
from teambot.core.cases.queries import CaseDetail
from teambot.core.cases.replies import ListReply
from teambot.core.commands.replies import ErrorReply, TextReply
from teambot.core.errors import BadInput
from teambot.core.policy.rules import new_policy
from teambot.core.ports import Notice
from teambot.core.recognition.shoutouts import LeaderRow
from teambot.slack import blocks, modals

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def check_message(msg: dict[str, Any]) -> None:
    assert 0 < len(msg["blocks"]) <= blocks.MESSAGE_BLOCKS
    assert len(msg["text"]) <= blocks.MESSAGE_TEXT
    for b in msg["blocks"]:
        Block.parse(b).validate_json()  # raises SlackObjectFormationError past a limit
        for el in b.get("elements", []) + ([b["accessory"]] if "accessory" in b else []):
            if el.get("type") == "button":
                assert len(el["text"]["text"]) <= 75 and len(el["value"]) <= 2000
            for o in el.get("options", []):
                assert len(o["text"]["text"]) <= 75 and len(o["value"]) <= 150


def check_view(view: dict[str, Any]) -> None:
    View(**view).validate_json()
    assert len(view["blocks"]) <= blocks.VIEW_BLOCKS
    for b in view["blocks"]:
        Block.parse(b).validate_json()


def huge_detail(steps: int = 40) -> CaseDetail:
    policy = new_policy("T1", "U1", NOW, "slack")
    policy.catalogue = [{"name": "G" * 120, "value": "25"}, *policy.catalogue[:9]]
    policy.categories = [f"category {i} " + "x" * 60 for i in range(150)]
    case = Case(
        id=1, team_id="T1", number=123456789, channel_id="C1", opened_by="U1", opened_at=NOW - timedelta(days=3),
        customer_name="C" * 200, problem="<!channel> " + "P" * 2990, wants="W" * 3000, category="billing",
        status=CaseStatus.OWNED, owner_id="U2", owned_at=NOW - timedelta(days=2), apologised_at=NOW,
        apology_method="phone", apology_words="S" * 1000, updated_at=NOW,
    )  # fmt: skip
    detail = CaseDetail(case=case, policy=policy)
    detail.steps = [
        NextStep(
            id=i,
            team_id="T1",
            case_id=1,
            position=i,
            text="step " + "s" * 995,
            owner_id="U3",
            due_at=NOW + timedelta(days=1),
            created_by="U2",
            created_at=NOW,
        )
        for i in range(1, steps + 1)
    ]
    detail.events = [
        TimelineEvent(
            id=1, team_id="T1", case_id=1, kind="flagged", actor="U2", at=NOW, data={"note": "n" * 1000}
        )
    ]
    detail.customer = Customer(
        id=1,
        team_id="T1",
        key="c",
        name="C" * 200,
        notes=[{"text": "t" * 1000, "by": "U1"}] * 5,
        created_at=NOW,
    )
    return detail


def test_case_card_stays_within_limits_for_the_longest_inputs() -> None:
    detail = huge_detail()
    msg = blocks.case_card(
        detail,
        NOW,
        "Asia/Kolkata",
        source={"link": "https://x.slack.com/p1", "quote": "q" * 5000, "author": "U9"},
    )
    check_message(msg)
    assert msg["blocks"][0]["type"] == "header" and len(msg["blocks"][0]["text"]["text"]) <= 150
    assert msg["blocks"][-1]["type"] == "actions"  # the buttons survive however long the card
    text = str(msg["blocks"])
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text  # typed text cannot ping a channel
    assert "<@U2>" in text  # mentions still work
    assert "/recover timeline 123456789" in text  # says where to see what did not fit
    assert "<!date^" in text  # due times shown in each reader's own zone


def test_small_card_has_everything_and_no_truncation() -> None:
    detail = huge_detail(steps=2)
    detail.case.problem, detail.case.wants, detail.case.apology_words = "Cold soup", "Hot soup", "Sorry"
    detail.customer = None
    detail.case.customer_name = "Mrs Patel"
    detail.events[0].data = {"note": "weekly boiler checks"}
    msg = blocks.case_card(detail, NOW, "UTC")
    check_message(msg)
    text = str([b for b in msg["blocks"] if b["type"] != "actions"])
    assert "…" not in text and "Cold soup" in text and "Next step 2" in text


def test_modals_stay_within_limits() -> None:
    detail = huge_detail()
    meta = {"n": 123456789, "channel": "C1", "response_url": "https://hooks.slack.com/" + "r" * 4000}
    for view in (
        modals.open_case(detail.policy.categories, meta, prefill={"problem": "p" * 40000, "quote_note": "n" * 5000}),
        modals.open_case([], meta, ask_channel=True),
        modals.apologise(detail, meta), modals.grant(detail, meta, None), modals.step(detail, meta, "U1"),
        modals.resolve(detail, meta), modals.followup(detail, meta, True), modals.handover(detail, meta),
        modals.flag(detail, meta), modals.shoutout(detail, meta), modals.reopen(detail, meta),
        modals.deny(7, "g" * 500, meta), modals.show(blocks.case_card(detail, NOW), 123456789),
    ):  # fmt: skip
        check_view(view)
        assert len(view["title"]["text"]) <= 24
    grant = modals.grant(detail, meta, None)
    values = [
        o["value"] for b in grant["blocks"] if b.get("block_id") == "gesture" for o in b["element"]["options"]
    ]
    assert values[0] == "G" * 120  # the whole catalogue name, so the core finds the gesture


def test_replies_and_notices_stay_within_limits() -> None:
    long = "\n".join("line " + "x" * 500 for _ in range(400))
    check_message(blocks.reply_message(TextReply(text=long), NOW))
    check_message(blocks.reply_message(ErrorReply(error=BadInput("e" * 5000), echo="t" * 9000), NOW))
    case = huge_detail(steps=1).case
    cases = [case] * 60
    check_message(blocks.reply_message(ListReply(title="Open", cases=cases), NOW))
    for kind in (
        "approval_request",
        "nudge_unowned",
        "followup_due",
        "step_due",
        "digest",
        "shoutout",
        "brand_new",
    ):
        notice = Notice(kind, long, "T1", 1, {"number": 3, "approval_id": 9, "position": 2})
        check_message(blocks.notice_message(notice))
    approvals = [ApprovalRequest(id=i, team_id="T1", case_id=1, gesture=long, amount_minor=9000, currency="USD",
                                 requested_by="U1", requested_at=NOW) for i in range(30)]  # fmt: skip
    mine = HomeReply(user="U1", open_cases=cases, followups=cases, approvals=approvals, figures=Figures(owned=1))
    home = blocks.home_view(mine, leaderboard=[LeaderRow("U1", shoutouts=2, recovered=3, scores=3, score_total=13)] * 30,
                            now=NOW, tz="UTC")  # fmt: skip
    check_view(home)
    check_message(blocks.reply_message(mine, NOW))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("approval_request", ["approval:approve", "approval:deny", "case:show"]),
        ("nudge_unowned", ["case:claim", "case:snooze", "case:show"]),
        ("nudge_resolve", ["case:resolve", "case:step", "case:snooze", "case:show"]),
        ("followup_due", ["case:followup_yes", "case:followup_no", "case:snooze", "case:show"]),
        ("step_due", ["case:done", "case:snooze", "case:show"]),
        ("shoutout", ["case:show"]),
        ("digest", []),
    ],
)
def test_notice_buttons(kind: str, expected: list[str]) -> None:
    data: dict[str, Any] = {} if kind == "digest" else {"number": 3, "approval_id": 9, "position": 2}
    msg = blocks.notice_message(Notice(kind, "Something happened", "T1", 1, data))
    ids = [el["action_id"] for b in msg["blocks"] if b["type"] == "actions" for el in b["elements"]]
    assert ids == expected
