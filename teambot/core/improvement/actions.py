"""Improvement actions: a flag made into a change someone owns, with a due date, followed to done.

Each action is tied to a case and the case's cause, so the digest can show whether the cause's
cases fell after it was done. Creating, finishing and dropping one is a step on its case (the
case's timeline records it) and publishes `action_created`, `action_done` or `action_dropped` on
`CaseEvents`, where a webhook outbox can subscribe. An open action with a due date nudges its
owner once at that time (in their working hours); `/recover action snooze` moves the nudge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.events import CaseChanged
from teambot.core.cases.models import Case
from teambot.core.cases.service import RecoveryService
from teambot.core.db import Database
from teambot.core.errors import BadInput, InvalidStep, NotAllowed, NotFound
from teambot.core.i18n import N_, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.improvement.models import ActionStatus, Cause, ImprovementAction
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import is_admin, role_of
from teambot.core.ports import Notice, Recipient
from teambot.core.scheduling.deadlines import Deadlines
from teambot.core.scheduling.models import PENDING, DueItem
from teambot.core.scheduling.queue import DueHandler, Outcome
from teambot.core.scheduling.working_hours import next_working_moment, person_language, zone_of
from teambot.core.text import clean_text

USAGE = "/recover action <case> <what will change> [@owner] [due <when>]"


@dataclass(frozen=True)
class ActionView:
    """An action as the renderers and the HTTP API see it."""

    number: int
    case_number: int
    cause: str | None
    text: str
    owner: str
    due_at: datetime | None
    status: str  # open, done, dropped
    created_by: str
    created_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None
    outcome: str | None = None

    def overdue(self, now: datetime) -> bool:
        return self.status == "open" and self.due_at is not None and self.due_at < now


_STATUS = {"open": N_("open"), "done": N_("done"), "dropped": N_("dropped")}


def status_word(status: str) -> str:
    """An action's status (`open`, `done`, `dropped`) in the current language; the data keeps the key."""
    return _(_STATUS[status]) if status in _STATUS else status


def _view(a: ImprovementAction, case_number: int, cause: str | None) -> ActionView:
    return ActionView(
        a.number, case_number, cause, a.text, a.owner_id, a.due_at, a.status.value, a.created_by,
        a.created_at, a.closed_at, a.closed_by, a.outcome,
    )  # fmt: skip


def _query() -> Any:
    return (
        select(ImprovementAction, Case.number, Cause.name)
        .join(Case, col(Case.id) == col(ImprovementAction.case_id))
        .outerjoin(Cause, col(Cause.id) == col(ImprovementAction.cause_id))
    )


async def list_actions(
    db: Database, team_id: str, status: str | None = "open", owner: str | None = None
) -> list[ActionView]:
    """A team's actions (open ones by default), oldest first."""
    q = _query().where(ImprovementAction.team_id == team_id)
    if status:
        q = q.where(ImprovementAction.status == ActionStatus(status))
    if owner:
        q = q.where(ImprovementAction.owner_id == owner)
    async with db.read() as s:
        rows = (await s.exec(q.order_by(col(ImprovementAction.number)))).all()
    return [_view(a, n, c) for a, n, c in rows]


async def get_action(db: Database, team_id: str, number: int) -> ActionView:
    async with db.read() as s:
        a, n, c = await _one(s, team_id, number)
    return _view(a, n, c)


async def _one(s: AsyncSession, team_id: str, number: int) -> tuple[ImprovementAction, int, str | None]:
    row = (
        await s.exec(_query().where(ImprovementAction.team_id == team_id, ImprovementAction.number == number))
    ).first()
    if row is None:
        raise NotFound(
            _("There is no action %(number)s in this team.") % {"number": number},
            _("Open ones are listed with /recover actions."),
        )
    return row[0], row[1], row[2]


def _text(value: str | None, what: str, limit: int = 1000) -> str:
    """`value` cleaned, or a refusal saying `what` is missing (a whole sentence: "Say what will change.")."""
    cleaned = clean_text(value or "").strip()
    if not cleaned:
        raise BadInput(what, _("Usage: %(usage)s") % {"usage": USAGE})
    if len(cleaned) > limit:
        raise BadInput(
            _("That is %(count)s characters; the most is %(limit)s.")
            % {"count": len(cleaned), "limit": limit},
            _("Shorten it and send it again."),
        )
    return cleaned


async def create_action(
    service: RecoveryService, team_id: str, case_number: int, actor: str, text: str,
    owner: str | None = None, due_at: datetime | None = None,
) -> ActionView:  # fmt: skip
    """A change someone owns (the creator unless `owner`), tied to the case and its cause."""
    what = _text(text, _("Say what will change."))
    made: list[ImprovementAction] = []

    async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
        last = (
            await s.exec(
                select(func.max(ImprovementAction.number)).where(ImprovementAction.team_id == team_id)
            )
        ).one()
        action = ImprovementAction(
            team_id=team_id, number=int(last or 0) + 1, case_id=case.id or 0, cause_id=case.cause_id, text=what,
            owner_id=owner or actor, due_at=due_at, created_by=actor, created_at=now,
        )  # fmt: skip
        s.add(action)
        await s.flush()
        made.append(action)
        return "action_created", {
            "action": action.number, "text": what, "owner": action.owner_id, "due_at": due_at,
            "cause_id": case.cause_id, "action_id": action.id,
        }  # fmt: skip

    for _attempt in range(3):  # two actions numbered at the same instant: the loser takes the next number
        try:
            case = await service.change_case(team_id, case_number, actor, apply)
            break
        except IntegrityError:
            made.clear()
    else:
        raise InvalidStep(_("Another action was being created at the same moment."), _("Send it again."))
    async with service.db.read() as s:
        cause = await s.get(Cause, case.cause_id) if case.cause_id else None
    return _view(made[-1], case.number, cause.name if cause else None)


def _may_close(policy: Policy, action: ImprovementAction, actor: str) -> None:
    if (
        actor in (action.owner_id, action.created_by)
        or is_admin(policy, actor)
        or role_of(policy, actor) == "manager"
    ):
        return
    raise NotAllowed(
        _(
            "Only its owner (%(owner)s), whoever created it, a manager or an admin can close action %(number)s."
        )
        % {"owner": f"<@{action.owner_id}>", "number": action.number},
        _("Ask them, or add what you know to its case."),
    )


async def close_action(
    service: RecoveryService,
    team_id: str,
    number: int,
    actor: str,
    *,
    done: bool,
    note: str | None = None,
    system: bool = False,
) -> ActionView:
    """Done (with what changed, optional) or dropped (with why, required). `system`: Teambot itself
    closes it (its Jira issue is done), so no person's permission is checked."""
    if not done:
        note = _text(note, _("Say why it is dropped."))
    elif note:
        note = _text(note, _("Say what changed."))
    async with service.db.read() as s:
        _action, case_number, cause = await _one(s, team_id, number)
    closed: list[ImprovementAction] = []

    async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
        row = (await _one(s, team_id, number))[0]
        if row.status != ActionStatus.OPEN:
            raise InvalidStep(
                _("Action %(number)s is already %(status)s.")
                % {"number": number, "status": status_word(row.status.value)},
                _("Nothing changed."),
            )
        if not system:
            _may_close(p, row, actor)
        row.status = ActionStatus.DONE if done else ActionStatus.DROPPED
        row.closed_at, row.closed_by, row.outcome = now, actor, note or None
        s.add(row)
        closed.append(row)
        kind = "action_done" if done else "action_dropped"
        return kind, {
            "action": number,
            "text": row.text,
            "outcome": note,
            "cause_id": row.cause_id,
            "action_id": row.id,
        }

    await service.change_case(team_id, case_number, actor, apply)
    return _view(closed[-1], case_number, cause)


async def snooze_action(dl: Deadlines, team_id: str, number: int, until: datetime) -> None:
    """Move an open action's pending nudge (the due date stays what was agreed)."""
    async with dl.db.session() as s:
        action = (await _one(s, team_id, number))[0]
        items = (await s.exec(select(DueItem).where(DueItem.kind == "action_due", DueItem.ref == str(action.id),
                                                    DueItem.status == PENDING))).all()  # fmt: skip
        if action.status != ActionStatus.OPEN or not items:
            raise InvalidStep(
                _("Action %(number)s has no reminder waiting, so there is nothing to snooze.")
                % {"number": number},
                _("Nothing changed."),
            )
        for item in items:
            item.due_at, item.version = until, item.version + 1
            s.add(item)
        await s.commit()


async def on_case_changed(event: CaseChanged) -> None:
    """An action with a due date gets one reminder at that time (keyed by it: never twice)."""
    if event.kind != "action_created" or not event.data.get("due_at"):
        return
    due: datetime = event.data["due_at"]
    ref = str(event.data["action_id"])
    event.session.add(DueItem(
        key=f"action_due:{ref}:{due.isoformat()}", team_id=event.case.team_id, kind="action_due",
        case_id=event.case.id, ref=ref, due_at=due, created_at=event.at,
    ))  # fmt: skip


async def _action_due(dl: Deadlines, item: DueItem) -> Outcome:
    async with dl.db.session() as s:
        action = await s.get(ImprovementAction, int(item.ref or 0))
        policy = await s.get(Policy, item.team_id)
        case = await s.get(Case, action.case_id) if action else None
    if action is None or action.status != ActionStatus.OPEN or policy is None or case is None:
        return Outcome(cancel=True)
    now = dl.clock.now()
    at = next_working_moment(now, policy, zone_of(policy, action.owner_id))
    if at > now:
        return Outcome(defer_until=at)
    with use_locale(person_language(policy, action.owner_id)):  # a DM: its reader's language
        text = _(
            "%(owner)s: improvement action %(number)s is due: %(text)s (case #%(case)s). "
            "When it is done: /recover action done %(number)s [what changed]; "
            "or /recover action snooze %(number)s for 2d."
        ) % {
            "owner": f"<@{action.owner_id}>",
            "number": action.number,
            "text": action.text,
            "case": case.number,
        }
    notice = Notice(kind="action_due", text=text, team_id=item.team_id, case_id=case.id,
                    data={"number": case.number, "action": action.number})  # fmt: skip
    return Outcome(messages=[(Recipient("user", action.owner_id, case.platform), notice)])


DUE_HANDLERS: dict[str, DueHandler] = {"action_due": _action_due}
