"""A team's recovery policy: defaults seeded from the articles, readable by all, edited by admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.errors import BadInput, NotAllowed
from teambot.core.models import Policy
from teambot.core.money import format_amount, parse_amount, validate_currency

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
        admins=[first_admin],
        approvers=[first_admin],
        created_at=now,
        updated_at=now,
    )


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


def role_of(policy: Policy, user: str) -> str:
    return policy.roles.get(user, "member")


def limit_for(policy: Policy, user: str) -> Decimal | None:
    """The most this person may give on one case without asking; None is unlimited."""
    raw = policy.person_limits.get(user)
    if raw is None:
        raw = policy.role_limits.get(role_of(policy, user), DEFAULT_ROLE_LIMITS["member"])
    return None if raw is None else Decimal(str(raw))


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


@dataclass
class PolicyChange:
    """One admin edit, as the grammar parsed it."""

    setting: str
    args: list[str]


def _user_arg(args: list[str], index: int, usage: str) -> str:
    if len(args) <= index or not args[index].strip():
        raise BadInput("A person is missing.", f"Usage: {usage}")
    return args[index].lstrip("@").strip("<>@")


def apply_change(policy: Policy, change: PolicyChange) -> str:
    """Apply one edit to the policy in place; return a sentence saying what changed."""
    a = change.args
    s = change.setting
    cur = policy.currency
    if s == "currency":
        if not a:
            raise BadInput("Which currency?", "Usage: /recover policy currency EUR")
        policy.currency = validate_currency(a[0])
        return f"Currency is now {policy.currency}."
    if s == "limit":
        usage = "/recover policy limit member|lead|manager <amount|unlimited>"
        if len(a) < 2 or a[0].lower() not in ROLES:
            raise BadInput("Name a role and an amount.", f"Usage: {usage}")
        role = a[0].lower()
        value = None if a[1].lower() == "unlimited" else str(parse_amount(a[1], cur))
        policy.role_limits = {**policy.role_limits, role: value}
        shown = format_amount(None if value is None else Decimal(value), cur)
        return f"The {role} limit is now {shown} per case."
    if s == "override":
        usage = "/recover policy override @person <amount|unlimited|default>"
        user = _user_arg(a, 0, usage)
        if len(a) < 2:
            raise BadInput("Give an amount, 'unlimited' or 'default'.", f"Usage: {usage}")
        limits = dict(policy.person_limits)
        if a[1].lower() == "default":
            limits.pop(user, None)
            policy.person_limits = limits
            return f"<@{user}> is back to their role's limit."
        limits[user] = None if a[1].lower() == "unlimited" else str(parse_amount(a[1], cur))
        policy.person_limits = limits
        return f"<@{user}> may now give up to {format_amount(limit_for(policy, user), cur)} per case."
    if s == "role":
        usage = "/recover policy role @person member|lead|manager"
        user = _user_arg(a, 0, usage)
        if len(a) < 2 or a[1].lower() not in ROLES:
            raise BadInput("Name a role: member, lead or manager.", f"Usage: {usage}")
        policy.roles = {**policy.roles, user: a[1].lower()}
        return f"<@{user}> is now a {a[1].lower()}."
    if s in ("approver", "admin"):
        usage = f"/recover policy {s} add|remove @person"
        if not a or a[0].lower() not in ("add", "remove"):
            raise BadInput("Say add or remove.", f"Usage: {usage}")
        user = _user_arg(a, 1, usage)
        people = list(policy.approvers if s == "approver" else policy.admins)
        if a[0].lower() == "add":
            if user not in people:
                people.append(user)
        else:
            if user not in people:
                raise BadInput(f"<@{user}> is not an {s}.", "Nothing changed.")
            if s == "admin" and len(people) == 1:
                raise BadInput("That would leave the team with no admin.", "Add another admin first.")
            people.remove(user)
        if s == "approver":
            policy.approvers = people
        else:
            policy.admins = people
        verb = "is now" if a[0].lower() == "add" else "is no longer"
        return f"<@{user}> {verb} an {s}."
    if s == "gesture":
        usage = "/recover policy gesture add <name> <value> | remove <name>"
        if not a or a[0].lower() not in ("add", "remove") or len(a) < 2:
            raise BadInput("Say add or remove, then the gesture.", f"Usage: {usage}")
        if a[0].lower() == "remove":
            name = " ".join(a[1:])
            gesture = find_gesture(policy, name)
            if gesture is None:
                raise BadInput(f"No gesture called {name!r}.", "See the list with /recover policy.")
            policy.catalogue = [g for g in policy.catalogue if g is not gesture]
            return f"Removed {gesture['name']} from the catalogue."
        if len(a) < 3:
            raise BadInput("Give the gesture a name and a value.", f"Usage: {usage}")
        value = parse_amount(a[-1], cur)
        name = " ".join(a[1:-1]).strip()[:120]
        if len(policy.catalogue) >= 10:
            raise BadInput(
                "The catalogue already has 10 gestures.",
                "Keep the list short (5 to 10) so people remember it; remove one first.",
            )
        rest = [g for g in policy.catalogue if g["name"].lower() != name.lower()]
        policy.catalogue = [*rest, {"name": name, "value": str(value)}]
        return f"{name} ({format_amount(value, cur)}) is in the catalogue."
    if s == "targets":
        usage = "/recover policy targets <own minutes> <resolve hours> <follow-up hours>"
        try:
            own, resolve, follow = (int(x) for x in a[:3])
        except ValueError:
            raise BadInput("Targets are three whole numbers.", f"Usage: {usage}") from None
        if len(a) < 3 or min(own, resolve, follow) <= 0:
            raise BadInput("Targets are three numbers above zero.", f"Usage: {usage}")
        policy.own_within_minutes, policy.resolve_within_hours = own, resolve
        policy.followup_after_hours = follow
        return f"Targets: own within {own} min, resolve within {resolve} h, follow up {follow} h after."
    if s == "digest":
        return _apply_digest(policy, a)
    raise BadInput(
        f"There is no policy setting called {s!r}.",
        "Settings: currency, limit, override, role, approver, admin, gesture, targets, digest.",
    )


def _apply_digest(policy: Policy, a: list[str]) -> str:
    usage = "/recover policy digest <weekday> <HH:MM> <Area/City time zone> [#channel]"
    if len(a) < 3:
        raise BadInput("Give a weekday, a time and a time zone.", f"Usage: {usage}")
    day = a[0].lower()
    if day not in WEEKDAYS:
        raise BadInput(f"{a[0]!r} is not a weekday.", f"Usage: {usage}")
    try:
        hh, mm = (int(x) for x in a[1].split(":"))
        if not (0 <= hh < 24 and 0 <= mm < 60):
            raise ValueError
    except ValueError:
        raise BadInput(f"{a[1]!r} is not a time of day.", "Use 24-hour HH:MM, such as 09:00.") from None
    try:
        ZoneInfo(a[2])
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"{a[2]!r} is not a time zone.", "Use an IANA name such as Europe/London.") from None
    policy.digest_weekday = WEEKDAYS.index(day)
    policy.digest_time = f"{hh:02d}:{mm:02d}"
    policy.digest_timezone = a[2]
    if len(a) > 3:
        policy.digest_channel = a[3].lstrip("#").strip("<>#")
    where = f" in <#{policy.digest_channel}>" if policy.digest_channel else ""
    return f"The digest goes out {day.title()}s at {policy.digest_time} {a[2]}{where}."
