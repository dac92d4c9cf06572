"""Deadlines: the queue of what is due with the case nudges registered, read and snoozed per case.

The parts: `working_hours.py` (when a deadline falls), `subscriber.py` (case changes schedule and
cancel rows), `queue.py` (claim with a lease, settle, retry), `nudges.py` (what each case nudge says).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select

from teambot.core.cases.common import touch
from teambot.core.cases.models import Case, CaseStatus, TimelineEvent
from teambot.core.db import Database
from teambot.core.errors import Conflict, InvalidStep, NotAllowed, NotFound
from teambot.core.i18n import gettext as _
from teambot.core.leases import DUE
from teambot.core.policy.models import Policy
from teambot.core.ports import Clock, Notifier
from teambot.core.scheduling.models import PENDING, DueItem
from teambot.core.scheduling.nudges import NUDGES
from teambot.core.scheduling.queue import DueQueue
from teambot.core.scheduling.working_hours import snooze_until, zone_of


class Deadlines(DueQueue):
    """Claims due rows and turns them into notices; one per process (or per test container)."""

    def __init__(
        self, db: Database, clock: Clock, notifier: Notifier, *, worker_id: str | None = None,
        lease: timedelta = DUE.hold, concurrency: int = 16,
    ) -> None:  # fmt: skip
        super().__init__(db, clock, notifier, worker_id=worker_id, lease=lease, concurrency=concurrency)
        self.handlers.update(NUDGES)

    # ----- reading and snoozing -----------------------------------------------------------

    async def pending_for_case(self, case_id: int) -> list[DueItem]:
        async with self.db.session() as s:
            rows = await s.exec(
                select(DueItem)
                .where(col(DueItem.case_id) == case_id, col(DueItem.status) == PENDING)
                .order_by(col(DueItem.due_at))
            )
            return list(rows.all())

    async def snooze(
        self, team_id: str, number: int, actor: str, for_text: str | None
    ) -> tuple[Case, datetime]:
        """Move the follow-up nudge later: `1h`, `2d`, or (default) tomorrow morning for the owner."""
        for _attempt in range(5):
            async with self.db.session() as s:
                now = self.clock.now()
                case = (
                    await s.exec(select(Case).where(Case.team_id == team_id, Case.number == number))
                ).first()
                if case is None:
                    raise NotFound(
                        _("There is no case #%(number)s in this team.") % {"number": number},
                        _("See open cases with /recover list."),
                    )
                policy = await s.get(Policy, team_id)
                assert policy is not None
                if actor != case.owner_id and actor not in policy.admins:
                    raise NotAllowed(
                        _("Only the owner (%(owner)s) or an admin can snooze case #%(number)s.")
                        % {"owner": f"<@{case.owner_id}>", "number": number},
                        _("Ask them, or take the case over: /recover handover %(number)s @you.")
                        % {"number": number},
                    )
                items = list(
                    (
                        await s.exec(
                            select(DueItem).where(
                                col(DueItem.case_id) == case.id,
                                col(DueItem.kind) == "followup_due",
                                col(DueItem.status) == PENDING,
                            )
                        )
                    ).all()
                )
                if case.status != CaseStatus.RESOLVED or not items:
                    raise InvalidStep(
                        _("Case #%(number)s has no follow-up waiting, so there is nothing to snooze.")
                        % {"number": number},
                        _("The follow-up nudge comes after /recover resolve %(number)s ...")
                        % {"number": number},
                    )
                until = snooze_until(for_text, now, policy, zone_of(policy, case.owner_id))
                for item in items:
                    item.due_at, item.lease_owner, item.lease_until = until, None, None
                    item.stage = 1  # a snoozed follow-up starts counting misses again
                    item.version += 1
                    s.add(item)
                case.followup_due_at = until
                touch(case, now)
                s.add(case)
                s.add(
                    TimelineEvent(
                        team_id=team_id, case_id=case.id, kind="snoozed", actor=actor, at=now,
                        data={"until": until.isoformat(), "for": for_text},
                    )
                )  # fmt: skip
                try:
                    await s.commit()
                except StaleDataError:
                    await s.rollback()
                    continue
                return case, until
        raise Conflict(
            _("Case #%(number)s changed at the same moment.") % {"number": number}, _("Try the snooze again.")
        )
