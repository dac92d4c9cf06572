"""Read models: everything a card, a list or a draft needs, gathered in one query pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.models import (
    ApprovalRequest,
    ApprovalStatus,
    Case,
    CaseStatus,
    Customer,
    Grant,
    ImprovementFlag,
    NextStep,
    TimelineEvent,
)
from teambot.core.db import Database
from teambot.core.errors import NotFound
from teambot.core.i18n import gettext as _
from teambot.core.improvement.models import Cause
from teambot.core.money import from_minor
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import limit_for

ACTIVE = (CaseStatus.OPEN, CaseStatus.OWNED, CaseStatus.RESOLVED)


@dataclass
class CaseDetail:
    case: Case
    policy: Policy
    grants: list[Grant] = field(default_factory=list)
    approvals: list[ApprovalRequest] = field(default_factory=list)
    steps: list[NextStep] = field(default_factory=list)
    flags: list[ImprovementFlag] = field(default_factory=list)
    events: list[TimelineEvent] = field(default_factory=list)
    customer: Customer | None = None
    # The team's causes and the case's own, read only while the case can be resolved (its form offers them).
    causes: list[str] = field(default_factory=list)
    cause: str | None = None

    @property
    def currency(self) -> str:
        return self.policy.currency

    @property
    def total_granted(self) -> Decimal:
        """Given in the team's current currency (grants in an earlier one: `granted_by_currency`)."""
        return self.granted_by_currency().get(self.currency, Decimal(0))

    def granted_by_currency(self, user: str | None = None, *, within_authority: bool = False) -> dict[str, Decimal]:
        """Totals per currency, the team's current currency first; never added across currencies."""
        minor: dict[str, int] = {}
        for g in self.grants:
            if (user is None or g.granted_by == user) and (g.within_authority or not within_authority):
                minor[g.currency] = minor.get(g.currency, 0) + g.amount_minor
        order = sorted(minor, key=lambda c: (c != self.currency, c))
        return {c: from_minor(minor[c], c) for c in order}

    def authority_left(self, user: str) -> Decimal | None:
        """How much more `user` may give on this case without an approver, in the team's currency
        (what they gave in an earlier currency is not counted); None is unlimited."""
        limit = limit_for(self.policy, user)
        if limit is None:
            return None
        given = self.granted_by_currency(user, within_authority=True).get(self.currency, Decimal(0))
        return max(limit - given, Decimal(0))

    @property
    def pending(self) -> list[ApprovalRequest]:
        return [a for a in self.approvals if a.status == ApprovalStatus.PENDING]

    @property
    def owner_limit(self) -> Decimal | None:
        return limit_for(self.policy, self.case.owner_id) if self.case.owner_id else None

    def next_actions(self) -> list[str]:
        """The buttons that make sense now, in the order a person would take them."""
        actions = self._next_actions()
        if "draft" in actions and self.customer is not None and self.customer.email:
            actions.insert(actions.index("draft") + 1, "send")  # the owner (or an admin) emails it
        return actions

    def _next_actions(self) -> list[str]:
        c = self.case
        if c.status == CaseStatus.CANCELLED:
            return []
        if c.status == CaseStatus.CLOSED:
            return ["reopen", "shoutout", "draft"]
        if c.status == CaseStatus.OPEN:
            return ["claim", "step", "flag"]
        if c.status == CaseStatus.RESOLVED:
            return ["followup", "step", "flag", "shoutout", "draft"]
        actions = ["apologise" if c.apologised_at is None else "grant"]
        if c.apologised_at is not None:
            actions.append("resolve")
        else:
            actions.append("grant")
        return [*actions, "step", "handover", "flag", "shoutout", "draft"]


async def _all(s: AsyncSession, model: type, case_id: int, order: object) -> list:  # type: ignore[type-arg]
    return list((await s.exec(select(model).where(model.case_id == case_id).order_by(order))).all())  # type: ignore[attr-defined]


# A case's child tables, in CaseDetail's field order, each with the order its rows are shown in.
_CHILDREN: tuple[tuple[str, type, object], ...] = (
    ("grants", Grant, col(Grant.granted_at)),
    ("approvals", ApprovalRequest, col(ApprovalRequest.requested_at)),
    ("steps", NextStep, col(NextStep.position)),
    ("flags", ImprovementFlag, col(ImprovementFlag.flagged_at)),
)


CHILD_MODELS: tuple[type, ...] = tuple(model for _, model, _ in _CHILDREN)


def child_count_columns(case_id: Any) -> list[Any]:
    """One correlated COUNT(*) per child table (each has its case_id index): a table with no rows for
    the case is not read at all, so a new or simple case costs no query per empty list."""
    return [
        select(func.count()).select_from(model).where(model.case_id == case_id).scalar_subquery()  # type: ignore[attr-defined]
        for _, model, _ in _CHILDREN
    ]


async def child_counts(s: AsyncSession, case_id: int) -> list[int]:
    """The child tables' row counts for one case, in one statement."""
    row = (await s.exec(select(*child_count_columns(case_id)))).one()  # type: ignore[call-overload]
    return [int(n) for n in row]


async def detail_in(
    s: AsyncSession,
    case: Case,
    policy: Policy,
    customer: Customer | None,
    counts: list[int] | None = None,
    *,
    events: list[TimelineEvent] | None = None,
) -> CaseDetail:
    """A case's detail read in `s` around what the caller already holds (the case, its policy and
    customer, and its `events` when given): only the child tables `counts` says have rows (all when None)."""
    assert case.id is not None
    detail = CaseDetail(case=case, policy=policy, customer=customer)
    for (name, model, order), n in zip(_CHILDREN, counts or [1] * len(_CHILDREN), strict=True):
        if n:
            setattr(detail, name, await _all(s, model, case.id, order))
    detail.events = (
        events if events is not None else await _all(s, TimelineEvent, case.id, col(TimelineEvent.id))
    )
    if "resolve" in detail.next_actions():  # one statement, only then: the resolve form offers the causes
        rows = (await s.exec(select(Cause.id, Cause.name).where(Cause.team_id == case.team_id).order_by(col(Cause.name)))).all()
        detail.causes = [name for _, name in rows]
        detail.cause = next((name for cid, name in rows if cid == case.cause_id), None)
    return detail


async def case_detail(db: Database, team_id: str, number: int) -> CaseDetail:
    """The case, its policy and customer and which child tables have rows in one statement; then its
    events and the non-empty child tables: three statements for a new case, BEGIN included."""
    async with db.read() as s:
        query = (
            select(Case, Policy, Customer, *child_count_columns(Case.id))
            .outerjoin(Policy, col(Policy.team_id) == col(Case.team_id))
            .outerjoin(Customer, col(Customer.id) == col(Case.customer_id))
            .where(Case.team_id == team_id, Case.number == number)
        )
        row = (await s.exec(query)).first()  # type: ignore[call-overload]
        if row is None or row[0].id is None:
            raise NotFound(_("There is no case #%(n)s in this team.") % {"n": number},
                           _("See open cases with /recover list."))  # fmt: skip
        case, policy, customer, *counts = row
        assert policy is not None
        return await detail_in(s, case, policy, customer, [int(n) for n in counts])


async def list_cases(
    db: Database, team_id: str, *, owner: str | None = None, active_only: bool = True, limit: int = 50
) -> list[Case]:
    async with db.read() as s:
        q = select(Case).where(Case.team_id == team_id)
        if owner is not None:
            q = q.where(Case.owner_id == owner)
        if active_only:
            q = q.where(col(Case.status).in_(ACTIVE))
        q = q.order_by(col(Case.opened_at).desc()).limit(limit)
        return list((await s.exec(q)).all())


async def all_cases(db: Database, team_id: str | None = None) -> list[Case]:
    async with db.read() as s:
        q = select(Case).order_by(col(Case.team_id), col(Case.number))
        if team_id is not None:
            q = q.where(Case.team_id == team_id)
        return list((await s.exec(q)).all())


async def grants_by_case(db: Database, team_id: str | None = None) -> dict[int, list[Grant]]:
    async with db.read() as s:
        q = select(Grant).order_by(col(Grant.id))
        if team_id is not None:
            q = q.where(Grant.team_id == team_id)
        out: dict[int, list[Grant]] = {}
        for g in (await s.exec(q)).all():
            out.setdefault(g.case_id, []).append(g)
        return out
