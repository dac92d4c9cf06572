"""The plumbing every Slack listener shares: a durable intake row before the ack, the work after it.

- `record`: the request committed as an intake row (teambot/core/intake) held by this process,
  before any ack; a redelivery finds the row and adds nothing.
- `run_row`: the work behind the row after the ack; the row is finished after, or handed back when a
  database fault cuts it.
- `with_card_row`: card work holding the case's card row (the card outbox).
- `guarded`: nothing fails silently; an unexpected error is logged and the person is told.
- `recover`: a row another (dead or stopped) process acknowledged, rebuilt into its request and run
  by the `takeover` table the listeners give (one function per request kind).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from teambot.core.commands.context import Context
from teambot.core.db import is_sqlite, is_transient
from teambot.core.i18n import N_, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.intake.models import IntakeItem
from teambot.core.intake.queue import APPLYING, DONE_WITH_STEP, card_key
from teambot.core.leases import MAX_ATTEMPTS
from teambot.core.leases import intake_backoff as backoff
from teambot.slack import blocks
from teambot.slack.actions import opens_form
from teambot.slack.cards import card_job, languages, tell
from teambot.slack.requests import ActionRequest, Request, request_of
from teambot.slack.runtime import SlackRuntime

log = logging.getLogger(__name__)

AFTER_ACK_SLOTS = 8  # below the database pool's 15 connections (SQLAlchemy's 5 + 10 overflow)
OOPS = N_("Something went wrong on Teambot's side and the step was not done. Try again in a moment.")
LOST_FORM = N_("Teambot restarted before your form could open. Press the button or run the command again.")

Work = Callable[[], Awaitable[None]]
CardWork = Callable[[IntakeItem | None, bool, dict[str, Any]], Awaitable[bool]]
Takeover = Callable[["SlackIntake", Any, AsyncWebClient], Awaitable[None]]


def request_key(prefix: str, body: dict[str, Any]) -> str:
    """The intake key: Slack's trigger_id, the same on a redelivery."""
    trigger = body.get("trigger_id")
    return f"slack:{prefix}:{trigger}" if trigger else f"slack:{prefix}:{uuid.uuid4().hex}"


class SlackIntake:
    """The runtime and the intake, as the listeners use them (Bolt hands it to them in `context`)."""

    def __init__(self, runtime: SlackRuntime, takeover: Mapping[str, Takeover]) -> None:
        self.runtime = runtime
        self.container = runtime.container
        self.intake = runtime.container.intake
        self.takeover = takeover
        # Work after the ack queues here rather than in the database pool, whose 30 s wait would
        # fail a burst's tail; slots stay free for form submissions, which run before their ack.
        # On SQLite every write waits for the one write lock, polled by SQLite's busy handler (sleeps
        # up to 100 ms, no queue): fewer writers after the ack keep the intake row before an ack fast.
        self.after_ack = asyncio.Semaphore(2 if is_sqlite(runtime.container.db.url) else AFTER_ACK_SLOTS)

    def register(self) -> None:
        self.intake.register("slack", self.recover)
        self.intake.register("card:slack", self.recover_card)

    async def record(self, key: str, request: Request, *, here: bool = False) -> IntakeItem | None:
        """The request, committed before its ack; None for a redelivery of one recorded already.
        `here`: it opens a form, whose trigger lives 3 s, so it never waits for a worker."""
        return await self.intake.record(key, "slack", request.team, request.payload(), here=here)

    async def context_for(self, client: AsyncWebClient, team: str, channel: str, user: str, ref: str | None) -> Context:
        person = await self.runtime.people.get(client, team, user)
        return Context(team, channel, user, platform="slack", tz=person.tz, source_ref=ref,
                       direct=channel.startswith("D"), user_name=person.name if person.name != user else None,
                       locale=person.locale)  # fmt: skip

    async def run_row(self, item: IntakeItem, work: Work, client: AsyncWebClient, request: Request, *,
                      queue: bool = True) -> None:  # fmt: skip
        """The work behind a recorded request; its row is finished after, or handed back if cut.
        A row deferred to the workers (TEAMBOT_WORK=worker) is theirs: nothing runs here."""
        if not self.intake.runs_here(item):
            return
        token, done = APPLYING.set(item.id), DONE_WITH_STEP.set(True)  # the card has its own row
        try:
            await self.guarded(work, client, request, queue=queue, retry=True)
        except asyncio.CancelledError:
            await asyncio.shield(self.intake.release(item))
            raise
        except Exception as exc:  # a database fault: the row runs again (applied steps are not repeated)
            log.warning("request %s cut by a database fault (%s); it runs again", item.key, type(exc).__name__)
            with contextlib.suppress(Exception):
                await asyncio.shield(self.intake.release(item, delay=backoff(item.attempts), error=repr(exc)[:300]))
            return
        finally:
            APPLYING.reset(token)
            DONE_WITH_STEP.reset(done)
        await self.intake.let_go_unadopted(item.id)
        await self.intake.finish(item)

    async def with_card_row(self, case_id: int | None, work: CardWork) -> None:
        """Card work holding the case's card row; skipped when another process holds it (it will
        see this change too: the change re-armed the row). `work(row, fresh, done)` returns False to
        have it retried; `fresh` says the step that just ran armed the row for us (its detail is
        current); what it puts in `done` is merged into the card's bookkeeping with the row's finish."""
        key = card_key("slack", case_id)
        row, fresh = await self.intake.take_card_row(key)
        if row is None and await self.intake.held_elsewhere(key):
            return
        ok, done = False, {}
        try:
            ok = await work(row, fresh, done)
        finally:
            if row is not None and not ok:
                if done:  # thread lines already posted stay recorded, so a retry does not repeat them
                    with contextlib.suppress(Exception):
                        await self.container.service.write_card_ref_by_id(case_id or 0, done)
                await asyncio.shield(self.intake.release(row, delay=backoff(row.attempts)))
        if row is not None and ok:
            await self.intake.finish(row, card_ref=(case_id or 0, done) if done else None)

    async def guarded(self, work: Work, client: AsyncWebClient, request: Request, *, queue: bool = True,
                      retry: bool = False) -> None:  # fmt: skip
        """Nothing fails silently: an unexpected error is logged and the person is told.

        The work runs in the person's language (what they are shown: forms, private answers, refusals;
        a card switches to its team's). `queue=False` is for opening a form: a trigger_id lives about
        3 s, so `views.open` must not wait behind a burst of other work for a slot. With `retry`, a
        database fault (a cut connection, a failover) is raised for the caller to run the recorded
        request again."""
        language = (await languages(self.runtime, client, request.team, request.user))[0] if request.user else None
        with use_locale(language):
            try:
                if queue:
                    async with self.after_ack:
                        await work()
                else:
                    await work()
            except Exception as exc:
                if retry and is_transient(exc):
                    raise
                log.exception("Slack listener failed")
                if request.user:
                    await tell(self.runtime, client, user=request.user, message=blocks.error_message(_(OOPS)),
                               channel=request.channel, response_url=request.url)  # fmt: skip

    async def lost_form(self, request: Request, client: AsyncWebClient) -> None:
        """A form that was to open when the process died: its trigger (3 s) is gone; say so."""
        with use_locale((await languages(self.runtime, client, request.team, request.user))[0]):
            message = blocks.error_message(_(LOST_FORM))
        await tell(self.runtime, client, user=request.user, channel=request.channel, response_url=request.url,
                   message=message)  # fmt: skip

    async def recover(self, item: IntakeItem) -> None:
        """Run a request another (dead or stopped) process acknowledged. A step whose change is
        committed already (`applied`) is not run again: the card row carries what is left."""
        if item.applied:
            return
        request = request_of(item.payload)
        client = await self.runtime.client_for(request.team)
        if client is None:
            raise RuntimeError(f"no Slack token for workspace {request.team}")
        if isinstance(request, ActionRequest) and opens_form(request.step):
            await self.lost_form(request, client)
            return
        run = self.takeover[request.kind]
        async with self.runtime.busy():
            # A database fault goes back to the intake, which retries the row with back-off. The
            # card has its own row, so the step's transaction finishes this one (as in run_row).
            done = DONE_WITH_STEP.set(True)
            try:
                await self.guarded(lambda: run(self, request, client), client, request,
                                   retry=item.attempts < MAX_ATTEMPTS)  # fmt: skip
            finally:
                DONE_WITH_STEP.reset(done)
        await self.intake.let_go_unadopted(item.id)

    async def recover_card(self, item: IntakeItem) -> None:
        async with self.runtime.busy():
            await card_job(self.runtime, item)
