"""Shout-outs: teammates recognising great recoveries, counted so the digest can name them.

No shout-outs to oneself, and a daily allowance per giver (Policy.shoutouts_per_day,
counted over the giver's local day in the team's digest time zone) keeps them meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select

from teambot.core.cases.models import Case, CaseStatus, TimelineEvent
from teambot.core.db import Database
from teambot.core.errors import BadInput, InvalidStep, NotFound
from teambot.core.i18n import gettext as _
from teambot.core.i18n import ngettext, use_locale
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import load_policy, read_policy
from teambot.core.ports import Clock, Notice, Notifier, Recipient
from teambot.core.recognition.models import Shoutout

MAX_MESSAGE = 500


@dataclass
class LeaderRow:
    user: str
    shoutouts: int = 0
    recovered: int = 0
    scores: int = 0
    score_total: int = 0

    @property
    def avg_score(self) -> float | None:
        return round(self.score_total / self.scores, 2) if self.scores else None

    @property
    def points(self) -> int:
        return self.shoutouts + self.recovered


def _checked(giver: str, to: str, message: str) -> tuple[str, str]:
    """Who the shout-out is for and its words, cleaned; or a refusal that says what to change."""
    to = to.strip().strip("<>").lstrip("@")
    text = " ".join((message or "").split())
    if not to:
        raise BadInput(_("Who is the shout-out for?"), _("Usage: /recover shoutout @person [case] <why>"))
    if to == giver:
        raise InvalidStep(
            _("Shout-outs are for teammates, not yourself."),
            _("Recognise someone who helped you instead."),
        )
    if not text:
        raise BadInput(
            _("Say what %(person)s did well.") % {"person": f"<@{to}>"},
            _("Usage: /recover shoutout @%(person)s [case] <why>") % {"person": to},
            field="message",
        )
    if len(text) > MAX_MESSAGE:
        raise BadInput(
            _("The shout-out is %(count)s characters; the most is %(limit)s.")
            % {"count": len(text), "limit": MAX_MESSAGE},
            _("Shorten it and send it again."),
            field="message",
        )
    return to, text


class Shoutouts:
    def __init__(self, db: Database, clock: Clock, notifier: Notifier) -> None:
        self.db = db
        self.clock = clock
        self.notifier = notifier

    async def give(
        self, team_id: str, giver: str, to: str, message: str, *, number: int | None = None,
        channel_id: str | None = None, platform: str = "shell",
    ) -> tuple[Shoutout, Case | None]:  # fmt: skip
        to, text = _checked(giver, to, message)
        async with self.db.session() as s:
            now = self.clock.now()
            policy = await load_policy(s, team_id, giver, now, platform)
            sched = await read_policy(s, team_id, now)
            zone = ZoneInfo(policy.digest_timezone)
            day_start = datetime.combine(now.astimezone(zone).date(), time(0), zone)
            given = (
                await s.exec(
                    select(func.count()).where(
                        Shoutout.team_id == team_id, Shoutout.giver == giver, col(Shoutout.at) >= day_start
                    )
                )
            ).one()
            if given >= sched.shoutouts_per_day:
                raise InvalidStep(
                    ngettext(
                        "You have given your %(count)s shout-out for today.",
                        "You have given your %(count)s shout-outs for today.",
                        sched.shoutouts_per_day,
                    )
                    % {"count": sched.shoutouts_per_day},
                    _("Save this one for tomorrow; the allowance keeps each one meaningful."),
                )
            case: Case | None = None
            if number is not None:
                case = (
                    await s.exec(select(Case).where(Case.team_id == team_id, Case.number == number))
                ).first()
                if case is None:
                    raise NotFound(
                        _("There is no case #%(number)s in this team.") % {"number": number},
                        _("Leave the case out, or check it."),
                    )
            shout = Shoutout(
                team_id=team_id, giver=giver, recipient=to, case_id=case.id if case else None, message=text,
                channel_id=channel_id or (case.channel_id if case else None), at=now,
            )  # fmt: skip
            s.add(shout)
            if case is not None:
                s.add(
                    TimelineEvent(
                        team_id=team_id, case_id=case.id, kind="shoutout", actor=giver, at=now,
                        data={"to": to, "message": text},
                    )
                )  # fmt: skip
            await s.commit()
        await self._announce(team_id, giver, to, text, case, channel_id, platform, policy.language)
        return shout, case

    async def _announce(
        self, team_id: str, giver: str, to: str, text: str, case: Case | None, channel_id: str | None,
        platform: str, language: str,
    ) -> None:  # fmt: skip
        """The channel hears it (in the team's language): where it was given, else the case's channel."""
        where = channel_id or (case.channel_id if case else None)
        if where:
            with use_locale(language):  # the channel reads the team's language
                values = {"giver": f"<@{giver}>", "to": f"<@{to}>", "message": text}
                if case:
                    said = _("%(giver)s gave %(to)s a shout-out for case #%(number)s: %(message)s") % {
                        **values, "number": case.number}  # fmt: skip
                else:
                    said = _("%(giver)s gave %(to)s a shout-out: %(message)s") % values
            await self.notifier.notify(
                Recipient("channel", where, case.platform if case else platform),
                Notice(
                    kind="shoutout",
                    text=f"🎉 {said}",
                    team_id=team_id,
                    case_id=case.id if case else None,
                    data={"from": giver, "to": to, "message": text, "number": case.number if case else None},
                ),
            )

    async def leaderboard(self, team_id: str, days: int = 30, limit: int = 10) -> list[LeaderRow]:
        """Top recoverers: shout-outs received, cases recovered (closed satisfied), their scores."""
        since = self.clock.now() - timedelta(days=days)
        async with self.db.read() as s:
            rows: dict[str, LeaderRow] = {}
            shouts = await s.exec(
                select(Shoutout.recipient, func.count())
                .where(Shoutout.team_id == team_id, col(Shoutout.at) >= since)
                .group_by(Shoutout.recipient)
            )
            for user, n in shouts.all():
                rows.setdefault(user, LeaderRow(user)).shoutouts = int(n)
            answers = list(
                (
                    await s.exec(
                        select(TimelineEvent).where(
                            TimelineEvent.team_id == team_id,
                            TimelineEvent.kind == "followup_answered",
                            col(TimelineEvent.at) >= since,
                        )
                    )
                ).all()
            )
            ids = {e.case_id for e in answers if e.case_id}
            cases = (
                {c.id: c for c in (await s.exec(select(Case).where(col(Case.id).in_(ids)))).all()}
                if ids
                else {}
            )
            latest: dict[int, TimelineEvent] = {}  # a case answered twice counts once, by its last answer
            for e in sorted(answers, key=lambda e: (e.at, e.id or 0)):
                latest[e.case_id or 0] = e
            for e in latest.values():
                c = cases.get(e.case_id)
                # A reopened case's old verdict is superseded; a cancelled case counts nowhere.
                if c is None or not c.owner_id or c.followup_at is None or c.status == CaseStatus.CANCELLED:
                    continue
                row = rows.setdefault(c.owner_id, LeaderRow(c.owner_id))
                if e.data.get("satisfied"):
                    row.recovered += 1
                if e.data.get("score") is not None:
                    row.scores += 1
                    row.score_total += int(e.data["score"])
        ranked = sorted(rows.values(), key=lambda r: (-r.points, -(r.avg_score or 0), r.user))
        return ranked[:limit]


async def team_policy(db: Database, team_id: str) -> Policy | None:
    async with db.read() as s:
        return await s.get(Policy, team_id)
