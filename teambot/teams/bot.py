"""The Teams activity handler: parse what Teams sends, call the core, render cards back.

Typed text (`recover ...` in a 1:1 chat, or after @Teambot in a channel) goes through the
shared grammar; card buttons are Universal Actions (`Action.Execute`) that arrive as
`adaptiveCard/action` invokes and become Intents directly; the invoke is answered with the
card as the person who pressed should see it. The case card is kept in one place per case
and updated in place (`update_activity`) wherever the case moves from, as the shared view
with a `refresh` that lets Teams fetch each viewer's own view (`refresh` verb). Cards sent
before Universal Actions (Action.Submit) still work: they arrive as messages with `value`.
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botbuilder.core import BotAdapter, CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import (
    Activity,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    ConversationReference,
)
from botbuilder.schema.teams import (
    MessagingExtensionAction,
    MessagingExtensionActionResponse,
    TaskModuleContinueResponse,
    TaskModuleMessageResponse,
    TaskModuleRequest,
    TaskModuleResponse,
    TaskModuleTaskInfo,
)

from teambot.bootstrap import Container
from teambot.core.cases.home import HomeReply, home
from teambot.core.cases.queries import CaseDetail, case_detail
from teambot.core.cases.replies import CaseReply
from teambot.core.commands.context import Context
from teambot.core.commands.intents import Intent
from teambot.core.commands.replies import ErrorReply, FormReply, Reply
from teambot.core.errors import DomainError
from teambot.core.i18n import N_, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.improvement.home import person_home
from teambot.core.policy.rules import approvers_of
from teambot.teams import cards
from teambot.teams.actions import FORMS, html_to_text, ids_of, intent_from_submit
from teambot.teams.pacing import Pacer
from teambot.teams.store import TeamsStore, conversation_key

log = logging.getLogger(__name__)
PLATFORM = "teams"
LOCAL_TENANT = "local"  # the Emulator / Agents Playground send no tenant
_RECOVER = re.compile(r"^\s*/?recover\b[:,]?\s*(.*)$", re.I | re.S)
GREETING = N_(
    "Hi! I'm Teambot. I help you recover when a customer was let down.\n\n"
    "I can now message you here (approval requests, reminders). Type **recover help** to see what I do, "
    "or **recover** to open a case."
)


CARD_TYPE = "application/vnd.microsoft.card.adaptive"
HOME_MOVED = N_("Your home moved to the newest card below.")


def adaptive(card: dict[str, Any]) -> Activity:
    return MessageFactory.attachment(CardFactory.adaptive_card(card))


# True while a Teams turn runs: a notice the core sends then must not fail the person's step.
IN_TURN: ContextVar[bool] = ContextVar("teambot_teams_in_turn", default=False)


@dataclass
class Turn:
    """What we know about the person and place of one incoming activity."""

    tenant: str
    key: str  # the conversation key (also the core's channel id)
    user: str
    tz: str
    kind: str
    name: str | None = None  # their display name, as Teams sent it
    locale: str | None = None  # their Teams language ("de-DE"), from activity.locale
    # What Teambot speaks with them (their own choice, else their Teams', else the team's).
    language: str = "en"
    team_language: str = "en"  # what the team's channel reads (the shared case card)


class TeambotActivityHandler(TeamsActivityHandler):
    def __init__(self, container: Container, store: TeamsStore, app_id: str, pacer: Pacer) -> None:
        self.container = container
        self.store = store
        self.app_id = app_id
        self.pacer = pacer

    @staticmethod
    def _create_invoke_response(body: object = None) -> InvokeResponse:
        """Keep the model: botbuilder 4.17's CloudAdapter serialises invoke bodies itself, and msrest
        cannot serialise the dict ActivityHandler would hand it (the same failure as microsoft/teams-sdk#2547)."""
        return InvokeResponse(status=int(HTTPStatus.OK), body=body)

    # ----- who and where ---------------------------------------------------------------------

    @staticmethod
    def tenant_of(activity: Activity) -> str:
        tenant = getattr(activity.conversation, "tenant_id", None) if activity.conversation else None
        data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        return tenant or (data.get("tenant") or {}).get("id") or LOCAL_TENANT

    @staticmethod
    def activity_tz(activity: Activity) -> str | None:
        """The sender's IANA time zone, when their Teams client says it."""
        candidates = [activity.local_timezone]
        for entity in activity.entities or []:
            props = getattr(entity, "additional_properties", None) or {}
            if getattr(entity, "type", None) == "clientInfo":
                candidates.append(props.get("timezone"))
        for tz in candidates:
            if tz:
                try:
                    ZoneInfo(tz)
                    return tz
                except (ZoneInfoNotFoundError, ValueError):
                    continue
        return None

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.conversation is None or activity.from_property is None:
            await super().on_turn(turn_context)
            return
        data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        sender = activity.from_property
        tenant = self.tenant_of(activity)
        user = sender.aad_object_id or sender.id
        said_tz = self.activity_tz(activity)
        kind = activity.conversation.conversation_type or "personal"
        reference = TurnContext.get_conversation_reference(activity).serialize()
        key, stored_tz = await self.store.remember_turn(
            tenant_id=tenant, conversation_id=activity.conversation.id, kind=kind,
            service_url=activity.service_url or "", reference=reference, now=self.container.clock.now(),
            team_id=(data.get("team") or {}).get("id"), user_id=user, teams_id=sender.id,
            name=sender.name, tz=said_tz,
        )  # fmt: skip
        tz = said_tz or stored_tz or self.container.settings.default_timezone
        turn = Turn(tenant, key, user, tz, kind, sender.name or None, activity.locale or None)
        turn.language, turn.team_language = await self.container.commands.language_of(self.ctx(turn))
        turn_context.turn_state["teambot.turn"] = turn
        token = IN_TURN.set(True)
        try:
            with use_locale(turn.language):  # the person's; the shared case card switches to the team's
                await super().on_turn(turn_context)
        finally:
            IN_TURN.reset(token)

    @staticmethod
    def turn(turn_context: TurnContext) -> Turn:
        return turn_context.turn_state["teambot.turn"]

    def ctx(self, turn: Turn, source_ref: str | None = None) -> Context:
        return Context(team_id=turn.tenant, channel_id=turn.key, user_id=turn.user, platform=PLATFORM,
                       tz=turn.tz, source_ref=source_ref, direct=turn.kind == "personal", user_name=turn.name,
                       locale=turn.locale, language=turn.language, team_language=turn.team_language)  # fmt: skip

    # ----- messages --------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, dict) else None
        if value and cards.KEY in value:
            await self.on_card_submit(turn_context, value)
            return
        turn = self.turn(turn_context)
        text = TurnContext.remove_recipient_mention(activity) if activity.entities else activity.text
        text = html_to_text(text or "")
        match = _RECOVER.match(text)
        if match:
            command = match.group(1)
        elif turn.kind != "personal":
            command = text  # in a channel the bot only hears what @mentions it
        else:
            await self.send(turn_context, MessageFactory.text(_(GREETING)))
            return
        ctx = self.ctx(turn, source_ref=f"teams:{activity.id}" if activity.id else None)
        reply = await self.container.commands.run_text(command, ctx)
        await self.deliver(turn_context, reply, ctx)

    async def on_card_submit(self, turn_context: TurnContext, value: dict[str, Any]) -> None:
        activity = turn_context.activity
        turn = self.turn(turn_context)
        action = str(value.get(cards.KEY))
        card_id = activity.reply_to_id or None
        source = f"teams-card:{card_id or activity.id}" if action == "open" else None
        ctx = self.ctx(turn, source_ref=source)
        try:
            intent = intent_from_submit(action, value)
        except DomainError as err:
            reply: Reply = ErrorReply(error=err, echo="")
        else:
            reply = await self.container.commands.run(intent, ctx)
        await self.deliver(
            turn_context, reply, ctx, card_id=card_id, form=FORMS.get(action), values=value,
            from_form_card=bool(value.get("form_card")),
        )  # fmt: skip

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        turn = self.turn(turn_context)
        if turn.kind == "personal":
            await self.send(turn_context, MessageFactory.text(_(GREETING)))
            await self._deliver_home(
                turn_context, await home(self.container.db, turn.tenant, turn.user), turn
            )

    # ----- Universal Actions: Action.Execute and refresh --------------------------------------

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        action = invoke_value.action or {}
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        verb = str(action.get("verb") or data.get(cards.KEY) or "")
        card = await self.execute(turn_context, verb, dict(data))
        return AdaptiveCardInvokeResponse(status_code=int(HTTPStatus.OK), type=CARD_TYPE, value=card)

    async def execute(self, turn_context: TurnContext, verb: str, data: dict[str, Any]) -> dict[str, Any]:
        """Run one Action.Execute; the card returned is what the person who pressed now sees."""
        turn = self.turn(turn_context)
        card_id = turn_context.activity.reply_to_id or None
        now = self.container.clock.now()
        if verb == cards.HOME:
            return await self._home_card(turn_context, turn)
        if verb == cards.REFRESH:
            try:
                number = int(str(data.get("number")))
                detail = await case_detail(self.container.db, turn.tenant, number)
            except (TypeError, ValueError, DomainError) as err:
                error = (
                    err if isinstance(err, DomainError) else DomainError(_("This card has no case on it."))
                )
                return cards.error_card(error)
            return (await self.case_views(turn, CaseReply(detail=detail)))[1]
        source = f"teams-card:{card_id or turn_context.activity.id}" if verb == "open" else None
        ctx = self.ctx(turn, source_ref=source)
        try:
            intent = intent_from_submit(verb, data)
        except DomainError as err:
            reply: Reply = ErrorReply(error=err, echo="")
        else:
            reply = await self.container.commands.run(intent, ctx)
        if data.get("home"):
            if isinstance(reply, CaseReply) and reply.detail is not None:
                await self._update_case_card(turn_context, turn, reply)
            error = reply.error if isinstance(reply, ErrorReply) else None
            message = getattr(reply, "message", None) if error is None else None
            return await self._home_card(turn_context, turn, message=message, error=error)
        names = await self.store.names(turn.tenant, cards.reply_mentions(reply))
        if isinstance(reply, ErrorReply):
            assert reply.error is not None
            return await self._refused(turn, verb, data, reply.error, names)
        if isinstance(reply, CaseReply) and reply.detail is not None:
            shared, mine = await self.case_views(turn, reply, names)
            await self._deliver_case(turn_context, reply, turn, card_id, shared, mine)
            return mine
        policy = (
            await self.container.service.policy(turn.tenant, turn.user, PLATFORM)
            if isinstance(reply, FormReply)
            else None
        )
        return cards.render(reply, now, turn.tz, names, policy)

    async def _update_case_card(self, turn_context: TurnContext, turn: Turn, reply: CaseReply) -> None:
        """Bring the case's shared card up to date where it lives (after an action taken elsewhere)."""
        assert reply.detail is not None
        case = reply.detail.case
        stored = (case.card_ref or {}).get("teams") if case.platform == PLATFORM else None
        if not stored:
            return
        shared, _ = await self.case_views(turn, reply)
        try:
            await self.update_elsewhere(turn_context.adapter, stored, shared)
        except Exception:
            log.warning("could not update the card of case #%s in place", case.number, exc_info=True)

    async def update_case_card(self, adapter: BotAdapter, tenant: str, number: int) -> bool:
        """Bring the case's shared card up to date from outside any turn (the customer answered on the
        feedback page); False when the case has no Teams card to update."""
        try:
            detail = await case_detail(self.container.db, tenant, number)
        except DomainError:
            return False
        case = detail.case
        stored = (case.card_ref or {}).get("teams") if case.platform == PLATFORM else None
        if not stored:
            return False
        reply = CaseReply(detail=detail)
        names = await self.store.names(tenant, cards.reply_mentions(reply))
        refresh = await self.refresh_ids(tenant, detail)
        team_language = (await self.container.commands.language_of(Context(tenant, "", "")))[1]
        with use_locale(team_language):  # the channel's card reads in the team's language
            shared = cards.case_card(reply, self.container.clock.now(), self.container.settings.default_timezone,
                                     names, refresh=refresh)  # fmt: skip
        await self.update_elsewhere(adapter, stored, shared)
        return True

    async def _refused(
        self, turn: Turn, verb: str, data: dict[str, Any], error: DomainError, names: dict[str, str]
    ) -> dict[str, Any]:
        """A refusal as the person's own card: the form they filled (values kept) under the reason."""
        form = FORMS.get(verb)
        policy = await self.container.service.policy(turn.tenant, turn.user, PLATFORM)
        form_card = (
            cards.form_card(form, ids_of(data), data, policy=policy, error=error, names=names)
            if form
            else None
        )
        number = data.get("number")
        if form_card is not None and (data.get("form_card") or number in (None, "")):
            return form_card
        try:
            detail = await case_detail(self.container.db, turn.tenant, int(str(number)))
        except (TypeError, ValueError, DomainError):
            return form_card or cards.error_card(error, "", names)
        names = names | await self.store.names(turn.tenant, cards.reply_mentions(CaseReply(detail=detail)))
        refresh = await self.refresh_ids(turn.tenant, detail)
        return cards.case_card(
            CaseReply(detail=detail), self.container.clock.now(), turn.tz, names, error=error, viewer=turn.user,
            refresh=refresh, form=form_card,
        )  # fmt: skip

    async def refresh_ids(self, tenant: str, detail: CaseDetail) -> list[str]:
        """Who gets their own view automatically: the people with a part in the case first, then
        whoever was seen most recently, up to Teams' 60; the rest use the card's Refresh."""
        case = detail.case
        parts = [x for x in (case.owner_id, case.opened_by) if x]
        if detail.pending:
            parts += approvers_of(detail.policy)
        parts += [step.owner_id for step in detail.steps if step.owner_id]
        ids, recent = await self.store.refresh_people(tenant, parts, cards.MAX_REFRESH_USERS)
        out = [ids[person] for person in dict.fromkeys(parts) if person in ids] + recent
        return list(dict.fromkeys(out))[: cards.MAX_REFRESH_USERS]

    async def case_views(
        self, turn: Turn, reply: CaseReply, names: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the shared card everyone starts from, this person's own view)."""
        assert reply.detail is not None
        if names is None:
            names = await self.store.names(turn.tenant, cards.reply_mentions(reply))
        refresh = await self.refresh_ids(turn.tenant, reply.detail)
        now = self.container.clock.now()
        with use_locale(turn.team_language):  # everyone's card, in the team's language
            shared = cards.case_card(
                reply, now, self.container.settings.default_timezone, names, refresh=refresh
            )
        with use_locale(turn.language):  # this person's own view, in theirs
            mine = cards.case_card(reply, now, turn.tz, names, viewer=turn.user, refresh=refresh)
        return shared, mine

    # ----- the personal home --------------------------------------------------------------------

    async def _home_card(
        self, turn_context: TurnContext, turn: Turn, *, message: str | None = None,
        error: DomainError | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        reply = await person_home(
            self.container.db, turn.tenant, turn.user, self.container.clock.now(), turn.tz
        )
        names = await self.store.names(turn.tenant, {a.requested_by for a in reply.approvals})
        sender = turn_context.activity.from_property
        card = cards.home_card(reply, self.container.clock.now(), turn.tz, names, refresh_for=sender.id if sender else None,
                               message=message, error=error)  # fmt: skip
        person = await self.store.person(turn.tenant, turn.user)
        card_id = turn_context.activity.reply_to_id
        if turn.kind == "personal" and card_id and person is not None and person.home_activity_id == card_id:
            await self.update(turn_context, card_id, card)  # keep the one home card current for every device
        return card

    async def _deliver_home(self, turn_context: TurnContext, reply: HomeReply, turn: Turn) -> None:
        if turn.kind != "personal":
            await self.send(turn_context, MessageFactory.text(_(
                "Your home (your cases, follow-ups, approvals and figures) is in your chat with me: "
                "open Teambot's chat and type **recover home**.")))  # fmt: skip
            return
        names = await self.store.names(turn.tenant, {a.requested_by for a in reply.approvals})
        sender = turn_context.activity.from_property
        card = cards.home_card(
            reply, self.container.clock.now(), turn.tz, names, refresh_for=sender.id if sender else None
        )
        person = await self.store.person(turn.tenant, turn.user)
        old = person.home_activity_id if person else None
        sent = await self.send(turn_context, adaptive(card))
        if sent:
            await self.store.set_home(turn.tenant, turn.user, sent)
        if old and old != sent:
            try:
                await self.update(
                    turn_context, old, cards.card([cards.text_block(_(HOME_MOVED), isSubtle=True)])
                )
            except Exception:  # the old card may be gone
                log.info("could not retire the old home card", exc_info=True)

    # ----- message extension: "Open recovery case" on a message ------------------------------

    async def on_teams_messaging_extension_fetch_task(
        self, turn_context: TurnContext, action: MessagingExtensionAction
    ) -> MessagingExtensionActionResponse:
        turn = self.turn(turn_context)
        body = action.message_payload.body if action.message_payload else None
        problem = html_to_text(body.content if body else "")[:3000]
        policy = await self.container.service.policy(turn.tenant, turn.user, PLATFORM)
        return self._task(cards.form_card("open", {}, {"problem": problem}, policy=policy, dialog=True))

    async def on_teams_messaging_extension_submit_action(
        self, turn_context: TurnContext, action: MessagingExtensionAction
    ) -> MessagingExtensionActionResponse:
        turn = self.turn(turn_context)
        data = dict(action.data or {})
        message_id = action.message_payload.id if action.message_payload else None
        ctx = self.ctx(turn, source_ref=f"teams-msg:{message_id}" if message_id else None)
        try:
            intent: Intent = intent_from_submit("open", data)
        except DomainError as err:
            reply: Reply = ErrorReply(error=err)
        else:
            reply = await self.container.commands.run(intent, ctx)
        if isinstance(reply, ErrorReply):
            assert reply.error is not None
            policy = await self.container.service.policy(turn.tenant, turn.user, PLATFORM)
            return self._task(
                cards.form_card("open", {}, data, policy=policy, error=reply.error, dialog=True)
            )
        await self.deliver(turn_context, reply, ctx)
        return MessagingExtensionActionResponse()

    @staticmethod
    def _task(card: dict[str, Any]) -> MessagingExtensionActionResponse:
        info = TaskModuleTaskInfo(title=_("Open recovery case"), card=CardFactory.adaptive_card(card), height="large",
                                  width="medium")  # fmt: skip
        return MessagingExtensionActionResponse(task=TaskModuleContinueResponse(value=info))

    # ----- dialogs (task modules): the "Send follow-up" form ----------------------------------

    async def on_teams_task_module_fetch(
        self, turn_context: TurnContext, task_module_request: TaskModuleRequest
    ) -> TaskModuleResponse:
        """The case card's "Send follow-up" opens the editable draft in a dialog."""
        turn = self.turn(turn_context)
        data = dict(task_module_request.data or {}) if isinstance(task_module_request.data, dict) else {}
        try:
            intent = intent_from_submit(str(data.get(cards.KEY) or "send_form"), data)
        except DomainError as err:
            return await self._dialog_message(turn, str(err))
        reply = await self.container.commands.run(intent, self.ctx(turn))
        if not isinstance(reply, FormReply):
            return await self._dialog_message(
                turn, str(getattr(reply, "message", "") or getattr(reply, "text", ""))
            )
        number = reply.prefill.get("number")
        card = cards.form_card(reply.form, {"number": number}, reply.prefill, dialog=True)
        return self._dialog(card, _("Case #%(number)s: follow-up email") % {"number": number})

    async def on_teams_task_module_submit(
        self, turn_context: TurnContext, task_module_request: TaskModuleRequest
    ) -> TaskModuleResponse:
        """Send from the dialog; a refusal keeps the dialog open with what was typed in it."""
        turn = self.turn(turn_context)
        data = dict(task_module_request.data or {}) if isinstance(task_module_request.data, dict) else {}
        form = str(data.get(cards.KEY) or "send")
        try:
            intent = intent_from_submit(form, data)
        except DomainError as err:
            reply: Reply = ErrorReply(error=err, echo="")
        else:
            reply = await self.container.commands.run(intent, self.ctx(turn))
        if isinstance(reply, ErrorReply):
            assert reply.error is not None
            names = await self.store.names(turn.tenant, cards.reply_mentions(reply))
            card = cards.form_card(form, ids_of(data), data, error=reply.error, names=names, dialog=True)
            return self._dialog(card, _("Case #%(number)s: follow-up email") % {"number": data.get("number")})
        if isinstance(reply, CaseReply) and reply.detail is not None:
            await self._update_case_card(turn_context, turn, reply)
        return await self._dialog_message(
            turn, str(getattr(reply, "message", "") or getattr(reply, "text", ""))
        )

    @staticmethod
    def _dialog(card: dict[str, Any], title: str) -> TaskModuleResponse:
        info = TaskModuleTaskInfo(
            title=title, card=CardFactory.adaptive_card(card), height="large", width="medium"
        )
        return TaskModuleResponse(task=TaskModuleContinueResponse(value=info))

    async def _dialog_message(self, turn: Turn, text: str) -> TaskModuleResponse:
        """The dialog closes on a line of text (names shown as names, not ids)."""
        names = await self.store.names(turn.tenant, cards.mention_ids(text))
        return TaskModuleResponse(
            task=TaskModuleMessageResponse(value=cards.plain_names(text, names)[:1000] or _("Done."))
        )

    # ----- replies ---------------------------------------------------------------------------

    async def send(self, turn_context: TurnContext, activity: Activity) -> str | None:
        key = conversation_key(turn_context.activity.conversation.id)
        response = await self.pacer.send(key, lambda: turn_context.send_activity(activity))
        return response.id if response else None

    async def update(self, turn_context: TurnContext, activity_id: str, card: dict[str, Any]) -> None:
        activity = adaptive(card)
        activity.id = activity_id
        key = conversation_key(turn_context.activity.conversation.id)
        await self.pacer.send(key, lambda: turn_context.update_activity(activity))

    async def update_elsewhere(self, adapter: BotAdapter, ref: dict[str, Any], card: dict[str, Any]) -> None:
        """Update a card in another conversation (the channel's case card, from an approver's DM)."""
        conv = await self.store.conversation(ref["conversation"])
        if conv is None:
            log.warning(
                "cannot update the Teams card %s: its conversation is unknown", ref.get("activity_id")
            )
            return
        reference = ConversationReference().deserialize(conv.reference)

        async def callback(tc: TurnContext) -> None:
            await self.update(tc, ref["activity_id"], card)

        await adapter.continue_conversation(reference, callback, self.app_id)

    async def deliver(
        self, turn_context: TurnContext, reply: Reply, ctx: Context, *, card_id: str | None = None,
        form: str | None = None, values: dict[str, Any] | None = None, from_form_card: bool = False,
    ) -> None:  # fmt: skip
        """Show a reply: case cards in place where they live, refusals on the form that caused them; in the
        person's language (a public answer in a channel: the team's)."""
        turn = self.turn(turn_context)
        turn.language, turn.team_language = ctx.language, ctx.team_language  # a language command changes them
        with use_locale(turn.language):
            await self._deliver(turn_context, reply, turn, card_id, form, values, from_form_card)

    async def _deliver(
        self, turn_context: TurnContext, reply: Reply, turn: Turn, card_id: str | None, form: str | None,
        values: dict[str, Any] | None, from_form_card: bool,
    ) -> None:  # fmt: skip
        now = self.container.clock.now()
        names = await self.store.names(turn.tenant, cards.reply_mentions(reply))
        if isinstance(reply, ErrorReply):
            assert reply.error is not None
            if form is not None:
                policy = await self.container.service.policy(turn.tenant, turn.user, PLATFORM)
                card = cards.form_card(
                    form, ids_of(values or {}), values, policy=policy, error=reply.error, names=names
                )
                if from_form_card and card_id:
                    await self.update(turn_context, card_id, card)
                else:
                    await self.send(turn_context, adaptive(card))
            else:
                echo = "" if card_id else reply.echo  # a pressed button has nothing typed to give back
                await self.send(turn_context, adaptive(cards.error_card(reply.error, echo, names)))
            return
        if isinstance(reply, CaseReply) and reply.detail is not None:
            shared, mine = await self.case_views(turn, reply, names)
            await self._deliver_case(turn_context, reply, turn, card_id, shared, mine)
            return
        if isinstance(reply, HomeReply):
            await self._deliver_home(turn_context, reply, turn)
            return
        policy = None
        if isinstance(reply, FormReply):
            policy = await self.container.service.policy(turn.tenant, turn.user, PLATFORM)
        language = turn.team_language if reply.public and turn.kind != "personal" else turn.language
        with use_locale(language):
            card = cards.render(reply, now, turn.tz, names, policy)
        await self.send(turn_context, adaptive(card))

    async def _deliver_case(
        self,
        turn_context: TurnContext,
        reply: CaseReply,
        turn: Turn,
        card_id: str | None,
        shared: dict[str, Any],
        mine: dict[str, Any],
    ) -> None:
        """Where everyone sees the card (a channel) it is the shared view; in a 1:1 chat the person's own."""
        detail = reply.detail
        assert detail is not None
        case = detail.case
        card = mine if turn.kind == "personal" else shared
        stored = (case.card_ref or {}).get("teams") if case.platform == PLATFORM else None
        fresh_open = reply.opened is not None and not reply.opened.duplicate
        if card_id:
            await self.update(turn_context, card_id, card)
            if fresh_open or (stored is None and reply.public):
                await self._remember_card(case.team_id, case.number, turn.key, card_id)
        else:
            sent = await self.send(turn_context, adaptive(card))
            if sent and reply.public and (fresh_open or stored is None):
                await self._remember_card(case.team_id, case.number, turn.key, sent)
                stored = None  # this new card is the one that lives on
        if stored and stored.get("activity_id") != card_id and not (reply.opened and reply.opened.duplicate):
            try:
                if stored.get("conversation") == turn.key:
                    await self.update(turn_context, stored["activity_id"], card)
                else:
                    await self.update_elsewhere(turn_context.adapter, stored, shared)
            except Exception:  # the old card may be gone; the person already has a fresh one
                log.warning("could not update the case card of case #%s in place", case.number, exc_info=True)

    async def _remember_card(self, team_id: str, number: int, key: str, activity_id: str) -> None:
        await self.container.service.set_card_ref(
            team_id, number, {"teams": {"conversation": key, "activity_id": activity_id}}
        )
