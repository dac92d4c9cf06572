"""`/recover api-token ...` (admins): replies are private, so a token reaches only the admin who made it."""

from __future__ import annotations

from teambot.core.api_tokens.store import ApiTokens, describe
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply, TextReply
from teambot.core.commands.secrets_shown import require_private
from teambot.core.i18n import gettext as _


class ApiTokenHandlers:
    def __init__(self, tokens: ApiTokens) -> None:
        self.tokens = tokens

    async def run(self, intent: i.ApiTokenCommand, ctx: Context) -> Reply:
        team, actor, name = ctx.team_id, ctx.user_id, intent.token_name or ""
        if intent.action == "create":
            require_private(ctx, _("token"))
            row, plain = await self.tokens.create(team, actor, name, intent.scope)
            shown = _("Token %(name)s (%(scope)s): %(token)s") % {
                "name": row.name,
                "scope": row.scope,
                "token": plain,
            }
            how = _("Shown this once: keep it in your secret store. Send it as `Authorization: Bearer <token>` "
                    "to /api/v1 (the document: /api/v1/openapi.json).")  # fmt: skip
            return TextReply(title=_("API token created"), text=f"{shown}\n{how}")
        if intent.action == "revoke":
            row = await self.tokens.revoke(team, actor, name)
            return TextReply(text=_("Revoked %(name)s: it opens nothing from now on.") % {"name": row.name})
        return TextReply(text=describe(await self.tokens.list(team, actor)), title=_("API tokens"))

    def handlers(self) -> HandlerTable:
        return {i.ApiTokenCommand: self.run}
