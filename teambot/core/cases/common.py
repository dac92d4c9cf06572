"""What every case step shares: the texts it checks, the case it reads and locks, and the
load-check-change-record-commit loop.

Concurrency: `Case.version` is SQLAlchemy's version counter, so two people acting on
the same case at once cannot both win; the loser re-reads and is refused (or succeeds)
against the fresh state, which is how "two claims, one owner" holds on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.events import CaseChanged, CaseEvents
from teambot.core.cases.models import Case, CaseStatus, Customer, TimelineEvent
from teambot.core.cases.queries import CHILD_MODELS, CaseDetail, child_count_columns, child_counts, detail_in
from teambot.core.db import Database
from teambot.core.errors import BadInput, Conflict, InvalidStep, NotFound
from teambot.core.i18n import first_supported, pgettext, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import load_policy
from teambot.core.ports import Clock, Notice, Notifier, Recipient
from teambot.core.text import clean_text

MAX_TEXT = 3000
MAX_SHORT = 200
RETRIES = 5  # a step that lost a race on the case's version starts over at most this often


ADDED = "teambot_added"  # Session.info key: a list the session's flushes append their new objects to


@event.listens_for(Session, "before_flush")
def _note_added(session: Session, _context: Any, _instances: Any) -> None:
    """Every object a step's flushes insert (a step may flush midway for an id), so the card after it
    knows its new events and which child tables it added rows to without reading them back."""
    added = session.info.get(ADDED)
    if added is not None:
        added.extend(session.new)


@dataclass
class StepRead:
    """What a step read with its case in one statement; with a card to draw, the case's events and
    its child tables' row counts too, so the card after the change reads only the non-empty children."""

    case: Case
    policy: Policy
    customer: Customer | None
    events: list[TimelineEvent] | None = None
    counts: list[int] | None = None

    async def detail(self, s: AsyncSession, added: list[Any]) -> CaseDetail:
        """The case's detail as the change leaves it (flushed): `added`, what the change put in the
        session, supplies the new events and says which empty child tables have rows now."""
        customer = self.customer
        if customer is None and self.case.customer_id:  # a step that read the case alone
            customer = await s.get(Customer, self.case.customer_id)
        if self.counts is None:  # nor its children: read them as the change leaves them
            counts = await child_counts(s, self.case.id or 0)
            return await detail_in(s, self.case, self.policy, customer, counts, events=self.events)
        new_kinds = {type(obj) for obj in added}
        counts = [
            int(n or model in new_kinds) for n, model in zip(self.counts or [], CHILD_MODELS, strict=True)
        ]
        fresh = [obj for obj in added if isinstance(obj, TimelineEvent) and obj.case_id == self.case.id]
        events = [*(self.events or []), *sorted(fresh, key=lambda event: event.id or 0)]
        return await detail_in(s, self.case, self.policy, customer, counts, events=events)


@dataclass
class Change:
    """A step's change as its checks leave it, for `CaseSteps._in_turns` to record: the timeline
    event's kind and data, and what CaseChanged carries (the event's data unless `published`)."""

    read: StepRead
    kind: str
    data: dict[str, Any]
    published: dict[str, Any] | None = None
    result: Any = None  # what the step hands its caller besides the case (an approval request...)


@dataclass
class Card:
    """Handed to a step by a caller that shows the case next: filled with the case's detail as the
    step leaves it, read in the step's own transaction (no second BEGIN, the case and policy reused)."""

    detail: CaseDetail | None = None


def text_name(name: str) -> str:
    """A checked text's name (also its form field) in words, in the current language."""
    return {
        "problem": pgettext("text", "problem"), "wish": pgettext("text", "wish"),
        "customer": pgettext("text", "customer"), "category": pgettext("text", "category"),
        "note": pgettext("text", "note"), "reason": pgettext("text", "reason"),
        "resolution": pgettext("text", "resolution"), "root_cause": pgettext("text", "root cause"),
        "comment": pgettext("text", "comment"), "apology": pgettext("text", "apology"),
        "gesture": pgettext("text", "gesture"), "next_step": pgettext("text", "next step"),
    }.get(name, name)  # fmt: skip


def checked_text(value: str | None, name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    """`name` is the text's key (`next_step`); a refusal names its form field the forms' way (`next step`)."""
    cleaned = clean_text(value or "").strip()
    if not cleaned:
        if required:
            said = {"field": text_name(name)}
            raise BadInput(_("The %(field)s is empty.") % said, _("Write a few words for the %(field)s.") % said,
                           field=name.replace("_", " "))  # fmt: skip
        return None
    if len(cleaned) > limit:
        raise BadInput(
            _("The %(field)s is %(length)s characters; the most is %(limit)s.")
            % {"field": text_name(name), "length": len(cleaned), "limit": limit},
            _("Shorten it and send it again; your text is shown below so nothing is lost."),
            field=name.replace("_", " "),
        )
    return cleaned


def user_ref(value: str) -> str:
    return value.strip().strip("<>").lstrip("@").strip()


def touch(case: Case, now: datetime) -> None:
    """Always write the row, even when nothing else changed (a grant only adds rows elsewhere),
    so the version check runs and concurrent steps on one case serialise."""
    case.updated_at = now
    flag_modified(case, "updated_at")


def customer_key(name: str) -> str:
    return " ".join(name.lower().split())


def mention(user: str | None) -> str:
    return f"<@{user}>" if user else _("nobody")


class CaseSteps:
    """What every step shares: the ports, the read of the case it acts on, the load-check-change-
    record-commit loop (`_change`), the guards and the notices. Each step module adds its steps."""

    def __init__(self, db: Database, clock: Clock, notifier: Notifier, events: CaseEvents | None = None) -> None:
        self.db = db
        self.clock = clock
        self.notifier = notifier
        self.events = events or CaseEvents()

    async def _after(
        self, s: AsyncSession, case: Case, policy: Policy, kind: str, data: dict[str, Any], now: datetime
    ) -> None:
        await self.events.publish(CaseChanged(s, case, policy, kind, data, now))

    # ----- reading -------------------------------------------------------------------------

    async def get_case(self, session: AsyncSession, team_id: str, number: int, *, lock: bool = False) -> Case:
        """`lock` takes the row lock (PostgreSQL) so concurrent steps queue instead of retrying;
        SQLite's BEGIN IMMEDIATE already serialises writers."""
        query = select(Case).where(Case.team_id == team_id, Case.number == number)
        case = (await session.exec(query.with_for_update() if lock else query)).first()
        if case is None:
            raise NotFound(_("There is no case #%(n)s in this team.") % {"n": number},
                           _("See open cases with /recover list."))  # fmt: skip
        return case

    async def case(self, team_id: str, number: int) -> Case:
        async with self.db.session() as s:
            return await self.get_case(s, team_id, number)

    # ----- the change loop and its guards ----------------------------------------------------

    @staticmethod
    def _event(case: Case, kind: str, actor: str, at: datetime, **data: Any) -> TimelineEvent:
        clean = {k: (str(v) if isinstance(v, Decimal | datetime) else v) for k, v in data.items()}
        return TimelineEvent(team_id=case.team_id, case_id=case.id, kind=kind, actor=actor, at=at, data=clean)

    async def _in_turns(
        self,
        attempt: Callable[[AsyncSession, datetime], Awaitable[Change]],
        actor: str,
        card: Card | None,
        refusal: Callable[[], Exception],
    ) -> Change:
        """One step's transaction: `attempt` loads, checks and changes; then the case is touched, the
        timeline event recorded, the change published on CaseEvents, the card drawn (with `card`) and
        all committed at once. A concurrent change (the case's version moved) starts it over, at most
        RETRIES times; then `refusal()` is raised."""
        for _attempt in range(RETRIES):
            async with self.db.session() as s:
                now = self.clock.now()
                s.info[ADDED] = added = []  # what the change adds, for the card (see _note_added)
                change = await attempt(s, now)
                case, policy = change.read.case, change.read.policy
                touch(case, now)
                s.add(case)
                s.add(self._event(case, change.kind, actor, now, **change.data))
                published = change.data if change.published is None else change.published
                await self._after(s, case, policy, change.kind, published, now)
                try:
                    await s.flush()
                    if card is not None:
                        card.detail = await change.read.detail(s, added)
                    await s.commit()
                except StaleDataError:
                    await s.rollback()
                    continue
                return change
        raise refusal()

    async def _change(
        self,
        team_id: str,
        number: int,
        actor: str,
        apply: Callable[[AsyncSession, Case, Policy, datetime], Awaitable[tuple[str, dict[str, Any]]]],
        card: Card | None = None,
    ) -> Case:
        """Load, check, change, record, commit (`_in_turns`). With `card`, the case's detail as the
        change leaves it, from what the step read with the case (its events and which child tables
        have rows) and what the change added: no statement more but the non-empty child tables."""

        async def attempt(s: AsyncSession, now: datetime) -> Change:
            read = await self._step_case(s, team_id, number, actor, now, with_card=card is not None)
            self._not_cancelled(read.case)
            kind, data = await apply(s, read.case, read.policy, now)
            return Change(read, kind, data)

        def refusal() -> Exception:
            return Conflict(
                _("Case #%(n)s was changed by someone else at the same moment.") % {"n": number},
                _("Look at it again with /recover show %(n)s.") % {"n": number},
            )

        return (await self._in_turns(attempt, actor, card, refusal)).read.case

    async def change_case(
        self,
        team_id: str,
        number: int,
        actor: str,
        apply: Callable[[AsyncSession, Case, Policy, datetime], Awaitable[tuple[str, dict[str, Any]]]],
        card: Card | None = None,
    ) -> Case:
        """A step another feature defines (filing a cause, an improvement action) taken like the case's
        own: locked, recorded in the timeline, published on CaseEvents, committed in one transaction."""
        return await self._change(team_id, number, actor, apply, card)

    async def _step_case(
        self,
        s: AsyncSession,
        team_id: str,
        number: int,
        actor: str,
        now: datetime,
        *,
        with_card: bool = False,
    ) -> StepRead:
        """The case (row-locked on PostgreSQL, so concurrent steps queue instead of retrying), its
        team's policy and its customer, in one statement; `with_card` adds the case's events (one row
        each) and its child tables' row counts to that statement, for the card drawn after the step."""
        query = (
            select(Case, Policy, Customer)
            .outerjoin(Policy, col(Policy.team_id) == col(Case.team_id))
            .outerjoin(Customer, col(Customer.id) == col(Case.customer_id))
            .where(Case.team_id == team_id, Case.number == number)
            .with_for_update(of=Case)  # type: ignore[arg-type]
        )
        if with_card:
            query = (
                query.add_columns(TimelineEvent, *child_count_columns(Case.id))
                .outerjoin(TimelineEvent, col(TimelineEvent.case_id) == col(Case.id))
                .order_by(col(TimelineEvent.id))
            )
        rows = list((await s.exec(query)).all())  # type: ignore[call-overload]
        row = rows[0] if rows else None
        read = StepRead(*row[:3]) if row is not None else None
        if read is not None and with_card:
            read.events = [r[3] for r in rows if r[3] is not None]
            read.counts = [int(n) for n in row[4:]]
        if read is not None and read.policy is not None:
            return read
        # A team's first command makes its policy (and its first user admin), as it always did.
        policy = await load_policy(s, team_id, actor, now)
        if read is None:
            raise NotFound(_("There is no case #%(n)s in this team.") % {"n": number},
                           _("See open cases with /recover list."))  # fmt: skip
        read.policy = policy
        return read

    @staticmethod
    def _not_cancelled(case: Case) -> None:
        if case.status == CaseStatus.CANCELLED:
            said = {"n": case.number, "dup": case.duplicate_of}
            if case.duplicate_of:
                raise InvalidStep(
                    _("Case #%(n)s was cancelled as a duplicate of #%(dup)s; nothing more happens on it.") % said,
                    _("Carry on in case #%(dup)s.") % said,
                )
            raise InvalidStep(_("Case #%(n)s was cancelled; nothing more happens on it.") % said,
                              _("Open a new case if needed."))  # fmt: skip

    @staticmethod
    def _not_closed(case: Case, doing: str) -> None:
        """`doing` is the step's key ("claim", "grant"...): each refusal is one whole sentence to translate."""
        if case.status == CaseStatus.CLOSED:
            refusal = {
                "claim": _("Case #%(n)s is closed, so you can't claim it."),
                "handover": _("Case #%(n)s is closed, so you can't hand it over."),
                "apologise": _("Case #%(n)s is closed, so you can't record an apology."),
                "grant": _("Case #%(n)s is closed, so you can't grant compensation."),
                "approve": _("Case #%(n)s is closed, so you can't approve compensation on it."),
                "resolve": _("Case #%(n)s is closed, so you can't resolve it."),
                "step": _("Case #%(n)s is closed, so you can't add a next step."),
            }.get(doing, _("Case #%(n)s is closed."))
            raise InvalidStep(refusal % {"n": case.number},
                              _("Reopen it first with /recover reopen %(n)s.") % {"n": case.number})  # fmt: skip

    @staticmethod
    def _needs_owner(case: Case, doing: str) -> None:
        """`doing` as in `_not_closed`."""
        if case.owner_id is None:
            refusal = {
                "handover": _("Nobody owns case #%(n)s yet, so you can't hand it over."),
                "apologise": _("Nobody owns case #%(n)s yet, so you can't record an apology."),
                "grant": _("Nobody owns case #%(n)s yet, so you can't grant compensation."),
                "resolve": _("Nobody owns case #%(n)s yet, so you can't resolve it."),
            }.get(doing, _("Nobody owns case #%(n)s yet."))
            raise InvalidStep(refusal % {"n": case.number},
                              _("Claim it first with /recover claim %(n)s.") % {"n": case.number})  # fmt: skip

    # ----- telling people ------------------------------------------------------------------

    async def _reader_language(self, team_id: str, user: str) -> str:
        """The language `user` reads a direct message in: their own choice, else the team's."""
        async with self.db.read() as s:
            row = (await s.exec(select(Policy.language, Policy.languages).where(Policy.team_id == team_id))).first()
        return first_supported(dict(row[1] or {}).get(user), row[0]) if row is not None else first_supported(None)

    async def _tell_user(self, case: Case, user: str, kind: str, text: str | Callable[[], str], **data: Any) -> None:
        """`text` written (when a callable) in the language `user` reads, not the one who acted."""
        if callable(text):
            with use_locale(await self._reader_language(case.team_id, user)):
                text = text()
        await self.notifier.notify(
            Recipient("user", user, case.platform),
            Notice(
                kind=kind,
                text=text,
                team_id=case.team_id,
                case_id=case.id,
                data={"number": case.number, **data},
            ),
        )
