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
from teambot.core.commands.help import HELP
from teambot.core.commands.intents import Help, Intent, Suggest
from teambot.core.commands.replies import ChoiceReply, ErrorReply, Reply, TextReply
from teambot.core.errors import DomainError
from teambot.core.text import clean_text

log = logging.getLogger(__name__)

Handler = Callable[[Any, Context], Awaitable[Reply]]
HandlerTable = Mapping[type[Intent], Handler]

__all__ = ["Commands", "Context", "Handler", "HandlerTable", "help_reply"]


async def help_reply(intent: Help, ctx: Context) -> Reply:
    lead = (
        f"I don't know `{intent.unknown}`. To open a case, describe what went wrong in a few words.\n\n"
        if intent.unknown
        else ""
    )
    return TextReply(text=lead + HELP, title="Help")


async def suggest_reply(intent: Suggest, ctx: Context) -> Reply:
    """A typo opens nothing: say what was probably meant, with a button that runs it."""
    return ChoiceReply(
        text=f"I don't know `{intent.unknown}`, so nothing was opened. Did you mean `/recover {intent.command}`?",
        choices=[(f"/recover {intent.command}", intent.command)],
    )


class Commands:
    def __init__(self, table: HandlerTable) -> None:
        self.table: dict[type[Intent], Handler] = {Help: help_reply, Suggest: suggest_reply, **table}

    async def run_text(self, text: str, ctx: Context) -> Reply:
        try:
            intent = parse(text)
        except DomainError as err:
            return ErrorReply(error=err, echo=clean_text(text).strip())
        return await self.run(intent, ctx)

    async def run(self, intent: Intent, ctx: Context) -> Reply:
        handler = self.table.get(type(intent))
        if handler is None:  # parsed, but no feature took it: say what is there
            return await help_reply(Help(unknown=intent.name, text=intent.text), ctx)
        try:
            return await handler(intent, ctx)
        except DomainError as err:
            if err.offer is not None:  # a refusal with a way past it: say it, with the button
                return ChoiceReply(text=f"✗ {err}", choices=[err.offer])
            return ErrorReply(error=err, echo=intent.text)
