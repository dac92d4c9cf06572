"""`/recover send <case>` and the card's "Send follow-up" form."""

from __future__ import annotations

from teambot.core.cases.handlers import case_card
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import FormReply, Reply
from teambot.core.customer_loop.sending import FollowupMailer
from teambot.core.i18n import gettext as _


class LoopHandlers:
    def __init__(self, mailer: FollowupMailer) -> None:
        self.mailer = mailer

    async def send(self, intent: i.SendFollowup, ctx: Context) -> Reply:
        n = intent.number
        sent = await self.mailer.send_now(ctx.team_id, n, ctx.user_id, intent.body, tz=ctx.tz,
                                          signer=ctx.user_name)  # fmt: skip
        if sent.ok and sent.via == "outbox":
            msg = _(
                "Follow-up for case #%(n)s written to %(path)s (no SMTP_URL is set, so mail goes to the "
                "outbox folder; open the .eml in any mail client)."
            ) % {"n": n, "path": sent.ref}
        elif sent.ok:
            msg = _("%(who)s emailed the follow-up for case #%(n)s to the customer.") % {"who": f"<@{ctx.user_id}>", "n": n}
        else:
            msg = _(
                "The follow-up for case #%(n)s could not be sent yet (%(error)s). Teambot keeps "
                "trying and tells the owner if it finally fails."
            ) % {"n": n, "error": sent.error}
        return await case_card(self.mailer.service.db, ctx.team_id, n, msg, public=False)

    async def form(self, intent: i.SendForm, ctx: Context) -> Reply:
        await self.mailer.check(ctx.team_id, intent.number, ctx.user_id)
        body = await self.mailer.draft(ctx.team_id, intent.number, ctx.tz)
        return FormReply(form="send", prefill={"number": intent.number, "body": body})

    def handlers(self) -> HandlerTable:
        return {i.SendFollowup: self.send, i.SendForm: self.form}
