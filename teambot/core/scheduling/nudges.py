"""The case nudges: an unowned case, a resolve deadline near or missed, a follow-up due, a next
step due, an approval waiting and its escalation. Each decides what to send from the case as it is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import select

from teambot.core.cases.models import (
    ApprovalRequest,
    ApprovalStatus,
    Case,
    CaseStatus,
    NextStep,
    TimelineEvent,
)
from teambot.core.i18n import N_, format_money, format_when, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.money import from_minor
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import approvers_of, backups_of
from teambot.core.ports import Notice, Recipient
from teambot.core.scheduling.models import DueItem
from teambot.core.scheduling.queue import SWEEP_BATCH, DueHandler, DueQueue, Outcome
from teambot.core.scheduling.working_hours import (
    duration,
    leads_of,
    next_working_moment,
    person_language,
    target_time,
    zone_of,
)

BOT = "teambot"  # the actor of what the bot itself records

# ----- the case handlers ------------------------------------------------------------------


async def _load(dl: DueQueue, item: DueItem) -> tuple[Case, Policy]:
    batch = SWEEP_BATCH.get()
    if batch is not None and item.case_id in batch.cases and item.team_id in batch.policies:
        return batch.cases[item.case_id], batch.policies[item.team_id]
    async with dl.db.session() as s:
        case = await s.get(Case, item.case_id)
        policy = await s.get(Policy, item.team_id)
        assert case is not None and policy is not None
        return case, policy


def _notice(kind: str, text: str, case: Case, **data: Any) -> Notice:
    return Notice(
        kind=kind, text=text, team_id=case.team_id, case_id=case.id, data={"number": case.number, **data}
    )


def _channel(case: Case) -> Recipient:
    return Recipient("channel", case.channel_id, case.platform)


def _user(case: Case, user: str) -> Recipient:
    return Recipient("user", user, case.platform)


def _again(item: DueItem, due: datetime, now: datetime) -> DueItem:
    """The second nudge of the same deadline: when it fires, the deadline was missed twice."""
    key = (item.key[:-2] if item.key.endswith(":1") else item.key) + ":2"
    return DueItem(
        key=key, team_id=item.team_id, kind=item.kind, case_id=item.case_id, ref=item.ref, stage=2,
        due_at=due, created_at=now, data={"first_sent_at": now.isoformat()},
    )  # fmt: skip


def _escalate(case: Case, policy: Policy, what: str, **values: Any) -> list[tuple[Recipient, Notice]]:
    """The channel (in the team's language) and each lead (in theirs) hear that `what` (a marked
    noun phrase, "its time to own") was missed twice."""
    leads = [u for u in leads_of(policy) if u != case.owner_id]

    def said() -> str:
        owner = f"<@{case.owner_id}>" if case.owner_id else _("nobody")
        text = _("Case #%(number)s missed %(what)s twice (owner: %(owner)s): %(problem)s.") % {
            "number": case.number, "what": _(what) % values, "owner": owner, "problem": case.problem}  # fmt: skip
        if leads:
            text += " " + _("%(leads)s, can you help?") % {"leads": ", ".join(f"<@{u}>" for u in leads)}
        return text + " " + _("See it with /recover show %(number)s.") % {"number": case.number}

    key = what % values if values else what
    with use_locale(policy.language):
        messages = [(_channel(case), _notice("nudge_escalated", said(), case, what=key, leads=leads))]
    for lead in leads:
        with use_locale(person_language(policy, lead)):
            messages.append(
                (_user(case, lead), _notice("nudge_escalated", said(), case, what=key, leads=leads))
            )
    return messages


def _person_defer(dl: DueQueue, policy: Policy, user: str | None) -> datetime | None:
    """A nudge to a person waits for their working day; None when it may go now."""
    now = dl.clock.now()
    at = next_working_moment(now, policy, zone_of(policy, user))
    return at if at > now else None


async def _nudge_unowned(dl: DueQueue, item: DueItem) -> Outcome:
    case, policy = await _load(dl, item)
    if case.owner_id is not None or case.status != CaseStatus.OPEN:
        return Outcome(cancel=True)
    now = dl.clock.now()
    with use_locale(policy.language):  # the channel reads the team's language
        text = _(
            "Case #%(number)s has had no owner for %(waited)s (target %(target)s min): %(problem)s. "
            "Who takes it? /recover claim %(number)s"
        ) % {
            "number": case.number, "waited": duration(now - case.opened_at), "target": policy.own_within_minutes,
            "problem": case.problem,
        }  # fmt: skip
    msgs = [(_channel(case), _notice("nudge_unowned", text, case, actions=["claim"]))]
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, N_("its time to own"))[1:])
    return Outcome(
        messages=msgs, then=[_again(item, now + timedelta(minutes=policy.own_within_minutes), now)]
    )


async def _nudge_resolve(dl: DueQueue, item: DueItem) -> Outcome:
    case, policy = await _load(dl, item)
    if case.status not in (CaseStatus.OPEN, CaseStatus.OWNED):
        return Outcome(cancel=True)
    now = dl.clock.now()
    target = case.opened_at + timedelta(hours=policy.resolve_within_hours)
    if policy.targets_in_working_hours:
        target = target_time(case.opened_at, timedelta(hours=policy.resolve_within_hours), policy)
    if case.owner_id is None:  # nobody to nudge: the channel hears it (in the team's language), now
        rcpt, lang = _channel(case), policy.language
    else:
        defer = _person_defer(dl, policy, case.owner_id)
        if defer is not None:
            return Outcome(defer_until=defer)
        rcpt, lang = _user(case, case.owner_id), person_language(policy, case.owner_id)
    with use_locale(lang):
        who = f"<@{case.owner_id}>" if case.owner_id else _("Nobody owns it yet")
        values = {"who": who, "number": case.number, "problem": case.problem}
        if item.stage == 0:
            text = _(
                "%(who)s: case #%(number)s should be resolved by %(when)s (%(left)s left): %(problem)s. "
                "/recover resolve %(number)s <what you did> | <root cause>"
            ) % {
                **values,
                "when": format_when(target, str(zone_of(policy, case.owner_id))),
                "left": duration(target - now),
            }
            return Outcome(messages=[(rcpt, _notice("nudge_resolve", text, case, due_at=target.isoformat()))])
        text = _(
            "%(who)s: case #%(number)s is past its %(target)s h resolve target (open %(late)s): %(problem)s. "
            "/recover resolve %(number)s <what you did> | <root cause>"
        ) % {**values, "target": policy.resolve_within_hours, "late": duration(now - case.opened_at)}
    msgs = [(rcpt, _notice("nudge_resolve", text, case, due_at=target.isoformat(), overdue=True))]
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, N_("its resolve target")))
    repeat = timedelta(hours=max(1, policy.resolve_within_hours // 4))
    return Outcome(messages=msgs, then=[_again(item, now + repeat, now)])


async def _followup_due(dl: DueQueue, item: DueItem) -> Outcome:
    case, policy = await _load(dl, item)
    if case.status != CaseStatus.RESOLVED or case.owner_id is None:
        return Outcome(cancel=True)
    now = dl.clock.now()
    if case.followup_due_at is not None and case.followup_due_at > now:
        return Outcome(defer_until=case.followup_due_at)  # snoozed since this was claimed
    defer = _person_defer(dl, policy, case.owner_id)
    if defer is not None:
        return Outcome(defer_until=defer)
    with use_locale(person_language(policy, case.owner_id)):  # a DM: its reader's language
        customer = case.customer_name or _("the customer")
        text = _(
            "%(owner)s: time to follow up with %(customer)s on case #%(number)s (%(problem)s). "
            "Are they satisfied now? Answer with /recover followup %(number)s satisfied|not <score 1-5>, "
            "or /recover snooze %(number)s for 1h (or tomorrow)."
        ) % {
            "owner": f"<@{case.owner_id}>",
            "customer": customer,
            "number": case.number,
            "problem": case.problem,
        }
    notice = _notice(
        "followup_due", text, case, actions=["satisfied", "not_yet", "snooze"], customer=customer
    )
    msgs = [(_user(case, case.owner_id), notice)]
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, N_("its follow-up")))
    return Outcome(messages=msgs, then=[_again(item, now + timedelta(hours=24), now)])


async def _step_due(dl: DueQueue, item: DueItem) -> Outcome:
    case, policy = await _load(dl, item)
    async with dl.db.session() as s:
        step = (
            await s.exec(
                select(NextStep).where(NextStep.case_id == case.id, NextStep.position == int(item.ref or 0))
            )
        ).first()
    if step is None or step.done or case.status == CaseStatus.CLOSED:
        return Outcome(cancel=True)
    defer = _person_defer(dl, policy, step.owner_id)
    if defer is not None:
        return Outcome(defer_until=defer)
    now = dl.clock.now()
    with use_locale(person_language(policy, step.owner_id)):  # a DM: its reader's language
        text = _(
            "%(owner)s: next step %(number)s.%(position)s is due: %(text)s. "
            "When it is done: /recover done %(number)s.%(position)s"
        ) % {
            "owner": f"<@{step.owner_id}>",
            "number": case.number,
            "position": step.position,
            "text": step.text,
        }
    notice = _notice("step_due", text, case, position=step.position, step_text=step.text, owner=step.owner_id)
    msgs = [(_user(case, step.owner_id), notice)]
    if item.stage >= 2:
        return Outcome(
            messages=msgs + _escalate(case, policy, N_("next step %(position)s"), position=step.position)
        )
    return Outcome(messages=msgs, then=[_again(item, now + timedelta(hours=24), now)])


async def _approval_waiting(dl: DueQueue, item: DueItem) -> Outcome:
    case, policy = await _load(dl, item)
    async with dl.db.session() as s:
        req = await s.get(ApprovalRequest, int(item.ref or 0))
    if req is None or req.status != ApprovalStatus.PENDING:
        return Outcome(cancel=True)
    now = dl.clock.now()
    msgs = []
    for approver in [a for a in approvers_of(policy) if a != req.requested_by]:
        with use_locale(person_language(policy, approver)):  # a DM: its reader's language
            text = _(
                "%(approver)s: %(asker)s has waited %(waited)s for your answer on %(gesture)s for case #%(number)s "
                "(%(problem)s). /recover approve %(id)s or /recover deny %(id)s <reason>"
            ) % {
                "approver": f"<@{approver}>", "asker": f"<@{req.requested_by}>", "waited": duration(now - req.requested_at),
                "gesture": req.gesture, "number": case.number, "problem": case.problem, "id": req.id,
            }  # fmt: skip
        msgs.append(
            (
                _user(case, approver),
                _notice("approval_request", text, case, approval_id=req.id, reminder=True),
            )
        )
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, N_("an approval"))[1:])
    return Outcome(
        messages=msgs, then=[_again(item, now + timedelta(minutes=policy.own_within_minutes * 2), now)]
    )


async def _approval_escalation(dl: DueQueue, item: DueItem) -> Outcome:
    """A request the approvers left unanswered for the policy's escalation time goes once to the
    backup approvers (every admin when none are named), and the case's timeline says so."""
    case, policy = await _load(dl, item)
    async with dl.db.session() as s:
        req = await s.get(ApprovalRequest, int(item.ref or 0))
    if req is None or req.status != ApprovalStatus.PENDING or case.status == CaseStatus.CANCELLED:
        return Outcome(cancel=True)
    backups = [u for u in backups_of(policy) if u != req.requested_by]
    if not backups:
        return Outcome(cancel=True, result={"why": "no backup approver"})
    now = dl.clock.now()
    waited = duration(now - req.requested_at)
    async with dl.db.session() as s:  # said in the timeline once, even when delivery is retried
        events = (
            await s.exec(
                select(TimelineEvent).where(
                    TimelineEvent.case_id == case.id, TimelineEvent.kind == "escalated"
                )
            )
        ).all()
        if not any(e.data.get("approval_id") == req.id for e in events):
            s.add(
                TimelineEvent(
                    team_id=case.team_id, case_id=case.id, kind="escalated", actor=BOT, at=now,
                    data={"approval_id": req.id, "to": backups, "waited": waited, "gesture": req.gesture},
                )
            )  # fmt: skip
            await s.commit()
    msgs = []
    for backup in backups:
        with use_locale(person_language(policy, backup)):  # a DM: its reader's language
            text = _(
                "%(backup)s: %(asker)s has waited %(waited)s for an approver on %(gesture)s (%(amount)s) for case "
                "#%(number)s (%(problem)s). You are a backup approver: /recover approve %(id)s or /recover deny %(id)s "
                "<reason>"
            ) % {
                "backup": f"<@{backup}>", "asker": f"<@{req.requested_by}>", "waited": duration(now - req.requested_at),
                "gesture": req.gesture, "amount": format_money(from_minor(req.amount_minor, req.currency), req.currency),
                "number": case.number, "problem": case.problem, "id": req.id,
            }  # fmt: skip
        notice = _notice("approval_request", text, case, approval_id=req.id, escalated=True)
        msgs.append((_user(case, backup), notice))
    return Outcome(messages=msgs, result={"to": backups})


NUDGES: dict[str, DueHandler] = {
    "nudge_unowned": _nudge_unowned,
    "nudge_resolve": _nudge_resolve,
    "followup_due": _followup_due,
    "step_due": _step_due,
    "approval_waiting": _approval_waiting,
    "approval_escalation": _approval_escalation,
}
