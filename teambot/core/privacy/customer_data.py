"""One customer's data: exported on request, erased on request (admins only).

Erasure replaces names and free text with a marker but keeps every figure (amounts,
times, scores, categories, root causes) so the team's numbers stay true. Shout-outs and
improvement flags about the customer's cases keep their words, with the customer's name erased. The erasure
itself is recorded in the timeline; no row is deleted.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import customer_key
from teambot.core.cases.models import (
    ApprovalRequest,
    Case,
    Customer,
    Grant,
    ImprovementFlag,
    NextStep,
    TimelineEvent,
)
from teambot.core.cases.service import RecoveryService
from teambot.core.errors import NotFound
from teambot.core.i18n import gettext as _
from teambot.core.improvement.models import ImprovementAction
from teambot.core.money import from_minor
from teambot.core.policy.rules import load_policy, require_admin
from teambot.core.recognition.models import Shoutout

ERASED = "[erased]"
# Event data fields that can carry a customer's name or words.
_PERSONAL_FIELDS = ("problem", "customer", "words", "text", "resolution", "comment", "outcome")


async def _find(s: AsyncSession, team_id: str, name: str) -> Customer:
    cust = (
        await s.exec(select(Customer).where(Customer.team_id == team_id, Customer.key == customer_key(name)))
    ).first()
    if cust is None:
        raise NotFound(
            _("No customer called %(name)r in this team.") % {"name": name},
            _("Check the spelling with /recover customer <name>."),
        )
    return cust


_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "the"}


def redact_name(text: str, name: str) -> str:
    """`text` with the customer's name, and each word of it (Patel in "thanks Patel!"), erased."""
    words = [w for w in re.findall(r"[\w'-]+", name) if len(w) >= 3 and w.lower() not in _TITLES]
    for part in sorted({name.strip(), *words}, key=len, reverse=True):
        if part:
            text = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", ERASED, text, flags=re.IGNORECASE)
    return text


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def export_customer(service: RecoveryService, team_id: str, actor: str, name: str) -> dict[str, Any]:
    async with service.db.session() as s:
        require_admin(
            await load_policy(s, team_id, actor, service.clock.now()), actor, _("export customer data")
        )
        cust = await _find(s, team_id, name)
        cases = (
            await s.exec(select(Case).where(Case.customer_id == cust.id).order_by(col(Case.number)))
        ).all()
        out: dict[str, Any] = {"customer": cust.name, "email": cust.email, "notes": cust.notes, "cases": []}
        for case in cases:
            grants = (await s.exec(select(Grant).where(Grant.case_id == case.id))).all()
            steps = (await s.exec(select(NextStep).where(NextStep.case_id == case.id))).all()
            out["cases"].append(
                {
                    "case": case.number, "status": case.status.value, "opened_at": _iso(case.opened_at),
                    "problem": case.problem, "wants": case.wants, "category": case.category,
                    "apology": {"at": _iso(case.apologised_at), "method": case.apology_method, "words": case.apology_words},
                    "compensation": [
                        {"gesture": g.gesture, "amount": str(from_minor(g.amount_minor, g.currency)),
                         "currency": g.currency, "at": _iso(g.granted_at)}
                        for g in grants
                    ],
                    "next_steps": [{"text": st.text, "due_at": _iso(st.due_at), "done": st.done} for st in steps],
                    "resolution": case.resolution, "closed_at": _iso(case.closed_at),
                    "satisfied": case.satisfied, "score": case.score, "followup_source": case.followup_source,
                }
            )  # fmt: skip
        return out


async def forget_customer(service: RecoveryService, team_id: str, actor: str, name: str) -> int:
    """Returns how many cases were scrubbed."""
    async with service.db.session() as s:
        now = service.clock.now()
        require_admin(await load_policy(s, team_id, actor, now), actor, _("erase a customer's data"))
        cust = await _find(s, team_id, name)
        cases = (await s.exec(select(Case).where(Case.customer_id == cust.id))).all()
        for case in cases:
            case.customer_name, case.problem, case.wants, case.apology_words = ERASED, ERASED, None, None
            case.resolution = ERASED if case.resolution else None
            # The root cause stays (it is what the team learns from), with the name taken out.
            case.root_cause = redact_name(case.root_cause, cust.name) if case.root_cause else None
            case.updated_at = now
            s.add(case)
            for step in (await s.exec(select(NextStep).where(NextStep.case_id == case.id))).all():
                step.text = ERASED
                s.add(step)
            for req in (
                await s.exec(select(ApprovalRequest).where(ApprovalRequest.case_id == case.id))
            ).all():
                req.note = None
                s.add(req)
            for event in (await s.exec(select(TimelineEvent).where(TimelineEvent.case_id == case.id))).all():
                if any(k in event.data for k in (*_PERSONAL_FIELDS, "root_cause")):
                    event.data = {
                        k: ERASED if k in _PERSONAL_FIELDS
                        else redact_name(v, cust.name) if k == "root_cause" and isinstance(v, str) else v
                        for k, v in event.data.items()
                    }  # fmt: skip
                    s.add(event)
            for flag in (
                await s.exec(select(ImprovementFlag).where(ImprovementFlag.case_id == case.id))
            ).all():
                flag.note = redact_name(flag.note, cust.name)
                s.add(flag)
            for action in (
                await s.exec(select(ImprovementAction).where(ImprovementAction.case_id == case.id))
            ).all():
                action.text = redact_name(action.text, cust.name)
                action.outcome = redact_name(action.outcome, cust.name) if action.outcome else None
                s.add(action)
            for shout in (await s.exec(select(Shoutout).where(Shoutout.case_id == case.id))).all():
                shout.message = redact_name(shout.message, cust.name)
                s.add(shout)
            s.add(RecoveryService._event(case, "customer_erased", actor, now))
        cust.name = cust.key = f"{ERASED} #{cust.id}"
        cust.notes = []
        cust.email = None
        s.add(cust)
        s.add(
            TimelineEvent(
                team_id=team_id, kind="customer_erased", actor=actor, at=now,
                data={"customer_id": cust.id, "cases": [case.number for case in cases]},
            )
        )  # fmt: skip
        await s.commit()
        return len(cases)
