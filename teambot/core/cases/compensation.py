"""Apology and compensation: a gesture within the granter's authority is given at once, above it an
approver is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from babel.lists import format_list
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import Card, CaseSteps, checked_text, mention
from teambot.core.cases.kinds import APOLOGY_METHODS
from teambot.core.cases.models import ApprovalRequest, Case, CaseStatus, Grant
from teambot.core.errors import BadInput, InvalidStep, NotAllowed
from teambot.core.i18n import babel_locale, format_money
from teambot.core.i18n import gettext as _
from teambot.core.money import from_minor, parse_amount, to_minor
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
    shown = format_list([
        _("%(amount)s given in %(currency)s") % {"amount": format_money(from_minor(m, c), c), "currency": c}
        for c, m in sorted(minor_by_currency.items())
    ], locale=babel_locale())  # fmt: skip
    return " " + _("(not counting %(given)s before the team's currency changed)") % {"given": shown}


def _asked(actor: str, approval: ApprovalRequest, case: Case) -> str:
    """What an approver reads about a request, in their language (`_tell_user` enters it)."""
    return _(
        "%(who)s asks to give %(gesture)s (%(amount)s) on case #%(n)s (%(problem)s). Approve or deny: "
        "/recover approve %(id)s or /recover deny %(id)s <reason>."
    ) % {"who": mention(actor), "gesture": approval.gesture, "n": case.number, "problem": case.problem,
         "amount": format_money(from_minor(approval.amount_minor, approval.currency), approval.currency),
         "id": approval.id}  # fmt: skip


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
                _("%(method)s is not a way of apologising Teambot records.") % {"method": repr(method)},
                _("Use %(methods)s.") % {"methods": format_list(list(APOLOGY_METHODS), "or", locale=babel_locale())},
                field="method",
            )
        words_text = checked_text(words, "apology", limit=1000)

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "apologise")
            self._needs_owner(case, "apologise")
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
            self._not_closed(case, "grant")
            self._needs_owner(case, "grant")
            if case.status == CaseStatus.RESOLVED:
                raise InvalidStep(
                    _("Case #%(n)s is resolved, so compensation is settled.") % {"n": number},
                    _("If the customer is not satisfied, answer the follow-up 'not satisfied' to reopen work."),
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
                out["message"] = _("Granted %(gesture)s (%(amount)s) on case #%(n)s.") % {
                    "gesture": name, "amount": format_money(value, p.currency), "n": number}  # fmt: skip
                if limit is not None:
                    out["message"] += " " + _("You can give up to %(amount)s more here%(apart)s.") % {
                        "amount": format_money(limit - total, p.currency), "apart": apart}  # fmt: skip
                return "granted", {"gesture": name, "amount": value, "currency": p.currency,
                                   "within_authority": True}  # fmt: skip
            approvers = [a for a in approvers_of(p) if a != actor]
            if not approvers:
                raise NotAllowed(
                    _("%(gesture)s (%(amount)s) is above your authority of %(limit)s, and there is no other "
                      "approver to ask.") % {"gesture": name, "amount": format_money(value, p.currency),
                                             "limit": format_money(limit, p.currency)},
                    _("An admin can add one with /recover policy approver add @name, or raise your limit."),
                )  # fmt: skip
            req = ApprovalRequest(
                team_id=team_id, case_id=case.id, requested_by=actor, gesture=name, amount_minor=minor,
                currency=p.currency, note=note_text, requested_at=now,
            )  # fmt: skip
            s.add(req)
            await s.flush()
            out["approval"], out["approvers"] = req, approvers
            given = from_minor(already, p.currency)
            out["message"] = _(
                "%(gesture)s (%(amount)s) is above your authority: you can give up to %(limit)s per case and have "
                "given %(given)s here%(apart)s. I've asked %(approvers)s to approve it."
            ) % {"gesture": name, "amount": format_money(value, p.currency), "limit": format_money(limit, p.currency),
                 "given": format_money(given, p.currency), "apart": apart,
                 "approvers": format_list([mention(a) for a in approvers], locale=babel_locale())}  # fmt: skip
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
                    _("%(gesture)s is not in the catalogue, so I need its value.") % {"gesture": repr(gesture_text)},
                    _("Add the amount: /recover grant %(n)s %(gesture)s 25") % {"n": number, "gesture": gesture_text},
                    field="amount",
                )
            return name, parse_amount(known["value"], p.currency)
        return name, parse_amount(amount, p.currency)

    async def _ask_approvers(
        self, case: Case, actor: str, approval: ApprovalRequest, approvers: list[str]
    ) -> None:
        """Each approver hears of a grant above the granter's authority, with the commands to answer it."""
        for approver in approvers:
            await self._tell_user(
                case, approver, "approval_request", partial(_asked, actor, approval, case), approval_id=approval.id,
            )  # fmt: skip
