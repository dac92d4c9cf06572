"""What each case change means for what is due: nudges scheduled or cancelled in the case's own
transaction (subscribed to CaseEvents by the composition root).
"""

from __future__ import annotations

import uuid
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


async def on_case_changed(event: CaseChanged) -> None:
    """What each case change means for what is due: nudges scheduled or cancelled. Never flushes;
    the items one change schedules go in together (one INSERT for the two or three of an opening)."""
    s, case, policy, kind, data, now = event.session, event.case, event.policy, event.kind, event.data, event.at
    cid = case.id
    due: list[DueItem] = []
    if kind == "opened":
        if case.owner_id is None:
            at = now + timedelta(minutes=policy.own_within_minutes)  # the channel hears at once
            due.append(due_item(case, "nudge_unowned", f"unowned:{cid}", at, now))
        target = timedelta(hours=policy.resolve_within_hours)
        due.append(
            due_item(case, "nudge_resolve", f"resolve:{cid}:early", target_time(now, target * RESOLVE_EARLY, policy),
                     now, ref="early", stage=0)
        )  # fmt: skip
        due.append(
            due_item(
                case,
                "nudge_resolve",
                f"resolve:{cid}:due",
                target_time(now, target, policy),
                now,
                ref="due",
            )
        )
    elif kind in ("claimed",):
        await _cancel(s, cid, ("nudge_unowned",))
    elif kind == "resolved":
        await _cancel(s, cid, ("nudge_resolve", "nudge_unowned"))
        if case.followup_due_at is not None:
            stamp = int(case.followup_due_at.timestamp())
            due.append(
                due_item(
                    case,
                    "followup_due",
                    f"followup:{cid}:{stamp}",
                    case.followup_due_at,
                    now,
                    ref=str(stamp),
                )
            )
    elif kind == "followup_answered":
        await _cancel(s, cid, ("followup_due",))
        if case.status == CaseStatus.CLOSED:
            await _cancel(s, cid, CASE_KINDS)
    elif kind == "step_added" and data.get("due_at"):
        pos = str(data["position"])
        due.append(due_item(case, "step_due", f"step:{cid}:{pos}", data["due_at"], now, ref=pos))
    elif kind == "step_done":
        await _cancel(s, cid, ("step_due",), ref=str(data["position"]))
    elif kind == "approval_requested" and data.get("approval_id"):
        aid = str(data["approval_id"])
        at = now + timedelta(minutes=policy.own_within_minutes)
        due.append(due_item(case, "approval_waiting", f"approval:{aid}", at, now, ref=aid))
        # Unanswered after the escalation time (working hours), the backups are asked, once.
        late = add_working_time(now, timedelta(hours=policy.escalation_hours), policy, zone_of(policy, None))
        due.append(due_item(case, "approval_escalation", f"escalate:{aid}", late, now, ref=aid))
    elif kind in ("approved", "denied", "withdrawn"):
        await _cancel(s, cid, APPROVAL_KINDS, ref=str(data["approval_id"]))
    elif kind == "cancelled":  # a cancelled case nudges nobody again
        await _cancel(s, cid, CASE_KINDS)
    await _schedule(s, due)


async def _schedule(s: AsyncSession, items: list[DueItem]) -> None:
    """One item is added to the session; several go in one multi-row INSERT (SQLite would otherwise
    send one INSERT ... RETURNING per row: nothing here needs their ids back)."""
    if len(items) == 1:
        s.add(items[0])
    elif items:
        rows = [item.model_dump(exclude={"id"}) for item in items]
        with s.no_autoflush:
            await s.exec(insert(DueItem.__table__).values(rows))  # type: ignore[attr-defined,call-overload]
