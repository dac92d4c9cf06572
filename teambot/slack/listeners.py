"""Bolt listeners: a durable intake row, then the ack, then the work. Every path ends in something
the person sees.

- Before any ack, the request is committed as an intake row (teambot/core/intake) held by this
  process; the work runs after the ack and finishes the row. A process that dies leaves the row to
  be taken over (`recover` below rebuilds the work from the row); a redelivery finds the row and
  adds nothing.
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

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from teambot.core.cases.models import ApprovalRequest
from teambot.core.cases.queries import case_detail
from teambot.core.cases.replies import CaseReply
from teambot.core.commands.context import Context
from teambot.core.commands.intents import Approve, SendForm
from teambot.core.commands.replies import ErrorReply, FormReply, Reply
from teambot.core.db import Database, is_sqlite, is_transient
from teambot.core.errors import DomainError
from teambot.core.improvement.costs import list_causes
from teambot.core.intake.models import IntakeItem
from teambot.core.intake.queue import APPLYING, DONE_WITH_STEP, MAX_ATTEMPTS, backoff, card_key
from teambot.slack import actions, blocks, modals
from teambot.slack.cards import card_job, error_code, post_card, refresh_card, send_response, tell
from teambot.slack.home import publish_home
from teambot.slack.runtime import SlackRuntime

log = logging.getLogger(__name__)

MODAL_STEPS = {"apologise", "grant", "step", "resolve", "followup", "followup_yes", "followup_no", "handover",
               "flag", "shoutout", "reopen", "send"}  # fmt: skip


def opens_form(step: str) -> bool:
    """A card button whose answer is a modal (its trigger_id lives about 3 s)."""
    return step in MODAL_STEPS or step == "view"


AFTER_ACK_SLOTS = 8  # below the database pool's 15 connections (SQLAlchemy's 5 + 10 overflow)
OOPS = "Something went wrong on Teambot's side and the step was not done. Try again in a moment."
SUBMITTED = re.compile(r"^(open|apologise|grant|step|resolve|followup|handover|flag|shoutout|reopen|deny|send)$")


async def team_causes(db: Database, team: str, cause_id: int | None) -> tuple[list[str], str | None]:
    """The team's causes for the resolve modal, and the one the case is filed under (preselected)."""
    found = await list_causes(db, team)
    return [x.name for x in found], next((x.name for x in found if x.id == cause_id), None)


def team_of(context: AsyncBoltContext, body: dict[str, Any]) -> str:
    """The workspace id; an org-wide (Enterprise Grid) install without one uses the enterprise id."""
    team = context.team_id or (body.get("team") or {}).get("id") or body.get("team_id")
    return str(team or context.enterprise_id or (body.get("enterprise") or {}).get("id") or "")


def user_of(body: dict[str, Any]) -> str:
    return str(body.get("user_id") or (body.get("user") or {}).get("id") or "")


def channel_of(body: dict[str, Any]) -> str | None:
    ch = (
        body.get("channel_id")
        or (body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id")
    )
    return str(ch) if ch else None


def number_of(raw: str | None) -> int | None:
    m = re.match(r"#?(\d{1,9})", raw or "")
    return int(m.group(1)) if m else None


def register(rt: SlackRuntime) -> None:
    app: AsyncApp = rt.app
    c = rt.container
    # Work after the ack queues here rather than in the database pool, whose 30 s wait would
    # fail a burst's tail; slots stay free for form submissions, which run before their ack.
    # On SQLite every write waits for the one write lock, polled by SQLite's busy handler (sleeps up
    # to 100 ms, no queue): fewer writers after the ack keep the intake row before an ack fast.
    after_ack = asyncio.Semaphore(2 if is_sqlite(c.db.url) else AFTER_ACK_SLOTS)
    intake = c.intake

    async def record(
        key: str, team: str, payload: dict[str, Any], *, here: bool = False
    ) -> IntakeItem | None:
        """The request, committed before its ack; None for a redelivery of one recorded already.
        `here`: it opens a form, whose trigger lives 3 s, so it never waits for a worker."""
        return await intake.record(key, "slack", team, payload, here=here)

    def request_key(prefix: str, body: dict[str, Any]) -> str:
        trigger = body.get("trigger_id")
        return f"slack:{prefix}:{trigger}" if trigger else f"slack:{prefix}:{uuid.uuid4().hex}"

    async def run_row(item: IntakeItem, work: Callable[[], Awaitable[None]], client: AsyncWebClient, user: str,
                      channel: str | None, response_url: str | None, *, queue: bool = True) -> None:  # fmt: skip
        """The work behind a recorded request; its row is finished after, or handed back if cut.
        A row deferred to the workers (TEAMBOT_WORK=worker) is theirs: nothing runs here."""
        if not intake.runs_here(item):
            return
        token, done = APPLYING.set(item.id), DONE_WITH_STEP.set(True)  # the card has its own row
        try:
            await guarded(work, client, user, channel, response_url, queue=queue, retry=True)
        except asyncio.CancelledError:
            await asyncio.shield(intake.release(item))
            raise
        except Exception as exc:  # a database fault: the row runs again (applied steps are not repeated)
            log.warning("request %s cut by a database fault (%s); it runs again", item.key, type(exc).__name__)
            with contextlib.suppress(Exception):
                await asyncio.shield(intake.release(item, delay=backoff(item.attempts), error=repr(exc)[:300]))
            return
        finally:
            APPLYING.reset(token)
            DONE_WITH_STEP.reset(done)
        await intake.let_go_unadopted(item.id)
        await intake.finish(item)

    async def with_card_row(
        case_id: int | None, work: Callable[[IntakeItem | None, bool, dict[str, Any]], Awaitable[bool]]
    ) -> None:
        """Card work holding the case's card row; skipped when another process holds it (it will
        see this change too: the change re-armed the row). `work(row, fresh, done)` returns False to
        have it retried; `fresh` says the step that just ran armed the row for us (its detail is
        current); what it puts in `done` is merged into the card's bookkeeping with the row's finish."""
        key = card_key("slack", case_id)
        row, fresh = await intake.take_card_row(key)
        if row is None and await intake.held_elsewhere(key):
            return
        ok, done = False, {}
        try:
            ok = await work(row, fresh, done)
        finally:
            if row is not None and not ok:
                if done:  # thread lines already posted stay recorded, so a retry does not repeat them
                    with contextlib.suppress(Exception):
                        await c.service.write_card_ref_by_id(case_id or 0, done)
                await asyncio.shield(intake.release(row, delay=backoff(row.attempts)))
        if row is not None and ok:
            await intake.finish(row, card_ref=(case_id or 0, done) if done else None)

    async def context_for(
        client: AsyncWebClient, team: str, channel: str, user: str, ref: str | None
    ) -> Context:
        person = await rt.people.get(client, team, user)
        return Context(team, channel, user, platform="slack", tz=person.tz, source_ref=ref,
                       direct=channel.startswith("D"), user_name=person.name if person.name != user else None)  # fmt: skip

    async def guarded(work: Callable[[], Awaitable[None]], client: AsyncWebClient, user: str,
                      channel: str | None, response_url: str | None, *, queue: bool = True,
                      retry: bool = False) -> None:  # fmt: skip
        """Nothing fails silently: an unexpected error is logged and the person is told.

        `queue=False` is for opening a form: a trigger_id lives about 3 s, so `views.open` must
        not wait behind a burst of other work for a slot. With `retry`, a database fault (a cut
        connection, a failover) is raised for the caller to run the recorded request again."""
        try:
            if queue:
                async with after_ack:
                    await work()
            else:
                await work()
        except Exception as exc:
            if retry and is_transient(exc):
                raise
            log.exception("Slack listener failed")
            if user:
                await tell(rt, client, user=user, message=blocks.error_message(OOPS), channel=channel,
                           response_url=response_url)  # fmt: skip

    async def open_view(client: AsyncWebClient, trigger_id: str, view: dict[str, Any], user: str,
                        channel: str | None, response_url: str | None) -> None:  # fmt: skip
        try:
            await client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("views.open failed: %s", error_code(exc))
            await tell(rt, client, user=user, channel=channel, response_url=response_url,
                       message=blocks.error_message("Slack did not let me open the form in time (it allows about "
                                                    "3 seconds). Press the button or run the command again."))  # fmt: skip

    async def open_form(client: AsyncWebClient, team: str, user: str, trigger_id: str, meta: dict[str, Any],
                        prefill: dict[str, Any] | None = None, ask_channel: bool = False) -> None:  # fmt: skip
        policy = await c.service.policy(team, user, "slack")
        view = modals.open_case(policy.categories, meta, prefill=prefill, ask_channel=ask_channel)
        await open_view(client, trigger_id, view, user, meta.get("channel"), meta.get("response_url"))

    async def deliver(client: AsyncWebClient, reply: Reply, *, team: str, user: str, channel: str | None,
                      response_url: str | None, trigger_id: str | None = None, clicked_ts: str | None = None,
                      from_card: bool = False, source: dict[str, Any] | None = None) -> None:  # fmt: skip
        """Show a command's reply: a new card in the channel, a refreshed card, or a private answer."""
        now = c.clock.now()
        if isinstance(reply, FormReply) and trigger_id:
            await open_form(
                client, team, user, trigger_id, {"channel": channel, "response_url": response_url}
            )
            return
        if isinstance(reply, CaseReply) and reply.opened is not None:
            opened = reply.opened
            if opened.duplicate:
                if opened.case.opened_by != user:
                    await tell(rt, client, user=user, channel=channel, response_url=response_url,
                               message=blocks.text_message(f"That is already case #{opened.case.number}."))  # fmt: skip
                return
            key = card_key("slack", opened.case.id)
            row, fresh = await intake.take_card_row(key)  # fresh: the case is brand new
            if row is None and await intake.held_elsewhere(key):
                return  # another process is posting it
            try:
                await post_card(rt, client, opened, channel=opened.case.channel_id, user=user,
                                response_url=response_url, source=source, row=row, fresh=fresh)  # fmt: skip
            except BaseException:
                if row is not None:
                    await asyncio.shield(intake.release(row, delay=backoff(row.attempts)))
                raise
            return
        if isinstance(reply, CaseReply) and reply.public and reply.detail is not None:
            number = reply.detail.case.number

            async def refresh(_: IntakeItem | None, fresh: bool, done: dict[str, Any]) -> bool:
                return await refresh_card(rt, client, team, number, response_url=response_url, clicked_ts=clicked_ts,
                                          detail=reply.detail if fresh else None, done=done)  # fmt: skip

            await with_card_row(reply.detail.case.id, refresh)
            if not from_card or reply.approval is not None or reply.choices:  # "Filed under ... [Change cause]"
                await tell(rt, client, user=user, channel=channel, response_url=response_url,
                           message=blocks.step_message(reply.message, reply.choices))  # fmt: skip
            return
        person = await rt.people.get(client, team, user)
        await tell(rt, client, user=user, channel=channel, response_url=response_url,
                   message=blocks.reply_message(reply, now, person.tz))  # fmt: skip

    # ----- /recover --------------------------------------------------------------------------

    @app.command("/recover")
    async def on_recover(
        ack: Any, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        async with rt.busy():
            team, user, channel = team_of(context, body), user_of(body), channel_of(body) or ""
            text, url, trigger = (
                (body.get("text") or "").strip(),
                body.get("response_url"),
                body.get("trigger_id"),
            )
            kind = "form" if not text and trigger else "command"
            p = {"type": kind, "team": team, "user": user, "channel": channel, "text": text, "url": url,
                 "trigger": trigger, "form": {"channel": channel, "response_url": url}}  # fmt: skip
            item = await record(request_key("cmd", body), team, p, here=kind == "form")
            await ack()
            if item is None:
                return  # a redelivery: the first delivery's row carries the work
            if kind == "form":
                await run_row(item, lambda: do_form(p, client), client, user, channel, url, queue=False)
                return
            await run_row(item, lambda: do_command(p, client), client, user, channel, url)

    async def do_command(p: dict[str, Any], client: AsyncWebClient) -> None:
        trigger = p.get("trigger")
        ctx = await context_for(client, p["team"], p["channel"], p["user"], f"slack:cmd:{trigger}" if trigger else None)
        reply = await c.commands.run_text(p["text"], ctx)
        await deliver(client, reply, team=p["team"], user=p["user"], channel=p["channel"], response_url=p["url"],
                      trigger_id=trigger)  # fmt: skip

    async def do_form(p: dict[str, Any], client: AsyncWebClient) -> None:
        await open_form(client, p["team"], p["user"], p["trigger"], p["form"], p.get("prefill"),
                        ask_channel=bool(p.get("ask_channel")))  # fmt: skip

    # ----- message shortcut: turn any message into a case ------------------------------------------

    @app.shortcut("open_recovery_case")
    async def on_shortcut(
        ack: Any, shortcut: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        async with rt.busy():
            team, user, channel = team_of(context, shortcut), user_of(shortcut), channel_of(shortcut) or ""
            message = shortcut.get("message") or {}
            text = message.get("text") or ""
            meta = {
                "channel": channel, "response_url": shortcut.get("response_url"), "src": "msg",
                "msg": message.get("ts"), "author": message.get("user"), "quote": blocks.clip(text, 280),
            }  # fmt: skip
            note = "Opening a case from a message; the card will quote it and link back to it."
            if len(text) > modals.MAX_TEXT:
                note += (
                    f" The message is {len(text)} characters, so the form holds its first {modals.MAX_TEXT}."
                )
            p = {"type": "form", "team": team, "user": user, "channel": channel, "url": meta["response_url"],
                 "trigger": shortcut.get("trigger_id"), "form": meta,
                 "prefill": {"problem": text, "quote_note": note}}  # fmt: skip
            item = await record(request_key("shortcut", shortcut), team, p, here=True)
            await ack()
            if item is None:
                return
            await run_row(item, lambda: do_form(p, client), client, user, channel, meta["response_url"], queue=False)

    # ----- card buttons ------------------------------------------------------------------------

    @app.action(re.compile(r"^case:"))
    async def on_case_button(ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                             context: AsyncBoltContext) -> None:  # fmt: skip
        async with rt.busy():
            team, user, channel = team_of(context, body), user_of(body), channel_of(body)
            url = body.get("response_url")
            step = action["action_id"].split(":", 1)[1]
            raw = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
            clicked = (body.get("container") or {}).get("message_ts")
            p = {"type": "action", "team": team, "user": user, "channel": channel, "url": url, "step": step,
                 "raw": raw, "clicked": clicked, "trigger": body.get("trigger_id"),
                 "from_card": (body.get("container") or {}).get("type") == "message"}  # fmt: skip
            item = await record(request_key("act", body), team, p, here=opens_form(step))
            await ack()
            if item is None:
                return
            await run_row(item, lambda: do_action(p, client), client, user, channel, url)

    async def do_action(p: dict[str, Any], client: AsyncWebClient) -> None:
        team, user, channel, url, step, raw = p["team"], p["user"], p["channel"], p["url"], p["step"], p["raw"]
        number = number_of(raw)
        if number is None:
            await tell(rt, client, user=user, channel=channel, response_url=url,
                       message=blocks.error_message("That button names no case."))  # fmt: skip
            return
        meta = {"n": number, "channel": channel, "response_url": url, "clicked": p["clicked"],
                "from_card": p["from_card"]}  # fmt: skip
        if opens_form(step):
            await open_step_modal(client, p["trigger"], team, user, step, number, meta)
            return
        intent = actions.button_intent(step, number, raw)
        ctx = await context_for(client, team, channel or "", user, None)
        reply = await c.commands.run(intent, ctx)
        await deliver(client, reply, team=team, user=user, channel=channel, response_url=url,
                      clicked_ts=p["clicked"], from_card=p["from_card"])  # fmt: skip

    async def open_step_modal(client: AsyncWebClient, trigger: str, team: str, user: str, step: str, number: int,
                              meta: dict[str, Any]) -> None:  # fmt: skip
        try:
            detail = await case_detail(c.db, team, number)
        except DomainError as err:
            await tell(rt, client, user=user, channel=meta["channel"], response_url=meta["response_url"],
                       message=blocks.error_message(str(err)))  # fmt: skip
            return
        if step == "view":
            person = await rt.people.get(client, team, user)
            card = blocks.case_card(
                detail, c.clock.now(), person.tz, source=(detail.case.card_ref or {}).get("source")
            )
            await open_view(client, trigger, modals.show(card, number), user, None, None)
            return
        if step == "send":  # owner or admin, and an address: the core says so before the form opens
            ctx = await context_for(client, team, meta["channel"] or "", user, None)
            form = await c.commands.run(SendForm(number=number), ctx)
            if not isinstance(form, FormReply):
                await tell(rt, client, user=user, channel=meta["channel"], response_url=meta["response_url"],
                           message=blocks.error_message(getattr(form, "text", "")))  # fmt: skip
                return
            view = modals.send(detail, meta, str(form.prefill.get("body", "")))
            await open_view(client, trigger, view, user, meta["channel"], meta["response_url"])
            return
        causes, current = ([], None) if step != "resolve" else await team_causes(c.db, team, detail.case.cause_id)
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
        await open_view(client, trigger, builders[step](), user, meta["channel"], meta["response_url"])

    # ----- "did you mean": a button that runs a command ---------------------------------------

    @app.action(re.compile(r"^run:\d+$"))
    async def on_run(ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                     context: AsyncBoltContext) -> None:  # fmt: skip
        async with rt.busy():
            team, user, channel = team_of(context, body), user_of(body), channel_of(body)
            p = {"type": "run", "team": team, "user": user, "channel": channel, "url": body.get("response_url"),
                 "text": str(action.get("value") or "")}  # fmt: skip
            item = await record(request_key("run", body), team, p)  # recorded before the ack, like every request
            await ack()
            if item is None:
                return
            await run_row(item, lambda: do_run(p, client), client, user, channel, p["url"])

    async def do_run(p: dict[str, Any], client: AsyncWebClient) -> None:
        ctx = await context_for(client, p["team"], p["channel"] or "", p["user"], None)
        reply = await c.commands.run_text(p["text"], ctx)
        await deliver(client, reply, team=p["team"], user=p["user"], channel=p["channel"], response_url=p["url"])

    # ----- approvals -------------------------------------------------------------------------

    @app.action(re.compile(r"^approval:(approve|deny)$"))
    async def on_approval(ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                          context: AsyncBoltContext) -> None:  # fmt: skip
        async with rt.busy():
            team, user, channel = team_of(context, body), user_of(body), channel_of(body)
            url = body.get("response_url")
            p = {"type": "approval", "team": team, "user": user, "channel": channel, "url": url,
                 "approval_id": number_of(action.get("value")), "deny": action["action_id"].endswith("deny"),
                 "trigger": body.get("trigger_id")}  # fmt: skip
            item = await record(request_key("act", body), team, p, here=p["deny"])  # deny opens a form
            await ack()
            if item is None:
                return
            await run_row(item, lambda: do_approval(p, client), client, user, channel, url)

    async def do_approval(p: dict[str, Any], client: AsyncWebClient) -> None:
        team, user, channel, url, approval_id = p["team"], p["user"], p["channel"], p["url"], p["approval_id"]
        if approval_id is None:
            return
        if p["deny"]:
            async with c.db.session() as s:
                req = await s.get(ApprovalRequest, approval_id)
            gesture = req.gesture if req is not None and req.team_id == team else "the request"
            meta = {"approval_id": approval_id, "channel": channel, "response_url": url}
            await open_view(client, p["trigger"], modals.deny(approval_id, gesture, meta), user, channel, url)
            return
        ctx = await context_for(client, team, channel or "", user, None)
        reply = await c.commands.run(Approve(approval_id=approval_id, text=f"approve {approval_id}"), ctx)
        await after_decision(client, reply, team=team, user=user, channel=channel, response_url=url)

    async def after_decision(client: AsyncWebClient, reply: Reply, *, team: str, user: str, channel: str | None,
                             response_url: str | None) -> None:  # fmt: skip
        if not isinstance(reply, CaseReply) or reply.detail is None:
            await deliver(client, reply, team=team, user=user, channel=channel, response_url=response_url)
            return
        number = reply.detail.case.number
        if response_url:  # the DM with the buttons becomes the verdict, so nobody presses twice
            await send_response(
                response_url, {**blocks.decided_message(reply.message, number), "replace_original": True}
            )

        async def refresh(_: IntakeItem | None, fresh: bool, done: dict[str, Any]) -> bool:
            return await refresh_card(rt, client, team, number, detail=reply.detail if fresh else None, done=done)

        await with_card_row(reply.detail.case.id, refresh)

    # ----- modal submissions -----------------------------------------------------------------

    @app.view(SUBMITTED)
    async def on_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                        context: AsyncBoltContext) -> None:  # fmt: skip
        async with rt.busy():
            team, user = team_of(context, body), user_of(body)
            name = view["callback_id"]
            meta, vals = modals.read_metadata(view), modals.values(view)
            channel = vals.get("channel") or meta.get("channel")
            p = {"type": "view", "team": team, "user": user, "channel": channel, "url": meta.get("response_url"),
                 "name": name, "meta": meta, "vals": vals, "view_id": view.get("id")}  # fmt: skip
            item = await record(request_key("view", body), team, p, here=True)  # its step runs before the ack
            if item is None:
                await ack()
                return
            token, done = APPLYING.set(item.id), DONE_WITH_STEP.set(True)
            try:
                reply = await submit(p, client)
            except Exception:
                log.exception("modal %s failed", name)
                await ack(response_action="errors", errors=first_input_error(view, OOPS))
                await intake.finish(item, failed="the step failed before the ack")
                return
            finally:
                APPLYING.reset(token)
                DONE_WITH_STEP.reset(done)
            if isinstance(reply, ErrorReply) and reply.error is not None:
                errors = modals.field_errors(name, reply.error.field, reply.text, modals.input_ids(view))
                if errors:
                    await ack(response_action="errors", errors=errors)
                    await intake.finish(item)
                    return
            await ack()
            await run_row(item, lambda: after_submit(p, reply, client), client, user, channel, p["url"])

    async def submit(p: dict[str, Any], client: AsyncWebClient) -> Reply:
        """Run a form's step (before its ack, so a refusal naming an input comes back on that input)."""
        name, meta, vals, channel = p["name"], p["meta"], p["vals"], p["channel"]
        ref = None
        if name == "open":
            ref = f"slack:msg:{channel}:{meta['msg']}" if meta.get("msg") else f"slack:view:{p['view_id']}"
        ctx = await context_for(client, p["team"], channel or "", p["user"], ref)
        intent = actions.submitted_intent(name, vals, meta, ctx.tz)  # a picked time is in the person's zone
        if intent is None:
            return ErrorReply(error=DomainError("That form has lost its case number."), echo="")
        return await c.commands.run(intent, ctx)

    async def after_submit(p: dict[str, Any], reply: Reply, client: AsyncWebClient) -> None:
        team, user, channel, url, name, meta = p["team"], p["user"], p["channel"], p["url"], p["name"], p["meta"]
        if isinstance(reply, ErrorReply) and reply.error is not None:
            echo = "\n".join(f"{k}: {v}" for k, v in p["vals"].items() if v)
            await tell(rt, client, user=user, channel=channel, response_url=url,
                       message=blocks.error_message(reply.text, echo))  # fmt: skip
            return
        if name == "deny":
            await after_decision(client, reply, team=team, user=user, channel=channel, response_url=url)
            return
        source = None
        if name == "open" and meta.get("msg") and channel:
            source = await message_source(client, channel, meta)
        await deliver(client, reply, team=team, user=user, channel=channel, response_url=url,
                      clicked_ts=meta.get("clicked"), from_card=bool(meta.get("from_card")), source=source)  # fmt: skip

    async def do_view(p: dict[str, Any], client: AsyncWebClient) -> None:
        """A form taken over after a crash: its step (unless already applied), then what follows."""
        await after_submit(p, await submit(p, client), client)

    async def do_lost_form(p: dict[str, Any], client: AsyncWebClient) -> None:
        """A form that was to open when the process died: its trigger (3 s) is gone; say so."""
        await tell(rt, client, user=p["user"], channel=p.get("channel"), response_url=p.get("url"),
                   message=blocks.error_message("Teambot restarted before your form could open. "
                                                "Press the button or run the command again."))  # fmt: skip

    takeover: dict[str, Callable[[dict[str, Any], AsyncWebClient], Awaitable[None]]] = {
        "command": do_command, "form": do_lost_form, "action": do_action, "approval": do_approval,
        "view": do_view, "run": do_run,
    }  # fmt: skip

    async def recover(item: IntakeItem) -> None:
        """Run a request another (dead or stopped) process acknowledged. A step whose change is
        committed already (`applied`) is not run again: the card row carries what is left."""
        p = item.payload
        if item.applied:
            return
        client = await rt.client_for(p["team"])
        if client is None:
            raise RuntimeError(f"no Slack token for workspace {p['team']}")
        if p["type"] == "action" and opens_form(p["step"]):
            await do_lost_form(p, client)
            return
        async with rt.busy():
            # A database fault goes back to the intake, which retries the row with back-off. The
            # card has its own row, so the step's transaction finishes this one (as in run_row).
            done = DONE_WITH_STEP.set(True)
            try:
                await guarded(lambda: takeover[p["type"]](p, client), client, p["user"], p.get("channel"), p.get("url"),
                              retry=item.attempts < MAX_ATTEMPTS)  # fmt: skip
            finally:
                DONE_WITH_STEP.reset(done)
        await intake.let_go_unadopted(item.id)

    async def recover_card(item: IntakeItem) -> None:
        async with rt.busy():
            await card_job(rt, item)

    intake.register("slack", recover)
    intake.register("card:slack", recover_card)

    async def message_source(
        client: AsyncWebClient, channel: str, meta: dict[str, Any]
    ) -> dict[str, Any] | None:
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

    # ----- App Home ----------------------------------------------------------------------------

    @app.event("app_home_opened")
    async def on_home(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        async with rt.busy():
            if event.get("tab", "home") != "home":
                return
            try:
                await publish_home(rt, client, team_of(context, body), event["user"])
            except Exception:
                log.exception("App Home not published")

    @app.action("home:open")
    async def on_home_open(
        ack: Any, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        async with rt.busy():
            team, user = team_of(context, body), user_of(body)
            p = {"type": "form", "team": team, "user": user, "channel": None, "url": None,
                 "trigger": body.get("trigger_id"), "form": {"src": "home"}, "ask_channel": True}  # fmt: skip
            item = await record(request_key("act", body), team, p, here=True)
            await ack()
            if item is None:
                return
            await run_row(item, lambda: do_form(p, client), client, user, None, None)

    # ----- everything else is acknowledged, never left to "dispatch_failed" -----------------------

    @app.action(re.compile(".*"))
    async def on_other_action(ack: Any) -> None:
        await ack()

    @app.view(re.compile(".*"))
    async def on_other_view(ack: Any) -> None:
        await ack()

    if rt.installation_store is not None:
        app.enable_token_revocation_listeners()
