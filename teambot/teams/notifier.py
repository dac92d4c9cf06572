"""The core's Notifier port for Teams: proactive messages through stored conversation references.

A person is reached in their 1:1 chat with the bot. Teams lets a bot start that chat only
once the person has talked to it (or the app was installed for them), so someone the bot
has never met is mentioned in the case's channel instead, with a line asking them to say
hi to the bot; with no channel either, the notice is logged as undelivered (WARNING) so an
admin can see who still has to open a chat with Teambot.
"""

from __future__ import annotations

import logging
from typing import Any

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import ConversationReference

from teambot.core.cases.models import Case
from teambot.core.db import Database
from teambot.core.ports import Notice, Recipient
from teambot.teams import cards
from teambot.teams.bot import IN_TURN, adaptive
from teambot.teams.pacing import Pacer
from teambot.teams.store import TeamsConversation, TeamsStore, conversation_key

log = logging.getLogger(__name__)
SAY_HI = (
    "I could not message {name} directly: {name}, say hi to Teambot in a 1:1 chat so I can reach you there."
)


class TeamsNotifier:
    def __init__(
        self, adapter: BotAdapter, store: TeamsStore, db: Database, app_id: str, pacer: Pacer
    ) -> None:
        self.adapter = adapter
        self.store = store
        self.db = db
        self.app_id = app_id
        self.pacer = pacer
        self.undelivered: list[tuple[Recipient, Notice]] = []  # for /healthz-style inspection and tests

    async def notify(self, recipient: Recipient, notice: Notice) -> None:
        try:
            await self._notify(recipient, notice)
        except Exception:
            log.exception("Teams notice %s to %s %s failed", notice.kind, recipient.kind, recipient.id)
            self.undelivered.append((recipient, notice))
            if not IN_TURN.get():
                raise  # the scheduler's retry needs to see it; inside a turn the step already happened

    async def _notify(self, recipient: Recipient, notice: Notice) -> None:
        ids = cards.mention_ids(notice.text) | {recipient.id}
        names = await self.store.names(notice.team_id, ids)
        if recipient.kind == "channel":
            conv = await self.store.conversation(conversation_key(recipient.id))
            if conv is None:
                self._lost(recipient, notice, "the bot has never been in that channel")
                return
            await self._send(conv, cards.notice_card(notice, names), *self._images(notice))
            return
        person = await self.store.person(notice.team_id, recipient.id)
        if person is not None and person.personal_key:
            conv = await self.store.conversation(person.personal_key)
            if conv is not None:
                await self._send(conv, cards.notice_card(notice, names), *self._images(notice))
                return
        channel = await self._case_channel(notice)
        if channel is not None and person is not None:
            # Mentioning needs the name Teams knows them by; we have it once they have spoken anywhere.
            note = SAY_HI.format(name=f"<@{recipient.id}>")
            text = f"<@{recipient.id}> {notice.text}"
            shown = Notice(notice.kind, text, notice.team_id, notice.case_id, notice.data)
            card = cards.notice_card(shown, names, note=None)
            card["body"].append(cards.text_block(cards.plain_names(note, names), isSubtle=True))
            await self._send(channel, card)
            log.warning(
                "Teams: %s has no 1:1 chat with the bot; told them in the case's channel", recipient.id
            )
            return
        self._lost(
            recipient,
            notice,
            "they have never talked to the bot; ask them to say hi to Teambot in a 1:1 chat",
        )

    def _lost(self, recipient: Recipient, notice: Notice, why: str) -> None:
        log.warning(
            "Teams notice %s NOT delivered to %s %s: %s", notice.kind, recipient.kind, recipient.id, why
        )
        self.undelivered.append((recipient, notice))

    async def _case_channel(self, notice: Notice) -> TeamsConversation | None:
        if notice.case_id is None:
            return None
        async with self.db.session() as s:
            case = await s.get(Case, notice.case_id)
        if case is None or case.platform != "teams":
            return None
        conv = await self.store.conversation(case.channel_id)
        return conv if conv is not None and conv.kind != "personal" else None

    @staticmethod
    def _images(notice: Notice) -> list[dict[str, Any]]:
        return [
            cards.image_card(a.title or a.filename, a.content)
            for a in notice.attachments
            if a.mime == "image/png"
        ]

    async def _send(self, conv: TeamsConversation, *messages: dict[str, Any]) -> None:
        reference = ConversationReference().deserialize(conv.reference)
        failed: list[BaseException] = []

        async def callback(tc: TurnContext) -> None:
            try:
                for card in messages:
                    await self.pacer.send(conv.key, lambda card=card: tc.send_activity(adaptive(card)))
            except Exception as exc:  # the adapter's turn-error handler would swallow it
                failed.append(exc)

        await self.adapter.continue_conversation(reference, callback, self.app_id)
        if failed:
            raise failed[0]
