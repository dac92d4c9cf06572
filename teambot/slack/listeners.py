"""Bolt listeners: a durable intake row, then the ack, then the work. Every path ends in something
the person sees.

- Before any ack, the request is parsed once into a small dataclass (slack/requests.py) and
  committed as an intake row (slack/intake.py) held by this process; the work runs after the ack and
  finishes the row. A process that dies leaves the row to be taken over (`TAKEOVER` below runs it
  again by its kind); a redelivery finds the row and adds nothing.
- Each listener is a module-level function; `register` puts them on the app and a middleware hands
  each the SlackIntake in Bolt's `context`. Buttons and forms become intents in slack/actions.py;
  what the person then sees is slack/delivery.py.
- Case cards go through the card outbox: the card row is held while a card is posted or updated.

- `/recover <text>` goes through the shared grammar (Commands.run_text); `/recover` alone opens
  the form. Redeliveries carry the same trigger_id/view id/message, used as the case's
  `source_ref`, so the core returns the case already opened and no second card is posted.
- Card buttons (`case:<step>`) open a modal where input is needed, or run the step at once.
- Modal submissions run the step before acking, so a core refusal that names an input comes
  back as `response_action: errors` on that input; any other refusal closes the modal and is
  told to the person with what they typed.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from teambot.core.cases.models import ApprovalRequest
from teambot.core.commands.intents import Approve
from teambot.core.commands.replies import ErrorReply, Reply
from teambot.core.errors import DomainError
from teambot.core.i18n import gettext as _
from teambot.core.i18n import use_locale
from teambot.core.intake.queue import APPLYING, DONE_WITH_STEP
from teambot.slack import actions, blocks, modals, requests
from teambot.slack.cards import languages, tell
from teambot.slack.delivery import (
    after_decision,
    deliver,
    first_input_error,
    message_source,
    open_form,
    open_step_modal,
    open_view,
)  # fmt: skip
from teambot.slack.home import publish_home
from teambot.slack.intake import OOPS, SlackIntake, request_key
from teambot.slack.requests import (
    ActionRequest,
    CommandRequest,
    DecisionRequest,
    FormRequest,
    RunRequest,
    ViewRequest,
    team_of,
)  # fmt: skip
from teambot.slack.runtime import SlackRuntime

log = logging.getLogger(__name__)

DESK = "teambot_intake"  # where Bolt's context carries the SlackIntake to every listener
SUBMITTED = re.compile(r"^(open|apologise|grant|step|resolve|followup|handover|flag|shoutout|reopen|deny|send)$")


def desk_of(context: AsyncBoltContext) -> SlackIntake:
    desk: SlackIntake = context[DESK]
    return desk


# ----- /recover --------------------------------------------------------------------------------


async def on_recover(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    desk = desk_of(context)
    async with desk.runtime.busy():
        request = requests.slash_command(context, body)
        is_form = isinstance(request, FormRequest)
        item = await desk.record(request_key("cmd", body), request, here=is_form)
        await ack()
        if item is None:
            return  # a redelivery: the first delivery's row carries the work
        if isinstance(request, FormRequest):
            await desk.run_row(item, lambda: do_form(desk, request, client), client, request, queue=False)
            return
        await desk.run_row(item, lambda: do_command(desk, request, client), client, request)


async def do_command(desk: SlackIntake, request: CommandRequest, client: AsyncWebClient) -> None:
    trigger = request.trigger
    ref = f"slack:cmd:{trigger}" if trigger else None
    ctx = await desk.context_for(client, request.team, request.channel or "", request.user, ref)
    reply = await desk.container.commands.run_text(request.text, ctx)
    await deliver(desk, client, reply, request, trigger_id=trigger)


async def do_form(desk: SlackIntake, request: FormRequest, client: AsyncWebClient) -> None:
    await open_form(desk, client, request.team, request.user, request.trigger or "", request.form, request.prefill,
                    ask_channel=request.ask_channel)  # fmt: skip


# ----- message shortcut: turn any message into a case ----------------------------------------------


async def on_shortcut(ack: Any, shortcut: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    desk = desk_of(context)
    async with desk.runtime.busy():
        request = requests.message_shortcut(context, shortcut)
        item = await desk.record(request_key("shortcut", shortcut), request, here=True)
        await ack()
        if item is None:
            return
        await desk.run_row(item, lambda: do_form(desk, request, client), client, request, queue=False)


# ----- card buttons ----------------------------------------------------------------------------


async def on_case_button(ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                         context: AsyncBoltContext) -> None:  # fmt: skip
    desk = desk_of(context)
    async with desk.runtime.busy():
        request = requests.case_button(context, body, action)
        item = await desk.record(request_key("act", body), request, here=actions.opens_form(request.step))
        await ack()
        if item is None:
            return
        await desk.run_row(item, lambda: do_action(desk, request, client), client, request)


async def do_action(desk: SlackIntake, request: ActionRequest, client: AsyncWebClient) -> None:
    number = requests.number_of(request.raw)
    if number is None:
        await tell(desk.runtime, client, user=request.user, channel=request.channel, response_url=request.url,
                   message=blocks.error_message(_("That button names no case.")))  # fmt: skip
        return
    if actions.opens_form(request.step):
        meta = {"n": number, "channel": request.channel, "response_url": request.url, "clicked": request.clicked,
                "from_card": request.from_card}  # fmt: skip
        await open_step_modal(desk, client, request.trigger or "", request.team, request.user, request.step, number,
                              meta)  # fmt: skip
        return
    try:
        intent = actions.button_intent(request.step, number, request.raw)
    except DomainError as err:  # a button no card of ours has (an old app version, a forged one)
        log.warning("refused the card action %r: %s", request.step[:40], err)
        reply: Reply = ErrorReply(error=err, echo=f"{request.step} {number}")
    else:
        ctx = await desk.context_for(client, request.team, request.channel or "", request.user, None)
        reply = await desk.container.commands.run(intent, ctx)
    await deliver(desk, client, reply, request, clicked_ts=request.clicked, from_card=request.from_card)


# ----- "did you mean": a button that runs a command -----------------------------------------------


async def on_run(ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                 context: AsyncBoltContext) -> None:  # fmt: skip
    desk = desk_of(context)
    async with desk.runtime.busy():
        request = requests.run_button(context, body, action)
        item = await desk.record(request_key("run", body), request)  # recorded before the ack, like every request
        await ack()
        if item is None:
            return
        await desk.run_row(item, lambda: do_run(desk, request, client), client, request)


async def do_run(desk: SlackIntake, request: RunRequest, client: AsyncWebClient) -> None:
    ctx = await desk.context_for(client, request.team, request.channel or "", request.user, None)
    reply = await desk.container.commands.run_text(request.text, ctx)
    await deliver(desk, client, reply, request)


# ----- approvals -------------------------------------------------------------------------------


async def on_approval(ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                      context: AsyncBoltContext) -> None:  # fmt: skip
    desk = desk_of(context)
    async with desk.runtime.busy():
        request = requests.decision_button(context, body, action)
        item = await desk.record(request_key("act", body), request, here=request.deny)  # deny opens a form
        await ack()
        if item is None:
            return
        await desk.run_row(item, lambda: do_approval(desk, request, client), client, request)


async def do_approval(desk: SlackIntake, request: DecisionRequest, client: AsyncWebClient) -> None:
    approval_id = request.approval_id
    if approval_id is None:
        return
    if request.deny:
        async with desk.container.db.session() as s:
            asked = await s.get(ApprovalRequest, approval_id)
        gesture = asked.gesture if asked is not None and asked.team_id == request.team else _("the request")
        meta = {"approval_id": approval_id, "channel": request.channel, "response_url": request.url}
        await open_view(desk, client, request.trigger or "", modals.deny(approval_id, gesture, meta), request.user,
                        request.channel, request.url)  # fmt: skip
        return
    ctx = await desk.context_for(client, request.team, request.channel or "", request.user, None)
    reply = await desk.container.commands.run(Approve(approval_id=approval_id, text=f"approve {approval_id}"), ctx)
    await after_decision(desk, client, reply, request)


# ----- modal submissions -----------------------------------------------------------------------


async def on_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                    context: AsyncBoltContext) -> None:  # fmt: skip
    """A form's step runs before its ack, so a refusal naming an input comes back on that input;
    any other refusal closes the form and is told to the person with what they typed."""
    desk = desk_of(context)
    async with desk.runtime.busy():
        request = requests.submission(context, body, view)
        item = await desk.record(request_key("view", body), request, here=True)  # its step runs before the ack
        if item is None:
            await ack()
            return
        token, done = APPLYING.set(item.id), DONE_WITH_STEP.set(True)
        try:
            reply = await submit(desk, request, client)
        except Exception as exc:
            log.exception("modal %s failed", request.name)
            with use_locale(await person_language(desk, request, client)):
                oops = _(OOPS)
            await ack(response_action="errors", errors=first_input_error(view, oops))
            await desk.intake.finish(item, failed=f"{type(exc).__name__}: {exc}"[:300])
            return
        finally:
            APPLYING.reset(token)
            DONE_WITH_STEP.reset(done)
        if isinstance(reply, ErrorReply) and reply.error is not None:
            errors = modals.field_errors(request.name, reply.error.field, reply.text, modals.input_ids(view))
            if errors:
                await ack(response_action="errors", errors=errors)
                await desk.intake.finish(item)
                return
        await ack()
        await desk.run_row(item, lambda: after_submit(desk, request, reply, client), client, request)


async def person_language(desk: SlackIntake, request: ViewRequest, client: AsyncWebClient) -> str:
    return (await languages(desk.runtime, client, request.team, request.user))[0]


async def submit(desk: SlackIntake, request: ViewRequest, client: AsyncWebClient) -> Reply:
    """Run a form's step (before its ack, so a refusal naming an input comes back on that input)."""
    meta, ref = request.meta, None
    if request.name == "open":
        ref = f"slack:msg:{request.channel}:{meta['msg']}" if meta.get("msg") else f"slack:view:{request.view_id}"
    ctx = await desk.context_for(client, request.team, request.channel or "", request.user, ref)
    intent = actions.submitted_intent(request.name, request.vals, meta, ctx.tz)  # a picked time, in their zone
    if intent is None:
        with use_locale(await person_language(desk, request, client)):
            return ErrorReply(error=DomainError(_("That form has lost its case number.")), echo="")
    return await desk.container.commands.run(intent, ctx)


async def after_submit(desk: SlackIntake, request: ViewRequest, reply: Reply, client: AsyncWebClient) -> None:
    if isinstance(reply, ErrorReply) and reply.error is not None:
        echo = "\n".join(f"{k}: {v}" for k, v in request.vals.items() if v)
        await tell(desk.runtime, client, user=request.user, channel=request.channel, response_url=request.url,
                   message=blocks.error_message(reply.text, echo))  # fmt: skip
        return
    if request.name == "deny":
        await after_decision(desk, client, reply, request)
        return
    meta, source = request.meta, None
    if request.name == "open" and meta.get("msg") and request.channel:
        source = await message_source(client, request.channel, meta)
    await deliver(desk, client, reply, request, clicked_ts=meta.get("clicked"), from_card=bool(meta.get("from_card")),
                  source=source)  # fmt: skip


async def do_view(desk: SlackIntake, request: ViewRequest, client: AsyncWebClient) -> None:
    """A form taken over after a crash: its step (unless already applied), then what follows."""
    await after_submit(desk, request, await submit(desk, request, client), client)


async def do_lost_form(desk: SlackIntake, request: FormRequest, client: AsyncWebClient) -> None:
    await desk.lost_form(request, client)


# ----- App Home --------------------------------------------------------------------------------


async def on_home(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient,
                  context: AsyncBoltContext) -> None:  # fmt: skip
    desk = desk_of(context)
    async with desk.runtime.busy():
        if event.get("tab", "home") != "home":
            return
        try:
            team = team_of(context, body)
            with use_locale((await languages(desk.runtime, client, team, event["user"]))[0]):
                await publish_home(desk.runtime, client, team, event["user"])
        except Exception:
            log.exception("App Home not published")


async def on_home_open(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    desk = desk_of(context)
    async with desk.runtime.busy():
        request = requests.home_form(context, body)
        item = await desk.record(request_key("act", body), request, here=True)
        await ack()
        if item is None:
            return
        await desk.run_row(item, lambda: do_form(desk, request, client), client, request)


# ----- everything else is acknowledged, never left to "dispatch_failed" -------------------------


async def on_other(ack: Any) -> None:
    await ack()


# A row another process acknowledged, run again by its kind (SlackIntake.recover).
TAKEOVER = {
    "command": do_command, "form": do_lost_form, "action": do_action, "approval": do_approval,
    "view": do_view, "run": do_run,
}  # fmt: skip


def register(runtime: SlackRuntime) -> None:
    """Every listener on the app; Bolt hands each the SlackIntake in its context."""
    app: AsyncApp = runtime.app
    desk = SlackIntake(runtime, TAKEOVER)
    desk.register()

    async def attach(context: AsyncBoltContext, next_: Any) -> None:
        context[DESK] = desk
        await next_()

    app.use(attach)
    app.command("/recover")(on_recover)
    app.shortcut("open_recovery_case")(on_shortcut)
    app.action(re.compile(r"^case:"))(on_case_button)
    app.action(re.compile(r"^run:\d+$"))(on_run)
    app.action(re.compile(r"^approval:(approve|deny)$"))(on_approval)
    app.view(SUBMITTED)(on_submit)
    app.event("app_home_opened")(on_home)
    app.action("home:open")(on_home_open)
    app.action(re.compile(".*"))(on_other)
    app.view(re.compile(".*"))(on_other)
    if runtime.installation_store is not None:
        app.enable_token_revocation_listeners()
