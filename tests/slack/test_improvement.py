"""The improvement loop over signed Slack requests: the resolve says where the root cause was filed
with a [Change cause] button, which offers the team's causes; /recover causes, actions and
action done answer in Slack's blocks."""

from __future__ import annotations

from tests.slack.conftest import Slack, action_ids, all_text


async def test_slack_files_ranks_and_follows_actions(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("policy cause add Heat lamp", user="U1")  # the first user is the admin
    await slack.command("policy cause add Housekeeping", user="U1")
    await slack.command("Mr Lee: plates arrived cold", user="U1")
    await slack.command("claim 1", user="U1")
    await slack.command("apologise 1 in_person so sorry", user="U1")
    _, _, key = await slack.command("resolve 1 replated | the heat lamp on the pass was dead", user="U1")
    said = fake.to(key)[-1]
    assert "filed under *Heat lamp*" in all_text(said) and "run:0" in action_ids(said)
    _, _, key = await slack.click("run:0", "cause 1", user="U1")
    choices = fake.to(key)[-1]
    assert "File under which cause?" in all_text(choices)
    assert action_ids(choices) == ["run:0", "run:1"]  # Heat lamp, Housekeeping
    await slack.click("run:1", "cause 1 Housekeeping", user="U1")
    assert (await slack.case(1)).cause_by == "person"
    await slack.command("cause 1 Heat lamp", user="U1")

    _, _, key = await slack.command("causes", user="U1")
    assert "1. *Heat lamp*: 1 case" in all_text(fake.to(key)[-1]) and "#1" in all_text(fake.to(key)[-1])
    await slack.command("action 1 Replace the pass lamp due in 3 days", user="U1")
    _, _, key = await slack.command("actions", user="U1")
    assert "1. Replace the pass lamp [Heat lamp] · <@U1>" in all_text(fake.to(key)[-1])
    await slack.command("action done 1 new lamp fitted", user="U1")
    _, _, key = await slack.command("actions done", user="U1")
    assert "done" in all_text(fake.to(key)[-1]) and "new lamp fitted" in all_text(fake.to(key)[-1])
    # The App Home shows the admin the causes to fix and the actions they own.
    await slack.command("action 1 Check the pass lamp weekly", user="U1")
    await slack.idle()
    await slack.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home", "event_ts": "1.2"})
    home = all_text(fake.of("views.publish")[-1]["view"])
    assert "Causes to fix first (this month, by cost)" in home and "1. *Heat lamp*: 1 case" in home
    assert "Your improvement actions (1)" in home and "2. Check the pass lamp weekly [Heat lamp]" in home


async def test_the_resolve_modal_offers_the_causes(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("policy cause add Heat lamp", user="U1")
    await slack.command("policy cause add Housekeeping", user="U1")
    await slack.command("Ms Ito: room not made up", user="U1")
    await slack.command("claim 1", user="U1")
    await slack.command("apologise 1 in_person sorry", user="U1")
    case = await slack.case(1)
    await slack.click("case:resolve", "1", user="U1", message_ts=case.card_ref["ts"])  # type: ignore[index]
    view = fake.last_view("resolve")
    cause = next(b for b in view["blocks"] if b.get("block_id") == "cause")
    assert [o["value"] for o in cause["element"]["options"]] == ["Heat lamp", "Housekeeping"] and cause["optional"]
    status, ack = await slack.submit(view, {"summary": "Cleaned it", "root_cause": "the rota had a gap",
                                            "cause": "Housekeeping"}, user="U1")  # fmt: skip
    assert status == 200 and ack is None
    await slack.idle()
    case = await slack.case(1)
    assert case.cause_by == "person" and case.cause_id is not None
    _, _, key = await slack.command("causes", user="U1")
    assert "1. *Housekeeping*: 1 case" in all_text(fake.to(key)[-1])


async def test_naming_a_group_files_every_case_in_one_request(slack: Slack) -> None:
    """The group button files several cases: one request, one transaction (the intake's exactly-once)."""
    fake = slack.fake
    for n, words in enumerate(["heat lamp on the pass was broken", "food waited under a dead heat lamp",
                               "pass heat lamp not working"], 1):  # fmt: skip
        await slack.command(f"Guest {n}: cold plates", user="U1")
        await slack.command(f"claim {n}", user="U1")
        await slack.command(f"apologise {n} in_person sorry", user="U1")
        await slack.command(f"resolve {n} replated | {words}", user="U1")
    _, _, key = await slack.command("causes", user="U1")
    offer = fake.to(key)[-1]
    command = next(e["value"] for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"])
    grouped = [int(x) for x in command.split()[1].split(",")]
    assert command.startswith("cause ") and " new " in command and len(grouped) >= 2
    await slack.click("run:0", command, user="U1")
    await slack.idle()
    assert [c.number for c in await slack.cases() if c.cause_by == "person"] == grouped
    _, _, key = await slack.command("causes", user="U1")
    assert f"{len(grouped)} cases" in all_text(fake.to(key)[-1])
