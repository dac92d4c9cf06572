"""The one parser behind `/recover policy <setting> ...`: every setting a team configures,
from authority and gestures to working hours, pattern thresholds and people's time zones."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from teambot.core.errors import BadInput, NotAllowed
from teambot.core.money import exponent, format_amount, parse_amount, validate_currency
from teambot.core.policy.facts import DAY_NAMES
from teambot.core.policy.language import apply_language
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import (
    DEFAULT_CATALOGUE,
    DEFAULT_ROLE_LIMITS,
    ROLES,
    UNCATEGORISED,
    WEEKDAYS,
    category_key,
    find_category,
    find_gesture,
    gesture_value,
    limit_for,
    require_admin,
    stored_amount,
)

SCHEDULE_SETTINGS = ("workhours", "targetclock", "patterns", "shoutouts", "timezone")
SETTINGS = (
    "currency", "limit", "override", "role", "approver", "admin", "backup", "escalation", "gesture", "targets",
    "digest", "category",
    *SCHEDULE_SETTINGS, "language", "my",
)  # fmt: skip


@dataclass
class PolicyChange:
    """One admin edit, as the grammar parsed it."""

    setting: str
    args: list[str]


def _user_arg(args: list[str], index: int, usage: str) -> str:
    if len(args) <= index or not args[index].strip():
        raise BadInput("A person is missing.", f"Usage: {usage}")
    return args[index].lstrip("@").strip("<>@")


def apply_change(policy: Policy, change: PolicyChange, actor: str) -> str:
    """Apply one edit to the policy in place; return a sentence saying what changed.

    Admins change everything; anyone may set their own time zone."""
    a = change.args
    s = change.setting
    admin = actor in policy.admins
    if s == "my" or (s == "language" and admin):  # anyone sets their own language
        return apply_language(policy, actor, s, a)
    if not admin and not (s == "timezone" and a and a[0].strip("<>@").lstrip("@") == actor):
        if s == "timezone":
            raise NotAllowed(
                "You can set only your own time zone.", f"Usage: /recover policy timezone @{actor} Area/City"
            )
        require_admin(policy, actor)
    if s in SCHEDULE_SETTINGS:
        return _apply_schedule(policy, actor, admin, s, a)
    cur = policy.currency
    if s == "currency":
        if not a:
            raise BadInput("Which currency?", "Usage: /recover policy currency EUR [confirm]")
        return _change_currency(policy, validate_currency(a[0]), confirmed=a[1:2] in (["confirm"], ["CONFIRM"]))
    if s == "limit":
        usage = "/recover policy limit member|lead|manager <amount|unlimited>"
        if len(a) < 2 or a[0].lower() not in ROLES:
            raise BadInput("Name a role and an amount.", f"Usage: {usage}")
        role = a[0].lower()
        value = None if a[1].lower() == "unlimited" else str(parse_amount(a[1], cur))
        policy.role_limits = {**policy.role_limits, role: value}
        shown = format_amount(None if value is None else stored_amount(value), cur)
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
    if s == "escalation":
        usage = "/recover policy escalation <working hours>"
        policy.escalation_hours = _count(a[0] if a else "", 1, 168, "number of hours", usage)
        return (
            f"A request unanswered for {policy.escalation_hours} working hours goes to the backup approvers."
        )
    if s in ("approver", "admin", "backup"):
        usage = f"/recover policy {s} add|remove @person"
        if not a or a[0].lower() not in ("add", "remove"):
            raise BadInput("Say add or remove.", f"Usage: {usage}")
        user = _user_arg(a, 1, usage)
        people = list({"approver": policy.approvers, "admin": policy.admins, "backup": policy.backup_approvers}[s])
        if a[0].lower() == "add":
            if user not in people:
                people.append(user)
        else:
            if user not in people:
                raise BadInput(f"<@{user}> is not {'a backup approver' if s == 'backup' else 'an ' + s}.", "Nothing changed.")
            if s == "admin" and len(people) == 1:
                raise BadInput("That would leave the team with no admin.", "Add another admin first.")
            people.remove(user)
        if s == "approver":
            policy.approvers = people
        elif s == "backup":
            policy.backup_approvers = people
        else:
            policy.admins = people
        verb = "is now" if a[0].lower() == "add" else "is no longer"
        return f"<@{user}> {verb} {'a backup approver' if s == 'backup' else 'an ' + s}."
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
    if s == "category":
        return _apply_category(policy, a)
    raise BadInput(
        f"There is no policy setting called {s!r}.",
        "Settings: " + ", ".join(SETTINGS) + ".",
    )


def _amounts(policy: Policy) -> list[tuple[str, str, object]]:
    """Every amount the policy holds: (kind, who or what, stored value or None for unlimited)."""
    out: list[tuple[str, str, object]] = [("limit", role, v) for role, v in policy.role_limits.items()]
    out += [("override", f"<@{u}>", v) for u, v in policy.person_limits.items()]
    out += [("gesture", str(g["name"]), g["value"]) for g in policy.catalogue]
    return out


def _customised(policy: Policy) -> list[str]:
    """The amounts an admin set (not Teambot's defaults), as "lead 300" for the confirmation."""
    default_limits = {r: None if v is None else stored_amount(v) for r, v in DEFAULT_ROLE_LIMITS.items()}
    default_gestures = {(g["name"], gesture_value(g)) for g in DEFAULT_CATALOGUE}
    out = []
    for kind, who, raw in _amounts(policy):
        value = None if raw is None else stored_amount(raw)
        if (kind == "limit" and default_limits.get(who, "custom") != value) or kind == "override" or (
            kind == "gesture" and (who, value) not in default_gestures
        ):
            out.append(f"{who} {'unlimited' if value is None else value}")
    return out


def _change_currency(policy: Policy, new: str, *, confirmed: bool) -> str:
    """Limits and gesture values are numbers read in the team's currency, so changing it changes
    what they mean: with Teambot's defaults that is just said; amounts an admin set need `confirm`.
    A value the new currency can't hold (25.50 in JPY) is refused. Grants already given keep their
    own currency and are totalled apart from the new one."""
    old = policy.currency
    if new == old:
        return f"Currency is already {old}."
    for kind, who, raw in _amounts(policy):
        if raw is None:
            continue
        try:
            parse_amount(stored_amount(raw), new)
        except BadInput:
            raise BadInput(
                f"The {kind} {who} is {stored_amount(raw)}, which {new} can't hold "
                f"({exponent(new)} decimals).",
                f"Set it to a value {new} can hold first, then change the currency.",
                field="currency",
            ) from None
    custom = _customised(policy)
    if custom and not confirmed:
        raise BadInput(
            f"Limits and gesture values are read in the team's currency, and these were set in {old}: "
            f"{', '.join(custom)}. After the change the same numbers are read in {new}.",
            f"If that is right, type /recover policy currency {new} confirm; otherwise change them after "
            f"switching. Grants already given stay in {old}.",
            field="currency",
        )
    policy.currency = new

    def amount(raw: object) -> str:
        return format_amount(None if raw is None else stored_amount(raw), new)

    limits = ", ".join(f"{role} {amount(v)}" for role, v in policy.role_limits.items())
    gestures = ", ".join(f"{g['name']} {amount(g['value'])}" for g in policy.catalogue[:3])
    more = " and the other gestures" if len(policy.catalogue) > 3 else ""
    return (
        f"Currency is now {new}. Limits and gesture values are now read in {new}: {limits}"
        + (f"; {gestures}{more}" if gestures else "")
        + f". Grants already given in {old} stay in {old} and are totalled apart, never added to {new}."
    )


def _apply_category(policy: Policy, a: list[str]) -> str:
    usage = "/recover policy category add|remove <name>"
    if len(a) < 2 or a[0].lower() not in ("add", "remove"):
        raise BadInput("Say add or remove, then the category.", f"Usage: {usage}")
    name = category_key(" ".join(a[1:]).lstrip("#"))
    if not name or len(name) > 64 or not any(ch.isalnum() for ch in name):
        raise BadInput(f"{' '.join(a[1:])!r} is not a category name.", "Use a few words, up to 64 characters.")
    existing = find_category(policy, name)
    if a[0].lower() == "add":
        if existing is not None:
            raise BadInput(f"{existing} is already a category.", "Nothing changed.")
        if name == UNCATEGORISED:
            raise BadInput("Cases without a category are already 'uncategorised'.", "Nothing changed.")
        policy.categories = [*policy.categories, name]
        tag = "#" + name.replace(" ", "-")
        return f"{name} is a category now; type {tag} to use it."
    if existing is None:
        raise BadInput(f"There is no category {name!r}.", "Categories: " + ", ".join(policy.categories) + ".")
    policy.categories = [c for c in policy.categories if c != existing]
    return f"{existing} is no longer offered; cases already in it keep it."


def weekday_name(text: str) -> str | None:
    """`monday`, `Mon` or `mon.` → `monday`; anything else → None."""
    word = text.strip().lower().rstrip(".")
    if word in WEEKDAYS:
        return word
    if len(word) >= 3:
        found = [d for d in WEEKDAYS if d.startswith(word)]
        if len(found) == 1:
            return found[0]
    return None


def _apply_digest(policy: Policy, a: list[str]) -> str:
    usage = "/recover policy digest <weekday> <HH:MM> <Area/City time zone> [#channel]"
    if len(a) < 3:
        raise BadInput("Give a weekday, a time and a time zone.", f"Usage: {usage}")
    day = weekday_name(a[0])
    if day is None:
        raise BadInput(f"{a[0]!r} is not a weekday.", f"Use monday … sunday, or mon … sun. Usage: {usage}")
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


_DAY_SETS = {"mon-fri": [0, 1, 2, 3, 4], "mon-sat": [0, 1, 2, 3, 4, 5], "all": [0, 1, 2, 3, 4, 5, 6]}


def _hhmm(text: str, usage: str) -> str:
    try:
        hh, mm = (int(x) for x in text.split(":"))
        if 0 <= hh < 24 and 0 <= mm < 60:
            return f"{hh:02d}:{mm:02d}"
    except ValueError:
        pass
    raise BadInput(f"{text!r} is not a time of day.", f"Use 24-hour HH:MM. Usage: {usage}")


def _count(text: str, low: int, high: int, what: str, usage: str) -> int:
    if not text.isdecimal() or not low <= int(text) <= high:
        raise BadInput(f"{text!r} is not a valid {what} ({low} to {high}).", f"Usage: {usage}")
    return int(text)


def _apply_schedule(row: Policy, actor: str, is_admin: bool, setting: str, a: list[str]) -> str:
    """Edit the team's scheduling settings in place; a sentence saying what changed."""
    if setting == "workhours":
        usage = "/recover policy workhours 09:00 18:00 [mon-fri|mon-sat|all|mon,tue,...]"
        if len(a) < 2:
            raise BadInput("Give the start and end of the working day.", f"Usage: {usage}")
        start, end = _hhmm(a[0], usage), _hhmm(a[1], usage)
        if end <= start:
            raise BadInput("The working day must end after it starts.", f"Usage: {usage}")
        days = row.work_days
        if len(a) > 2:
            spec = a[2].lower()
            days = _DAY_SETS.get(spec) or []
            if not days:
                names = [d.strip()[:3] for d in spec.split(",")]
                if not names or any(n not in DAY_NAMES for n in names):
                    raise BadInput(f"{a[2]!r} is not a list of days.", f"Usage: {usage}")
                days = sorted({DAY_NAMES.index(n) for n in names})
        row.work_start, row.work_end, row.work_days = start, end, list(days)
        return f"Working hours are {start}–{end} on {', '.join(DAY_NAMES[d] for d in row.work_days)}."
    if setting == "targetclock":
        if not a or a[0].lower() not in ("working", "wall"):
            raise BadInput("Say working or wall.", "Usage: /recover policy targetclock working|wall")
        row.targets_in_working_hours = a[0].lower() == "working"
        return "Time targets count " + (
            "working hours only." if row.targets_in_working_hours else "wall-clock hours."
        )
    if setting == "patterns":
        usage = "/recover policy patterns <cases per week> <rise %> <repeat-customer days>"
        if len(a) < 3:
            raise BadInput("Give three numbers.", f"Usage: {usage}")
        row.pattern_min_cases = _count(a[0], 2, 1000, "number of cases", usage)
        row.pattern_rise_percent = _count(a[1].rstrip("%"), 101, 10000, "rise in percent", usage)
        row.repeat_customer_days = _count(a[2], 1, 365, "number of days", usage)
        return (
            f"A pattern is {row.pattern_min_cases} cases in 7 days or {row.pattern_rise_percent}% of the usual; "
            f"a repeat customer has two cases within {row.repeat_customer_days} days."
        )
    if setting == "shoutouts":
        usage = "/recover policy shoutouts <per person per day>"
        row.shoutouts_per_day = _count(a[0] if a else "", 1, 50, "daily allowance", usage)
        return f"Each person may give {row.shoutouts_per_day} shout-outs a day."
    if setting == "timezone":
        usage = "/recover policy timezone @person Area/City"
        if len(a) < 2:
            raise BadInput("Name the person and their time zone.", f"Usage: {usage}")
        who = a[0].strip("<>@").lstrip("@")
        if who != actor and not is_admin:
            raise NotAllowed(
                "You can set only your own time zone.", f"Usage: /recover policy timezone @{actor} Area/City"
            )
        try:
            ZoneInfo(a[1])
        except (ZoneInfoNotFoundError, ValueError):
            raise BadInput(
                f"{a[1]!r} is not a time zone.", "Use an IANA name such as Europe/London."
            ) from None
        row.timezones = {**row.timezones, who: a[1]}
        return f"<@{who}> is in {a[1]}: their nudges wait for their working day there."
    raise AssertionError(setting)
