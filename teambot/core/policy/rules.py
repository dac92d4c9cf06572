"""A team's recovery policy: defaults seeded from the articles, readable by all, edited by admins."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.errors import BadInput, NotAllowed
from teambot.core.i18n import LANGUAGES, N_, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.policy.models import Policy

ROLES = ("member", "lead", "manager")
DEFAULT_ROLE_LIMITS: dict[str, str | None] = {"member": "50", "lead": "250", "manager": None}

# The gestures the articles describe: a list of 5 to 10 things of real value. A new team gets them
# (and the categories) in the language of the person who starts it; after that they are the team's
# own words, stored as written.
DEFAULT_CATALOGUE: list[dict[str, str]] = [
    {"name": N_("Room upgrade"), "value": "80"},
    {"name": N_("Free round of drinks"), "value": "30"},
    {"name": N_("Meal on the house"), "value": "45"},
    {"name": N_("Free dinner for two"), "value": "90"},
    {"name": N_("Discount on next purchase"), "value": "20"},
    {"name": N_("Waived fee"), "value": "25"},
    {"name": N_("Free month of service"), "value": "40"},
    {"name": N_("Gift card"), "value": "50"},
]
DEFAULT_CATEGORIES = [
    N_("billing"), N_("booking"), N_("delivery"), N_("food and drink"), N_("product quality"),
    N_("staff"), N_("wait time"), N_("other"),
]  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def new_policy(team_id: str, first_admin: str, now: datetime, platform: str = "shell") -> Policy:
    """The first person to use Teambot in a team becomes its admin, so someone can edit."""
    return Policy(
        team_id=team_id,
        platform=platform,
        role_limits=dict(DEFAULT_ROLE_LIMITS),
        catalogue=[{**g, "name": _(g["name"])} for g in DEFAULT_CATALOGUE],
        categories=[_(name) for name in DEFAULT_CATEGORIES],
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


def default_gestures() -> set[tuple[str, Decimal]]:
    """(name, value) of Teambot's default gestures in every language a team may have been started in."""
    found = set()
    for lang in LANGUAGES:
        with use_locale(lang):
            found |= {(_(g["name"]), gesture_value(g)) for g in DEFAULT_CATALOGUE}
    return found


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


def backups_of(policy: Policy) -> list[str]:
    """Who answers a request the approvers left waiting: the named backups, else every admin."""
    return list(policy.backup_approvers) or list(policy.admins)


def may_approve(policy: Policy, user: str) -> bool:
    return user in approvers_of(policy) or user in backups_of(policy)


def is_admin(policy: Policy, user: str) -> bool:
    return user in policy.admins


def require_admin(policy: Policy, user: str, doing: str | None = None) -> None:
    """Refuse a non-admin, saying what only admins may do (`doing`: "export customer data")."""
    if not is_admin(policy, user):
        admins = ", ".join(f"<@{admin}>" for admin in policy.admins) or _("nobody yet")
        if doing is None:
            raise NotAllowed(
                _("Only a Teambot admin can change the recovery policy."),
                _("Ask an admin (%(admins)s); anyone can read it with /recover policy.") % {"admins": admins},
            )
        raise NotAllowed(
            _("Only a Teambot admin can %(doing)s.") % {"doing": doing},
            _("Ask an admin (%(admins)s).") % {"admins": admins},
        )


def find_gesture(policy: Policy, name: str) -> dict[str, Any] | None:
    key = name.strip().lower()
    for gesture in policy.catalogue:
        if gesture["name"].lower() == key:
            return gesture
    matches = [g for g in policy.catalogue if key and key in g["name"].lower()]
    return matches[0] if len(matches) == 1 else None


# ----- the category vocabulary ------------------------------------------------------------

UNCATEGORISED = "uncategorised"


def category_key(text: str) -> str:
    """`Food-and_Drink` and `food and drink` are the same category."""
    return " ".join(re.sub(r"[-_]", " ", text).lower().split())


def find_category(policy: Policy, text: str) -> str | None:
    key = category_key(text)
    for name in policy.categories:
        if category_key(name) == key:
            return name
    return None


def near_category(policy: Policy, text: str) -> str | None:
    """The team's category a typed word was probably meant to be."""
    keys = {category_key(name): name for name in policy.categories}
    close = difflib.get_close_matches(category_key(text), list(keys), n=1, cutoff=0.75)
    return keys[close[0]] if close else None


def require_category(policy: Policy, text: str | None) -> str:
    """A category from a form or a command: one of the team's, or a refusal that says which."""
    if text is None or not text.strip():
        return UNCATEGORISED
    found = find_category(policy, text)
    if found is not None or category_key(text) == UNCATEGORISED:
        return found or UNCATEGORISED
    near = near_category(policy, text)
    listed = {"list": ", ".join(policy.categories), "near": near}
    raise BadInput(
        _("'%(text)s' is not one of this team's categories.") % {"text": text.strip()},
        _(
            "Did you mean %(near)s? Categories: %(list)s. An admin adds one with /recover policy category add <name>."
        )
        % listed
        if near
        else _("Categories: %(list)s. An admin adds one with /recover policy category add <name>.") % listed,
        field="category",
    )


@dataclass
class Tagged:
    """What the #words of a quick-open text mean against the team's vocabulary."""

    text: str  # the text with the matched #category taken out; other #words stay
    category: str | None = None
    near_miss: str | None = None  # the #word as typed, when it is close to a category
    meant: str | None = None  # ... and the category it is close to


_HASH = re.compile(r"(?:^|(?<=\s))#([A-Za-z][\w-]{0,40})")


def tag_category(policy: Policy, text: str) -> Tagged:
    """`#delivery`, `#Food-and-drink` or `#food and drink` name a category only when the team
    has it; `#delivry` is a near miss to ask about; `#A123` (an order number) stays in the text."""
    names = sorted(policy.categories, key=len, reverse=True)
    for m in _HASH.finditer(text):
        after = text[m.start() + 1 :]
        for name in names:  # the longest category the words after '#' spell, spaces or dashes
            pattern = r"[\s_-]+".join(re.escape(w) for w in category_key(name).split())
            hit = re.match(rf"({pattern})(?![\w-])", after, re.I)
            if hit:
                rest = (text[: m.start()] + after[hit.end() :]).strip()
                return Tagged(re.sub(r"[ \t]{2,}", " ", rest), name)
    for m in _HASH.finditer(text):
        near = near_category(policy, m.group(1))
        if near is not None:
            return Tagged(text, None, m.group(1), near)
    return Tagged(text)
