"""The one reader of a team's settings: (label, value) pairs the shell, Slack and Teams all render."""

from __future__ import annotations

from teambot.core.money import format_amount
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import WEEKDAYS, approvers_of, stored_amount

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def policy_facts(policy: Policy) -> list[tuple[str, str]]:
    """The recovery policy as (label, value) pairs for every renderer; mentions stay `<@id>`."""
    p, cur = policy, policy.currency

    def amount(value: object) -> str:
        return format_amount(None if value is None else stored_amount(value), cur)

    facts = [
        ("Currency", cur),
        ("Authority per case", ", ".join(f"{role} {amount(v)}" for role, v in p.role_limits.items())),
    ]
    if p.person_limits:
        facts.append(
            ("Personal limits", ", ".join(f"<@{u}> {amount(v)}" for u, v in p.person_limits.items()))
        )
    if p.roles:
        facts.append(("Roles", ", ".join(f"<@{u}> {r}" for u, r in p.roles.items())))
    channel = (
        f" in <#{p.digest_channel}>" if p.digest_channel
        else " by direct message to each admin (no channel yet: it goes to the channel where the team "
             "first opens a case, or set one with /recover policy digest ... #channel)"
    )  # fmt: skip
    facts += [
        ("Gestures", "; ".join(f"{g['name']} {amount(g['value'])}" for g in p.catalogue)),
        ("Categories", ", ".join(p.categories)),
        ("Targets", f"own within {p.own_within_minutes} min, resolve within {p.resolve_within_hours} h, "
                    f"follow up {p.followup_after_hours} h after resolving"),
        ("Digest", f"{WEEKDAYS[p.digest_weekday].title()}s {p.digest_time} {p.digest_timezone}{channel}"),
        ("Working hours", f"{p.work_start}–{p.work_end} on {', '.join(DAY_NAMES[d] for d in p.work_days)}"),
        ("Time targets count", "working hours" if p.targets_in_working_hours else "wall-clock hours"),
        ("Patterns", f"{p.pattern_min_cases} cases in 7 days, or {p.pattern_rise_percent}% of the previous "
                     f"4 weeks' average; repeat customer within {p.repeat_customer_days} days"),
        ("Shout-outs", f"{p.shoutouts_per_day} per person per day"),
        ("Time zones", ", ".join(f"<@{u}> {z}" for u, z in sorted(p.timezones.items()))
                       or "the digest's time zone for everyone"),
        ("Approvers", ", ".join(f"<@{a}>" for a in approvers_of(p)) or "nobody"),
        ("Backup approvers", (", ".join(f"<@{a}>" for a in p.backup_approvers) or "every admin")
                             + f", asked once a request waits {p.escalation_hours} working hours"),
        ("Admins", ", ".join(f"<@{a}>" for a in p.admins) or "nobody"),
    ]  # fmt: skip
    return facts
