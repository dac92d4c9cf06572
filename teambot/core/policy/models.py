"""The one record of everything a team configures: authority, vocabulary, targets, the digest,
working hours, pattern thresholds, the shout-out allowance and people's time zones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from teambot.core.types import UTCDateTime, json_column, version_column


class Policy(SQLModel, table=True):
    """A team's recovery policy: who may give what, and how fast things should happen."""

    __tablename__ = "policies"

    team_id: str = Field(primary_key=True, max_length=128)
    platform: str = Field(default="shell", max_length=16)  # where the team lives: shell, slack, teams
    currency: str = Field(default="USD", max_length=3)
    role_limits: dict[str, Any] = json_column(dict)  # role -> amount string, or None for unlimited
    person_limits: dict[str, Any] = json_column(dict)  # user id -> amount string
    roles: dict[str, str] = json_column(dict)  # user id -> role
    catalogue: list[dict[str, Any]] = json_column(list)  # [{"name": ..., "value": "25.00"}]
    categories: list[str] = json_column(list)
    approvers: list[str] = json_column(list)
    admins: list[str] = json_column(list)
    backup_approvers: list[str] = json_column(list)  # asked once a request waits escalation_hours
    escalation_hours: int = 4  # working hours an approval may wait before the backups hear
    own_within_minutes: int = 15
    resolve_within_hours: int = 24
    followup_after_hours: int = 48
    digest_weekday: int = 0  # Monday
    digest_time: str = Field(default="09:00", max_length=5)
    digest_timezone: str = Field(default="UTC", max_length=64)
    digest_channel: str | None = Field(default=None, max_length=128)
    # Working hours and time zones decide when nudges reach people.
    work_start: str = Field(default="09:00", max_length=5)
    work_end: str = Field(default="18:00", max_length=5)
    work_days: list[int] = json_column(lambda: [0, 1, 2, 3, 4])
    targets_in_working_hours: bool = False
    timezones: dict[str, str] = json_column(dict)  # user id -> IANA zone
    # The team's language (channel cards, the digest, a customer's mail unless the case names one)
    # and a person's own choice over what their platform says (migration 0015).
    language: str = Field(default="en", max_length=8)
    languages: dict[str, str] = json_column(dict)  # user id -> language code
    # What counts as a pattern, and how many shout-outs each person may give a day.
    pattern_min_cases: int = 3
    pattern_rise_percent: int = 200  # this week >= 200% of the previous 4 weeks' average
    repeat_customer_days: int = 30
    shoutouts_per_day: int = 3
    case_counter: int = 0  # last case number handed out; bumped atomically on open
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=(_v := version_column()))

    __mapper_args__ = {"version_id_col": _v}
    del _v  # a leftover `_v` would be a pydantic private attribute, deep-copied (metadata and all) per instance
