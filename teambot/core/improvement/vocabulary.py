"""A team's causes: its vocabulary of why things go wrong, like its categories.

Admins and managers add, remove, rename and merge causes. A case's root cause keeps the words
its owner wrote and is filed under one cause: at resolve the bot files it under the nearest cause
when the words are close in meaning (`on_case_changed`), and anyone in the team may change it
(`/recover cause <case> <cause>`), which the case's timeline records.
"""

from __future__ import annotations

import difflib
import re
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import touch
from teambot.core.cases.events import CaseChanged
from teambot.core.cases.models import Case, CaseStatus, TimelineEvent
from teambot.core.cases.service import RecoveryService
from teambot.core.errors import BadInput, Conflict, NotAllowed, NotFound
from teambot.core.i18n import gettext as _
from teambot.core.i18n import ngettext
from teambot.core.improvement import meaning
from teambot.core.improvement.models import Cause, ImprovementAction
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import is_admin, load_policy, role_of

FILE_UNDER = 0.35  # closer than grouping asks: filing is done without asking (labelled set: 0 wrong)
EXEMPLARS = 20  # the latest words filed under each cause that a new root cause is compared with
USAGE = "/recover policy cause add|remove <name> · rename <old> to <new> · merge <from> into <into>"


@dataclass(frozen=True)
class CauseInfo:
    """A cause as the API and the renderers see it."""

    id: int
    name: str


def cause_key(text: str) -> str:
    """`Heat-lamp  broken` and `heat lamp broken` are the same cause."""
    return " ".join(re.sub(r"[-_#]", " ", text).lower().split())


def may_shape_causes(policy: Policy, user: str) -> bool:
    return is_admin(policy, user) or role_of(policy, user) == "manager"


def require_cause_keeper(policy: Policy, user: str) -> None:
    if not may_shape_causes(policy, user):
        raise NotAllowed(
            _("Only admins and managers can change the team's causes."),
            _("Ask one of them, or file the case under an existing cause: /recover cause <case> <cause>."),
        )


async def causes_of(s: AsyncSession, team_id: str) -> list[Cause]:
    return list((await s.exec(select(Cause).where(Cause.team_id == team_id).order_by(col(Cause.name)))).all())


def _clean_name(text: str) -> str:
    name = " ".join(text.strip().strip("\"'").split())
    if not name or len(name) > 80:
        raise BadInput(
            _("%(text)r is not a cause name.") % {"text": text.strip()},
            _("Use a few words, up to 80 characters."),
        )
    return name[0].upper() + name[1:]


def find(causes: list[Cause], text: str) -> Cause | None:
    key = cause_key(text)
    return next((cause for cause in causes if cause.key == key), None)


def require(causes: list[Cause], text: str) -> Cause:
    """The cause named `text`, or a refusal that names the close one (or the list)."""
    found = find(causes, text)
    if found is not None:
        return found
    close = difflib.get_close_matches(cause_key(text), [cause.key for cause in causes], n=1, cutoff=0.6)
    if close:
        meant = next(cause for cause in causes if cause.key == close[0])
        raise BadInput(
            _("There is no cause %(text)r. Did you mean %(name)s?")
            % {"text": text.strip(), "name": meant.name},
            _("Nothing changed."),
        )
    names = ", ".join(cause.name for cause in causes) or _("none yet")
    raise BadInput(
        _("There is no cause %(text)r.") % {"text": text.strip()},
        _("The team's causes: %(names)s. Admins and managers add one with /recover policy cause add <name>.")
        % {"names": names},
    )


async def add(s: AsyncSession, team_id: str, actor: str, name: str, now: datetime) -> Cause:
    causes = await causes_of(s, team_id)
    clean = _clean_name(name)
    existing = find(causes, clean)
    if existing is not None:
        raise BadInput(_("%(name)s is already a cause.") % {"name": existing.name}, _("Nothing changed."))
    cause = Cause(team_id=team_id, name=clean, key=cause_key(clean), created_by=actor, created_at=now)
    s.add(cause)
    await s.flush()
    return cause


async def change_vocabulary(
    s: AsyncSession, policy: Policy, actor: str, op: str, args: str, now: datetime
) -> str:
    """`add <name>`, `remove <name>`, `rename <old> to <new>`, `merge <from> into <into>`."""
    require_cause_keeper(policy, actor)
    team = policy.team_id
    causes = await causes_of(s, team)
    if op == "add":
        cause = await add(s, team, actor, args, now)
        return _("%(name)s is a cause now; file a case under it with /recover cause <case> %(name)s.") % {
            "name": cause.name}  # fmt: skip
    if op == "remove":
        cause = require(causes, args)
        filed = await _move(s, team, cause.id, None)
        await s.delete(cause)
        return ngettext(
            "%(name)s is no longer a cause; its %(count)s case is unfiled, its words kept.",
            "%(name)s is no longer a cause; its %(count)s cases are unfiled, their words kept.",
            filed,
        ) % {"name": cause.name, "count": filed}
    if op in ("rename", "merge"):
        joiner = "to" if op == "rename" else "into"
        parts = re.split(rf"\s+{joiner}\s+", args.strip(), maxsplit=1, flags=re.I)
        old, new = (parts[0], parts[1]) if len(parts) == 2 else ("", "")
        if not old.strip() or not new.strip():
            raise BadInput(
                _("Say which cause and what it becomes: %(usage)s.")
                % {"usage": f"{op} <cause> {joiner} <cause>"},
                _usage(),
            )
        cause = require(causes, old)
        if op == "rename":
            clean = _clean_name(new)
            other = find(causes, clean)
            if other is not None and other.id != cause.id:
                raise BadInput(
                    _("%(name)s is already a cause.") % {"name": other.name},
                    _("Merge them: /recover policy cause merge %(from)s into %(into)s.")
                    % {"from": cause.name, "into": other.name},
                )
            before, cause.name, cause.key = cause.name, clean, cause_key(clean)
            s.add(cause)
            return _("%(before)s is called %(name)s now; its cases follow.") % {
                "before": before,
                "name": cause.name,
            }
        into = require(causes, new)
        if into.id == cause.id:
            raise BadInput(_("That is the same cause."), _("Nothing changed."))
        moved = await _move(s, team, cause.id, into.id)
        await s.exec(
            update(ImprovementAction)
            .where(col(ImprovementAction.cause_id) == cause.id)
            .values(cause_id=into.id)
        )  # type: ignore[call-overload]
        await s.delete(cause)
        return ngettext(
            "%(name)s is merged into %(into)s: %(count)s case moved.",
            "%(name)s is merged into %(into)s: %(count)s cases moved.",
            moved,
        ) % {"name": cause.name, "into": into.name, "count": moved}
    raise BadInput(_("%(op)r is not something causes do.") % {"op": op}, _usage())


def _usage() -> str:
    return _("Usage: %(usage)s") % {"usage": USAGE}


async def _move(s: AsyncSession, team_id: str, from_id: int | None, to_id: int | None) -> int:
    n = (
        await s.exec(
            select(func.count()).select_from(Case).where(Case.team_id == team_id, Case.cause_id == from_id)
        )
    ).one()
    await s.exec(
        update(Case).where(col(Case.team_id) == team_id, col(Case.cause_id) == from_id).values(cause_id=to_id)
    )  # type: ignore[call-overload]
    if to_id is None:
        await s.exec(
            update(ImprovementAction).where(col(ImprovementAction.cause_id) == from_id).values(cause_id=None)
        )  # type: ignore[call-overload]
    return int(n)


async def exemplars(s: AsyncSession, team_id: str, causes: list[Cause]) -> list[list[str]]:
    """Per cause: its name, then the latest root-cause words filed under it."""
    rows = (
        await s.exec(
            select(Case.cause_id, Case.root_cause)
            .where(
                Case.team_id == team_id, col(Case.cause_id).is_not(None), col(Case.root_cause).is_not(None)
            )
            .order_by(col(Case.resolved_at).desc())
            .limit(EXEMPLARS * max(len(causes), 1))
        )
    ).all()
    words: dict[int, list[str]] = {c.id or 0: [c.name] for c in causes}
    for cause_id, text in rows:
        if cause_id in words and len(words[cause_id]) <= EXEMPLARS:
            words[cause_id].append(text)
    return [words[c.id or 0] for c in causes]


async def suggest(s: AsyncSession, team_id: str, words: str) -> tuple[Cause, float] | None:
    """The team's cause these root-cause words are close in meaning to, if one is close enough."""
    causes = await causes_of(s, team_id)
    if not causes:
        return None
    hit = meaning.nearest(words, await exemplars(s, team_id, causes), FILE_UNDER)
    return (causes[hit[0]], hit[1]) if hit else None


# A cause a person chose in the resolve form, for the resolve's own transaction to file.
CHOSEN: ContextVar[CauseInfo | None] = ContextVar("chosen_cause", default=None)


async def on_case_changed(event: CaseChanged) -> None:
    """At resolve, file the root cause under the cause chosen in the form, else the nearest cause by
    meaning (a person's earlier choice stays)."""
    case = event.case
    if event.kind != "resolved" or not case.root_cause:
        return
    s = event.session
    chosen = CHOSEN.get()
    if chosen is not None:
        s.add(TimelineEvent(team_id=case.team_id, case_id=case.id, kind="cause_filed",  # the resolver: the owner
                            actor=case.owner_id or "teambot", at=event.at, data=file_case(case, chosen)))  # fmt: skip
        return
    if case.cause_by == "person":
        return
    with s.no_autoflush:
        hit = await suggest(s, case.team_id, case.root_cause)
    if hit is None:
        case.cause_id, case.cause_by = None, None
        return
    cause, score = hit
    case.cause_id, case.cause_by = cause.id, "meaning"
    s.add(TimelineEvent(
        team_id=case.team_id, case_id=case.id, kind="cause_filed", actor="teambot", at=event.at,
        data={"cause": cause.name, "by": "meaning", "closeness": round(score, 2)},
    ))  # fmt: skip


def file_case(case: Case, cause: Cause | CauseInfo) -> dict[str, Any]:
    """Put a case under a cause by a person's choice; the timeline data for it."""
    if case.status == CaseStatus.CANCELLED:
        raise BadInput(
            _("Case #%(number)s was cancelled; it counts under no cause.") % {"number": case.number},
            _("Nothing changed."),
        )
    if not case.root_cause:
        raise BadInput(
            _("Case #%(number)s has no root cause yet; it gets one when it is resolved.")
            % {"number": case.number},
            _("Resolve it: /recover resolve %(number)s <what you did> | <root cause>.")
            % {"number": case.number},
        )
    case.cause_id, case.cause_by = cause.id, "person"
    return {"cause": cause.name, "by": "person"}


async def file_cases(
    service: RecoveryService, team_id: str, numbers: list[int], actor: str, cause: CauseInfo
) -> None:
    """File cases under a cause in one transaction: each case locked, changed, recorded in its
    timeline and published, so one request is one step however many cases it files."""
    async with service.db.session() as s:
        now = service.clock.now()
        policy = await load_policy(s, team_id, actor, now)
        rows = (await s.exec(
            select(Case).where(Case.team_id == team_id, col(Case.number).in_(numbers))
            .order_by(col(Case.number)).with_for_update()
        )).all()  # fmt: skip
        for case in rows:
            data = file_case(case, cause)
            touch(case, now)
            s.add(case)
            s.add(
                TimelineEvent(
                    team_id=team_id, case_id=case.id, kind="cause_filed", actor=actor, at=now, data=data
                )
            )
            await service.events.publish(CaseChanged(s, case, policy, "cause_filed", data, now))
        try:
            await s.commit()
        except StaleDataError:
            raise Conflict(_("A case changed at the same moment."), _("Send it again.")) from None


async def cause_of(s: AsyncSession, case: Case) -> Cause | None:
    return await s.get(Cause, case.cause_id) if case.cause_id else None


async def case_numbers(s: AsyncSession, team_id: str, numbers: list[int]) -> list[Case]:
    rows = list(
        (await s.exec(select(Case).where(Case.team_id == team_id, col(Case.number).in_(numbers)))).all()
    )
    missing = sorted(set(numbers) - {case.number for case in rows})
    if missing:
        raise NotFound(
            _("There is no case #%(number)s in this team.") % {"number": missing[0]},
            _("See open cases with /recover list."),
        )
    return sorted(rows, key=lambda case: case.number)
