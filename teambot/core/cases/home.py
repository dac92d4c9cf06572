"""One person's own view ("home"): their open cases, follow-ups due, approvals waiting, their figures.

Platform-neutral; Slack's App Home and the Teams personal home render the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import col, select

from teambot.core.cases.models import ApprovalRequest, ApprovalStatus, Case, CaseStatus
from teambot.core.cases.queries import list_cases
from teambot.core.commands.replies import Reply
from teambot.core.db import Database
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import approvers_of


@dataclass
class Figures:
    owned: int = 0
    closed: int = 0
    satisfied: int = 0
    avg_score: float | None = None


@dataclass
class HomeReply(Reply):
    user: str = ""
    open_cases: list[Case] = field(default_factory=list)
    followups: list[Case] = field(default_factory=list)
    approvals: list[ApprovalRequest] = field(default_factory=list)
    figures: Figures = field(default_factory=Figures)
    currency: str = "USD"
    # Other features' parts of the home, as (title, lines): the causes to fix, your actions (issue 24).
    sections: list[tuple[str, list[str]]] = field(default_factory=list)

    def __str__(self) -> str:
        f = self.figures
        score = f"{f.avg_score:.1f}/5" if f.avg_score is not None else "no scores yet"
        return (
            f"Your open cases: {len(self.open_cases)} · follow-ups due: {len(self.followups)} · "
            f"approvals waiting: {len(self.approvals)}\nCases owned: {f.owned} · closed: {f.closed} · "
            f"customers satisfied: {f.satisfied} · average score: {score}"
            + "".join(f"\n{title}:\n" + "\n".join(f"  {line}" for line in lines) for title, lines in self.sections)
        )


async def figures(db: Database, team_id: str, user: str) -> Figures:
    async with db.session() as s:
        mine = Case.team_id == team_id, Case.owner_id == user

        async def count(*where: object) -> int:
            return int((await s.exec(select(func.count()).select_from(Case).where(*mine, *where))).one())

        owned = await count()
        closed = await count(Case.status == CaseStatus.CLOSED)
        satisfied = await count(col(Case.satisfied).is_(True))
        avg = (await s.exec(select(func.avg(Case.score)).where(*mine, col(Case.score).is_not(None)))).one()
    return Figures(owned, closed, satisfied, float(avg) if avg is not None else None)


async def home(db: Database, team_id: str, user: str) -> HomeReply:
    mine = await list_cases(db, team_id, owner=user)
    async with db.session() as s:
        policy = await s.get(Policy, team_id)
        waiting: list[ApprovalRequest] = []
        if policy is not None and user in approvers_of(policy):
            rows = await s.exec(
                select(ApprovalRequest)
                .where(ApprovalRequest.team_id == team_id, ApprovalRequest.status == ApprovalStatus.PENDING)
                .order_by(col(ApprovalRequest.requested_at))
                .limit(20)
            )
            waiting = list(rows.all())
    return HomeReply(
        user=user,
        open_cases=[c for c in mine if c.status != CaseStatus.RESOLVED],
        followups=sorted(
            (c for c in mine if c.status == CaseStatus.RESOLVED),
            key=lambda c: (c.followup_due_at is None, c.followup_due_at),
        ),
        approvals=waiting,
        figures=await figures(db, team_id, user),
        currency=policy.currency if policy else "USD",
    )
