"""What each case change means for what is due: nudges scheduled or cancelled in the case's own
transaction (subscribed to CaseEvents by the composition root).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.events import CaseChanged
from teambot.core.cases.models import Case, CaseStatus
from teambot.core.scheduling.models import APPROVAL_KINDS, CANCELLED, CASE_KINDS, PENDING, DueItem
from teambot.core.scheduling.working_hours import add_working_time, target_time, zone_of

RESOLVE_EARLY = 0.75  # the owner hears at 75% of the resolve target, "well before" it

# ----- scheduling from case events (runs inside the case's transaction) --------------------


def due_item(case: Case, kind: str, base: str, due: datetime, now: datetime, **kw: Any) -> DueItem:
    """Keys from case events carry a random token: the same event kind may recur on a case
    (resolved, reopened, resolved again) and each occurrence is its own deadline."""
    key = f"{base}:{uuid.uuid4().hex[:12]}:{kw.get('stage', 1)}"
    return DueItem(
        key=key, team_id=case.team_id, kind=kind, case_id=case.id, due_at=due, created_at=now, **kw
    )


async def _cancel(
    s: AsyncSession, case_id: int | None, kinds: tuple[str, ...], ref: str | None = None
) -> None:
    q = (
        update(DueItem)
        .where(col(DueItem.case_id) == case_id, col(DueItem.status) == PENDING, col(DueItem.kind).in_(kinds))
        .values(status=CANCELLED, lease_owner=None, lease_until=None, version=DueItem.version + 1)  # type: ignore[operator]
        .execution_options(synchronize_session=False)
    )
    if ref is not None:
        q = q.where(col(DueItem.ref) == ref)
    with s.no_autoflush:
        await s.exec(q)  # type: ignore[call-overload]


async def _opened(event: CaseChanged) -> list[DueItem]:
    """The channel hears at once when nobody owns it in time; the owner well before the resolve target."""
    case, policy, now, cid = event.case, event.policy, event.at, event.case.id
    due: list[DueItem] = []
    if case.owner_id is None:
        at = now + timedelta(minutes=policy.own_within_minutes)
        due.append(due_item(case, "nudge_unowned", f"unowned:{cid}", at, now))
    target = timedelta(hours=policy.resolve_within_hours)
    early = target_time(now, target * RESOLVE_EARLY, policy)
    due.append(due_item(case, "nudge_resolve", f"resolve:{cid}:early", early, now, ref="early", stage=0))
    due.append(
        due_item(
            case, "nudge_resolve", f"resolve:{cid}:due", target_time(now, target, policy), now, ref="due"
        )
    )
    return due


async def _claimed(event: CaseChanged) -> list[DueItem]:
    await _cancel(event.session, event.case.id, ("nudge_unowned",))
    return []


async def _resolved(event: CaseChanged) -> list[DueItem]:
    case = event.case
    await _cancel(event.session, case.id, ("nudge_resolve", "nudge_unowned"))
    if case.followup_due_at is None:
        return []
    stamp = int(case.followup_due_at.timestamp())
    key = f"followup:{case.id}:{stamp}"
    return [due_item(case, "followup_due", key, case.followup_due_at, event.at, ref=str(stamp))]


async def _followup_answered(event: CaseChanged) -> list[DueItem]:
    await _cancel(event.session, event.case.id, ("followup_due",))
    if event.case.status == CaseStatus.CLOSED:
        await _cancel(event.session, event.case.id, CASE_KINDS)
    return []


async def _step_added(event: CaseChanged) -> list[DueItem]:
    if not event.data.get("due_at"):
        return []
    case, pos = event.case, str(event.data["position"])
    return [due_item(case, "step_due", f"step:{case.id}:{pos}", event.data["due_at"], event.at, ref=pos)]


async def _step_done(event: CaseChanged) -> list[DueItem]:
    await _cancel(event.session, event.case.id, ("step_due",), ref=str(event.data["position"]))
    return []


async def _approval_requested(event: CaseChanged) -> list[DueItem]:
    """The approvers are reminded; unanswered after the escalation time (working hours), the backups
    are asked, once."""
    if not event.data.get("approval_id"):
        return []
    case, policy, now, aid = event.case, event.policy, event.at, str(event.data["approval_id"])
    at = now + timedelta(minutes=policy.own_within_minutes)
    late = add_working_time(now, timedelta(hours=policy.escalation_hours), policy, zone_of(policy, None))
    return [
        due_item(case, "approval_waiting", f"approval:{aid}", at, now, ref=aid),
        due_item(case, "approval_escalation", f"escalate:{aid}", late, now, ref=aid),
    ]


async def _approval_answered(event: CaseChanged) -> list[DueItem]:
    await _cancel(event.session, event.case.id, APPROVAL_KINDS, ref=str(event.data["approval_id"]))
    return []


async def _cancelled(event: CaseChanged) -> list[DueItem]:
    """A cancelled case nudges nobody again."""
    await _cancel(event.session, event.case.id, CASE_KINDS)
    return []


# What each case change means for what is due, by the change's kind (a kind not here changes nothing).
ON_KIND: dict[str, Callable[[CaseChanged], Awaitable[list[DueItem]]]] = {
    "opened": _opened,
    "claimed": _claimed,
    "resolved": _resolved,
    "followup_answered": _followup_answered,
    "step_added": _step_added,
    "step_done": _step_done,
    "approval_requested": _approval_requested,
    "approved": _approval_answered,
    "denied": _approval_answered,
    "withdrawn": _approval_answered,
    "cancelled": _cancelled,
}


async def on_case_changed(event: CaseChanged) -> None:
    """What each case change means for what is due: nudges scheduled or cancelled (one handler per
    kind, `ON_KIND`). Never flushes; the items one change schedules go in together (one INSERT for
    the two or three of an opening)."""
    handler = ON_KIND.get(event.kind)
    if handler is not None:
        await _schedule(event.session, await handler(event))


async def _schedule(s: AsyncSession, items: list[DueItem]) -> None:
    """One item is added to the session; several go in one multi-row INSERT (SQLite would otherwise
    send one INSERT ... RETURNING per row: nothing here needs their ids back)."""
    if len(items) == 1:
        s.add(items[0])
    elif items:
        rows = [item.model_dump(exclude={"id"}) for item in items]
        with s.no_autoflush:
            await s.exec(insert(DueItem.__table__).values(rows))  # type: ignore[attr-defined,call-overload]
