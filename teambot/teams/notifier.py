"""The core's Notifier port for Teams: proactive messages through stored conversation references.

A person is reached in their 1:1 chat with the bot. When the bot has none stored (they never
wrote to it), it reads the roster of a team it is in (`TeamsInfo.get_paged_team_members`),
finds them by their AAD object id, creates the one-to-one conversation
(`adapter.create_conversation` with their Teams id and the tenant) and stores it for next
time. Only when Teams refuses (the app is not installed for them, the tenant blocks it) or
they are in no roster the bot can read are they @mentioned in the case's channel instead;
with no channel either, the notice is logged as undelivered (WARNING).

A notice to a case's card (`Recipient("card", ...)`, sent when a case changes outside any turn, e.g.
the customer answered on the feedback page) updates the case's shared card where it lives.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import ChannelAccount, ConversationParameters, ConversationReference

from teambot.core.cases.models import Case
from teambot.core.commands.context import Context
from teambot.core.db import Database
from teambot.core.i18n import N_, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.ports import Notice, Recipient
from teambot.teams import cards
from teambot.teams.bot import IN_TURN, adaptive
from teambot.teams.pacing import Pacer
from teambot.teams.store import TeamsConversation, TeamsStore, conversation_key

if TYPE_CHECKING:
    from teambot.teams.bot import TeambotActivityHandler

log = logging.getLogger(__name__)
LanguageOf = Callable[[Context], Awaitable[tuple[str, str]]]
ROSTER_PAGE = 200
ROSTER_PAGES = 50  # 10,000 members: beyond that the channel mention is the fallback
SAY_HI = N_(
    "I could not message %(name)s directly: %(name)s, say hi to Teambot in a 1:1 chat so I can reach you there."
)


class TeamsNotifier:
    def __init__(
        self, adapter: BotAdapter, store: TeamsStore, db: Database, app_id: str, pacer: Pacer,
        language_of: LanguageOf | None = None,
    ) -> None:  # fmt: skip
        self.adapter = adapter
        self.language_of = language_of  # (a person's language, their team's): the commands' own resolver
        self.store = store
        self.db = db
        self.app_id = app_id
        self.pacer = pacer
        self.undelivered: list[tuple[Recipient, Notice]] = []  # for /healthz-style inspection and tests
        self.cards: TeambotActivityHandler | None = None  # renders and updates case cards (set when mounted)

    async def notify(self, recipient: Recipient, notice: Notice) -> None:
        try:
            await self._notify(recipient, notice)
        except Exception:
            log.exception("Teams notice %s to %s %s failed", notice.kind, recipient.kind, recipient.id)
            self.undelivered.append((recipient, notice))
            if not IN_TURN.get():
                raise  # the scheduler's retry needs to see it; inside a turn the step already happened

    async def languages(self, team_id: str, user_id: str = "") -> tuple[str, str]:
        """(the person's language, the team's): a notice to a person reads in theirs, one to a channel
        in the team's."""
        if self.language_of is None:
            return "en", "en"
        return await self.language_of(Context(team_id, "", user_id))

    async def _notify(self, recipient: Recipient, notice: Notice) -> None:
        if recipient.kind == "card":
            number = notice.data.get("number")
            if self.cards is not None and number is not None:
                await self.cards.update_case_card(self.adapter, notice.team_id, int(number))
            return
        ids = cards.mention_ids(notice.text) | {recipient.id}
        names = await self.store.names(notice.team_id, ids)
        person_language, team_language = await self.languages(notice.team_id, recipient.id)
        if recipient.kind == "channel":
            conv = await self.store.conversation(conversation_key(recipient.id))
            if conv is None:
                log.warning("Teams notice %s NOT delivered to channel %s: the bot has never been in that channel",
                            notice.kind, recipient.id)  # fmt: skip
                self._lost(recipient, notice)
                return
            with use_locale(team_language):
                await self._send(conv, cards.notice_card(notice, names), *self._images(notice))
            return
        conv = await self.personal_chat(notice.team_id, recipient.id, notice.case_id)
        if conv is not None:
            with use_locale(person_language):
                await self._send(conv, cards.notice_card(notice, names), *self._images(notice))
            return
        person = await self.store.person(notice.team_id, recipient.id)
        channel = await self._case_channel(notice)
        if channel is not None and person is not None:
            with use_locale(team_language):  # said where the team reads it
                await self._send(channel, self._mention_card(recipient, notice, names))
            log.warning(
                "Teams: %s has no 1:1 chat with the bot; told them in the case's channel", recipient.id
            )
            return
        log.warning("Teams notice %s NOT delivered to %s %s: they have never talked to the bot; ask them to say "
                    "hi to Teambot in a 1:1 chat", notice.kind, recipient.kind, recipient.id)  # fmt: skip
        self._lost(recipient, notice)

    @staticmethod
    def _mention_card(recipient: Recipient, notice: Notice, names: dict[str, str]) -> dict[str, Any]:
        """The notice in the case's channel, @mentioning its person (Teams needs the name they are known by,
        which we have once they have spoken anywhere), with how to be reached directly next time."""
        note = _(SAY_HI) % {"name": f"<@{recipient.id}>"}
        text = f"<@{recipient.id}> {notice.text}"
        shown = Notice(notice.kind, text, notice.team_id, notice.case_id, notice.data)
        card = cards.notice_card(shown, names, note=None)
        card["body"].append(cards.text_block(cards.plain_names(note, names), isSubtle=True))
        return card

    # ----- reaching anyone: roster + a created one-to-one conversation -------------------------

    async def personal_chat(
        self, tenant: str, user_id: str, case_id: int | None = None
    ) -> TeamsConversation | None:
        """Their stored 1:1 chat, or one created now through a team's roster (stored for next time)."""
        person = await self.store.person(tenant, user_id)
        if person is not None and person.personal_key:
            conv = await self.store.conversation(person.personal_key)
            if conv is not None:
                return conv
        for team_conv in await self._rosters(tenant, case_id):
            try:
                member = await self._find_member(team_conv, tenant, user_id)
                if member is None:
                    continue
                return await self._create_chat(team_conv, tenant, user_id, member)
            except Exception as exc:  # Teams refused: the channel mention is the fallback
                log.warning("Teams: could not open a 1:1 chat with %s through team %s: %s",
                            user_id, team_conv.team_id, exc)  # fmt: skip
                return None
        return None

    async def _rosters(self, tenant: str, case_id: int | None) -> list[TeamsConversation]:
        """One channel per Teams team the bot is in, the case's own team first."""
        first = await self._case_channel_by_id(case_id)
        out: dict[str, TeamsConversation] = {}
        for conv in ([first] if first else []) + await self.store.team_conversations(tenant):
            if conv.team_id and conv.team_id not in out:
                out[conv.team_id] = conv
        return list(out.values())[:5]

    async def _find_member(self, conv: TeamsConversation, tenant: str, user_id: str) -> Any:
        found: list[Any] = []
        now = self._now()

        async def callback(tc: TurnContext) -> None:
            token: str | None = None
            for _page in range(ROSTER_PAGES):
                page = await TeamsInfo.get_paged_team_members(tc, conv.team_id or "", token, ROSTER_PAGE)
                for member in page.members or []:
                    if member.aad_object_id:
                        await self.store.remember_member(
                            tenant, member.aad_object_id, member.id, member.name, now
                        )
                    if member.aad_object_id == user_id and not found:
                        found.append(member)
                token = page.continuation_token
                if found or not token:
                    return

        await self._continue(conv, callback)
        return found[0] if found else None

    async def _create_chat(
        self, conv: TeamsConversation, tenant: str, user_id: str, member: Any
    ) -> TeamsConversation | None:
        reference = ConversationReference().deserialize(conv.reference)
        params = ConversationParameters(
            is_group=False, bot=reference.bot, tenant_id=tenant,
            members=[ChannelAccount(id=member.id, name=member.name, aad_object_id=user_id)],
            channel_data={"tenant": {"id": tenant}},
        )  # fmt: skip
        created: list[str] = []
        now = self._now()

        async def callback(tc: TurnContext) -> None:
            ref = TurnContext.get_conversation_reference(tc.activity).serialize()
            ref["user"] = {"id": member.id, "name": member.name, "aadObjectId": user_id}
            key = await self.store.remember(
                tenant_id=tenant, conversation_id=tc.activity.conversation.id, kind="personal",
                service_url=conv.service_url, reference=ref, now=now, user_id=user_id, teams_id=member.id,
                name=member.name,
            )  # fmt: skip
            created.append(key)

        await self.adapter.create_conversation(  # type: ignore[call-arg]
            self.app_id,
            callback,
            params,
            channel_id=reference.channel_id or "msteams",
            service_url=conv.service_url,
        )
        log.info("Teams: opened a 1:1 chat with %s through the roster of team %s", user_id, conv.team_id)
        return await self.store.conversation(created[0]) if created else None

    async def _continue(self, conv: TeamsConversation, callback: Any) -> None:
        failed: list[BaseException] = []

        async def wrapped(tc: TurnContext) -> None:
            try:
                await callback(tc)
            except Exception as exc:  # the adapter's turn-error handler would swallow it
                failed.append(exc)

        await self.adapter.continue_conversation(ConversationReference().deserialize(conv.reference), wrapped,
                                                 self.app_id)  # fmt: skip
        if failed:
            raise failed[0]

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)

    def _lost(self, recipient: Recipient, notice: Notice) -> None:
        """Kept for inspection (the reason is in the log line just written)."""
        self.undelivered.append((recipient, notice))

    async def _case_channel(self, notice: Notice) -> TeamsConversation | None:
        return await self._case_channel_by_id(notice.case_id)

    async def _case_channel_by_id(self, case_id: int | None) -> TeamsConversation | None:
        if case_id is None:
            return None
        async with self.db.session() as s:
            case = await s.get(Case, case_id)
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
