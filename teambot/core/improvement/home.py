"""What a person's home shows of the improvement loop: for leads, managers and admins the causes
to fix first this month; for everyone the improvement actions they own. Lines of text, the same
in the shell, Slack's App Home and the Teams home card."""

from __future__ import annotations

from datetime import datetime

from teambot.core.cases.home import HomeReply, home
from teambot.core.db import Database
from teambot.core.i18n import gettext as _
from teambot.core.improvement.actions import list_actions
from teambot.core.improvement.costs import cause_costs
from teambot.core.improvement.render import action_line, cost_line
from teambot.core.insights.spend import may_see_spend, parse_period
from teambot.core.policy.models import Policy

TOP = 3


async def home_sections(
    db: Database, team_id: str, user: str, now: datetime, tz: str = "UTC"
) -> list[tuple[str, list[str]]]:
    async with db.read() as s:
        policy = await s.get(Policy, team_id)
        costs = []
        if policy is not None and may_see_spend(policy, user):
            period = parse_period("month", now, policy.digest_timezone)
            costs = await cause_costs(s, policy, period.start, period.end)
    sections: list[tuple[str, list[str]]] = []
    if costs:
        lines = [cost_line(cost, rank) for rank, cost in enumerate(costs[:TOP], 1)]
        sections.append((_("Causes to fix first (this month, by cost)"), lines))
    mine = await list_actions(db, team_id, "open", user)
    if mine:
        title = _("Your improvement actions (%(count)s)") % {"count": len(mine)}
        sections.append((title, [action_line(action, now, tz) for action in mine[:10]]))
    return sections


async def person_home(db: Database, team_id: str, user: str, now: datetime, tz: str = "UTC") -> HomeReply:
    """The whole home every platform shows (Slack's App Home, the Teams home card, `/recover home`):
    the person's cases, follow-ups, approvals and figures, then the improvement loop's sections."""
    reply = await home(db, team_id, user)
    reply.sections += await home_sections(db, team_id, user, now, tz)
    return reply
