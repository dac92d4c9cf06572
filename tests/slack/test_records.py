"""Issue 14 over signed Slack requests: the typo button runs the command; the card's menus."""

from __future__ import annotations

from teambot.core.cases.models import CaseStatus
from tests.slack.conftest import Slack, action_ids, all_text


async def test_slack_typo_button_runs_the_command_and_menus_on_the_card(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("Soup arrived cold", user="U1")
    _, _, key = await slack.command("clam 1", user="U2")
    [answer] = fake.to(key)
    assert "Did you mean `/recover claim 1`?" in all_text(answer) and "run:0" in action_ids(answer)
    assert len(await slack.cases()) == 1  # the typo opened nothing
    await slack.click("run:0", "claim 1", user="U2")
    case = await slack.case(1)
    assert case.owner_id == "U2"
    card = slack.card_updates(case.card_ref["ts"])[-1]  # type: ignore[index]
    assert {"case:category", "case:cancel"} <= set(action_ids(card))
    await slack.click("case:category", "1|delivery", user="U2", selected=True)
    assert (await slack.case(1)).category == "delivery"
    await slack.click("case:cancel", "1|mistake", user="U2", selected=True)
    case = await slack.case(1)
    assert case.status == CaseStatus.CANCELLED and case.cancel_reason == "mistake"
