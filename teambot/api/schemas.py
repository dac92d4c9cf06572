"""The API's request and answer shapes. The OpenAPI document is generated from these models (and
the route table in `routes.py`); the handlers validate with the same models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from teambot.core.cases.public import CaseOut, CaseWithTimeline

Status = Literal["open", "owned", "resolved", "closed", "cancelled"]


class Problem(BaseModel):
    """RFC 9457 problem details: `detail` is the sentence to act on."""

    model_config = ConfigDict(title="Problem")

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = Field(default=None, description="The input at fault, when one is.")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Each invalid input, for bodies and queries."
    )


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="CustomerIn")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)


class OpenCaseIn(BaseModel):
    """A case to open. `category` must be one of the team's (see `/recover policy`)."""

    model_config = ConfigDict(extra="forbid", title="OpenCase")

    problem: str = Field(min_length=1, max_length=4000, description="What went wrong, in a sentence.")
    customer: CustomerIn | None = None
    wants: str | None = Field(default=None, max_length=4000, description="What the customer wants.")
    category: str | None = Field(default=None, max_length=64)
    severity: Literal["low", "medium", "high", "critical"] | None = None
    channel: str | None = Field(
        default=None,
        max_length=128,
        description="The chat channel id for the case card (default: the team's digest channel).",
    )
    external_ref: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9\-_.:~+/=]+$",
        description="Your system's id for this case (a helpdesk ticket id). Used as the Idempotency-Key when "
        "that header is absent, for senders that cannot set headers (a Zendesk trigger).",
    )


class CaseListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    category: str | None = Field(default=None, max_length=64)
    cause: str | None = Field(
        default=None, max_length=500, description="The root cause, as written at resolve."
    )
    owner: str | None = Field(default=None, max_length=128, description="The owner's chat user id.")
    opened_after: datetime | None = None
    opened_before: datetime | None = None
    resolved_after: datetime | None = None
    resolved_before: datetime | None = None
    cursor: str | None = Field(default=None, max_length=200, description="next_cursor of the previous page.")
    limit: int = Field(default=50, ge=1, le=200)


class DigestQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    week: str | None = Field(
        default=None,
        pattern=r"^\d{4}-[Ww]\d{1,2}$",
        description="An ISO week such as 2026-W47 (default: this week so far).",
    )


class CaseList(BaseModel):
    model_config = ConfigDict(title="CaseList")

    items: list[CaseOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class WebhookData(BaseModel):
    model_config = ConfigDict(title="WebhookData", extra="allow")

    case: CaseOut | None = Field(default=None, description="The case as it stands after the change.")
    approval: dict[str, Any] | None = Field(
        default=None, description="approval.requested: id, gesture, amount, currency."
    )
    feedback: dict[str, Any] | None = Field(
        default=None, description="feedback.received: satisfied, score, won_back, comment."
    )
    action: dict[str, Any] | None = Field(
        default=None, description="action.created, action.done: number, text, owner, due_at, outcome."
    )


class WebhookEvent(BaseModel):
    """The body of every webhook (Standard Webhooks: webhook-id, webhook-timestamp and
    webhook-signature headers; the same webhook-id on every retry)."""

    model_config = ConfigDict(title="WebhookEvent")

    type: str = Field(description="case.opened, case.claimed, ... or webhook.test for a ping.")
    timestamp: str = Field(description="When the change happened (ISO 8601, UTC).")
    data: WebhookData


class CauseListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolved_after: datetime | None = Field(default=None, description="Default: 28 days ago.")
    resolved_before: datetime | None = Field(default=None, description="Default: now.")


class CauseOut(BaseModel):
    """One of the team's causes with what its cases cost in the period, costliest first."""

    model_config = ConfigDict(title="Cause")

    name: str
    cases: list[int] = Field(description="Case numbers resolved in the period under this cause.")
    compensation: dict[str, int] = Field(
        description="Compensation given, per currency, in minor units (cents)."
    )
    not_satisfied: int
    lost: int
    repeat_customers: int
    per_week: float
    per_week_before: float = Field(description="Cases a week in the 4 weeks before the period.")
    trend: Literal["rising", "falling", "steady"]
    points: float = Field(description="The cost points that rank the causes.")


class CauseList(BaseModel):
    model_config = ConfigDict(title="CauseList")

    resolved_after: datetime
    resolved_before: datetime
    items: list[CauseOut]


class ActionListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "done", "dropped", "all"] = "open"
    owner: str | None = Field(default=None, max_length=128, description="The owner's chat user id.")


class ActionOut(BaseModel):
    """An improvement action: a change someone owns until it is done or dropped."""

    model_config = ConfigDict(title="Action")

    number: int
    case_number: int
    cause: str | None
    text: str
    owner: str
    due_at: datetime | None
    status: Literal["open", "done", "dropped"]
    created_by: str
    created_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None
    outcome: str | None = None
    jira_issue: str | None = Field(default=None, description="The Jira issue key, once sent to Jira.")


class ActionList(BaseModel):
    model_config = ConfigDict(title="ActionList")

    items: list[ActionOut]


class Digest(BaseModel):
    """The weekly digest's figures, as `teambot digest --json` prints them."""

    model_config = ConfigDict(title="Digest", extra="allow")

    team_id: str
    week: str
    start: str
    end: str
    timezone: str
    currency: str
    this: dict[str, Any] = Field(description="This week's figures.")
    last: dict[str, Any] = Field(description="Last week's figures, to compare.")
    still_open: int
    preview: bool
    empty: bool
    text: str = Field(description="The digest as the chat shows it.")


__all__ = [
    "CaseList",
    "CaseListQuery",
    "CaseOut",
    "CaseWithTimeline",
    "Digest",
    "DigestQuery",
    "OpenCaseIn",
    "Problem",
    "WebhookEvent",
]
