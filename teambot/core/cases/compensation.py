"""Apology and compensation: a gesture within the granter's authority is given at once, above it an
approver is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import Card, CaseSteps, checked_text, mention
from teambot.core.cases.kinds import APOLOGY_METHODS
from teambot.core.cases.models import ApprovalRequest, Case, CaseStatus, Grant
from teambot.core.errors import BadInput, InvalidStep, NotAllowed
from teambot.core.money import format_amount, from_minor, parse_amount, to_minor
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import approvers_of, find_gesture, limit_for


@dataclass
class GrantOutcome:
    grant: Grant | None
    approval: ApprovalRequest | None
    message: str


async def given_within_authority(s: AsyncSession, case_id: int, user: str) -> dict[str, int]:
    """What `user` gave on a case within their own authority, in minor units per currency."""
    rows = await s.exec(
        select(Grant.currency, func.sum(Grant.amount_minor))
        .where(Grant.case_id == case_id, Grant.granted_by == user, col(Grant.within_authority))
        .group_by(col(Grant.currency))
    )
    return {currency: int(total or 0) for currency, total in rows.all()}


def earlier_currencies_note(minor_by_currency: dict[str, int]) -> str:
    """", not counting $25.00 given in USD before the team's currency changed" (or "")."""
    if not minor_by_currency:
        return ""
    shown = " and ".join(
        f"{format_amount(from_minor(m, c), c)} given in {c}" for c, m in sorted(minor_by_currency.items())
    )
    return f" (not counting {shown} before the team's currency changed)"


class CompensationSteps(CaseSteps):
    """The apology and the gestures given within authority (or asked for above it)."""

    async def apologise(
        self, team_id: str, number: int, actor: str, method: str, words: str | None = None, *,
        card: Card | None = None,
    ) -> Case:  # fmt: skip
        how = method.strip().lower().replace(" ", "_").replace("-", "_")
        how = {"person": "in_person", "inperson": "in_person", "call": "phone", "mail": "email"}.get(how, how)
        if how not in APOLOGY_METHODS:
            raise BadInput(
                f"{method!r} is not a way of apologising Teambot records.",
                "Use in_person, phone, email or chat.",
                field="method",
            )
        words_text = checked_text(words, "apology", limit=1000)

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "record an apology")
            self._needs_owner(case, "record an apology")
            first = case.apologised_at is None
            if first:
                case.apologised_at = now
            case.apologised_by, case.apology_method, case.apology_words = actor, how, words_text
            return "apologised", {
                "method": how,
                "words": words_text,
                "first": first,
                "minutes_since_open": round((now - case.opened_at).total_seconds() / 60, 1),
            }

        return await self._change(team_id, number, actor, apply, card)

    async def grant(
        self,
        team_id: str,
        number: int,
        actor: str,
        gesture: str,
        amount: str | Decimal | None = None,
        note: str | None = None,
        *,
        card: Card | None = None,
    ) -> GrantOutcome:
        """Within the granter's limit it is given at once; above it, an approver is asked."""
        gesture_text = checked_text(gesture, "gesture", required=True, limit=120)
        assert gesture_text is not None
        note_text = checked_text(note, "note", limit=1000)
        out: dict[str, Any] = {}

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "grant compensation")
            self._needs_owner(case, "grant compensation")
            if case.status == CaseStatus.RESOLVED:
                raise InvalidStep(
                    f"Case #{number} is resolved, so compensation is settled.",
                    "If the customer is not satisfied, answer the follow-up 'not satisfied' to reopen work.",
                )
            name, value = self._gesture_value(p, number, gesture_text, amount)
            minor = to_minor(value, p.currency)
            # Authority is counted in the team's currency only: grants made in an earlier currency
            # are kept apart (a limit of 50 EUR says nothing about dollars given before).
            given_by_currency = await given_within_authority(s, case.id or 0, actor)
            already = given_by_currency.pop(p.currency, 0)
            apart = earlier_currencies_note(given_by_currency)
            limit = limit_for(p, actor)
            total = from_minor(already + minor, p.currency)
            if limit is None or total <= limit:
                g = Grant(
                    team_id=team_id, case_id=case.id, granted_by=actor, gesture=name, amount_minor=minor,
                    currency=p.currency, within_authority=True, granted_at=now,
                )  # fmt: skip
                s.add(g)
                out["grant"] = g
                out["message"] = f"Granted {name} ({format_amount(value, p.currency)}) on case #{number}."
                if limit is not None:
                    out["message"] += (
                        f" You can give up to {format_amount(limit - total, p.currency)} more here{apart}."
                    )
                return "granted", {"gesture": name, "amount": value, "currency": p.currency,
                                   "within_authority": True}  # fmt: skip
            approvers = [a for a in approvers_of(p) if a != actor]
            if not approvers:
                raise NotAllowed(
                    f"{name} ({format_amount(value, p.currency)}) is above your authority of "
                    f"{format_amount(limit, p.currency)}, and there is no other approver to ask.",
                    "An admin can add one with /recover policy approver add @name, or raise your limit.",
                )
            req = ApprovalRequest(
                team_id=team_id, case_id=case.id, requested_by=actor, gesture=name, amount_minor=minor,
                currency=p.currency, note=note_text, requested_at=now,
            )  # fmt: skip
            s.add(req)
            await s.flush()
            out["approval"], out["approvers"] = req, approvers
            given = from_minor(already, p.currency)
            out["message"] = (
                f"{name} ({format_amount(value, p.currency)}) is above your authority: you can give up to "
                f"{format_amount(limit, p.currency)} per case and have given {format_amount(given, p.currency)} "
                f"here{apart}. I've asked {', '.join(mention(a) for a in approvers)} to approve it."
            )
            return "approval_requested", {
                "gesture": name, "amount": value, "currency": p.currency, "approval_id": req.id,
                "limit": limit, "already": given, "within_authority": False,
            }  # fmt: skip

        case = await self._change(team_id, number, actor, apply, card)
        approval: ApprovalRequest | None = out.get("approval")
        if approval is not None:
            await self._ask_approvers(case, actor, approval, out["approvers"])
        return GrantOutcome(out.get("grant"), approval, out["message"])

    @staticmethod
    def _gesture_value(
        p: Policy, number: int, gesture_text: str, amount: str | Decimal | None
    ) -> tuple[str, Decimal]:
        """The gesture's name and value: the amount given, else the catalogue's for a known gesture."""
        known = find_gesture(p, gesture_text)
        name = known["name"] if known else gesture_text
        if amount is None or str(amount).strip() == "":
            if known is None:
                raise BadInput(
                    f"{gesture_text!r} is not in the catalogue, so I need its value.",
                    f"Add the amount: /recover grant {number} {gesture_text} 25",
                    field="amount",
                )
            return name, parse_amount(known["value"], p.currency)
        return name, parse_amount(amount, p.currency)

    async def _ask_approvers(
        self, case: Case, actor: str, approval: ApprovalRequest, approvers: list[str]
    ) -> None:
        """Each approver hears of a grant above the granter's authority, with the commands to answer it."""
        number = case.number
        for approver in approvers:
            await self._tell_user(
                case, approver, "approval_request",
                f"{mention(actor)} asks to give {approval.gesture} "
                f"({format_amount(from_minor(approval.amount_minor, approval.currency), approval.currency)}) "
                f"on case #{number} ({case.problem}). Approve or deny: /recover approve {approval.id} "
                f"or /recover deny {approval.id} <reason>.",
                approval_id=approval.id,
            )  # fmt: skip
