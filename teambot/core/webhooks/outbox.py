"""The outbox: a case change writes its webhook deliveries in its own transaction.

A CaseEvents subscriber turns the change into event types (`case.opened`...) and, for each
active endpoint of the team that wants one, adds a due item of kind `webhook` carrying the event
id and payload. They commit or roll back with the change: a crash after the commit loses no
event (any live process's sweep sends it), and a rolled-back change sends nothing.

Which endpoints exist is kept in memory and read again at most every SNAPSHOT_SECONDS (inside the
change's transaction), so a team without webhooks pays no statement for them on its hot path; an
endpoint added in another process receives events from at most that many seconds later.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.events import CaseChanged
from teambot.core.cases.models import CaseStatus
from teambot.core.cases.public import case_data
from teambot.core.improvement.models import Cause
from teambot.core.scheduling.models import DueItem
from teambot.core.webhooks.models import ACTIVE, Webhook

KIND = "webhook"
EVENT_TYPES = (
    "case.opened", "case.claimed", "case.resolved", "case.closed", "case.reopened", "case.cancelled",
    "feedback.received", "approval.requested", "action.created", "action.done",
)  # fmt: skip
PING = "webhook.test"
SNAPSHOT_SECONDS = 10.0


def event_types(event: CaseChanged) -> list[str]:
    """The webhook events one case change is (none for most small steps)."""
    kind, data, case = event.kind, event.data, event.case
    if kind == "opened":
        return ["case.opened", "case.claimed"] if data.get("own") else ["case.opened"]
    if kind == "followup_answered":
        types = ["feedback.received"] if data.get("source") == "customer" else []
        if case.status == CaseStatus.CLOSED:
            types.append("case.closed")
        elif data.get("status_before") == "closed":
            types.append("case.reopened")
        return types
    simple = {"claimed": "case.claimed", "resolved": "case.resolved", "reopened": "case.reopened",
              "cancelled": "case.cancelled", "approval_requested": "approval.requested",
              "action_created": "action.created", "action_done": "action.done"}  # the improvement loop's  # fmt: skip
    return [simple[kind]] if kind in simple else []


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def delivery(hook_id: int, team_id: str, case_id: int | None, event_type: str, payload: dict[str, Any],
             now: datetime, event_id: str | None = None) -> DueItem:  # fmt: skip
    """One endpoint's copy of one event: the same event id goes to every endpoint and every retry."""
    eid = event_id or new_event_id()
    return DueItem(
        key=f"{KIND}:{hook_id}:{eid}", team_id=team_id, kind=KIND, case_id=case_id, ref=str(hook_id),
        due_at=now, created_at=now, data={"event_id": eid, "type": event_type, "payload": payload},
    )  # fmt: skip


def envelope(event_type: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The body every receiver gets (the Standard Webhooks shape: type, timestamp, data)."""
    return {"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data}


class Outbox:
    """One per process: the endpoints snapshot, and the subscriber that writes deliveries."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self.committed: Callable[[], None] | None = None  # told once deliveries are committed (send them soon)
        self._hooks: dict[str, list[tuple[int, frozenset[str]]]] = {}
        self._loaded = float("-inf")

    def invalidate(self) -> None:
        self._loaded = float("-inf")

    async def refresh(self, s: AsyncSession) -> None:
        with s.no_autoflush:
            rows = await s.exec(select(Webhook.id, Webhook.team_id, Webhook.events).where(col(Webhook.status) == ACTIVE))
            hooks: dict[str, list[tuple[int, frozenset[str]]]] = {}
            for hid, team, events in rows.all():
                hooks.setdefault(team, []).append((int(hid), frozenset(events or [])))
        self._hooks, self._loaded = hooks, self.monotonic()

    async def endpoints(self, s: AsyncSession, team_id: str) -> list[tuple[int, frozenset[str]]]:
        if self.monotonic() - self._loaded > SNAPSHOT_SECONDS:
            await self.refresh(s)
        return self._hooks.get(team_id, [])

    async def on_case_changed(self, event: CaseChanged) -> None:
        types = event_types(event)
        if not types:
            return
        hooks = await self.endpoints(event.session, event.case.team_id)
        if not hooks:
            return
        cause = None
        if event.case.cause_id is not None:  # the cause's name (in the session already, as a rule)
            with event.session.no_autoflush:
                row = await event.session.get(Cause, event.case.cause_id)
            cause = row.name if row is not None else None
        await self.write(event.session, event.case.team_id, event.case.id, types, event.at,
                         lambda t: {"case": case_data(event.case, cause), **_extra(t, event.data)}, hooks)  # fmt: skip

    async def write(self, s: AsyncSession, team_id: str, case_id: int | None, types: list[str], at: datetime,
                    data_of: Callable[[str], dict[str, Any]],
                    hooks: list[tuple[int, frozenset[str]]] | None = None) -> int:  # fmt: skip
        """Add the deliveries of these events to the caller's transaction (never flushed here)."""
        hooks = hooks if hooks is not None else await self.endpoints(s, team_id)
        rows = []
        for event_type in types:
            wanting = [hid for hid, events in hooks if event_type in events]
            if not wanting:
                continue
            payload, eid = envelope(event_type, at, data_of(event_type)), new_event_id()
            rows.extend(delivery(hid, team_id, case_id, event_type, payload, at, eid) for hid in wanting)
        s.add_all(rows)
        if rows and self.committed is not None and not s.info.get("webhooks_armed"):
            s.info["webhooks_armed"] = True
            sync, told = s.sync_session, self.committed

            def after_commit(_: Any) -> None:
                sync.info.pop("webhooks_armed", None)
                told()

            sa_event.listen(sync, "after_commit", after_commit, once=True)
            sa_event.listen(sync, "after_soft_rollback", lambda *_: sync.info.pop("webhooks_armed", None), once=True)
        return len(rows)


def _extra(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    if event_type == "approval.requested":
        amount = data.get("amount")
        return {"approval": {"id": data.get("approval_id"), "gesture": data.get("gesture"),
                             "amount": None if amount is None else str(amount), "currency": data.get("currency")}}
    if event_type in ("action.created", "action.done"):
        due = data.get("due_at")
        return {"action": {"number": data.get("action"), "text": data.get("text"), "owner": data.get("owner"),
                           "due_at": due.isoformat() if hasattr(due, "isoformat") else due,
                           "outcome": data.get("outcome")}}  # fmt: skip
    if event_type == "feedback.received":
        return {"feedback": {k: data.get(k) for k in ("satisfied", "score", "won_back", "comment")}}
    return {}
