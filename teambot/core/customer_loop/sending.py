"""Sending the written follow-up: a due item of kind "followup_mail", so it is retried.

`/recover send <case>` (or the card's "Send follow-up" form) checks who asks and that the
customer has an address, then schedules the item due now and runs it at once. The handler
issues a single-use feedback link, frames the draft as an email signed by the owner, sends it
through the MailSender port (SMTP, or the outbox folder), and records the text sent in the
timeline. A failed send raises, so the sweep retries it with back-off; on the last attempt the
owner is told it could not be sent. The customer's address is never logged.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from teambot.core.cases.common import touch
from teambot.core.cases.followup import customer_language, draft_body
from teambot.core.cases.models import Case, Customer, TimelineEvent
from teambot.core.cases.queries import case_detail
from teambot.core.cases.service import RecoveryService
from teambot.core.customer_loop.mail import compose_followup
from teambot.core.customer_loop.ports import MailSender
from teambot.core.customer_loop.store import first_name, issue_link
from teambot.core.errors import InvalidStep, NotAllowed
from teambot.core.i18n import first_supported, format_number, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.observability import MAILS
from teambot.core.policy.models import Policy
from teambot.core.ports import Notice, Recipient
from teambot.core.scheduling.deadlines import Deadlines
from teambot.core.scheduling.models import DueItem
from teambot.core.scheduling.queue import DueHandler, Outcome

log = logging.getLogger(__name__)

KIND = "followup_mail"
SEND_ATTEMPTS = 5  # 1 + 1, 2, 4, 8 minutes of back-off: a mail server restart is ridden out
LINK = "<feedback link>"


@dataclass
class Sent:
    """What the person who pressed Send is told: where it went, or why not yet."""

    ok: bool
    via: str = ""  # "smtp" | "outbox"
    ref: str = ""  # the Message-ID, or the .eml file's path
    error: str = ""


class FollowupMailer:
    """Composes and sends follow-up mails for every team; one per process, built in bootstrap."""

    def __init__(
        self, service: RecoveryService, deadlines: Deadlines, sender: MailSender, *, mail_from: str,
        secret: bytes, public_url: str, team_name: str,
    ) -> None:  # fmt: skip
        self.service = service
        self.deadlines = deadlines
        self.sender = sender
        self.mail_from = mail_from
        self.secret = secret
        self.public_url = public_url.rstrip("/")
        self.team_name = team_name

    @property
    def via(self) -> str:
        return "outbox" if type(self.sender).__name__ == "OutboxSender" else "smtp"

    def due_handlers(self) -> dict[str, DueHandler]:
        return {KIND: self._handle}

    # ----- asking for a send ----------------------------------------------------------------

    async def check(self, team_id: str, number: int, actor: str) -> tuple[Case, Customer]:
        """Refuse early, with a sentence: who may send, and that there is an address to send to."""
        async with self.service.db.session() as s:
            case = await self.service.get_case(s, team_id, number)
            policy = await s.get(Policy, team_id)
            admins = list(policy.admins) if policy else []
            if actor != case.owner_id and actor not in admins:
                raise NotAllowed(
                    _("Only the owner (%(owner)s) or an admin can send case #%(n)s's follow-up.")
                    % {"owner": f"<@{case.owner_id}>", "n": number}
                    if case.owner_id
                    else _("Nobody owns case #%(n)s; claim it before writing to the customer.") % {"n": number},
                    _("Claim it with `/recover claim %(n)s`, or ask for a handover.") % {"n": number},
                )
            customer = await s.get(Customer, case.customer_id) if case.customer_id else None
            if customer is None or not customer.email:
                raise InvalidStep(
                    _("Case #%(n)s has no email address for the customer.") % {"n": number},
                    _("Open cases as `/recover Jane Doe <jane@example.com>: what went wrong`, "
                      "or give the address in the form."),
                )  # fmt: skip
            return case, customer

    async def draft(self, team_id: str, number: int, tz: str = "UTC") -> str:
        """The body the customer will read, in their language (the case's, else the team's)."""
        detail = await case_detail(self.service.db, team_id, number)
        with use_locale(customer_language(detail.case, detail.policy)):
            return draft_body(detail, tz)

    async def send_now(
        self, team_id: str, number: int, actor: str, body: str | None, *, signer: str | None = None,
        tz: str = "UTC",
    ) -> Sent:  # fmt: skip
        """Schedule the mail due now and run it at once; a failure stays scheduled for retries."""
        case, _ = await self.check(team_id, number, actor)
        text = body if body is not None and body.strip() else await self.draft(team_id, number, tz)
        if len(text) > 20000:
            raise InvalidStep(
                _("The follow-up is longer than %(limit)s characters.") % {"limit": format_number(20000)},
                _("Shorten it and send it again."),
            )
        now = self.service.clock.now()
        item = DueItem(
            key=f"mail:{case.id}:{uuid.uuid4().hex[:12]}", team_id=team_id, kind=KIND, case_id=case.id,
            due_at=now, created_at=now, data={"body": text, "actor": actor, "signer": signer or actor},
        )  # fmt: skip
        await self.deadlines.schedule(item)
        await self.deadlines.run_now(item.key)
        async with self.service.db.session() as s:
            from sqlmodel import select

            row = (await s.exec(select(DueItem).where(DueItem.key == item.key))).one()
        if row.status == "sent" and not row.data.get("failed"):
            return Sent(True, str(row.data.get("via", "")), str(row.data.get("ref", "")))
        return Sent(False, error=(row.last_error or str(row.data.get("failed", ""))).removeprefix("MailNotSent: "))

    # ----- the due item ---------------------------------------------------------------------

    async def _handle(self, dl: Deadlines, item: DueItem) -> Outcome:
        data: dict[str, Any] = dict(item.data)
        async with self.service.db.session() as s:
            case = await s.get(Case, item.case_id)
            customer = await s.get(Customer, case.customer_id) if case and case.customer_id else None
            if case is None or customer is None or not customer.email:
                return Outcome(cancel=True, result={"why": "no customer address"})
            owner = case.owner_id or data.get("actor") or ""
            signer = str(data.get("signer") or owner)
            policy = await s.get(Policy, case.team_id)
            lang = customer_language(case, policy)
            # The owner hears about a failure in their own choice of language, else the team's.
            owner_lang = first_supported((policy.languages if policy else {}).get(owner), policy and policy.language)
            now = dl.clock.now()
            token = await issue_link(s, case, self.secret, now)
            await s.commit()
            to, name = customer.email, customer.name
        url = f"{self.public_url}/feedback/{token}"
        with use_locale(lang):
            mail = compose_followup(first_name(name), self.team_name, signer, str(data.get("body", "")), url, to=to)
        try:
            ref = await self.sender.send(mail, self.mail_from)
        except Exception as exc:
            reason = without_addresses(f"{type(exc).__name__}: {exc}")[:300]
            if item.attempts < SEND_ATTEMPTS:
                MAILS.labels("retried").inc()
                log.warning("follow-up mail for case %s not sent (attempt %s): %s", item.case_id, item.attempts,
                            type(exc).__name__)  # fmt: skip
                # Retried by the sweep, which logs what it raises: the server's refusal of a recipient
                # names the customer's address, so it goes on without it (and without the original).
                raise MailNotSent(reason) from None
            MAILS.labels("failed").inc()
            return await self._gave_up(case, owner, reason, owner_lang)
        MAILS.labels("sent").inc()
        await self._record(case, str(data.get("actor") or owner), mail.subject, mail.text.replace(url, LINK), ref)
        return Outcome(result={"via": self.via, "ref": ref, "sent": True})

    async def _record(self, case: Case, actor: str, subject: str, text: str, ref: str) -> None:
        async with self.service.db.session() as s:
            now = self.service.clock.now()
            fresh = await s.get(Case, case.id)
            assert fresh is not None
            touch(fresh, now)
            s.add(fresh)
            s.add(
                TimelineEvent(
                    team_id=case.team_id, case_id=case.id, kind="followup_sent", actor=actor, at=now,
                    data={"subject": subject, "text": text, "via": self.via, "ref": _safe_ref(ref)},
                )
            )  # fmt: skip
            await s.commit()

    async def _gave_up(self, case: Case, owner: str, reason: str, lang: str = "en") -> Outcome:
        async with self.service.db.session() as s:
            s.add(
                TimelineEvent(
                    team_id=case.team_id, case_id=case.id, kind="followup_send_failed", actor="teambot",
                    at=self.service.clock.now(), data={"error": reason},
                )
            )  # fmt: skip
            await s.commit()
        with use_locale(lang):
            text = _(
                "%(owner)s: the follow-up email for case #%(n)s could not be sent after %(tries)s tries "
                "(%(reason)s). Check SMTP_URL, then `/recover send %(n)s` again."
            ) % {"owner": f"<@{owner}>", "n": case.number, "tries": SEND_ATTEMPTS, "reason": reason}
        notice = Notice("followup_mail_failed", text, case.team_id, case.id, {"number": case.number})
        return Outcome(messages=[(Recipient("user", owner, case.platform), notice)], result={"failed": reason})


class MailNotSent(Exception):
    """A send that failed and will be retried; its message names no address."""


_ADDRESS = re.compile(r"[^\s'\"<>(),;:\[\]]+@[^\s'\"<>(),;:\[\]]+")


def without_addresses(text: str) -> str:
    """An SMTP error as text, every email address in it replaced (a refusal quotes the recipient)."""
    return _ADDRESS.sub("<address>", text)


def _safe_ref(ref: str) -> str:
    """A Message-ID or a file name; never anything that could hold the customer's address."""
    return re.sub(r"[^\w.<>@/:-]", "", ref)[:200]
