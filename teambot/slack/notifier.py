"""Notices from the core and the scheduler, delivered as Slack DMs or channel posts.

Inside a Slack request (the core notifies approvers during a step) `notify` queues and returns
at once, so the 3-second ack is never held up; a failure there is logged. Elsewhere (the
scheduler's nudges and digests) it delivers before returning and raises when Slack refused, so
the caller's retry logic sees it. Deliveries to one channel go out about one a second (Slack's
chat.postMessage limit), in order, none dropped. Approval requests get Approve / Deny buttons; every other kind
its text and buttons for the case it is about. A notice to a case's card (`Recipient("card", ...)`, sent
when a case changes outside any chat request, e.g. the customer answered on the feedback page) brings
the card and its thread up to date in place, holding the case's card-outbox row.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from teambot.core.commands.context import Context
from teambot.core.i18n import use_locale
from teambot.core.intake.queue import card_key
from teambot.core.ports import Notice, Recipient
from teambot.slack import blocks
from teambot.slack.cards import card_job, languages, refresh_card
from teambot.slack.runtime import IN_REQUEST, SlackRuntime

log = logging.getLogger(__name__)


class SlackNotifier:
    def __init__(self, runtime: SlackRuntime) -> None:
        self.runtime = runtime

    async def notify(self, recipient: Recipient, notice: Notice) -> None:
        if recipient.kind == "card":
            await self.refresh(notice)
            return
        if IN_REQUEST.get():
            self.runtime.spawn(self._deliver_logged(recipient, notice))
        else:
            await self.deliver(recipient, notice)

    async def _deliver_logged(self, recipient: Recipient, notice: Notice) -> None:
        try:
            await self.deliver(recipient, notice)
        except SlackApiError as exc:
            code = (exc.response or {}).get("error")
            log.warning(
                "%s notice to %s %s not delivered: %s", notice.kind, recipient.kind, recipient.id, code
            )

    async def refresh(self, notice: Notice) -> None:
        """The case's card updated in place, through its card-outbox row (the change armed it): done
        here and now, or left to the live process that holds the row."""
        number = notice.data.get("number")
        if notice.case_id is None or number is None:
            return
        intake = self.runtime.container.intake
        key = card_key("slack", notice.case_id)
        async with self.runtime.busy(), intake.held(key) as row:
            if row is not None:
                await card_job(self.runtime, row)
                return
            if await intake.held_elsewhere(key):
                return
            client = await self.runtime.client_for(notice.team_id)
            if client is not None:
                await refresh_card(self.runtime, client, notice.team_id, int(number))

    async def deliver(self, recipient: Recipient, notice: Notice) -> None:
        """Raises SlackApiError when Slack refuses, so a scheduler retry can try again."""
        client = await self.runtime.client_for(notice.team_id)
        if client is None:
            log.warning("no Slack installation for team %s; %s notice not sent", notice.team_id, notice.kind)
            return
        with use_locale(await self.reader_language(client, notice.team_id, recipient)):
            message = blocks.notice_message(notice)
        await self.runtime.pacer.wait(recipient.id)
        posted = await client.chat_postMessage(channel=recipient.id, unfurl_links=False, **message)
        approval = notice.data.get("approval_id")
        if notice.kind == "approval_request" and approval is not None and notice.data.get("number"):
            await self._remember_approval_dm(notice, str(approval), posted.get("channel"), posted.get("ts"))
        for attachment in notice.attachments:
            # files_upload_v2 wants the conversation id; for a DM that is the one the post landed in.
            # The file goes into the channel itself, right under the text (a thread would hide it).
            await self.runtime.pacer.wait(recipient.id)
            await client.files_upload_v2(
                channel=posted.get("channel") or recipient.id,
                file=attachment.content,
                filename=attachment.filename,
                title=attachment.title or attachment.filename,
            )

    async def reader_language(self, client: AsyncWebClient, team: str, recipient: Recipient) -> str:
        """A DM reads in its person's language, a channel post in the team's."""
        if recipient.kind == "user":
            return (await languages(self.runtime, client, team, recipient.id))[0]
        return (await self.runtime.container.commands.language_of(Context(team, "", "", platform="slack")))[1]

    async def _remember_approval_dm(self, notice: Notice, approval: str, channel: object, ts: object) -> None:
        """Every approver's copy is kept, so all of them lose their buttons once one decides."""
        if not channel or not ts:
            return

        def add(ref: dict[str, Any]) -> dict[str, Any]:
            dms = dict(ref.get("approval_dms") or {})
            dms[approval] = [*dms.get(approval, []), [channel, ts]]
            return {**ref, "approval_dms": dms}

        await self.runtime.container.service.update_card_ref(notice.team_id, int(notice.data["number"]), add)
