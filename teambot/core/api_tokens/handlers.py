"""`/recover api-token ...` (admins): replies are private, so a token reaches only the admin who made it."""

from __future__ import annotations

from teambot.core.api_tokens.store import ApiTokens, describe
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply, TextReply
from teambot.core.commands.secrets_shown import require_private


class ApiTokenHandlers:
    def __init__(self, tokens: ApiTokens) -> None:
        self.t = tokens

    async def run(self, intent: i.ApiTokenCommand, ctx: Context) -> Reply:
        team, actor, name = ctx.team_id, ctx.user_id, intent.token_name or ""
        if intent.action == "create":
            require_private(ctx, "token")
            row, plain = await self.t.create(team, actor, name, intent.scope)
            return TextReply(
                title="API token created",
                text=f"Token {row.name} ({row.scope}): {plain}\n"
                "Shown this once: keep it in your secret store. Send it as `Authorization: Bearer <token>` "
                "to /api/v1 (the document: /api/v1/openapi.json).",
            )
        if intent.action == "revoke":
            row = await self.t.revoke(team, actor, name)
            return TextReply(text=f"Revoked {row.name}: it opens nothing from now on.")
        return TextReply(text=describe(await self.t.list(team, actor)), title="API tokens")

    def handlers(self) -> HandlerTable:
        return {i.ApiTokenCommand: self.run}
