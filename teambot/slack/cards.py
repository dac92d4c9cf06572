"""The case card's life: posted once, updated in place with chat.update, its thread the timeline.

`Case.card_ref` remembers where the card is: {"channel", "ts"} for a message the bot posted,
or {"channel", "response_url"} when the bot is not in the channel and the card went out
through the command's response_url; "last_event" is the last timeline event already in the
thread, so a redelivered request or a double click never writes a line twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from teambot.core.cases.models import ApprovalRequest, ApprovalStatus
from teambot.core.cases.opening import OpenedCase
from teambot.core.cases.queries import CaseDetail, case_detail
from teambot.core.commands.context import Context
from teambot.core.errors import DomainError
from teambot.core.i18n import gettext as _
from teambot.core.i18n import use_locale
from teambot.core.intake.models import IntakeItem
from teambot.core.leases import intake_backoff as backoff
from teambot.slack import blocks
from teambot.slack.runtime import SlackRuntime

log = logging.getLogger(__name__)

CARD_EVENT = "teambot_case"
NOT_A_MEMBER = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


def invite_hint(channel: str) -> str:
    """Told to whoever opened a case in a channel the bot is not in: how to let it in."""
    return _(
        "I'm not a member of %(channel)s, so I can't post or update the case card there. The case is open "
        "and its card is shown above for now. To keep the card up to date in this channel, invite me: "
        "type `/invite @Teambot` here (or open the channel details › Integrations › Add apps)."
    ) % {"channel": f"<#{channel}>"}


async def languages(runtime: SlackRuntime, client: AsyncWebClient, team: str, user: str) -> tuple[str, str]:
    """(the person's language, their team's): their own choice in Teambot, else their Slack
    language (users.info include_locale), else the team's. Both lookups are cached."""
    person = await runtime.people.get(client, team, user)
    ctx = Context(team, "", user, platform="slack", tz=person.tz, locale=person.locale)
    return await runtime.container.commands.language_of(ctx)


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
    runtime: SlackRuntime,
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
        await runtime.pacer.wait(user)
        await client.chat_postMessage(channel=user, **message)
    except SlackApiError as exc:
        log.warning("could not reach %s at all: %s", user, error_code(exc))


async def _tz_for(runtime: SlackRuntime, client: AsyncWebClient, detail: CaseDetail) -> str:
    """The card's fallback times use its owner's zone (or its opener's); Slack shows each reader theirs."""
    case = detail.case
    person = await runtime.people.get(client, case.team_id, case.owner_id or case.opened_by)
    return person.tz


async def _render(runtime: SlackRuntime, client: AsyncWebClient, detail: CaseDetail) -> dict[str, Any]:
    ref = detail.case.card_ref or {}
    tz = await _tz_for(runtime, client, detail)
    with use_locale(detail.policy.language):  # a card is the channel's: the team's language
        return blocks.case_card(detail, runtime.container.clock.now(), tz, source=ref.get("source"))


async def post_card(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    opened: OpenedCase,
    *,
    channel: str,
    user: str,
    response_url: str | None = None,
    source: dict[str, Any] | None = None,
    row: IntakeItem | None = None,
    fresh: bool = False,
) -> None:
    """Show a new case's card in its channel, once, whatever the number of redeliveries.

    `row` is the case's card row (the outbox), held by the caller: it is finished once the thread
    is in step too, or handed back for a retry when that fails. `fresh`: the row was armed for this
    process by the very transaction that opened the case, so nobody can have posted its card and
    the detail opening built is current (nothing is read again, the channel's history is not searched)."""
    team, number = opened.case.team_id, opened.case.number
    async with runtime.case_lock(team, number):
        detail = opened.detail if fresh and opened.detail is not None else None
        if detail is None:
            detail = await case_detail(runtime.container.db, team, number)
        ref = await ensure_posted(runtime, client, detail, channel=channel, user=user, response_url=response_url,
                                  source=source, searched=not fresh, write=row is None)  # fmt: skip
    # Thread lines wait for Slack's one-message-a-second pace in that channel: they go out in
    # their own task, so the listener's work slot is free again as soon as the card is up.
    runtime.spawn(_thread_after_card(runtime, client, opened, row, detail, ref))


PLACE_KEYS = ("channel", "ts", "last_event", "source", "response_url")


def place(ref: dict[str, Any]) -> dict[str, Any]:
    """The keys of `card_ref` the card row's holder owns (others are merged around them)."""
    return {k: ref[k] for k in PLACE_KEYS if k in ref}


def card_metadata(team: str, number: int) -> dict[str, Any]:
    """Slack message metadata naming the case: how a card posted just before a crash is found again."""
    return {"event_type": CARD_EVENT, "event_payload": {"team": team, "case": number}}


async def ensure_posted(
    runtime: SlackRuntime, client: AsyncWebClient, detail: CaseDetail, *, channel: str, user: str,
    response_url: str | None = None, source: dict[str, Any] | None = None, searched: bool = True,
    write: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """The card's place, posting it when it has none. Called under the case lock, holding its card row.

    Every card carries message metadata naming the case. A holder that cannot be sure nobody posted
    before it (`searched`: it took the row over, or the row was re-armed) looks for that message in
    the channel's history (include_all_metadata) before posting, so a crash between a post and the
    recording of its ts never leaves a second card. With `write=False` the caller records the
    returned place (with the row's finish, in one transaction)."""
    team, number = detail.case.team_id, detail.case.number
    service = runtime.container.service
    ref = dict(detail.case.card_ref or {})
    if ref.get("ts") or ref.get("response_url"):
        return ref
    if searched:
        found = await _find_posted(client, str(ref.get("channel") or channel), detail)
        if found is not None:
            ref.update(channel=found[0], ts=found[1])
            ref.pop("posting", None)
            await service.write_card_ref(team, number, place(ref))
            log.info("card of case #%s found in the channel after a restart", number)
            return ref
    if source:
        detail.case.card_ref = {**ref, "source": source}
    source = source or ref.get("source")
    first_event = int(ref.get("last_event") or (detail.events[0].id if detail.events else 0) or 0)
    msg = await _render(runtime, client, detail)
    new_ref: dict[str, Any] = {"channel": channel, "last_event": first_event, "source": source}
    try:
        await runtime.pacer.wait(channel)
        resp = await client.chat_postMessage(channel=channel, unfurl_links=False,
                                             metadata=card_metadata(team, number), **msg)  # fmt: skip
        new_ref.update(channel=resp["channel"], ts=resp["ts"])
    except SlackApiError as exc:
        if error_code(exc) not in NOT_A_MEMBER:
            raise
        await _show_without_membership(runtime, client, new_ref, msg, channel, user, response_url)
    ref = {**{k: v for k, v in ref.items() if k != "posting"}, **new_ref}
    if write:
        await service.write_card_ref(team, number, place(ref))
    return ref


async def _find_posted(client: AsyncWebClient, channel: str, detail: CaseDetail) -> tuple[str, str] | None:
    """The card of this case in the channel's history since it opened, by its message metadata."""
    oldest = f"{detail.case.opened_at.timestamp() - 60:.6f}"
    cursor: str | None = None
    for _page in range(20):  # 20 pages of 200 messages: far more than a channel says in a crash window
        try:
            resp = await client.conversations_history(channel=channel, oldest=oldest, limit=200, cursor=cursor,
                                                      include_all_metadata=True)  # fmt: skip
        except SlackApiError as exc:
            log.warning("history of %s not read: %s", channel, error_code(exc))
            return None
        for m in resp.get("messages") or []:
            meta = m.get("metadata") or {}
            pl = meta.get("event_payload") or {}
            if meta.get("event_type") == CARD_EVENT and pl.get("team") == detail.case.team_id \
                    and int(pl.get("case") or 0) == detail.case.number and not m.get("thread_ts"):
                return str(resp.get("channel") or channel), str(m["ts"])
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return None
    return None


async def card_job(runtime: SlackRuntime, item: IntakeItem) -> None:
    """The card outbox's handler: post the card if the case has none, else update it and its thread.

    Runs in whichever process holds the case's card row: the request's own one, or after a crash
    (its lease ran out) or a deploy (handed back) any other. Failures raise, so the row is retried."""
    team, number = str(item.payload["team"]), int(item.payload["number"])
    client = await runtime.client_for(team)
    if client is None:
        raise RuntimeError(f"no Slack token for workspace {team}")
    async with runtime.case_lock(team, number):
        try:
            detail = await case_detail(runtime.container.db, team, number)
        except DomainError:
            return  # erased or never there: nothing to show
        had = bool((detail.case.card_ref or {}).get("ts"))
        ref = await ensure_posted(runtime, client, detail, channel=detail.case.channel_id, user=detail.case.opened_by)
        if had and ref.get("ts"):
            msg = await _render(runtime, client, detail)
            await client.chat_update(channel=ref["channel"], ts=ref["ts"], **msg)
        await _close_answered_approval_dms(runtime, client, detail, ref)
        await _sync_thread(runtime, client, detail, ref)


async def _thread_after_card(
    runtime: SlackRuntime, client: AsyncWebClient, opened: OpenedCase, row: IntakeItem | None,
    detail: CaseDetail, ref: dict[str, Any],
) -> None:  # fmt: skip
    """The new card's thread (the customer's earlier cases, any event after opening), then the card
    row is finished with the card's place in one transaction. Later changes re-armed the row (a newer
    generation), so the row stays pending for them: nothing here needs a fresh read."""
    team, number = opened.case.team_id, opened.case.number
    intake = runtime.container.intake
    try:
        async with runtime.case_lock(team, number):
            ref = dict(ref)
            await _thread_extras(runtime, client, opened, ref, detail.policy.language)
            await _sync_thread(runtime, client, detail, ref, write=row is None)
    except BaseException:
        if row is not None:
            with contextlib.suppress(Exception):
                await runtime.container.service.write_card_ref(team, number, place(ref))
            await asyncio.shield(intake.release(row, delay=backoff(row.attempts)))
        raise
    if row is not None:
        await intake.finish(row, card_ref=(opened.case.id or 0, place(ref)))


async def _show_without_membership(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    ref: dict[str, Any],
    msg: dict[str, Any],
    channel: str,
    user: str,
    response_url: str | None,
) -> None:
    hint = blocks.text_message(invite_hint(channel))
    if response_url and await send_response(response_url, {**msg, "response_type": "in_channel"}):
        ref["response_url"] = response_url
        await tell(runtime, client, user=user, message=hint, response_url=response_url)
        return
    # No way into that channel at all (a modal from App Home): the card goes to the opener's DM.
    await runtime.pacer.wait(user)
    resp = await client.chat_postMessage(channel=user, unfurl_links=False, **msg)
    ref.update(channel=resp["channel"], ts=resp["ts"])
    await tell(runtime, client, user=user, message=hint, channel=resp["channel"])


async def _thread_extras(
    runtime: SlackRuntime, client: AsyncWebClient, opened: OpenedCase, ref: dict[str, Any], language: str
) -> None:
    """What the opener should know at once: the customer's earlier cases (history matters)."""
    if not ref.get("ts") or not opened.earlier_cases or not opened.case.customer_name:
        return
    with use_locale(language):  # the thread is the channel's: the team's language
        text = blocks.earlier_cases_text(opened.case.customer_name, opened.earlier_cases)
    await runtime.pacer.wait(ref["channel"])
    await client.chat_postMessage(channel=ref["channel"], thread_ts=ref["ts"], text=text)


async def _sync_thread(
    runtime: SlackRuntime, client: AsyncWebClient, detail: CaseDetail, ref: dict[str, Any], *, write: bool = True
) -> None:
    """One thread line per event the thread has not shown yet; `ref["last_event"]` follows. Each line
    is recorded as it goes (a crash repeats at most the one in flight); the last one is left to the
    caller with `write=False`, which records `ref` with the card row's finish."""
    last = int(ref.get("last_event") or 0)
    new = [e for e in detail.events if (e.id or 0) > last]
    if not new:
        return
    team, number = detail.case.team_id, detail.case.number
    service = runtime.container.service
    if not ref.get("ts"):
        ref["last_event"] = new[-1].id or last
        if write:
            await service.write_card_ref(team, number, {"last_event": ref["last_event"]})
        return
    for k, event in enumerate(new):
        await runtime.pacer.wait(ref["channel"])
        with use_locale(detail.policy.language):  # the thread is the channel's: the team's language
            line = blocks.timeline_text(event.actor, event.kind, event.data)
        await client.chat_postMessage(channel=ref["channel"], thread_ts=ref["ts"], text=line)
        ref["last_event"] = event.id or last
        if write or k < len(new) - 1:
            await service.write_card_ref(team, number, {"last_event": ref["last_event"]})


async def refresh_card(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    team: str,
    number: int,
    *,
    response_url: str | None = None,
    clicked_ts: str | None = None,
    detail: CaseDetail | None = None,
    done: dict[str, Any] | None = None,
) -> bool:
    """Bring the card (and its thread) up to date after any step; False when Slack refused the update
    (the caller hands the card row back, so the outbox retries it).

    `response_url`/`clicked_ts` describe the message a button was pressed on: when that is not
    the card the bot can chat.update (an ephemeral copy, a DM nudge, a card shown through a
    response_url), that message is replaced with the fresh card too. `detail`: the case as the
    step's own transaction left it, given by a caller holding a card row armed for it by that
    step (so nobody changed the card's bookkeeping since): nothing is read again. With `done`, the
    thread's last recorded line is put there for the caller to record with the row's finish.
    """
    async with runtime.case_lock(team, number):
        if detail is None:
            try:
                detail = await case_detail(runtime.container.db, team, number)
            except DomainError:
                return True
        ref = detail.case.card_ref or {}
        msg = await _render(runtime, client, detail)
        updated = True
        if ref.get("ts"):
            try:
                await client.chat_update(channel=ref["channel"], ts=ref["ts"], **msg)
            except SlackApiError as exc:
                log.warning("card of case #%s not updated: %s", number, error_code(exc))
                updated = False
            except (
                aiohttp.ClientError,
                TimeoutError,
            ) as exc:  # the step is done; the next refresh catches up
                log.warning("card of case #%s not updated: %s", number, type(exc).__name__)
                updated = False
        if response_url and (clicked_ts is None or clicked_ts != ref.get("ts")):
            await send_response(response_url, {**msg, "replace_original": True})
        await _close_answered_approval_dms(runtime, client, detail, ref)
        ref = dict(ref)
        await _sync_thread(runtime, client, detail, ref, write=done is None)
        if done is not None and "last_event" in ref:
            done["last_event"] = ref["last_event"]
        return updated


def verdict(req: ApprovalRequest) -> str:
    """What an answered approval request's DM says once its buttons are gone."""
    facts = {"gesture": req.gesture, "who": f"<@{req.decided_by}>", "id": req.id}
    if req.status == ApprovalStatus.APPROVED:
        return _("%(gesture)s: approved by %(who)s (request %(id)s).") % facts
    if req.status == ApprovalStatus.DENIED:
        return _("%(gesture)s: denied by %(who)s (request %(id)s).") % facts
    return _("%(gesture)s: withdrawn (request %(id)s).") % facts


async def _close_answered_approval_dms(
    runtime: SlackRuntime, client: AsyncWebClient, detail: CaseDetail, ref: dict[str, Any]
) -> None:
    """Once one approver answers, the other approvers' DMs lose their buttons too."""
    dms: dict[str, list[list[str]]] = ref.get("approval_dms") or {}
    answered = [a for a in detail.approvals if str(a.id) in dms and a.status.value != "pending"]
    for req in answered:
        with use_locale(detail.policy.language):  # each approver's DM, closed in the team's language
            closed = blocks.decided_message(verdict(req), detail.case.number)
        for channel, ts in dms[str(req.id)]:
            try:
                await client.chat_update(channel=channel, ts=ts, **closed)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("approval DM %s/%s not closed: %s", channel, ts, type(exc).__name__)
    if answered:
        done = {str(a.id) for a in answered}
        await runtime.container.service.update_card_ref(
            detail.case.team_id,
            detail.case.number,
            lambda old: {
                **old,
                "approval_dms": {k: v for k, v in (old.get("approval_dms") or {}).items() if k not in done},
            },
        )
