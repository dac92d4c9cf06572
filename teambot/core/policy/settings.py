"""The one parser behind `/recover policy <setting> ...`: every setting a team configures,
from authority and gestures to working hours, pattern thresholds and people's time zones.

Each setting is one small function in `_SETTERS`; what it answers is in the current language
(the admin's), while what the admin typed (roles, names, time zones) stays as typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import get_day_names

from teambot.core.errors import BadInput, NotAllowed
from teambot.core.i18n import N_, SOURCE, babel_locale, current, format_money, ngettext
from teambot.core.i18n import gettext as _
from teambot.core.money import exponent, parse_amount, validate_currency
from teambot.core.policy.facts import DAY_NAMES, EVERY
from teambot.core.policy.language import apply_language
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import (
    DEFAULT_ROLE_LIMITS,
    ROLES,
    UNCATEGORISED,
    WEEKDAYS,
    category_key,
    default_gestures,
    find_category,
    find_gesture,
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

# How each setting is typed: commands stay English, the words between <> are for the reader.
_USAGES = {
    "currency": N_("/recover policy currency EUR [confirm]"),
    "limit": N_("/recover policy limit member|lead|manager <amount|unlimited>"),
    "override": N_("/recover policy override @person <amount|unlimited|default>"),
    "role": N_("/recover policy role @person member|lead|manager"),
    "escalation": N_("/recover policy escalation <working hours>"),
    "approver": N_("/recover policy approver add|remove @person"),
    "admin": N_("/recover policy admin add|remove @person"),
    "backup": N_("/recover policy backup add|remove @person"),
    "gesture": N_("/recover policy gesture add <name> <value> | remove <name>"),
    "targets": N_("/recover policy targets <own minutes> <resolve hours> <follow-up hours>"),
    "digest": N_("/recover policy digest <weekday> <HH:MM> <Area/City time zone> [#channel]"),
    "category": N_("/recover policy category add|remove <name>"),
    "workhours": N_("/recover policy workhours 09:00 18:00 [mon-fri|mon-sat|all|mon,tue,...]"),
    "targetclock": N_("/recover policy targetclock working|wall"),
    "patterns": N_("/recover policy patterns <cases per week> <rise %> <repeat-customer days>"),
    "shoutouts": N_("/recover policy shoutouts <per person per day>"),
    "timezone": N_("/recover policy timezone @person Area/City"),
}
# Who a list setting names, as a sentence says it: added, removed, or not on the list.
_LIST_SAID = {
    ("approver", "add"): N_("%(who)s is now an approver."),
    ("approver", "remove"): N_("%(who)s is no longer an approver."),
    ("approver", "missing"): N_("%(who)s is not an approver."),
    ("admin", "add"): N_("%(who)s is now an admin."),
    ("admin", "remove"): N_("%(who)s is no longer an admin."),
    ("admin", "missing"): N_("%(who)s is not an admin."),
    ("backup", "add"): N_("%(who)s is now a backup approver."),
    ("backup", "remove"): N_("%(who)s is no longer a backup approver."),
    ("backup", "missing"): N_("%(who)s is not a backup approver."),
}
# An amount the new currency cannot hold, by what holds it (the limit of a role, a person's, a gesture).
_CANNOT_HOLD = {
    "limit": N_("The limit %(who)s is %(amount)s, which %(currency)s can't hold (%(places)s decimals)."),
    "override": N_(
        "The override %(who)s is %(amount)s, which %(currency)s can't hold (%(places)s decimals)."
    ),
    "gesture": N_("The gesture %(who)s is %(amount)s, which %(currency)s can't hold (%(places)s decimals)."),
}
_NOT_A_ZONE = N_("'%(zone)s' is not a time zone.")
_ZONE_HINT = N_("Use an IANA name such as Europe/London.")


@dataclass
class PolicyChange:
    """One admin edit, as the grammar parsed it."""

    setting: str
    args: list[str]


@dataclass
class _Edit:
    """What a setter needs: the policy it changes, what was typed after the setting, and who typed it."""

    policy: Policy
    setting: str
    args: list[str]
    actor: str
    admin: bool


def _usage(setting: str) -> str:
    return _("Usage: %(usage)s") % {"usage": _(_USAGES[setting])}


def _user_arg(args: list[str], index: int, setting: str) -> str:
    if len(args) <= index or not args[index].strip():
        raise BadInput(_("A person is missing."), _usage(setting))
    return args[index].lstrip("@").strip("<>@")


def _money(value: Decimal | None, currency: str) -> str:
    return _("unlimited") if value is None else format_money(value, currency)


def _own_zone_only(actor: str) -> NotAllowed:
    return NotAllowed(
        _("You can set only your own time zone."),
        _("Usage: %(usage)s") % {"usage": _("/recover policy timezone @%(who)s Area/City") % {"who": actor}},
    )


def apply_change(policy: Policy, change: PolicyChange, actor: str) -> str:
    """Apply one edit to the policy in place; return a sentence saying what changed.

    Admins change everything; anyone may set their own time zone and language."""
    setting, args = change.setting, change.args
    admin = actor in policy.admins
    if setting == "my" or (setting == "language" and admin):  # anyone sets their own language
        return apply_language(policy, actor, setting, args)
    own_zone = setting == "timezone" and args and args[0].strip("<>@").lstrip("@") == actor
    if not admin and not own_zone:
        if setting == "timezone":
            raise _own_zone_only(actor)
        require_admin(policy, actor)
    setter = _SETTERS.get(setting)
    if setter is None:
        raise BadInput(
            _("There is no policy setting called '%(setting)s'.") % {"setting": setting},
            _("Settings: %(list)s.") % {"list": ", ".join(SETTINGS)},
        )
    return setter(_Edit(policy, setting, args, actor, admin))


# ----- authority and money ----------------------------------------------------------------


def _set_currency(edit: _Edit) -> str:
    args = edit.args
    if not args:
        raise BadInput(_("Which currency?"), _usage("currency"))
    confirmed = args[1:2] in (["confirm"], ["CONFIRM"])
    return _change_currency(edit.policy, validate_currency(args[0]), confirmed=confirmed)


def _set_limit(edit: _Edit) -> str:
    args, policy = edit.args, edit.policy
    if len(args) < 2 or args[0].lower() not in ROLES:
        raise BadInput(_("Name a role and an amount."), _usage("limit"))
    role = args[0].lower()
    value = None if args[1].lower() == "unlimited" else str(parse_amount(args[1], policy.currency))
    policy.role_limits = {**policy.role_limits, role: value}
    shown = _money(None if value is None else stored_amount(value), policy.currency)
    return _("The %(role)s limit is now %(amount)s per case.") % {"role": role, "amount": shown}


def _set_override(edit: _Edit) -> str:
    args, policy = edit.args, edit.policy
    user = _user_arg(args, 0, "override")
    if len(args) < 2:
        raise BadInput(_("Give an amount, 'unlimited' or 'default'."), _usage("override"))
    limits = dict(policy.person_limits)
    if args[1].lower() == "default":
        limits.pop(user, None)
        policy.person_limits = limits
        return _("%(who)s is back to their role's limit.") % {"who": f"<@{user}>"}
    limits[user] = None if args[1].lower() == "unlimited" else str(parse_amount(args[1], policy.currency))
    policy.person_limits = limits
    return _("%(who)s may now give up to %(amount)s per case.") % {
        "who": f"<@{user}>",
        "amount": _money(limit_for(policy, user), policy.currency),
    }


def _set_role(edit: _Edit) -> str:
    args, policy = edit.args, edit.policy
    user = _user_arg(args, 0, "role")
    if len(args) < 2 or args[1].lower() not in ROLES:
        raise BadInput(_("Name a role: member, lead or manager."), _usage("role"))
    policy.roles = {**policy.roles, user: args[1].lower()}
    return _("%(who)s is now a %(role)s.") % {"who": f"<@{user}>", "role": args[1].lower()}


def _set_escalation(edit: _Edit) -> str:
    hours = edit.args[0] if edit.args else ""
    edit.policy.escalation_hours = _count(
        hours, 1, 168, N_("'%(text)s' is not a valid number of hours (%(low)s to %(high)s)."), "escalation"
    )
    count = edit.policy.escalation_hours
    return ngettext(
        "A request unanswered for %(count)s working hour goes to the backup approvers.",
        "A request unanswered for %(count)s working hours goes to the backup approvers.",
        count,
    ) % {"count": count}


def _set_people(edit: _Edit) -> str:
    """`approver`, `admin` and `backup`: add or remove a person from that list."""
    args, policy, setting = edit.args, edit.policy, edit.setting
    if not args or args[0].lower() not in ("add", "remove"):
        raise BadInput(_("Say add or remove."), _usage(setting))
    user = _user_arg(args, 1, setting)
    who = {"who": f"<@{user}>"}
    people = list(
        {"approver": policy.approvers, "admin": policy.admins, "backup": policy.backup_approvers}[setting]
    )
    adding = args[0].lower() == "add"
    if adding:
        if user not in people:
            people.append(user)
    else:
        if user not in people:
            raise BadInput(_(_LIST_SAID[setting, "missing"]) % who, _("Nothing changed."))
        if setting == "admin" and len(people) == 1:
            raise BadInput(_("That would leave the team with no admin."), _("Add another admin first."))
        people.remove(user)
    if setting == "approver":
        policy.approvers = people
    elif setting == "backup":
        policy.backup_approvers = people
    else:
        policy.admins = people
    return _(_LIST_SAID[setting, "add" if adding else "remove"]) % who


def _set_gesture(edit: _Edit) -> str:
    args, policy = edit.args, edit.policy
    if not args or args[0].lower() not in ("add", "remove") or len(args) < 2:
        raise BadInput(_("Say add or remove, then the gesture."), _usage("gesture"))
    if args[0].lower() == "remove":
        name = " ".join(args[1:])
        gesture = find_gesture(policy, name)
        if gesture is None:
            raise BadInput(
                _("No gesture called '%(name)s'.") % {"name": name},
                _("See the list with /recover policy."),
            )
        policy.catalogue = [g for g in policy.catalogue if g is not gesture]
        return _("Removed %(name)s from the catalogue.") % {"name": gesture["name"]}
    if len(args) < 3:
        raise BadInput(_("Give the gesture a name and a value."), _usage("gesture"))
    value = parse_amount(args[-1], policy.currency)
    name = " ".join(args[1:-1]).strip()[:120]
    if len(policy.catalogue) >= 10:
        raise BadInput(
            _("The catalogue already has %(count)s gestures.") % {"count": 10},
            _("Keep the list short (5 to 10) so people remember it; remove one first."),
        )
    rest = [g for g in policy.catalogue if g["name"].lower() != name.lower()]
    policy.catalogue = [*rest, {"name": name, "value": str(value)}]
    return _("%(name)s (%(amount)s) is in the catalogue.") % {
        "name": name,
        "amount": format_money(value, policy.currency),
    }


def _set_targets(edit: _Edit) -> str:
    args, policy = edit.args, edit.policy
    try:
        own, resolve, follow = (int(x) for x in args[:3])
    except ValueError:
        raise BadInput(_("Targets are three whole numbers."), _usage("targets")) from None
    if len(args) < 3 or min(own, resolve, follow) <= 0:
        raise BadInput(_("Targets are three numbers above zero."), _usage("targets"))
    policy.own_within_minutes, policy.resolve_within_hours = own, resolve
    policy.followup_after_hours = follow
    return _(
        "Targets: own within %(own)s min, resolve within %(resolve)s h, follow up %(follow)s h after."
    ) % {
        "own": own,
        "resolve": resolve,
        "follow": follow,
    }


def _amounts(policy: Policy) -> list[tuple[str, str, object]]:
    """Every amount the policy holds: (kind, who or what, stored value or None for unlimited)."""
    out: list[tuple[str, str, object]] = [("limit", role, v) for role, v in policy.role_limits.items()]
    out += [("override", f"<@{user}>", v) for user, v in policy.person_limits.items()]
    out += [("gesture", str(g["name"]), g["value"]) for g in policy.catalogue]
    return out


def _customised(policy: Policy) -> list[str]:
    """The amounts an admin set (not Teambot's defaults), as "lead 300" for the confirmation."""
    default_limits = {r: None if v is None else stored_amount(v) for r, v in DEFAULT_ROLE_LIMITS.items()}
    defaults = default_gestures()
    out = []
    for kind, who, raw in _amounts(policy):
        value = None if raw is None else stored_amount(raw)
        if (
            (kind == "limit" and default_limits.get(who, "custom") != value)
            or kind == "override"
            or (kind == "gesture" and (who, value) not in defaults)
        ):
            out.append(f"{who} {_('unlimited') if value is None else value}")
    return out


def _check_new_currency_holds(policy: Policy, new: str) -> None:
    """Refuse a currency that cannot hold an amount already set (25.50 in JPY)."""
    for kind, who, raw in _amounts(policy):
        if raw is None:
            continue
        try:
            parse_amount(stored_amount(raw), new)
        except BadInput:
            raise BadInput(
                _(_CANNOT_HOLD[kind])
                % {"who": who, "amount": stored_amount(raw), "currency": new, "places": exponent(new)},
                _("Set it to a value %(currency)s can hold first, then change the currency.") % {"currency": new},
                field="currency",
            ) from None  # fmt: skip


def _change_currency(policy: Policy, new: str, *, confirmed: bool) -> str:
    """Limits and gesture values are numbers read in the team's currency, so changing it changes
    what they mean: with Teambot's defaults that is just said; amounts an admin set need `confirm`.
    A value the new currency can't hold (25.50 in JPY) is refused. Grants already given keep their
    own currency and are totalled apart from the new one."""
    old = policy.currency
    if new == old:
        return _("Currency is already %(currency)s.") % {"currency": old}
    _check_new_currency_holds(policy, new)
    custom = _customised(policy)
    if custom and not confirmed:
        raise BadInput(
            _("Limits and gesture values are read in the team's currency, and these were set in %(old)s: "
              "%(amounts)s. After the change the same numbers are read in %(new)s.")
            % {"old": old, "amounts": ", ".join(custom), "new": new},
            _("If that is right, type `/recover policy currency %(new)s confirm`; otherwise change them after "
              "switching. Grants already given stay in %(old)s.") % {"new": new, "old": old},
            field="currency",
        )  # fmt: skip
    policy.currency = new

    def amount(raw: object) -> str:
        return _money(None if raw is None else stored_amount(raw), new)

    limits = ", ".join(f"{role} {amount(v)}" for role, v in policy.role_limits.items())
    gestures = ", ".join(f"{g['name']} {amount(g['value'])}" for g in policy.catalogue[:3])
    said = {"new": new, "old": old, "limits": limits, "gestures": gestures}
    if not gestures:
        return (
            _(
                "Currency is now %(new)s. Limits and gesture values are now read in %(new)s: %(limits)s. Grants "
                "already given in %(old)s stay in %(old)s and are totalled apart, never added to %(new)s."
            )
            % said
        )
    if len(policy.catalogue) > 3:
        return (
            _(
                "Currency is now %(new)s. Limits and gesture values are now read in %(new)s: %(limits)s; "
                "%(gestures)s and the other gestures. Grants already given in %(old)s stay in %(old)s and are "
                "totalled apart, never added to %(new)s."
            )
            % said
        )
    return _("Currency is now %(new)s. Limits and gesture values are now read in %(new)s: %(limits)s; "
             "%(gestures)s. Grants already given in %(old)s stay in %(old)s and are totalled apart, never added "
             "to %(new)s.") % said  # fmt: skip


def _set_category(edit: _Edit) -> str:
    args, policy = edit.args, edit.policy
    if len(args) < 2 or args[0].lower() not in ("add", "remove"):
        raise BadInput(_("Say add or remove, then the category."), _usage("category"))
    typed = " ".join(args[1:])
    name = category_key(typed.lstrip("#"))
    if not name or len(name) > 64 or not any(ch.isalnum() for ch in name):
        raise BadInput(
            _("'%(name)s' is not a category name.") % {"name": typed},
            _("Use a few words, up to 64 characters."),
        )
    existing = find_category(policy, name)
    if args[0].lower() == "add":
        if existing is not None:
            raise BadInput(_("%(name)s is already a category.") % {"name": existing}, _("Nothing changed."))
        if name == UNCATEGORISED:
            raise BadInput(_("Cases without a category are already 'uncategorised'."), _("Nothing changed."))
        policy.categories = [*policy.categories, name]
        tag = "#" + name.replace(" ", "-")
        return _("%(name)s is a category now; type %(tag)s to use it.") % {"name": name, "tag": tag}
    if existing is None:
        raise BadInput(
            _("There is no category '%(name)s'.") % {"name": name},
            _("Categories: %(list)s.") % {"list": ", ".join(policy.categories)},
        )
    policy.categories = [name for name in policy.categories if name != existing]
    return _("%(name)s is no longer offered; cases already in it keep it.") % {"name": existing}


# ----- when things happen -----------------------------------------------------------------


def weekday_name(text: str) -> str | None:
    """`monday`, `Mon` or `mon.` → `monday`; anything else → None."""
    word = text.strip().lower().rstrip(".")
    if word in WEEKDAYS:
        return word
    if len(word) >= 3:
        found = [day for day in WEEKDAYS if day.startswith(word)]
        if len(found) == 1:
            return found[0]
    return None


def _zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(_(_NOT_A_ZONE) % {"zone": text}, _(_ZONE_HINT)) from None
    return text


def _not_a_time(text: str, hint: str) -> BadInput:
    return BadInput(_("'%(text)s' is not a time of day.") % {"text": text}, hint)


def _set_digest(edit: _Edit) -> str:
    args, policy = edit.args, edit.policy
    if len(args) < 3:
        raise BadInput(_("Give a weekday, a time and a time zone."), _usage("digest"))
    day = weekday_name(args[0])
    if day is None:
        raise BadInput(
            _("'%(text)s' is not a weekday.") % {"text": args[0]},
            _("Use monday … sunday, or mon … sun. %(usage)s") % {"usage": _usage("digest")},
        )
    try:
        hours, minutes = (int(x) for x in args[1].split(":"))
        if not (0 <= hours < 24 and 0 <= minutes < 60):
            raise ValueError
    except ValueError:
        raise _not_a_time(args[1], _("Use 24-hour HH:MM, such as 09:00.")) from None
    zone = _zone(args[2])
    policy.digest_weekday = WEEKDAYS.index(day)
    policy.digest_time = f"{hours:02d}:{minutes:02d}"
    policy.digest_timezone = zone
    if len(args) > 3:
        policy.digest_channel = args[3].lstrip("#").strip("<>#")
    said = {"days": _(EVERY[policy.digest_weekday]), "time": policy.digest_time, "zone": zone}
    if policy.digest_channel:
        return _("The digest goes out %(days)s at %(time)s %(zone)s in %(channel)s.") % {
            **said,
            "channel": f"<#{policy.digest_channel}>",
        }
    return _("The digest goes out %(days)s at %(time)s %(zone)s.") % said


_DAY_SETS = {"mon-fri": [0, 1, 2, 3, 4], "mon-sat": [0, 1, 2, 3, 4, 5], "all": [0, 1, 2, 3, 4, 5, 6]}


def _hhmm(text: str, setting: str) -> str:
    try:
        hours, minutes = (int(x) for x in text.split(":"))
        if 0 <= hours < 24 and 0 <= minutes < 60:
            return f"{hours:02d}:{minutes:02d}"
    except ValueError:
        pass
    raise _not_a_time(text, _("Use 24-hour HH:MM. %(usage)s") % {"usage": _usage(setting)})


def _count(text: str, low: int, high: int, refusal: str, setting: str) -> int:
    """A whole number from `low` to `high`, or `refusal` (an N_ sentence naming text, low and high)."""
    if not text.isdecimal() or not low <= int(text) <= high:
        raise BadInput(_(refusal) % {"text": text, "low": low, "high": high}, _usage(setting))
    return int(text)


def _work_days(typed: str) -> list[int]:
    """`mon-fri`, `all` or `mon,tue,thu` as weekday numbers (Monday 0)."""
    spec = typed.lower()
    days = _DAY_SETS.get(spec) or []
    if not days:
        names = [name.strip()[:3] for name in spec.split(",")]
        if not names or any(name not in DAY_NAMES for name in names):
            raise BadInput(_("'%(text)s' is not a list of days.") % {"text": typed}, _usage("workhours"))
        days = sorted({DAY_NAMES.index(name) for name in names})
    return list(days)


def _set_workhours(edit: _Edit) -> str:
    args, row = edit.args, edit.policy
    if len(args) < 2:
        raise BadInput(_("Give the start and end of the working day."), _usage("workhours"))
    start, end = _hhmm(args[0], "workhours"), _hhmm(args[1], "workhours")
    if end <= start:
        raise BadInput(_("The working day must end after it starts."), _usage("workhours"))
    days = _work_days(args[2]) if len(args) > 2 else list(row.work_days)
    row.work_start, row.work_end, row.work_days = start, end, days
    # English echoes the words typed ("mon, tue"); other languages name the days their own way.
    short = DAY_NAMES if current() == SOURCE else get_day_names("abbreviated", locale=babel_locale())
    return _("Working hours are %(start)s–%(end)s on %(days)s.") % {
        "start": start,
        "end": end,
        "days": ", ".join(short[day] for day in row.work_days),
    }


def _set_targetclock(edit: _Edit) -> str:
    args, row = edit.args, edit.policy
    if not args or args[0].lower() not in ("working", "wall"):
        raise BadInput(_("Say working or wall."), _usage("targetclock"))
    row.targets_in_working_hours = args[0].lower() == "working"
    if row.targets_in_working_hours:
        return _("Time targets count working hours only.")
    return _("Time targets count wall-clock hours.")


def _set_patterns(edit: _Edit) -> str:
    args, row = edit.args, edit.policy
    if len(args) < 3:
        raise BadInput(_("Give three numbers."), _usage("patterns"))
    row.pattern_min_cases = _count(
        args[0], 2, 1000, N_("'%(text)s' is not a valid number of cases (%(low)s to %(high)s)."), "patterns"
    )
    row.pattern_rise_percent = _count(
        args[1].rstrip("%"), 101, 10000, N_("'%(text)s' is not a valid rise in percent (%(low)s to %(high)s)."),
        "patterns",
    )  # fmt: skip
    row.repeat_customer_days = _count(
        args[2], 1, 365, N_("'%(text)s' is not a valid number of days (%(low)s to %(high)s)."), "patterns"
    )
    return _(
        "A pattern is %(cases)s cases in 7 days or %(rise)s%% of the usual; a repeat customer has two cases "
        "within %(days)s days."
    ) % {"cases": row.pattern_min_cases, "rise": row.pattern_rise_percent, "days": row.repeat_customer_days}


def _set_shoutouts(edit: _Edit) -> str:
    allowance = edit.args[0] if edit.args else ""
    count = _count(
        allowance, 1, 50, N_("'%(text)s' is not a valid daily allowance (%(low)s to %(high)s)."), "shoutouts"
    )
    edit.policy.shoutouts_per_day = count
    return ngettext(
        "Each person may give %(count)s shout-out a day.",
        "Each person may give %(count)s shout-outs a day.",
        count,
    ) % {"count": count}


def _set_timezone(edit: _Edit) -> str:
    args, row = edit.args, edit.policy
    if len(args) < 2:
        raise BadInput(_("Name the person and their time zone."), _usage("timezone"))
    who = args[0].strip("<>@").lstrip("@")
    if who != edit.actor and not edit.admin:
        raise _own_zone_only(edit.actor)
    zone = _zone(args[1])
    row.timezones = {**row.timezones, who: zone}
    return _("%(who)s is in %(zone)s: their nudges wait for their working day there.") % {
        "who": f"<@{who}>",
        "zone": zone,
    }


_SETTERS: dict[str, Callable[[_Edit], str]] = {
    "currency": _set_currency,
    "limit": _set_limit,
    "override": _set_override,
    "role": _set_role,
    "escalation": _set_escalation,
    "approver": _set_people,
    "admin": _set_people,
    "backup": _set_people,
    "gesture": _set_gesture,
    "targets": _set_targets,
    "digest": _set_digest,
    "category": _set_category,
    "workhours": _set_workhours,
    "targetclock": _set_targetclock,
    "patterns": _set_patterns,
    "shoutouts": _set_shoutouts,
    "timezone": _set_timezone,
}
