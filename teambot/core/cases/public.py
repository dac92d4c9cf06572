"""A case as the outside world sees it: the API's answers and the webhooks' payloads share these
models, so the OpenAPI document (generated from them) describes both.

Only what a helpdesk or a BI tool needs: no chat bookkeeping (card refs, versions), and the
customer by name only (their address stays with the team's follow-up mail).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from teambot.core.cases.models import Case, TimelineEvent


class CustomerOut(BaseModel):
    name: str | None = Field(default=None, description="The customer's name as the team knows them.")


class CaseOut(BaseModel):
    """One case: where it stands and what was done."""

    model_config = ConfigDict(title="Case")

    number: int = Field(description="The case number people use in chat (`/recover show 12`).")
    status: str = Field(description="open, owned, resolved, closed or cancelled.")
    problem: str
    wants: str | None = Field(default=None, description="What the customer wants.")
    category: str
    severity: str
    cause: str | None = Field(default=None, description="The team's cause its root cause is filed under.")
    customer: CustomerOut
    owner: str | None = Field(default=None, description="The owner's chat user id, if claimed.")
    opened_by: str
    opened_at: datetime
    owned_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    root_cause: str | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    satisfied: bool | None = None
    score: int | None = None
    won_back: bool | None = None
    reopened_count: int = 0
    updated_at: datetime


class TimelineEntry(BaseModel):
    kind: str = Field(description="What happened: opened, claimed, apologised, granted, resolved...")
    actor: str
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict)


class CaseWithTimeline(CaseOut):
    model_config = ConfigDict(title="CaseWithTimeline")

    timeline: list[TimelineEntry]


def case_out(case: Case, cause: str | None = None) -> CaseOut:
    return CaseOut(
        cause=cause,
        number=case.number, status=case.status.value if hasattr(case.status, "value") else str(case.status),
        problem=case.problem, wants=case.wants, category=case.category, severity=case.severity,
        customer=CustomerOut(name=case.customer_name), owner=case.owner_id, opened_by=case.opened_by,
        opened_at=case.opened_at, owned_at=case.owned_at, resolved_at=case.resolved_at,
        resolution=case.resolution, root_cause=case.root_cause, closed_at=case.closed_at,
        cancelled_at=case.cancelled_at, satisfied=case.satisfied, score=case.score, won_back=case.won_back,
        reopened_count=case.reopened_count, updated_at=case.updated_at,
    )  # fmt: skip


def case_with_timeline(case: Case, events: list[TimelineEvent], cause: str | None = None) -> CaseWithTimeline:
    entries = [TimelineEntry(kind=e.kind, actor=e.actor, at=e.at, data=dict(e.data or {})) for e in events]
    return CaseWithTimeline(**case_out(case, cause).model_dump(), timeline=entries)


def case_data(case: Case, cause: str | None = None) -> dict[str, Any]:
    """The case as JSON-ready data (webhook payloads)."""
    return case_out(case, cause).model_dump(mode="json")
