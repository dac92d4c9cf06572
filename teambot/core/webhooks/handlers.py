"""`/recover webhook ...` (admins): replies are private, so a signing secret reaches only the admin."""

from __future__ import annotations

from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply, TextReply
from teambot.core.commands.secrets_shown import require_private
from teambot.core.i18n import gettext as _
from teambot.core.webhooks.admin import Webhooks, describe_hooks, describe_log


class WebhookHandlers:
    def __init__(self, webhooks: Webhooks) -> None:
        self.webhooks = webhooks

    async def run(self, intent: i.WebhookCommand, ctx: Context) -> Reply:
        team, actor, url = ctx.team_id, ctx.user_id, intent.url or ""
        if intent.action == "add":
            require_private(ctx, _("signing secret"))
            hook, secret = await self.webhooks.add(team, actor, url, intent.events)
            lines = [
                _("Teambot now sends %(events)s to %(url)s.") % {"events": ", ".join(hook.events), "url": hook.url},
                _("Signing secret (shown this once; keep it in your receiver's settings): %(secret)s")
                % {"secret": secret},
                _("Deliveries follow Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). "
                  "Try it: /recover webhook test %(url)s") % {"url": hook.url},
            ]  # fmt: skip
            return TextReply(title=_("Webhook added"), text="\n".join(lines))
        if intent.action == "remove":
            hook = await self.webhooks.remove(team, actor, url)
            return TextReply(
                text=_("Removed the webhook to %(url)s; nothing more is sent there.") % {"url": hook.url}
            )
        if intent.action == "test":
            return await self.test(team, actor, url)
        if intent.action == "log":
            hook, attempts = await self.webhooks.log(team, actor, url)
            return TextReply(text=describe_log(hook, attempts), title=_("Webhook log"))
        return TextReply(text=describe_hooks(await self.webhooks.list(team, actor)), title=_("Webhooks"))

    async def test(self, team: str, actor: str, url: str) -> Reply:
        attempt = await self.webhooks.test(team, actor, url)
        if attempt is not None and attempt.ok:
            return TextReply(text=_("Ping delivered to %(url)s: it answered %(status)s in %(ms)s ms.") % {
                "url": url, "status": attempt.status_code, "ms": attempt.duration_ms})  # fmt: skip
        why = attempt.error if attempt is not None else _("it was not sent yet")
        return TextReply(text=_("The ping to %(url)s failed (%(why)s). It is retried; see /recover webhook log %(url)s.")
                         % {"url": url, "why": why})  # fmt: skip

    def handlers(self) -> HandlerTable:
        return {i.WebhookCommand: self.run}
