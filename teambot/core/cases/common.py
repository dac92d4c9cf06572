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


def checked_text(value: str | None, name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    cleaned = clean_text(value or "").strip()
    if not cleaned:
        if required:
            raise BadInput(f"The {name} is empty.", f"Write a few words for the {name}.", field=name)
        return None
    if len(cleaned) > limit:
        raise BadInput(
            f"The {name} is {len(cleaned)} characters; the most is {limit}.",
            "Shorten it and send it again; your text is shown below so nothing is lost.",
            field=name,
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
    return f"<@{user}>" if user else "nobody"


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
            raise NotFound(f"There is no case #{number} in this team.", "See open cases with /recover list.")
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
        for _ in range(RETRIES):
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
                f"Case #{number} was changed by someone else at the same moment.",
                f"Look at it again with /recover show {number}.",
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
            raise NotFound(f"There is no case #{number} in this team.", "See open cases with /recover list.")
        read.policy = policy
        return read

    @staticmethod
    def _not_cancelled(case: Case) -> None:
        if case.status == CaseStatus.CANCELLED:
            dup = f" as a duplicate of #{case.duplicate_of}" if case.duplicate_of else ""
            see = f"Carry on in case #{case.duplicate_of}." if case.duplicate_of else "Open a new case if needed."
            raise InvalidStep(f"Case #{case.number} was cancelled{dup}; nothing more happens on it.", see)

    @staticmethod
    def _not_closed(case: Case, doing: str) -> None:
        if case.status == CaseStatus.CLOSED:
            raise InvalidStep(
                f"Case #{case.number} is closed, so you can't {doing}.",
                f"Reopen it first with /recover reopen {case.number}.",
            )

    @staticmethod
    def _needs_owner(case: Case, doing: str) -> None:
        if case.owner_id is None:
            raise InvalidStep(
                f"Nobody owns case #{case.number} yet, so you can't {doing}.",
                f"Claim it first with /recover claim {case.number}.",
            )

    # ----- telling people ------------------------------------------------------------------

    async def _tell_user(self, case: Case, user: str, kind: str, text: str, **data: Any) -> None:
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
