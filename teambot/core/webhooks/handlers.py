"""`/recover webhook ...` (admins): replies are private, so a signing secret reaches only the admin."""

from __future__ import annotations

from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply, TextReply
from teambot.core.commands.secrets_shown import require_private
from teambot.core.webhooks.admin import Webhooks, describe_hooks, describe_log


class WebhookHandlers:
    def __init__(self, webhooks: Webhooks) -> None:
        self.w = webhooks

    async def run(self, intent: i.WebhookCommand, ctx: Context) -> Reply:
        team, actor, url = ctx.team_id, ctx.user_id, intent.url or ""
        if intent.action == "add":
            require_private(ctx, "signing secret")
            hook, secret = await self.w.add(team, actor, url, intent.events)
            return TextReply(
                title="Webhook added",
                text=f"Teambot now sends {', '.join(hook.events)} to {hook.url}.\n"
                f"Signing secret (shown this once; keep it in your receiver's settings): {secret}\n"
                f"Deliveries follow Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). "
                f"Try it: /recover webhook test {hook.url}",
            )
        if intent.action == "remove":
            hook = await self.w.remove(team, actor, url)
            return TextReply(text=f"Removed the webhook to {hook.url}; nothing more is sent there.")
        if intent.action == "test":
            attempt = await self.w.test(team, actor, url)
            if attempt is not None and attempt.ok:
                return TextReply(text=f"Ping delivered to {url}: it answered {attempt.status_code} in {attempt.duration_ms} ms.")
            why = attempt.error if attempt is not None else "it was not sent yet"
            return TextReply(text=f"The ping to {url} failed ({why}). It is retried; see /recover webhook log {url}.")
        if intent.action == "log":
            hook, attempts = await self.w.log(team, actor, url)
            return TextReply(text=describe_log(hook, attempts), title="Webhook log")
        return TextReply(text=describe_hooks(await self.w.list(team, actor)), title="Webhooks")

    def handlers(self) -> HandlerTable:
        return {i.WebhookCommand: self.run}
