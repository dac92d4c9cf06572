"""The weekly digest as due items: planned per team, sent by the sweep with its chart."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from teambot.core.i18n import gettext as _
from teambot.core.i18n import use_locale
from teambot.core.insights.digest import (
    WEEK,
    Digest,
    compute,
    current_monday,
    parse_week,
    send_time,
    week_bounds,
    week_label,
)
from teambot.core.observability import DIGEST_BUILD_SECONDS
from teambot.core.policy.models import Policy
from teambot.core.ports import Attachment, Notice, Recipient
from teambot.core.scheduling.deadlines import Deadlines
from teambot.core.scheduling.models import PENDING, DueItem
from teambot.core.scheduling.queue import DueHandler, Outcome, insert_new


async def plan_digests(dl: Deadlines, now: datetime) -> list[str]:
    """Make sure every team has last week's digest as a due item, from the week it began."""
    created = []
    async with dl.db.session() as s:
        policies = list((await s.exec(select(Policy))).all())
        for p in policies:
            monday = current_monday(now, p.digest_timezone)
            if p.created_at >= week_bounds(monday, p.digest_timezone)[0]:
                continue  # the team began this week: its first digest is next week's
            week = week_label(monday - WEEK)
            due = send_time(p, monday)
            key = f"digest:{p.team_id}:{week}"
            item = DueItem(key=key, team_id=p.team_id, kind="digest", ref=week, due_at=due, created_at=now)
            if await insert_new(s, item):
                created.append(key)
            else:  # the admin may have moved the digest time since it was planned
                row = (await s.exec(select(DueItem).where(DueItem.key == key))).one()
                if row.status == PENDING and row.due_at != due and row.lease_owner is None:
                    row.due_at, row.version = due, row.version + 1
                    s.add(row)
        await s.commit()
    return created


async def _send_digest(dl: Deadlines, item: DueItem) -> Outcome:
    async with dl.db.session() as s:
        policy = await s.get(Policy, item.team_id)
    if policy is None:
        return Outcome(cancel=True, result={"why": "no policy"})
    recipients = digest_recipients(policy)
    if not recipients:
        return Outcome(cancel=True, result={"why": "no digest channel and no admin"})
    with use_locale(policy.language), DIGEST_BUILD_SECONDS.time():  # the digest reads in the team's language
        digest = await compute(dl.db, item.team_id, parse_week(item.ref or ""), dl.clock.now())
    with use_locale(policy.language):  # so do its text, its buttons and its chart
        data = digest.as_data()
        data["choices"] = flag_choices(digest)  # each flag of the week, one click from an action
        chart = chart_attachment(digest)
    notice = Notice(
        kind="digest",
        text=data["text"],
        team_id=item.team_id,
        data=data,
        attachments=[chart] if chart is not None else [],  # an empty week is one line, no chart
    )
    return Outcome(
        messages=[(r, notice) for r in recipients],
        result={"opened": digest.this.opened, "week": digest.week},
    )


def flag_choices(digest: Digest, most: int = 5) -> list[tuple[str, str]]:
    """[Make #12's flag an action] buttons: the command creates it, owned by whoever presses."""
    return [(_("Action from #%(number)s's flag") % {"number": flag["number"]},
             f"action {flag['number']} {' '.join(str(flag['note']).split())[:150]}")
            for flag in digest.flagged[:most]]  # fmt: skip


def digest_recipients(policy: Policy) -> list[Recipient]:
    """The digest channel; where a team has none (it only talks to Teambot in DMs, or from
    the shell), each admin by direct message."""
    if policy.digest_channel:
        return [Recipient("channel", policy.digest_channel, policy.platform)]
    return [Recipient("user", admin, policy.platform) for admin in policy.admins]


def chart_attachment(digest: Digest) -> Attachment | None:
    """The week's chart as a PNG, or None for a week without cases."""
    if digest.empty:
        return None
    from teambot.core.insights.charts import digest_chart  # matplotlib loads only when a digest goes out

    return Attachment(
        filename=f"teambot-digest-{digest.team_id}-{digest.week}.png",
        content=digest_chart(digest),
        title=_("Recovery cases, %(week)s") % {"week": digest.week},
    )


# The due-item kinds this module sends; bootstrap registers them on Deadlines.
DUE_HANDLERS: dict[str, DueHandler] = {"digest": _send_digest}
