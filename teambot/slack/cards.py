"""The case card's life: posted once, updated in place with chat.update, its thread the timeline.

`Case.card_ref` remembers where the card is: {"channel", "ts"} for a message the bot posted,
or {"channel", "response_url"} when the bot is not in the channel and the card went out
through the command's response_url; "last_event" is the last timeline event already in the
thread, so a redelivered request or a double click never writes a line twice.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from teambot.core.cases.queries import CaseDetail, case_detail
from teambot.core.cases.service import OpenedCase
from teambot.core.errors import DomainError
from teambot.slack import blocks
from teambot.slack.runtime import SlackRuntime

log = logging.getLogger(__name__)

NOT_A_MEMBER = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
INVITE_HINT = (
    "I'm not a member of <#{channel}>, so I can't post or update the case card there. The case is open "
    "and its card is shown above for now. To keep the card up to date in this channel, invite me: "
    "type `/invite @Teambot` here (or open the channel details › Integrations › Add apps)."
)


def error_code(exc: SlackApiError) -> str:
    return str((exc.response or {}).get("error") or "")


async def send_response(url: str, payload: dict[str, Any]) -> bool:
    """Answer through a response_url (works 5 times within 30 minutes)."""
    try:
        resp = await AsyncWebhookClient(url).send_dict(payload)
    except Exception as exc:
        log.warning("response_url post failed: %s", type(exc).__name__)
        return False
    if resp.status_code != 200:
        log.warning("response_url answered %s: %s", resp.status_code, resp.body[:200])
    return resp.status_code == 200


async def tell(
    rt: SlackRuntime,
    client: AsyncWebClient,
    *,
    user: str,
    message: dict[str, Any],
    channel: str | None = None,
    response_url: str | None = None,
) -> None:
    """Say something only `user` sees: via response_url, else an ephemeral, else a DM."""
    if response_url and await send_response(
        response_url, {**message, "response_type": "ephemeral", "replace_original": False}
    ):
        return
    if channel and not channel.startswith("D"):
        try:
            await client.chat_postEphemeral(channel=channel, user=user, **message)
            return
        except SlackApiError as exc:
            log.info("ephemeral in %s failed (%s); sending a DM", channel, error_code(exc))
    try:
        await rt.pacer.wait(user)
        await client.chat_postMessage(channel=user, **message)
    except SlackApiError as exc:
        log.warning("could not reach %s at all: %s", user, error_code(exc))


async def _tz_for(rt: SlackRuntime, client: AsyncWebClient, detail: CaseDetail) -> str:
    """The card's fallback times use its owner's zone (or its opener's); Slack shows each reader theirs."""
    c = detail.case
    person = await rt.people.get(client, c.team_id, c.owner_id or c.opened_by)
    return person.tz


async def _render(rt: SlackRuntime, client: AsyncWebClient, detail: CaseDetail) -> dict[str, Any]:
    ref = detail.case.card_ref or {}
    tz = await _tz_for(rt, client, detail)
    return blocks.case_card(detail, rt.container.clock.now(), tz, source=ref.get("source"))


async def post_card(
    rt: SlackRuntime,
    client: AsyncWebClient,
    opened: OpenedCase,
    *,
    channel: str,
    user: str,
    response_url: str | None = None,
    source: dict[str, Any] | None = None,
) -> None:
    """Show a new case's card in its channel, once, whatever the number of redeliveries."""
    team, number = opened.case.team_id, opened.case.number
    async with rt.case_lock(team, number):
        detail = await case_detail(rt.container.db, team, number)
        ref = detail.case.card_ref or {}
        if ref.get("ts") or ref.get("response_url"):
            return  # already shown
        if source:
            detail.case.card_ref = {**ref, "source": source}
        first_event = detail.events[0].id if detail.events else 0
        msg = await _render(rt, client, detail)
        new_ref: dict[str, Any] = {"channel": channel, "last_event": first_event, "source": source}
        try:
            await rt.pacer.wait(channel)
            resp = await client.chat_postMessage(channel=channel, unfurl_links=False, **msg)
            new_ref.update(channel=resp["channel"], ts=resp["ts"])
        except SlackApiError as exc:
            if error_code(exc) not in NOT_A_MEMBER:
                raise
            await _show_without_membership(rt, client, new_ref, msg, channel, user, response_url)
        await rt.container.service.set_card_ref(team, number, new_ref)
    # Thread lines wait for Slack's one-message-a-second pace in that channel: they go out in
    # their own task, so the listener's work slot is free again as soon as the card is up.
    rt.spawn(_thread_after_card(rt, client, opened))


async def _thread_after_card(rt: SlackRuntime, client: AsyncWebClient, opened: OpenedCase) -> None:
    team, number = opened.case.team_id, opened.case.number
    async with rt.case_lock(team, number):
        detail = await case_detail(rt.container.db, team, number)
        ref = detail.case.card_ref or {}
        await _thread_extras(rt, client, opened, ref)
        await _sync_thread(rt, client, detail, ref)


async def _show_without_membership(
    rt: SlackRuntime,
    client: AsyncWebClient,
    ref: dict[str, Any],
    msg: dict[str, Any],
    channel: str,
    user: str,
    response_url: str | None,
) -> None:
    hint = blocks.text_message(INVITE_HINT.format(channel=channel))
    if response_url and await send_response(response_url, {**msg, "response_type": "in_channel"}):
        ref["response_url"] = response_url
        await tell(rt, client, user=user, message=hint, response_url=response_url)
        return
    # No way into that channel at all (a modal from App Home): the card goes to the opener's DM.
    await rt.pacer.wait(user)
    resp = await client.chat_postMessage(channel=user, unfurl_links=False, **msg)
    ref.update(channel=resp["channel"], ts=resp["ts"])
    await tell(rt, client, user=user, message=hint, channel=resp["channel"])


async def _thread_extras(
    rt: SlackRuntime, client: AsyncWebClient, opened: OpenedCase, ref: dict[str, Any]
) -> None:
    """What the opener should know at once: the customer's earlier cases (history matters)."""
    if not ref.get("ts") or not opened.earlier_cases or not opened.case.customer_name:
        return
    text = blocks.earlier_cases_text(opened.case.customer_name, opened.earlier_cases)
    await rt.pacer.wait(ref["channel"])
    await client.chat_postMessage(channel=ref["channel"], thread_ts=ref["ts"], text=text)


async def _sync_thread(
    rt: SlackRuntime, client: AsyncWebClient, detail: CaseDetail, ref: dict[str, Any]
) -> None:
    last = int(ref.get("last_event") or 0)
    new = [e for e in detail.events if (e.id or 0) > last]
    if not new:
        return
    posted = last
    try:
        if ref.get("ts"):
            for event in new:
                await rt.pacer.wait(ref["channel"])
                await client.chat_postMessage(
                    channel=ref["channel"],
                    thread_ts=ref["ts"],
                    text=blocks.timeline_text(event.actor, event.kind, event.data),
                )
                posted = event.id or posted
        else:
            posted = new[-1].id or posted
    finally:
        if posted != last:
            await rt.container.service.set_card_ref(
                detail.case.team_id, detail.case.number, {"last_event": posted}
            )


async def refresh_card(
    rt: SlackRuntime,
    client: AsyncWebClient,
    team: str,
    number: int,
    *,
    response_url: str | None = None,
    clicked_ts: str | None = None,
) -> None:
    """Bring the card (and its thread) up to date after any step.

    `response_url`/`clicked_ts` describe the message a button was pressed on: when that is not
    the card the bot can chat.update (an ephemeral copy, a DM nudge, a card shown through a
    response_url), that message is replaced with the fresh card too.
    """
    async with rt.case_lock(team, number):
        try:
            detail = await case_detail(rt.container.db, team, number)
        except DomainError:
            return
        ref = detail.case.card_ref or {}
        msg = await _render(rt, client, detail)
        if ref.get("ts"):
            try:
                await client.chat_update(channel=ref["channel"], ts=ref["ts"], **msg)
            except SlackApiError as exc:
                log.warning("card of case #%s not updated: %s", number, error_code(exc))
            except (
                aiohttp.ClientError,
                TimeoutError,
            ) as exc:  # the step is done; the next refresh catches up
                log.warning("card of case #%s not updated: %s", number, type(exc).__name__)
        if response_url and (clicked_ts is None or clicked_ts != ref.get("ts")):
            await send_response(response_url, {**msg, "replace_original": True})
        await _close_answered_approval_dms(rt, client, detail, ref)
        await _sync_thread(rt, client, detail, ref)


async def _close_answered_approval_dms(
    rt: SlackRuntime, client: AsyncWebClient, detail: CaseDetail, ref: dict[str, Any]
) -> None:
    """Once one approver answers, the other approvers' DMs lose their buttons too."""
    dms: dict[str, list[list[str]]] = ref.get("approval_dms") or {}
    answered = [a for a in detail.approvals if str(a.id) in dms and a.status.value != "pending"]
    for req in answered:
        verdict = f"{req.gesture}: {req.status.value} by <@{req.decided_by}> (request {req.id})."
        for channel, ts in dms[str(req.id)]:
            try:
                await client.chat_update(
                    channel=channel, ts=ts, **blocks.decided_message(verdict, detail.case.number)
                )
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("approval DM %s/%s not closed: %s", channel, ts, type(exc).__name__)
    if answered:
        done = {str(a.id) for a in answered}
        await rt.container.service.update_card_ref(
            detail.case.team_id,
            detail.case.number,
            lambda old: {
                **old,
                "approval_dms": {k: v for k, v in (old.get("approval_dms") or {}).items() if k not in done},
            },
        )
