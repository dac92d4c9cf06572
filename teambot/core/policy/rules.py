"""A team's recovery policy: defaults seeded from the articles, readable by all, edited by admins."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.errors import NotAllowed
from teambot.core.policy.models import Policy

ROLES = ("member", "lead", "manager")
DEFAULT_ROLE_LIMITS: dict[str, str | None] = {"member": "50", "lead": "250", "manager": None}

# The gestures the articles describe: a list of 5 to 10 things of real value.
DEFAULT_CATALOGUE: list[dict[str, str]] = [
    {"name": "Room upgrade", "value": "80"},
    {"name": "Free round of drinks", "value": "30"},
    {"name": "Meal on the house", "value": "45"},
    {"name": "Free dinner for two", "value": "90"},
    {"name": "Discount on next purchase", "value": "20"},
    {"name": "Waived fee", "value": "25"},
    {"name": "Free month of service", "value": "40"},
    {"name": "Gift card", "value": "50"},
]
DEFAULT_CATEGORIES = [
    "billing", "booking", "delivery", "food and drink", "product quality",
    "staff", "wait time", "other",
]  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def new_policy(team_id: str, first_admin: str, now: datetime, platform: str = "shell") -> Policy:
    """The first person to use Teambot in a team becomes its admin, so someone can edit."""
    return Policy(
        team_id=team_id,
        platform=platform,
        role_limits=dict(DEFAULT_ROLE_LIMITS),
        catalogue=[dict(g) for g in DEFAULT_CATALOGUE],
        categories=list(DEFAULT_CATEGORIES),
        admins=[first_admin] if first_admin else [],
        approvers=[first_admin] if first_admin else [],
        created_at=now,
        updated_at=now,
    )


async def read_policy(session: AsyncSession, team_id: str, now: datetime) -> Policy:
    """The team's policy, or its defaults (not saved) for a team that has none yet: readers
    such as the sweep and the digest must not create a team by looking at it."""
    with session.no_autoflush:
        policy = await session.get(Policy, team_id)
    return policy or new_policy(team_id, "", now)


async def load_policy(
    session: AsyncSession, team_id: str, actor: str, now: datetime, platform: str = "shell"
) -> Policy:
    policy = await session.get(Policy, team_id)
    if policy is not None:
        return policy
    policy = new_policy(team_id, actor, now, platform)
    session.add(policy)
    try:
        await session.commit()
    except IntegrityError:  # another process created it first; theirs stands
        await session.rollback()
        policy = await session.get(Policy, team_id)
        assert policy is not None
    return policy


def stored_amount(raw: object) -> Decimal:
    """A limit or gesture value as the policy stores it (the text of an amount parse_amount
    already read, such as "50" or "25.50"): never typed input, which only parse_amount reads."""
    return Decimal(str(raw))


def gesture_value(gesture: dict[str, Any]) -> Decimal:
    return stored_amount(gesture["value"])


def role_of(policy: Policy, user: str) -> str:
    return policy.roles.get(user, "member")


def limit_for(policy: Policy, user: str) -> Decimal | None:
    """The most this person may give on one case without asking; None is unlimited."""
    raw = policy.person_limits.get(user)
    if raw is None:
        raw = policy.role_limits.get(role_of(policy, user), DEFAULT_ROLE_LIMITS["member"])
    return None if raw is None else stored_amount(raw)


def approvers_of(policy: Policy) -> list[str]:
    return list(policy.approvers) or list(policy.admins)


def is_admin(policy: Policy, user: str) -> bool:
    return user in policy.admins


def require_admin(policy: Policy, user: str) -> None:
    if not is_admin(policy, user):
        admins = ", ".join(f"<@{a}>" for a in policy.admins) or "nobody yet"
        raise NotAllowed(
            "Only a Teambot admin can change the recovery policy.",
            f"Ask an admin ({admins}); anyone can read it with /recover policy.",
        )


def find_gesture(policy: Policy, name: str) -> dict[str, Any] | None:
    key = name.strip().lower()
    for gesture in policy.catalogue:
        if gesture["name"].lower() == key:
            return gesture
    matches = [g for g in policy.catalogue if key and key in g["name"].lower()]
    return matches[0] if len(matches) == 1 else None
