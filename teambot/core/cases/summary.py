"""Platform-neutral facts about a case, so Block Kit, Adaptive Cards and the shell agree.

Mentions stay as `<@id>`; each renderer turns them into its own kind of mention. Every label and
value is written in the current language (the renderer enters the reader's with `use_locale`);
dates, times and money through core/i18n.py's formatters, in the reader's time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

from babel.lists import format_list

from teambot.core.cases.kinds import APOLOGY_METHODS, apology_label, apology_short, severity_label
from teambot.core.cases.models import CaseStatus
from teambot.core.cases.queries import CaseDetail
from teambot.core.i18n import N_, babel_locale, format_money, format_when
from teambot.core.i18n import gettext as _
from teambot.core.money import from_minor
from teambot.core.scheduling.working_hours import duration

K = TypeVar("K")


class Translated(Mapping[K, str], Generic[K]):
    """Labels marked with N_ (English, the source), each read in the current language when looked up:
    a module constant that every renderer indexes, yet never frozen in the language of import time."""

    def __init__(self, source: Mapping[K, str]) -> None:
        self.source = dict(source)

    def __getitem__(self, key: K) -> str:
        return _(self.source[key])

    def __iter__(self) -> Iterator[K]:
        return iter(self.source)

    def __len__(self) -> int:
        return len(self.source)


ACTION_LABELS: Translated[str] = Translated({
    "claim": N_("Claim"), "apologise": N_("Record apology"), "grant": N_("Grant compensation"),
    "step": N_("Add next step"), "resolve": N_("Resolve"), "followup": N_("Record follow-up"),
    "handover": N_("Hand over"), "flag": N_("Flag for improvement"), "shoutout": N_("Shout out"),
    "reopen": N_("Reopen"), "draft": N_("Draft follow-up"), "send": N_("Send follow-up"),
    "category": N_("Change category"), "cancel": N_("Cancel case"), "withdraw": N_("Withdraw request"),
})  # fmt: skip
STATUS_LABELS: Translated[CaseStatus] = Translated({
    CaseStatus.OPEN: N_("Open, nobody owns it yet"),
    CaseStatus.OWNED: N_("Being worked"),
    CaseStatus.RESOLVED: N_("Resolved, follow-up pending"),
    CaseStatus.CLOSED: N_("Closed"),
    CaseStatus.CANCELLED: N_("Cancelled (counts in no figure)"),
})  # fmt: skip


class _ApologyLabels(Mapping[str, str]):
    """Method value -> how a sentence says it ("by phone"), in the current language."""

    def __getitem__(self, key: str) -> str:
        return apology_label(key)

    def __iter__(self) -> Iterator[str]:
        return iter(APOLOGY_METHODS)

    def __len__(self) -> int:
        return len(APOLOGY_METHODS)


APOLOGY_LABELS: Mapping[str, str] = _ApologyLabels()


def _amount(value: Decimal | None, currency: str) -> str:
    return _("unlimited") if value is None else format_money(value, currency)


def authority_note(left: Decimal | None, currency: str) -> str:
    """What a grant form says about the person's authority left on this case."""
    if left is None:
        return _("Your authority is unlimited; nothing you give here needs an approver.")
    if left <= 0:
        return _("You have no authority left on this case; an approver is asked for any amount.")
    return _("You can give up to %(amount)s more on this case; above that an approver is asked.") % {
        "amount": format_money(left, currency)
    }


def when(at: datetime, tz: str) -> str:
    """A day and a time in `tz`, as the current language writes them ("Monday 23 November, 09:15")."""
    return format_when(at, tz)


@dataclass(frozen=True)
class Deadline:
    """One hand of the 24-hour clock: what should happen by when, and when it did."""

    label: str  # "Own by", "Apologise by", "Resolve by" (in the current language)
    due: datetime
    met_at: datetime | None

    def overdue(self, now: datetime) -> bool:
        return self.met_at is None and now > self.due


def deadlines(detail: CaseDetail) -> list[Deadline]:
    """Own, apologise and resolve targets from the team's policy, counted from the open.

    The apology shares the own target: the first person on it says sorry at once.
    """
    case, policy = detail.case, detail.policy
    own = timedelta(minutes=policy.own_within_minutes)
    return [
        Deadline(_("Own by"), case.opened_at + own, case.owned_at),
        Deadline(_("Apologise by"), case.opened_at + own, case.apologised_at),
        Deadline(
            _("Resolve by"), case.opened_at + timedelta(hours=policy.resolve_within_hours), case.resolved_at
        ),
    ]


def deadline_text(d: Deadline, now: datetime, stamp: Callable[[datetime], str]) -> str:
    """`<time> · in 12 min`, `<time> · overdue by 3 min`, or `<time> · done on time / 5 min late`."""
    values = {"when": stamp(d.due)}
    if d.met_at is not None:
        late = d.met_at - d.due
        if late > timedelta(0):
            return _("%(when)s · done %(late)s late") % {**values, "late": duration(late)}
        return _("%(when)s · done on time") % values
    if now > d.due:
        return _("%(when)s · overdue by %(late)s") % {**values, "late": duration(now - d.due)}
    return _("%(when)s · in %(left)s") % {**values, "left": duration(d.due - now)}


def title(detail: CaseDetail) -> str:
    case = detail.case
    if case.customer_name:
        return _("Case #%(n)s · %(customer)s: %(problem)s") % {
            "n": case.number, "customer": case.customer_name, "problem": case.problem,
        }  # fmt: skip
    return _("Case #%(n)s · %(problem)s") % {"n": case.number, "problem": case.problem}


# ----- the facts, one small function each ------------------------------------------------------

Facts = list[tuple[str, str]]


@dataclass(frozen=True)
class _Reading:
    """What every fact reads: the case's detail, the moment, and how times are written."""

    detail: CaseDetail
    now: datetime
    tz: str
    stamp: Callable[[datetime], str]

    def when(self, at: datetime) -> str:
        return when(at, self.tz)


def _status(r: _Reading) -> Facts:
    case = r.detail.case
    facts = [(_("Status"), STATUS_LABELS[case.status])]
    if case.status == CaseStatus.CANCELLED:
        parts = [_("duplicate of #%(n)s") % {"n": case.duplicate_of}] if case.duplicate_of else []
        parts += [case.cancel_reason] if case.cancel_reason else []
        facts.append((_("Cancelled"), "; ".join(parts)))
    return facts


def _customer(r: _Reading) -> Facts:
    case = r.detail.case
    if not case.customer_name:
        return []
    email = r.detail.customer.email if r.detail.customer is not None else None
    shown = (
        case.customer_name if not email or email == case.customer_name else f"{case.customer_name} · {email}"
    )
    return [(_("Customer"), shown)]


def _what(r: _Reading) -> Facts:
    case = r.detail.case
    facts = [(_("What went wrong"), case.problem)]
    if case.wants:
        facts.append((_("What they want"), case.wants))
    category = _("%(category)s · severity %(severity)s") % {
        "category": case.category, "severity": severity_label(case.severity),
    }  # fmt: skip
    return [*facts, (_("Category"), category)]


def _ownership(r: _Reading) -> Facts:
    case = r.detail.case
    opened = _("%(duration)s (opened by %(who)s)") % {
        "duration": duration((case.closed_at or r.now) - case.opened_at), "who": f"<@{case.opened_by}>",
    }  # fmt: skip
    if not case.owner_id:
        return [(_("Open for"), opened), (_("Owner"), _("nobody yet"))]
    took = duration(case.owned_at - case.opened_at) if case.owned_at else "?"
    owner = _("%(who)s (owned %(took)s after opening)") % {"who": f"<@{case.owner_id}>", "took": took}
    return [(_("Open for"), opened), (_("Owner"), owner)]


def _clock(r: _Reading) -> Facts:
    closed = r.detail.case.status == CaseStatus.CLOSED
    return [
        (d.label, deadline_text(d, r.now, r.stamp)) for d in deadlines(r.detail) if not closed or d.met_at
    ]


def _apology(r: _Reading) -> Facts:
    case = r.detail.case
    if not case.apologised_at:
        return [(_("Apology"), _("not yet"))]
    values = {"how": apology_label(case.apology_method), "when": r.when(case.apologised_at)}
    if case.apology_words:
        return [
            (_("Apology"), _("made %(how)s, %(when)s: “%(words)s”") % {**values, "words": case.apology_words})
        ]
    return [(_("Apology"), _("made %(how)s, %(when)s") % values)]


def _compensation(r: _Reading) -> Facts:
    d, cur = r.detail, r.detail.currency
    totals = d.granted_by_currency() or {cur: d.total_granted}
    parts = [_("%(amounts)s given") % {"amounts": " + ".join(format_money(v, k) for k, v in totals.items())}]
    earlier = [k for k in totals if k != cur]
    if earlier:  # never added into one total: the team's currency changed since
        parts.append(_("(%(currencies)s from before the team's currency became %(currency)s)") % {
            "currencies": format_list(earlier, locale=babel_locale()), "currency": cur})  # fmt: skip
    if d.case.owner_id:
        parts.append(_("(owner's authority %(limit)s per case)") % {"limit": _amount(d.owner_limit, cur)})
    text = " ".join(parts)
    if d.grants:
        text += "; " + ", ".join(_grant(g.gesture, from_minor(g.amount_minor, g.currency), g.currency,
                                        g.within_authority) for g in d.grants)  # fmt: skip
    return [(_("Compensation"), text)]


def _grant(gesture: str, amount: Decimal, currency: str, within_authority: bool) -> str:
    values = {"gesture": gesture, "amount": format_money(amount, currency)}
    return ("%(gesture)s %(amount)s" if within_authority else _("%(gesture)s %(amount)s (approved)")) % values


def _pending(r: _Reading) -> Facts:
    return [
        (_("Waiting for approval"), _("%(gesture)s %(amount)s, asked by %(who)s (request %(id)s)") % {
            "gesture": req.gesture, "amount": format_money(from_minor(req.amount_minor, req.currency), req.currency),
            "who": f"<@{req.requested_by}>", "id": req.id,
        })
        for req in r.detail.pending
    ]  # fmt: skip


def _step_line(step: Any, r: _Reading) -> str:
    values = {"text": step.text, "who": f"<@{step.owner_id}>"}
    if step.due_at is None:
        return (_("[done] %(text)s (%(who)s)") if step.done else _("[to do] %(text)s (%(who)s)")) % values
    values["when"] = r.when(step.due_at)
    if step.done:
        return _("[done] %(text)s (%(who)s, due %(when)s)") % values
    if step.due_at < r.now:
        return _("[to do] %(text)s (%(who)s, due %(when)s) · overdue") % values
    return _("[to do] %(text)s (%(who)s, due %(when)s)") % values


def _steps(r: _Reading) -> Facts:
    return [
        (_("Next step %(position)s") % {"position": s.position}, _step_line(s, r)) for s in r.detail.steps
    ]


def _resolution(r: _Reading) -> Facts:
    case = r.detail.case
    if not case.resolution:
        return []
    shown = _("%(resolution)s (root cause: %(cause)s)") % {
        "resolution": case.resolution,
        "cause": case.root_cause,
    }
    return [(_("Resolution"), shown)]


_WON = {True: N_("%(verdict)s, %(score)s/5, won back"), False: N_("%(verdict)s, %(score)s/5, lost"),
        None: N_("%(verdict)s, %(score)s/5")}  # fmt: skip


def _followup(r: _Reading) -> Facts:
    case, facts = r.detail.case, []
    if case.followup_due_at:
        facts.append((_("Follow-up due"), r.when(case.followup_due_at)))
    if case.followup_at:
        verdict = _("satisfied") if case.satisfied else _("not satisfied")
        shown = _(_WON[case.won_back]) % {"verdict": verdict, "score": case.score}
        if case.followup_source == "customer":
            shown = _("%(answer)s (from the customer)") % {"answer": shown}
        facts.append((_("Follow-up"), shown))
    sent = [e for e in r.detail.events if e.kind == "followup_sent"]
    if sent:
        by = {"when": r.when(sent[-1].at), "who": f"<@{sent[-1].actor}>"}
        facts.append((_("Follow-up email"), _("sent %(when)s by %(who)s") % by))
    if r.detail.flags:
        count = len(r.detail.flags)
        facts.append((_("Flagged"), _("%(count)s× for process improvement") % {"count": count}))
    return facts


_FACTS: tuple[Callable[[_Reading], Facts], ...] = (
    _status, _customer, _what, _ownership, _clock, _apology, _compensation, _pending, _steps, _resolution,
    _followup,
)  # fmt: skip


def case_facts(
    detail: CaseDetail, now: datetime, tz: str = "UTC", *, stamp: Callable[[datetime], str] | None = None
) -> list[tuple[str, str]]:
    """(label, value) pairs in reading order, in the current language; values may hold `<@id>` mentions.

    `stamp` writes the clock's deadlines (the adapter's live date; `when` in `tz` by default)."""
    reading = _Reading(detail, now, tz, stamp or (lambda at: when(at, tz)))
    return [fact for part in _FACTS for fact in part(reading)]


# ----- the timeline --------------------------------------------------------------------------


class _Recorded(dict[str, Any]):
    """A timeline event's data as a sentence reads it: a value it never recorded reads as "None", as before."""

    def __missing__(self, key: str) -> str:
        return "None"

    def but(self, **values: Any) -> _Recorded:
        """The same data with `values` written over it, for the sentence (never for the record)."""
        return _Recorded({**self, **values})


def _money(data: Mapping[str, Any]) -> str:
    """A recorded amount in the reader's way of writing money (as recorded when it is not a number)."""
    try:
        return format_money(Decimal(str(data.get("amount"))), str(data.get("currency")))
    except (InvalidOperation, ValueError, KeyError):
        return f"{data.get('amount')} {data.get('currency')}"


def _stamp(value: object) -> str:
    """An ISO time the timeline recorded, written the reader's way (in UTC, as recorded)."""
    try:
        return format_when(datetime.fromisoformat(str(value)), "UTC")
    except (TypeError, ValueError):
        return str(value or "")


def _with(text: str, extra: str, key: str, data: _Recorded) -> str:
    """`text`, or `extra` (which holds the same sentence and `%(<key>)s`) when `data` has `key`."""
    return (_(extra) if data.get(key) else _(text)) % data


def _apologised(d: _Recorded) -> str:
    how = {"how": apology_short(str(d.get("method") or ""))}
    if d.get("words"):
        return _("apologised (%(how)s): “%(words)s”") % {**how, "words": d["words"]}
    return _("apologised (%(how)s)") % how


def _followup_answered(d: _Recorded) -> str:
    values = {
        "verdict": _("satisfied") if d.get("satisfied") else _("not satisfied"),
        "score": d.get("score"),
    }
    by_customer = d.get("source") == "customer"
    if d.get("comment"):
        values["comment"] = d["comment"]
        if by_customer:
            return _("answered the follow-up themselves (from the customer): %(verdict)s, %(score)s/5: "
                     "“%(comment)s”") % values  # fmt: skip
        return _("recorded the follow-up: %(verdict)s, %(score)s/5: “%(comment)s”") % values
    if by_customer:
        return _("answered the follow-up themselves (from the customer): %(verdict)s, %(score)s/5") % values
    return _("recorded the follow-up: %(verdict)s, %(score)s/5") % values


def _cancelled(d: _Recorded) -> str:
    if d.get("duplicate_of") and d.get("reason"):
        return _("cancelled the case as a duplicate of #%(duplicate_of)s: %(reason)s") % d
    if d.get("duplicate_of"):
        return _("cancelled the case as a duplicate of #%(duplicate_of)s") % d
    return _with(N_("cancelled the case"), N_("cancelled the case: %(reason)s"), "reason", d)


_EVENTS: dict[str, Callable[[_Recorded], str]] = {
    "opened": lambda d: _("opened the case: %(problem)s") % d,
    "claimed": lambda d: _("took ownership"),
    "handed_over": lambda d: _("handed the case from %(from)s to %(to)s") % d.but(
        **{"from": f"<@{d.get('from')}>", "to": f"<@{d.get('to')}>"}),
    "apologised": _apologised,
    "granted": lambda d: _("granted %(gesture)s (%(amount)s)") % d.but(amount=_money(d)),
    "approval_requested": lambda d: _("asked approval for %(gesture)s (%(amount)s)") % d.but(amount=_money(d)),
    "approved": lambda d: _("approved %(gesture)s after %(wait_minutes)s min") % d,
    "denied": lambda d: _with(N_("denied %(gesture)s"), N_("denied %(gesture)s: %(note)s"), "note", d),
    "step_added": lambda d: _("added next step %(position)s: %(text)s") % d,
    "step_done": lambda d: _("finished next step %(position)s: %(text)s") % d,
    "flagged": lambda d: _("flagged for process improvement: %(note)s") % d,
    "resolved": lambda d: _("resolved: %(resolution)s (root cause: %(root_cause)s)") % d,
    "followup_answered": _followup_answered,
    "followup_sent": lambda d: _("emailed the written follow-up: %(text)s") % d,
    "followup_send_failed": lambda d: _("could not email the follow-up: %(error)s") % d,
    "reopened": lambda d: _with(N_("reopened the case"), N_("reopened the case: %(reason)s"), "reason", d),
    "snoozed": lambda d: _("snoozed the follow-up until %(when)s UTC") % {"when": _stamp(d.get("until"))},
    "shoutout": lambda d: _("gave %(to)s a shout-out: %(message)s") % d.but(to=f"<@{d.get('to')}>"),
    "customer_erased": lambda d: _("erased the customer's name and words (figures kept)"),
    "cancelled": _cancelled,
    "recategorised": lambda d: _("moved the case from %(from)s to %(to)s") % d,
    "cause_filed": lambda d: (_("filed the root cause under %(cause)s (close in meaning)") if d.get("by") == "meaning"
                              else _("filed the root cause under %(cause)s")) % d,
    "action_created": lambda d: _("made improvement action %(action)s for %(owner)s: %(text)s") % d.but(
        owner=f"<@{d.get('owner')}>"),
    "action_done": lambda d: _with(N_("finished improvement action %(action)s: %(text)s"),
                                   N_("finished improvement action %(action)s: %(text)s (%(outcome)s)"), "outcome", d),
    "action_dropped": lambda d: _("dropped improvement action %(action)s: %(outcome)s") % d,
    "withdrawn": lambda d: _("withdrew request %(approval_id)s (%(gesture)s)") % d,
    "escalated": lambda d: _("asked backup approvers %(who)s about request %(approval_id)s after %(waited)s") % d.but(
        who=", ".join(f"<@{u}>" for u in d.get("to") or [])),
}  # fmt: skip


def event_line(kind: str, data: dict[str, object]) -> str:
    """One timeline event in words, in the current language."""
    render = _EVENTS.get(kind)
    return render(_Recorded(data)) if render is not None else kind.replace("_", " ")
