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
from teambot.core.cases.summary import duration, when
from teambot.core.money import format_amount, from_minor
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import approvers_of, backups_of
from teambot.core.ports import Notice, Recipient
from teambot.core.scheduling.models import DueItem
from teambot.core.scheduling.queue import SWEEP_BATCH, DueQueue, Handler, Outcome
from teambot.core.scheduling.working_hours import leads_of, next_working_moment, target_time, zone_of

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


def _escalate(case: Case, policy: Policy, what: str) -> list[tuple[Recipient, Notice]]:
    leads = [u for u in leads_of(policy) if u != case.owner_id]
    owner = f"<@{case.owner_id}>" if case.owner_id else "nobody"
    who = ", ".join(f"<@{u}>" for u in leads)
    text = (
        f"Case #{case.number} missed {what} twice (owner: {owner}): {case.problem}. "
        + (f"{who}, can you help? " if who else "")
        + f"See it with /recover show {case.number}."
    )
    notice = _notice("nudge_escalated", text, case, what=what, leads=leads)
    return [(_channel(case), notice)] + [(_user(case, u), notice) for u in leads]


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
    waited = duration(now - case.opened_at)
    text = (
        f"Case #{case.number} has had no owner for {waited} (target {policy.own_within_minutes} min): "
        f"{case.problem}. Who takes it? /recover claim {case.number}"
    )
    msgs = [(_channel(case), _notice("nudge_unowned", text, case, actions=["claim"]))]
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, "its time to own")[1:])
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
    if case.owner_id is None:  # nobody to nudge: the channel hears it, now
        who, rcpt = "Nobody owns it yet", _channel(case)
    else:
        defer = _person_defer(dl, policy, case.owner_id)
        if defer is not None:
            return Outcome(defer_until=defer)
        who, rcpt = f"<@{case.owner_id}>", _user(case, case.owner_id)
    if item.stage == 0:
        text = (
            f"{who}: case #{case.number} should be resolved by {when(target, policy.digest_timezone)} "
            f"({duration(target - now)} left): {case.problem}. "
            f"/recover resolve {case.number} <what you did> | <root cause>"
        )
        return Outcome(messages=[(rcpt, _notice("nudge_resolve", text, case, due_at=target.isoformat()))])
    late = duration(now - case.opened_at)
    text = (
        f"{who}: case #{case.number} is past its {policy.resolve_within_hours} h resolve target "
        f"(open {late}): {case.problem}. /recover resolve {case.number} <what you did> | <root cause>"
    )
    msgs = [(rcpt, _notice("nudge_resolve", text, case, due_at=target.isoformat(), overdue=True))]
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, "its resolve target"))
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
    customer = case.customer_name or "the customer"
    text = (
        f"<@{case.owner_id}>: time to follow up with {customer} on case #{case.number} ({case.problem}). "
        f"Are they satisfied now? Answer with /recover followup {case.number} satisfied|not <score 1-5>, "
        f"or /recover snooze {case.number} for 1h (or tomorrow)."
    )
    notice = _notice(
        "followup_due", text, case, actions=["satisfied", "not_yet", "snooze"], customer=customer
    )
    msgs = [(_user(case, case.owner_id), notice)]
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, "its follow-up"))
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
    text = (
        f"<@{step.owner_id}>: next step {case.number}.{step.position} is due: {step.text}. "
        f"When it is done: /recover done {case.number}.{step.position}"
    )
    notice = _notice("step_due", text, case, position=step.position, step_text=step.text, owner=step.owner_id)
    msgs = [(_user(case, step.owner_id), notice)]
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, f"next step {step.position}"))
    return Outcome(messages=msgs, then=[_again(item, now + timedelta(hours=24), now)])


async def _approval_waiting(dl: DueQueue, item: DueItem) -> Outcome:
    case, policy = await _load(dl, item)
    async with dl.db.session() as s:
        req = await s.get(ApprovalRequest, int(item.ref or 0))
    if req is None or req.status != ApprovalStatus.PENDING:
        return Outcome(cancel=True)
    now = dl.clock.now()
    waited = duration(now - req.requested_at)
    msgs = []
    for approver in [a for a in approvers_of(policy) if a != req.requested_by]:
        text = (
            f"<@{approver}>: <@{req.requested_by}> has waited {waited} for your answer on {req.gesture} "
            f"for case #{case.number} ({case.problem}). /recover approve {req.id} or /recover deny {req.id} <reason>"
        )
        msgs.append(
            (
                _user(case, approver),
                _notice("approval_request", text, case, approval_id=req.id, reminder=True),
            )
        )
    if item.stage >= 2:
        return Outcome(messages=msgs + _escalate(case, policy, "an approval")[1:])
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
                select(TimelineEvent).where(TimelineEvent.case_id == case.id, TimelineEvent.kind == "escalated")
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
    amount = format_amount(from_minor(req.amount_minor, req.currency), req.currency)
    msgs = []
    for backup in backups:
        text = (
            f"<@{backup}>: <@{req.requested_by}> has waited {waited} for an approver on {req.gesture} ({amount}) "
            f"for case #{case.number} ({case.problem}). You are a backup approver: "
            f"/recover approve {req.id} or /recover deny {req.id} <reason>"
        )
        notice = _notice("approval_request", text, case, approval_id=req.id, escalated=True)
        msgs.append((_user(case, backup), notice))
    return Outcome(messages=msgs, result={"to": backups})


NUDGES: dict[str, Handler] = {
    "nudge_unowned": _nudge_unowned,
    "nudge_resolve": _nudge_resolve,
    "followup_due": _followup_due,
    "step_due": _step_due,
    "approval_waiting": _approval_waiting,
    "approval_escalation": _approval_escalation,
}
