"""Runs an intent against the core and returns a Reply; shared by the shell, Slack and Teams.

The table from intent class to handler is assembled by the composition root from each
feature's `handlers()`; this module knows no feature.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from teambot.core.commands.context import Context
from teambot.core.commands.grammar import parse
from teambot.core.commands.help import help_text
from teambot.core.commands.intents import ChangePolicy, Help, Intent, Suggest
from teambot.core.commands.replies import ChoiceReply, ErrorReply, Reply, TextReply
from teambot.core.errors import DomainError
from teambot.core.i18n import first_supported, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.text import clean_text

log = logging.getLogger(__name__)

CommandHandler = Callable[[Any, Context], Awaitable[Reply]]
HandlerTable = Mapping[type[Intent], CommandHandler]

__all__ = ["CommandHandler", "Commands", "Context", "HandlerTable", "help_reply"]


async def help_reply(intent: Help, ctx: Context) -> Reply:
    lead = (
        _("I don't know `%(word)s`. To open a case, describe what went wrong in a few words.")
        % {"word": intent.unknown}
        + "\n\n"
        if intent.unknown
        else ""
    )
    return TextReply(text=lead + help_text(), title=_("Help"))


async def suggest_reply(intent: Suggest, ctx: Context) -> Reply:
    """A typo opens nothing: say what was probably meant, with a button that runs it."""
    return ChoiceReply(
        text=_("I don't know `%(word)s`, so nothing was opened. Did you mean `/recover %(command)s`?")
        % {"word": intent.unknown, "command": intent.command},
        choices=[(f"/recover {intent.command}", intent.command)],
    )


LanguageOf = Callable[[Context], Awaitable[tuple[str, str]]]


async def _platform_language(ctx: Context) -> tuple[str, str]:
    return first_supported(ctx.locale), "en"


class Commands:
    """Every command runs in its person's language (`language_of`, from the composition root, gives
    theirs and their team's); `ctx.language` tells the adapter which language to render the reply in."""

    def __init__(self, table: HandlerTable, language_of: LanguageOf | None = None,
                 forget: Callable[[str], None] | None = None) -> None:  # fmt: skip
        self.table: dict[type[Intent], CommandHandler] = {Help: help_reply, Suggest: suggest_reply, **table}
        self.language_of = language_of or _platform_language
        self.forget = forget

    async def _languages(self, ctx: Context) -> None:
        ctx.language, ctx.team_language = await self.language_of(ctx)

    async def run_text(self, text: str, ctx: Context) -> Reply:
        await self._languages(ctx)
        try:
            with use_locale(ctx.language):
                intent = parse(text)
        except DomainError as err:
            return ErrorReply(error=err, echo=clean_text(text).strip())
        return await self.run(intent, ctx, resolved=True)

    async def run(self, intent: Intent, ctx: Context, *, resolved: bool = False) -> Reply:
        if not resolved:
            await self._languages(ctx)
        with use_locale(ctx.language):
            reply = await self._run(intent, ctx)
        if isinstance(intent, ChangePolicy) and self.forget is not None:
            self.forget(ctx.team_id)  # the team's or this person's language may have changed
            await self._languages(ctx)
        return reply

    async def _run(self, intent: Intent, ctx: Context) -> Reply:
        handler = self.table.get(type(intent))
        if handler is None:  # parsed, but no feature took it: say what is there
            return await help_reply(Help(unknown=intent.name, text=intent.text), ctx)
        try:
            return await handler(intent, ctx)
        except DomainError as err:
            if err.offer is not None:  # a refusal with a way past it: say it, with the button
                return ChoiceReply(text=f"✗ {err}", choices=[err.offer])
            return ErrorReply(error=err, echo=intent.text)
