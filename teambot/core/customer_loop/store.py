"""The database side of feedback links: issue one for a case, look it up, answer it once.

`DbFeedbackStore.answer` is one conditional UPDATE on the link's row
(`used_at IS NULL AND expires_at > now AND case_id = <its case>`), run inside the same
transaction that records the customer's verdict on the case: both commit or neither does,
and a used, expired or unknown link writes nothing at all. Once it is recorded the case's card is
brought up to date in place on its platform (a `case_changed` notice to `Recipient("card", ...)`): no
chat request is there to do it, as there is after a step taken in the chat.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.models import Case, Customer
from teambot.core.cases.service import RecoveryService
from teambot.core.customer_loop.models import FeedbackToken, SiteSecret
from teambot.core.customer_loop.ports import FeedbackAnswer, FeedbackView
from teambot.core.customer_loop.tokens import DEFAULT_LIFETIME, issue_token, new_token_id
from teambot.core.db import Database
from teambot.core.errors import DomainError
from teambot.core.i18n import gettext as _
from teambot.core.i18n import use_locale
from teambot.core.policy.models import Policy
from teambot.core.ports import Notice, Recipient

log = logging.getLogger(__name__)

_HONORIFICS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "dame", "lady", "lord"}


def first_name(customer_name: str | None) -> str:
    """What the mail and the page call the customer: "Jane" for "Jane Doe", "Mrs Patel" as is,
    nothing for an address or an erased name (then they read "Hello")."""
    name = " ".join((customer_name or "").split())
    if not name or "@" in name or name.startswith("[erased]"):
        return ""
    first = name.split()[0]
    return name if first.lower().rstrip(".") in _HONORIFICS else first


class LinkUsed(DomainError):
    """The link was answered (or expired) between the look and the write."""


async def site_secret(db: Database, configured: str | None, now: datetime) -> bytes:
    """TEAMBOT_SECRET when set; else the one this installation made for itself, kept in the DB.

    Two processes starting at once both try to insert; the loser reads the winner's value.
    """
    if configured:
        return configured.encode("utf-8")
    async with db.session() as s:
        row = await s.get(SiteSecret, "feedback_hmac")
        if row is None:
            s.add(SiteSecret(name="feedback_hmac", value=secrets.token_urlsafe(48), created_at=now))
            try:
                await s.commit()
            except IntegrityError:  # another process made it first
                await s.rollback()
            row = await s.get(SiteSecret, "feedback_hmac", populate_existing=True)
        assert row is not None
        return row.value.encode("utf-8")


async def issue_link(
    s: AsyncSession, case: Case, secret: bytes, now: datetime, lifetime: timedelta = DEFAULT_LIFETIME
) -> str:
    """Add a single-use link row for `case` (flushed by the caller's commit); return the signed token."""
    token_id = new_token_id()
    expires = now + lifetime
    s.add(FeedbackToken(id=token_id, team_id=case.team_id, case_id=case.id or 0, created_at=now, expires_at=expires))
    return issue_token(secret, token_id, expires)


class DbFeedbackStore:
    """The FeedbackStore the feedback page uses in production (SQLite and PostgreSQL alike)."""

    def __init__(self, service: RecoveryService, team_name: str) -> None:
        self.service = service
        self.db = service.db
        self.team_name = team_name

    async def lookup(self, token_id: str) -> FeedbackView | None:
        async with self.db.session() as s:
            token = await s.get(FeedbackToken, token_id)
            if token is None:
                return None
            case = await s.get(Case, token.case_id)
            if case is None:
                return None
            customer = await s.get(Customer, case.customer_id) if case.customer_id else None
            name = customer.name if customer else case.customer_name
            policy = await s.get(Policy, case.team_id)
            now = self.service.clock.now()
            state = "used" if token.used_at else "expired" if token.expires_at <= now else "open"
            return FeedbackView(
                first_name(name), self.team_name, state,  # type: ignore[arg-type]
                language=case.customer_language, team_language=policy.language if policy else None,
            )  # fmt: skip

    async def answer(self, token_id: str, answer: FeedbackAnswer, now: datetime) -> bool:
        async with self.db.session() as s:
            token = await s.get(FeedbackToken, token_id)
            if token is None:
                return False
            case = await s.get(Case, token.case_id)
            if case is None:
                return False
            team_id, number = case.team_id, case.number

        async def use_link(s: AsyncSession, case: Case, at: datetime) -> None:
            res = await s.exec(  # type: ignore[call-overload]
                update(FeedbackToken)
                .where(
                    col(FeedbackToken.id) == token_id,
                    col(FeedbackToken.case_id) == case.id,
                    col(FeedbackToken.used_at).is_(None),
                    col(FeedbackToken.expires_at) > now,
                )
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            )
            if res.rowcount != 1:
                raise LinkUsed("link_used")  # caught below: never shown to anyone

        won_back = {"yes": True, "no": False}.get(answer.coming_back)
        try:
            changed = await self.service.answer_followup(
                team_id, number, "customer", answer.satisfied, answer.score, won_back,
                by_customer=True, comment=answer.comment or None, guard=use_link,
            )  # fmt: skip
        except LinkUsed:
            return False
        await self._refresh_card(changed)
        return True

    async def _refresh_card(self, case: Case) -> None:
        """The card shows the customer's verdict at once; the answer is committed whatever happens here."""
        async with self.db.session() as s:
            policy = await s.get(Policy, case.team_id)
        with use_locale(policy.language if policy else None):  # the card is the channel's
            said = _("Case #%(n)s: the customer answered the follow-up.") % {"n": case.number}
        notice = Notice("case_changed", said, case.team_id, case.id, data={"number": case.number})
        try:
            await self.service.notifier.notify(Recipient("card", str(case.id), case.platform), notice)
        except Exception:  # the card outbox (armed by the change) catches up
            log.warning("the card of case #%s was not updated after the customer's answer", case.number,
                        exc_info=True)  # fmt: skip


async def links_of(db: Database, case_id: int) -> list[FeedbackToken]:
    async with db.session() as s:
        rows = await s.exec(
            select(FeedbackToken).where(FeedbackToken.case_id == case_id).order_by(col(FeedbackToken.created_at))
        )
        return list(rows.all())
