"""Where a secret may be shown once: only where nobody else reads the answer.

Slack answers a slash command ephemerally and the shell is one person's; a Teams channel shows
every answer to the whole channel, so there a token or a signing secret is given only in a 1:1 chat."""

from __future__ import annotations

from teambot.core.commands.context import Context
from teambot.core.errors import InvalidStep
from teambot.core.i18n import gettext as _

SHARED_ANSWERS = ("teams",)  # platforms whose answers in a channel everyone in it sees


def require_private(ctx: Context, what: str) -> None:
    """`what` is "token" (an API token) or the webhook's signing secret (anything else)."""
    if ctx.platform in SHARED_ANSWERS and not ctx.direct:
        shown = (
            _("The token is shown once, so I give it only in a 1:1 chat, not in this channel.")
            if what == "token"
            else _("The signing secret is shown once, so I give it only in a 1:1 chat, not in this channel.")
        )
        raise InvalidStep(shown, _("Send me the same command in a chat with Teambot."))
