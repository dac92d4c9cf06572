"""Who may do what, through the adapters: forged or replayed requests write nothing, and one
workspace (or tenant) never reads or changes another's cases, whatever a button or form claims."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func
from sqlmodel import select

from teambot.core.cases.models import ApprovalRequest, ApprovalStatus, Case, Grant, TimelineEvent
from teambot.core.cases.queries import case_detail, list_cases
from tests.slack.conftest import Slack, all_text, sign
from tests.teams.conftest import ALICE, BOB, BOT, TENANT, Teams

FORM = "application/x-www-form-urlencoded"


async def _counts(db: Any) -> dict[str, int]:
    """Row counts of everything a request could write."""
    out = {}
    async with db.session() as s:
        for model in (Case, TimelineEvent, Grant, ApprovalRequest):
            out[model.__name__] = (await s.exec(select(func.count()).select_from(model))).one()
    return out


async def _approval_case(slack: Slack) -> tuple[str, ApprovalRequest]:
    """Workspace T1: an admin, case #1 owned by U1 with a grant waiting for approval."""
    await slack.command("policy", user="UADMIN")
    await slack.command("Mr Jones: secret soup story", user="U1")
    ts = (await slack.case(1)).card_ref["ts"]  # type: ignore[index]
    await slack.click("case:claim", "1", user="U1", message_ts=ts)
    await slack.command("apologise 1 phone", user="U1")
    await slack.command("grant 1 Free dinner 90", user="U1")
    async with slack.container.db.session() as s:
        [req] = (await s.exec(select(ApprovalRequest))).all()
    return ts, req


async def test_forged_stale_and_replayed_interactions_write_nothing(slack: Slack) -> None:
    """The existing command test, extended to buttons, forms and events, and to a *future* timestamp."""
    ts, req = await _approval_case(slack)
    before = await _counts(slack.container.db)
    calls = len(slack.fake.calls)
    claim = urlencode({"payload": json.dumps({
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U9", "team_id": "T1"},
        "api_app_id": "A1", "trigger_id": "t.1", "container": {"type": "message", "message_ts": ts},
        "channel": {"id": "C1"}, "actions": [{"action_id": "approval:approve", "value": str(req.id),
                                             "type": "button", "block_id": "b"}],
    })})  # fmt: skip
    now = int(time.time())
    refused = {
        "unsigned": {},
        "wrong secret": sign(claim, secret="1" * 32),
        "replayed (6 min old)": sign(claim, now - 6 * 60),
        "replayed (a day old)": sign(claim, now - 86400),
        "from the future": sign(claim, now + 6 * 60),
        "signature of another body": sign(claim.replace("U9", "U8")),
        "no timestamp": {"X-Slack-Signature": sign(claim)["X-Slack-Signature"]},
        "garbage timestamp": {**sign(claim), "X-Slack-Request-Timestamp": "yesterday"},
    }
    for why, headers in refused.items():
        status, _ = await slack.post(claim, FORM, headers=headers, signed=False)
        assert status == 401, why
    event = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "event": {"type": "app_home_opened", "user": "U1", "tab": "home"},
        }
    )
    status, _ = await slack.post(event, "application/json", headers=sign(event, now - 301), signed=False)
    assert status == 401
    assert await _counts(slack.container.db) == before
    assert len(slack.fake.calls) == calls  # not even a views.publish or a DM went out
    async with slack.container.db.session() as s:
        assert (await s.get(ApprovalRequest, req.id)).status == ApprovalStatus.PENDING  # type: ignore[union-attr]


async def test_another_workspace_cannot_read_or_change_a_case_by_command_button_form_or_guess(
    slack: Slack,
) -> None:
    fake = slack.fake
    ts, req = await _approval_case(slack)
    await slack.command("policy", team="T2", user="UB")  # T2's admin: an approver, but only in T2
    before = await _counts(slack.container.db)
    card_before = await case_detail(slack.container.db, "T1", 1)

    def private(key: str) -> str:
        answers = fake.to(key)
        assert answers, "every refusal must be told to the person"
        return " ".join(all_text(a) for a in answers)

    # By command.
    for text in ("show 1", "claim 1", "timeline 1", "draft 1", f"approve {req.id}", f"deny {req.id} no",
                 "resolve 1 done | none", "customer Mr Jones", "export-customer Mr Jones", "list"):  # fmt: skip
        _, _, key = await slack.command(text, user="UB", channel="C2", team="T2")
        said = private(key)
        assert "secret soup" not in said and "Mr Jones</" not in said, text
    # By button value tampering: T1's case number and approval id in buttons pressed in T2.
    for action, value in (("case:claim", "1"), ("case:show", "1"), ("case:draft", "1"), ("case:done", "1.1"),
                          ("case:snooze", "1|1h"), ("approval:approve", str(req.id))):  # fmt: skip
        _, _, key = await slack.click(action, value, user="UB", channel="C2", team="T2")
        said = private(key)
        assert "secret soup" not in said, action
    for step in ("grant", "resolve", "view"):  # buttons that would open a form show no form
        opened = len(fake.of("views.open"))
        _, _, key = await slack.click(f"case:{step}", "1", user="UB", channel="C2", team="T2")
        assert len(fake.of("views.open")) == opened and "secret" not in private(key)
    # The Deny button opens its reason form without T1's words; submitting it changes nothing.
    await slack.click("approval:deny", str(req.id), user="UB", channel="D2", team="T2")
    deny_form = fake.last_view("deny")
    assert "Free dinner" not in json.dumps(deny_form)
    await slack.submit(deny_form, {"note": "no"}, user="UB", team="T2")
    # Forms whose private_metadata names T1's case, submitted from T2.
    await slack.click("case:grant", "1", user="U1", message_ts=ts)  # a genuine T1 form...
    grant_form = fake.last_view("grant")
    _, ack = await slack.submit(
        grant_form, {"gesture": "Waived fee"}, user="UB", team="T2"
    )  # ...replayed by T2
    assert ack is None and "There is no case #1 in this team" in all_text(fake.responses[-1][1])
    # By guessing ids: every approval id and case number near the real ones.
    for guess in range(1, 30):
        await slack.click("approval:approve", str(guess), user="UB", channel="D2", team="T2")
        await slack.click("case:claim", str(guess), user="UB", channel="C2", team="T2")

    assert await _counts(slack.container.db) == before  # T2 wrote nothing at all
    after = await case_detail(slack.container.db, "T1", 1)
    assert after.case.version == card_before.case.version and after.case.owner_id == "U1"
    assert [p.status for p in after.pending] == [ApprovalStatus.PENDING]
    assert await list_cases(slack.container.db, "T2") == []


async def test_another_tenant_cannot_reach_a_teams_case_by_card_data(teams: Teams) -> None:
    """Action.Submit data is typed by the client: a tenant-2 user naming tenant-1's ids gets refusals."""
    assert await teams.say(ALICE, "recover policy") == 201
    assert await teams.say(BOB, "recover Mrs Patel: secret tenant one story") == 201
    assert await teams.say(BOB, "recover claim 1") == 201
    assert await teams.say(BOB, "recover apologise 1 phone") == 201
    assert await teams.say(BOB, "recover grant 1 Free dinner 90") == 201
    before = await _counts(teams.container.db)
    detail = await case_detail(teams.container.db, TENANT, 1)
    [req] = detail.pending

    def foreign(**extra: Any) -> dict[str, Any]:
        if "text" in extra:  # typed in a channel: the bot is @mentioned, as Teams sends it
            extra["entities"] = [{"type": "mention", "text": "<at>Teambot</at>", "mentioned": BOT}]
        body = teams.activity(ALICE, **extra)
        body["conversation"]["tenantId"] = "tenant-2"
        body["channelData"]["tenant"] = {"id": "tenant-2"}
        return body

    seen = len(teams.connector.log)
    assert (await teams.post(foreign(text="<at>Teambot</at> recover policy"))).status == 201
    for data in ({"teambot": "claim", "number": 1}, {"teambot": "show", "number": 1},
                 {"teambot": "approve", "approval_id": req.id}, {"teambot": "deny", "approval_id": req.id, "note": "x"},
                 {"teambot": "grant", "number": 1, "gesture": "Waived fee"},
                 {"teambot": "resolve", "number": 1, "summary": "s", "root_cause": "r"},
                 {"teambot": "done", "number": 1, "position": 1}, {"teambot": "draft", "number": 1}):  # fmt: skip
        resp = await teams.post(foreign(value=data, replyToId="act-1"))
        assert resp.status == 201, data
    for text in ("show 1", "timeline 1", f"approve {req.id}", "customer Mrs Patel", "list"):
        assert (await teams.post(foreign(text=f"<at>Teambot</at> recover {text}"))).status == 201
    answers = teams.connector.log[seen:]
    assert answers and all("secret tenant one" not in json.dumps(a.body) for a in answers)
    after = await _counts(teams.container.db)
    assert after == before  # tenant-2's policy row is no case, grant, event or approval
    again = await case_detail(teams.container.db, TENANT, 1)
    assert again.case.version == detail.case.version and again.case.owner_id == detail.case.owner_id
    assert [p.status for p in again.pending] == [ApprovalStatus.PENDING]
