"""Notices (DMs and channel posts, paced), App Home, and the time zones people see."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from teambot.core.ports import Attachment, Notice, Recipient
from teambot.slack.pacing import Pacer
from tests.helpers import FakeClock
from tests.slack.conftest import TEAM, Slack, action_ids, all_text


async def test_pacer_queues_bursts_per_channel_in_order() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(d: float) -> None:
        slept.append(d)

    pacer = Pacer(interval=1.0, clock=lambda: now[0], sleep=sleep)
    # A burst of four to one channel: each waits one more second than the one before; none dropped.
    assert [pacer.reserve("C1") for _ in range(4)] == [0.0, 1.0, 2.0, 3.0]
    assert pacer.reserve("C2") == 0.0  # another channel is not held up
    now[0] += 2.5
    assert pacer.reserve("C1") == 1.5  # still behind the burst
    now[0] += 60
    await pacer.wait("C1")
    await pacer.wait("C1")
    assert slept == [1.0]  # the first goes at once, the second a second later


async def test_notices_of_any_kind_reach_slack_with_their_buttons(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("Soup was cold")
    notify = slack.container.notifier.notify
    await notify(
        Recipient("user", "U5", "slack"),
        Notice("nudge_unowned", "Case #1 has no owner after 15 min.", TEAM, 1, {"number": 1}),
    )
    await notify(
        Recipient("user", "U5", "slack"),
        Notice("followup_due", "Follow up case #1 today.", TEAM, 1, {"number": 1}),
    )
    for week in range(3):
        await notify(
            Recipient("channel", "C7", "slack"),
            Notice("digest", f"Weekly digest {week}\n*3 cases* closed", TEAM),
        )
    await slack.idle()
    nudge, followup = fake.posts("U5")
    assert action_ids(nudge) == ["case:claim", "case:snooze", "case:show"]  # core/notice_actions.py, as on Teams
    assert action_ids(followup) == ["case:followup_yes", "case:followup_no", "case:snooze", "case:show"]
    assert [p["text"].split("\n")[0] for p in fake.posts("C7")] == [f"Weekly digest {w}" for w in range(3)]
    # Buttons on a DM work like the card's: Claim claims, and the DM becomes the fresh card.
    _, _, key = await slack.click("case:claim", "1", user="U5", channel="D5", message_ts="1790000000.777777")
    assert (await slack.case(1)).owner_id == "U5"
    assert "case:apologise" in action_ids(fake.to(key)[-1])
    _, _, key = await slack.click("case:followup_yes", "1", user="U5", channel="D5")
    view = fake.last_view("followup")
    satisfied = next(b for b in view["blocks"] if b.get("block_id") == "satisfied")
    assert satisfied["element"]["initial_option"]["value"] == "yes"
    _, _, key = await slack.click("case:snooze", "1|1d", user="U5", channel="D5")
    assert fake.to(key) and fake.to(key)[-1]["response_type"] == "ephemeral"  # a snooze answer or a refusal
    _, _, key = await slack.click("case:show", "1", user="U5", channel="D5")
    assert "case:apologise" in action_ids(fake.to(key)[-1])


async def test_notices_without_an_installation_are_logged_not_raised(slack: Slack) -> None:
    slack.runtime.single_token = None  # as if OAuth with nothing installed for this team
    await slack.container.notifier.notify(
        Recipient("user", "U5", "slack"), Notice("handover", "Yours now", "T404")
    )
    await slack.idle()
    assert slack.fake.posts("U5") == []


async def test_times_are_shown_in_each_persons_zone(slack: Slack, clock: FakeClock) -> None:
    fake = slack.fake
    fake.time_zones.update({"U1": "America/New_York", "U2": "Asia/Tokyo"})
    await slack.command("Soup was cold", user="U1")
    ts = (await slack.case(1)).card_ref["ts"]  # type: ignore[index]
    await slack.click("case:claim", "1", user="U1", message_ts=ts)
    await slack.click("case:step", "1", user="U1", message_ts=ts)
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    picked = (clock.now().astimezone(ZoneInfo("America/New_York")) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )  # the datetimepicker shows U1's own zone and sends epoch seconds
    await slack.submit(fake.last_view("step"), {"text": "Call her", "owner": "U1", "due": int(picked.timestamp())})
    await slack.command("step 1 Send flowers due tomorrow 10:00", user="U2")
    from teambot.core.cases.queries import case_detail

    detail = await case_detail(slack.container.db, TEAM, 1)
    ny, tokyo = (s.due_at for s in detail.steps)
    assert ny is not None and tokyo is not None
    assert ny.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York")).hour == 10
    assert tokyo.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo")).hour == 10
    card = all_text(slack.card_updates(ts)[-1])
    assert f"<!date^{int(ny.timestamp())}^" in card and f"<!date^{int(tokyo.timestamp())}^" in card
    assert len(fake.of("users.info")) <= 3  # cached: one lookup per person


async def test_app_home(slack: Slack, clock: FakeClock) -> None:
    fake = slack.fake
    s = slack.container.service
    for i, owner in enumerate(["U1", "U1", "U2", "U1"], 1):
        await s.open_case(TEAM, "C1", "U9", f"Problem {i}", platform="slack")
        await s.claim(TEAM, i, owner)
    for n in (1, 3):
        owner = "U1" if n == 1 else "U2"
        await s.apologise(TEAM, n, owner, "phone")
        await s.resolve(TEAM, n, owner, "Fixed", "Cause")
    await s.answer_followup(TEAM, 3, "U2", True, 4)
    await s.answer_followup(TEAM, 1, "U1", True, 5)
    await s.apologise(TEAM, 2, "U1", "chat")
    await s.resolve(TEAM, 2, "U1", "Fixed", "Cause")
    await slack.container.shoutouts.give(TEAM, "U1", "U2", "great save", platform="slack")
    await slack.idle()
    status, _ = await slack.event(
        {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home", "event_ts": "1.2"}
    )
    assert status == 200
    [published] = fake.of("views.publish")
    assert published["user_id"] == "U1"
    home = all_text(published["view"])
    assert "Your open cases* (1)" in home and "Problem 4" in home  # #2 is waiting for its follow-up
    assert "Your follow-ups due* (1)" in home and "*#2*" in home
    assert "Cases owned: 3 · closed: 1" in home and "average score: 5.0/5" in home
    first = home.index("<@U2> · 1 recovered · 1 shout-out · average score 4/5")
    assert first < home.index("<@U1> · 1 recovered · 0 shout-outs · average score 5/5")
    assert "home:open" in action_ids(published["view"])
    # The Messages tab opening publishes nothing.
    await slack.event(
        {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "messages", "event_ts": "1.3"}
    )
    assert len(fake.of("views.publish")) == 1
    # "View" on a case opens it read-only.
    await slack.home_click("case:view", "4")
    shown = fake.of("views.open")[-1]["view"]
    assert "Problem 4" in all_text(shown) and not action_ids(shown)


async def test_the_digest_chart_is_uploaded_into_the_channel_after_the_text(slack: Slack) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"chart" * 100
    chart = Attachment("teambot-digest-T1-2026-W48.png", png, title="Recovery cases, 2026-W48")
    await slack.container.notifier.notify(
        Recipient("channel", "C7", "slack"),
        Notice("digest", "Recovery digest 2026-W48", TEAM, attachments=[chart]),
    )
    (post,) = slack.fake.posts("C7")
    (complete,) = slack.fake.of("files.completeUploadExternal")
    assert complete["channel_id"] == "C7" and not complete.get("thread_ts")  # in the channel, not a thread
    assert post["text"] == "Recovery digest 2026-W48"
    (file_id,) = slack.fake.uploads
    assert slack.fake.uploads[file_id] == png


async def test_outside_a_slack_request_a_refused_notice_raises_for_the_retry(slack: Slack) -> None:
    slack.fake.not_member.add("C8")
    with pytest.raises(SlackApiError):
        await slack.container.notifier.notify(
            Recipient("channel", "C8", "slack"), Notice("nudge_unowned", "Case #1 has no owner", TEAM)
        )


async def test_typed_formatting_and_broadcasts_stay_inert_on_the_card(slack: Slack) -> None:
    await slack.command("Mrs *Bold*: the _soup_ was ~cold~ <!channel> wants: a `refund`")
    card = slack.fake.posts()[0]

    def mrkdwn_texts(node: object) -> list[str]:  # plain_text (the header) cannot format or ping
        if isinstance(node, dict):
            own = [node["text"]] if node.get("type") == "mrkdwn" else []
            return own + [t for v in node.values() for t in mrkdwn_texts(v)]
        return [t for v in node for t in mrkdwn_texts(v)] if isinstance(node, list) else []

    shown = "\n".join([card["text"], *mrkdwn_texts(card["blocks"])])
    for raw in ("*Bold*", "_soup_", "~cold~", "`refund`", "<!channel>"):
        assert raw not in shown, raw
    # Slack's `<!channel>` is read as the `@channel` the person typed: plain text, no ping (issue 22).
    assert "*\u200bBold*\u200b" in shown and "@channel" in shown


async def test_recover_home_and_the_app_home_show_the_core_home_with_approvals_waiting(slack: Slack) -> None:
    """Both render core/cases/home.py's HomeReply (the literal text `HomeReply` was the reply, and the
    App Home, built from its own queries, never showed approvals waiting as Teams' home does)."""
    s = slack.container.service
    await slack.command("policy", user="UADMIN")  # the first person in a team is its admin and approver
    await s.open_case(TEAM, "C1", "U1", "Soup was cold", platform="slack")
    await s.claim(TEAM, 1, "U1")
    await s.apologise(TEAM, 1, "U1", "phone")
    await slack.command("grant 1 Free dinner for two", user="U1")  # above the member limit: a request
    await slack.idle()
    _, _, key = await slack.command("home", user="UADMIN")
    said = " ".join(all_text(m) for m in slack.fake.to(key))
    assert "HomeReply" not in said and "Your open cases* (0)" in said
    assert "Approvals waiting* (1)" in said and "Free dinner for two" in said and "<@U1>" in said
    await slack.event({"type": "app_home_opened", "user": "UADMIN", "channel": "D1", "tab": "home", "event_ts": "1.2"})
    view = slack.fake.of("views.publish")[-1]["view"]
    assert "Approvals waiting* (1)" in all_text(view) and "Free dinner for two" in all_text(view)
    assert {"approval:approve", "approval:deny", "home:open"} <= set(action_ids(view))
    _, _, key = await slack.command("home", user="U1")  # not an approver: no approvals part
    said = " ".join(all_text(m) for m in slack.fake.to(key))
    assert "Your open cases* (1)" in said and "Approvals waiting" not in said
