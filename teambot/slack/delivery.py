"""What the person sees after a Slack request: a form opened, a new or refreshed case card, a
private answer. Shared by the listeners; every function takes the `SlackIntake` they run with.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from teambot.core.cases.queries import CaseDetail, case_detail
from teambot.core.cases.replies import CaseReply
from teambot.core.commands.intents import SendForm
from teambot.core.commands.replies import FormReply, Reply
from teambot.core.db import Database
from teambot.core.errors import DomainError
from teambot.core.i18n import gettext as _
from teambot.core.improvement.costs import list_causes
from teambot.core.intake.models import IntakeItem
from teambot.core.intake.queue import card_key
from teambot.core.leases import intake_backoff as backoff
from teambot.slack import blocks, modals
from teambot.slack.cards import error_code, post_card, refresh_card, send_response, tell
from teambot.slack.intake import SlackIntake
from teambot.slack.requests import Request

if TYPE_CHECKING:
    from teambot.core.cases.opening import OpenedCase

log = logging.getLogger(__name__)


async def team_causes(db: Database, team: str, cause_id: int | None) -> tuple[list[str], str | None]:
    """The team's causes for the resolve modal, and the one the case is filed under (preselected)."""
    found = await list_causes(db, team)
    return [x.name for x in found], next((x.name for x in found if x.id == cause_id), None)


async def open_view(desk: SlackIntake, client: AsyncWebClient, trigger_id: str, view: dict[str, Any], user: str,
                    channel: str | None, response_url: str | None) -> None:  # fmt: skip
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("views.open failed: %s", error_code(exc))
        await tell(desk.runtime, client, user=user, channel=channel, response_url=response_url,
                   message=blocks.error_message(_("Slack did not let me open the form in time (it allows about 3 "
                                                  "seconds). Press the button or run the command again.")))  # fmt: skip


async def open_form(desk: SlackIntake, client: AsyncWebClient, team: str, user: str, trigger_id: str,
                    meta: dict[str, Any], prefill: dict[str, Any] | None = None, ask_channel: bool = False) -> None:  # fmt: skip
    policy = await desk.container.service.policy(team, user, "slack")
    view = modals.open_case(policy.categories, meta, prefill=prefill, ask_channel=ask_channel)
    await open_view(desk, client, trigger_id, view, user, meta.get("channel"), meta.get("response_url"))


async def deliver(desk: SlackIntake, client: AsyncWebClient, reply: Reply, request: Request, *,
                  trigger_id: str | None = None, clicked_ts: str | None = None, from_card: bool = False,
                  source: dict[str, Any] | None = None) -> None:  # fmt: skip
    """Show a command's reply: a new card in the channel, a refreshed card, or a private answer."""
    team, user, channel, response_url = request.team, request.user, request.channel, request.url
    now = desk.container.clock.now()
    if isinstance(reply, FormReply) and trigger_id:
        await open_form(desk, client, team, user, trigger_id, {"channel": channel, "response_url": response_url})
        return
    if isinstance(reply, CaseReply) and reply.opened is not None:
        await _post_new_card(desk, client, reply.opened, request, source)
        return
    if isinstance(reply, CaseReply) and reply.public and reply.detail is not None:
        await _refresh_after_step(desk, client, reply, reply.detail, request, clicked_ts, from_card)
        return
    person = await desk.runtime.people.get(client, team, user)
    await tell(desk.runtime, client, user=user, channel=channel, response_url=response_url,
               message=blocks.reply_message(reply, now, person.tz))  # fmt: skip


async def _post_new_card(desk: SlackIntake, client: AsyncWebClient, opened: OpenedCase, request: Request,
                         source: dict[str, Any] | None) -> None:  # fmt: skip
    if opened.duplicate:
        if opened.case.opened_by != request.user:
            await tell(desk.runtime, client, user=request.user, channel=request.channel, response_url=request.url,
                       message=blocks.text_message(_("That is already case #%(number)s.") % {"number": opened.case.number}))  # fmt: skip
        return
    key = card_key("slack", opened.case.id)
    row, fresh = await desk.intake.take_card_row(key)  # fresh: the case is brand new
    if row is None and await desk.intake.held_elsewhere(key):
        return  # another process is posting it
    try:
        await post_card(desk.runtime, client, opened, channel=opened.case.channel_id, user=request.user,
                        response_url=request.url, source=source, row=row, fresh=fresh)  # fmt: skip
    except BaseException:
        if row is not None:
            await asyncio.shield(desk.intake.release(row, delay=backoff(row.attempts)))
        raise


async def _refresh_after_step(desk: SlackIntake, client: AsyncWebClient, reply: CaseReply, detail: CaseDetail,
                              request: Request, clicked_ts: str | None, from_card: bool) -> None:  # fmt: skip
    number = detail.case.number

    async def refresh(_: IntakeItem | None, fresh: bool, done: dict[str, Any]) -> bool:
        return await refresh_card(desk.runtime, client, request.team, number, response_url=request.url,
                                  clicked_ts=clicked_ts, detail=detail if fresh else None, done=done)  # fmt: skip

    await desk.with_card_row(detail.case.id, refresh)
    if not from_card or reply.approval is not None or reply.choices:  # "Filed under ... [Change cause]"
        await tell(desk.runtime, client, user=request.user, channel=request.channel, response_url=request.url,
                   message=blocks.step_message(reply.message, reply.choices))  # fmt: skip


async def after_decision(desk: SlackIntake, client: AsyncWebClient, reply: Reply, request: Request) -> None:
    """An approver's answer: the DM with the buttons becomes the verdict, then the case card is refreshed."""
    if not isinstance(reply, CaseReply) or reply.detail is None:
        await deliver(desk, client, reply, request)
        return
    detail = reply.detail
    number = detail.case.number
    if request.url:  # the DM with the buttons becomes the verdict, so nobody presses twice
        await send_response(request.url, {**blocks.decided_message(reply.message, number), "replace_original": True})

    async def refresh(_: IntakeItem | None, fresh: bool, done: dict[str, Any]) -> bool:
        return await refresh_card(desk.runtime, client, request.team, number, detail=detail if fresh else None, done=done)

    await desk.with_card_row(detail.case.id, refresh)


async def open_step_modal(desk: SlackIntake, client: AsyncWebClient, trigger: str, team: str, user: str, step: str,
                          number: int, meta: dict[str, Any]) -> None:  # fmt: skip
    """A card button that needs input: its form, filled from the case as it is now."""
    try:
        detail = await case_detail(desk.container.db, team, number)
    except DomainError as err:
        await tell(desk.runtime, client, user=user, channel=meta["channel"], response_url=meta["response_url"],
                   message=blocks.error_message(str(err)))  # fmt: skip
        return
    if step == "view":
        person = await desk.runtime.people.get(client, team, user)
        card = blocks.case_card(
            detail, desk.container.clock.now(), person.tz, source=(detail.case.card_ref or {}).get("source")
        )
        await open_view(desk, client, trigger, modals.show(card, number), user, None, None)
        return
    if step == "send":  # owner or admin, and an address: the core says so before the form opens
        ctx = await desk.context_for(client, team, meta["channel"] or "", user, None)
        form = await desk.container.commands.run(SendForm(number=number), ctx)
        if not isinstance(form, FormReply):
            await tell(desk.runtime, client, user=user, channel=meta["channel"], response_url=meta["response_url"],
                       message=blocks.error_message(getattr(form, "text", "")))  # fmt: skip
            return
        view = modals.send(detail, meta, str(form.prefill.get("body", "")))
        await open_view(desk, client, trigger, view, user, meta["channel"], meta["response_url"])
        return
    causes, current = ([], None) if step != "resolve" else await team_causes(desk.container.db, team, detail.case.cause_id)
    builders: dict[str, Callable[[], dict[str, Any]]] = {
        "apologise": lambda: modals.apologise(detail, meta),
        "grant": lambda: modals.grant(detail, meta, user),
        "step": lambda: modals.step(detail, meta, user),
        "resolve": lambda: modals.resolve(detail, meta, causes, current),
        "followup": lambda: modals.followup(detail, meta),
        "followup_yes": lambda: modals.followup(detail, meta, satisfied=True),
        "followup_no": lambda: modals.followup(detail, meta, satisfied=False),
        "handover": lambda: modals.handover(detail, meta),
        "flag": lambda: modals.flag(detail, meta),
        "shoutout": lambda: modals.shoutout(detail, meta),
        "reopen": lambda: modals.reopen(detail, meta),
    }
    await open_view(desk, client, trigger, builders[step](), user, meta["channel"], meta["response_url"])


async def message_source(client: AsyncWebClient, channel: str, meta: dict[str, Any]) -> dict[str, Any] | None:
    """Where a case opened from a message came from: a permalink, the start of the text, its author."""
    try:
        resp = await client.chat_getPermalink(channel=channel, message_ts=meta["msg"])
    except SlackApiError as exc:
        log.info("no permalink for %s/%s: %s", channel, meta["msg"], error_code(exc))
        return None
    return {"link": resp.get("permalink"), "quote": meta.get("quote") or "", "author": meta.get("author")}


def first_input_error(view: dict[str, Any], text: str) -> dict[str, str]:
    ids = [b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"]
    return {str(ids[0]): text} if ids else {}
