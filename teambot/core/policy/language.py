"""Whose language Teambot speaks: `/recover policy language <code>` (the team's, admins) and
`/recover policy my language <code>` (anyone, for themselves), and the resolver every command runs
under: a person's own choice, else what their platform says (Slack's locale, Teams' activity
locale, the shell's --lang), else the team's, else English.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlmodel import select

from teambot.core.commands.context import Context
from teambot.core.db import Database
from teambot.core.errors import BadInput
from teambot.core.i18n import first_supported, language_in_words, require_language, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.policy.models import Policy

TEAM_USAGE = "/recover policy language <de|en|es|fr|nl|pt>"
MY_USAGE = "/recover policy my language <de|en|es|fr|nl|pt|auto>"
_AUTO = ("auto", "default", "team", "reset")


def apply_language(policy: Policy, actor: str, setting: str, args: list[str]) -> str:
    """`language <code>` sets the team's; `my language <code>` the actor's own ("team" drops it)."""
    if setting == "my":
        if len(args) != 2 or args[0].lower() != "language":
            raise BadInput(_("Say which language Teambot should speak with you."), _usage(MY_USAGE))
        if args[1].lower() in _AUTO:
            policy.languages = {k: v for k, v in policy.languages.items() if k != actor}
            return _("Teambot follows your app's language again; without one, the team's: %(name)s.") % {
                "name": language_in_words(first_supported(policy.language))
            }
        lang = require_language(args[1])
        policy.languages = {**policy.languages, actor: lang}
        with use_locale(lang):
            return _(
                "Teambot now speaks %(name)s with you. Commands stay in English, the same for the whole team."
            ) % {"name": language_in_words(lang)}
    if len(args) != 1:
        raise BadInput(_("Say which language the team speaks."), _usage(TEAM_USAGE))
    lang = require_language(args[0])
    policy.language = lang
    with use_locale(lang):
        return _(
            "The team's language is now %(name)s: channel cards, the digest, and mails to customers whose "
            "case names no language of their own."
        ) % {"name": language_in_words(lang)}


def _usage(usage: str) -> str:
    return _("Usage: %(usage)s") % {"usage": usage}


class Languages:
    """The language of each command's person, with the team's settings cached for `ttl` seconds
    (a command costs no extra query while the cache is warm; a change made here is seen at once,
    one made by another process within `ttl`)."""

    def __init__(self, db: Database, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.ttl = ttl
        self.clock = clock
        self._teams: dict[str, tuple[float, str, dict[str, str]]] = {}

    async def _team(self, team_id: str) -> tuple[str, dict[str, str]]:
        hit = self._teams.get(team_id)
        if hit is not None and hit[0] > self.clock():
            return hit[1], hit[2]
        async with self.db.session() as s:
            row = (await s.exec(select(Policy.language, Policy.languages).where(Policy.team_id == team_id))).first()
        # A team with no policy yet speaks English until one is made (a policy change forgets this).
        language, people = (row[0], dict(row[1] or {})) if row is not None else ("en", {})
        if len(self._teams) >= 10000:
            self._teams.pop(next(iter(self._teams)))
        self._teams[team_id] = (self.clock() + self.ttl, language, people)
        return language, people

    async def of(self, ctx: Context) -> tuple[str, str]:
        """(the person's language, the team's)."""
        language, people = await self._team(ctx.team_id)
        return first_supported(people.get(ctx.user_id), ctx.locale, language), first_supported(language)

    async def team(self, team_id: str) -> str:
        return first_supported((await self._team(team_id))[0])

    def forget(self, team_id: str) -> None:
        self._teams.pop(team_id, None)

