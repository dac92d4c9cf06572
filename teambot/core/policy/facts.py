"""The one reader of a team's settings: (label, value) pairs the shell, Slack and Teams all render.

Labels and sentences are in the current language (the reader's: the handler computes them); what
an admin typed (roles, gestures, categories, time zones) stays as typed, weekdays and amounts are
written the reader's way.
"""

from __future__ import annotations

from babel.dates import get_day_names

from teambot.core.i18n import N_, babel_locale, format_money, language_in_words, ngettext, normalise
from teambot.core.i18n import gettext as _
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import approvers_of, stored_amount

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# "Every Monday", as each language says a weekly habit ("montags", "le lundi", "los lunes").
EVERY = (N_("Mondays"), N_("Tuesdays"), N_("Wednesdays"), N_("Thursdays"), N_("Fridays"), N_("Saturdays"),
         N_("Sundays"))  # fmt: skip


def _days(kind: str) -> list[str]:
    names = get_day_names(kind, locale=babel_locale())
    return [names[i] for i in range(7)]


def policy_facts(policy: Policy) -> list[tuple[str, str]]:
    """The recovery policy as (label, value) pairs for every renderer; mentions stay `<@id>`."""
    p, cur = policy, policy.currency

    def amount(value: object) -> str:
        return _("unlimited") if value is None else format_money(stored_amount(value), cur)

    facts = [
        (_("Currency"), cur),
        (_("Authority per case"), ", ".join(f"{role} {amount(v)}" for role, v in p.role_limits.items())),
    ]
    if p.person_limits:
        facts.append(
            (_("Personal limits"), ", ".join(f"<@{u}> {amount(v)}" for u, v in p.person_limits.items()))
        )
    if p.roles:
        facts.append((_("Roles"), ", ".join(f"<@{u}> {r}" for u, r in p.roles.items())))
    when = {"day": _(EVERY[p.digest_weekday]), "time": p.digest_time, "zone": p.digest_timezone}
    digest = (
        _("%(day)s %(time)s %(zone)s in %(channel)s") % {**when, "channel": f"<#{p.digest_channel}>"}
        if p.digest_channel
        else _("%(day)s %(time)s %(zone)s by direct message to each admin (no channel yet: it goes to the "
               "channel where the team first opens a case, or set one with `/recover policy digest ... #channel`)")
        % when
    )  # fmt: skip
    short = _days("abbreviated")
    language = language_in_words(normalise(p.language) or "en")
    own = ", ".join(f"<@{u}> {language_in_words(code)}" for u, code in sorted(p.languages.items()) if normalise(code))
    facts += [
        (_("Gestures"), "; ".join(f"{g['name']} {amount(g['value'])}" for g in p.catalogue)),
        (_("Categories"), ", ".join(p.categories)),
        (_("Targets"), _("own within %(own)s min, resolve within %(resolve)s h, follow up %(follow)s h after "
                         "resolving") % {"own": p.own_within_minutes, "resolve": p.resolve_within_hours,
                                         "follow": p.followup_after_hours}),
        (_("Digest"), digest),
        (_("Working hours"), _("%(start)s–%(end)s on %(days)s") % {
            "start": p.work_start, "end": p.work_end, "days": ", ".join(short[d] for d in p.work_days)}),
        (_("Time targets count"), _("working hours") if p.targets_in_working_hours else _("wall-clock hours")),
        (_("Patterns"), _("%(cases)s, or %(rise)s%% of the previous 4 weeks' average; %(repeat)s") % {
            "cases": ngettext("%(count)s case in 7 days", "%(count)s cases in 7 days", p.pattern_min_cases)
            % {"count": p.pattern_min_cases},
            "rise": p.pattern_rise_percent,
            "repeat": ngettext("repeat customer within %(count)s day", "repeat customer within %(count)s days",
                               p.repeat_customer_days) % {"count": p.repeat_customer_days}}),
        (_("Shout-outs"), _("%(count)s per person per day") % {"count": p.shoutouts_per_day}),
        (_("Time zones"), ", ".join(f"<@{u}> {z}" for u, z in sorted(p.timezones.items()))
                          or _("the digest's time zone for everyone")),
        (_("Language"), f"{language}; {own}" if own else language),
        (_("Approvers"), ", ".join(f"<@{a}>" for a in approvers_of(p)) or _("nobody")),
        (_("Backup approvers"), ngettext("%(who)s, asked once a request waits %(hours)s working hour",
                                         "%(who)s, asked once a request waits %(hours)s working hours",
                                         p.escalation_hours) % {
            "who": ", ".join(f"<@{a}>" for a in p.backup_approvers) or _("every admin"),
            "hours": p.escalation_hours}),
        (_("Admins"), ", ".join(f"<@{a}>" for a in p.admins) or _("nobody")),
    ]  # fmt: skip
    return facts
