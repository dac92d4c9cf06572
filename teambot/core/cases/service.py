"""The case state machine: every step checks the case, changes it and records an event.

Concurrency: `Case.version` is SQLAlchemy's version counter, so two people acting on
the same case at once cannot both win; the loser re-reads and is refused (or succeeds)
against the fresh state, which is how "two claims, one owner" holds on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.card_ref import merge_card_ref
from teambot.core.cases.events import CaseChanged, CaseEvents
from teambot.core.cases.kinds import APOLOGY_METHODS, SEVERITIES
from teambot.core.cases.models import (
    ApprovalRequest,
    ApprovalStatus,
    Case,
    CaseStatus,
    Customer,
    Grant,
    ImprovementFlag,
    NextStep,
    TimelineEvent,
)
from teambot.core.cases.queries import CaseDetail, child_counts, detail_in
from teambot.core.customer_loop.email_address import validate_email
from teambot.core.db import Database, insert_or_skip
from teambot.core.errors import BadInput, Conflict, InvalidStep, NotAllowed, NotFound
from teambot.core.i18n import require_language
from teambot.core.money import format_amount, from_minor, parse_amount, to_minor
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import (
    approvers_of,
    backups_of,
    find_gesture,
    limit_for,
    load_policy,
    may_approve,
    require_category,
    tag_category,
)
from teambot.core.policy.settings import PolicyChange, apply_change
from teambot.core.ports import Clock, Notice, Notifier, Recipient
from teambot.core.text import clean_text

MAX_TEXT = 3000
MAX_SHORT = 200
_RETRIES = 5


@dataclass
class OpenedCase:
    case: Case
    customer: Customer | None
    earlier_cases: list[Case] = field(default_factory=list)
    duplicate: bool = False  # a redelivery of an open we already did
    # The new case's card, built from what opening held (nothing is read again); None on a duplicate.
    detail: CaseDetail | None = None


@dataclass
class Card:
    """Handed to a step by a caller that shows the case next: filled with the case's detail as the
    step leaves it, read in the step's own transaction (no second BEGIN, the case and policy reused)."""

    detail: CaseDetail | None = None


class NearMissCategory(Exception):
    """`#delivry` in a quick-open text: close to one of the team's categories; nothing was opened."""

    def __init__(self, typed: str, meant: str) -> None:
        super().__init__(typed)
        self.typed, self.meant = typed, meant


@dataclass
class GrantOutcome:
    grant: Grant | None
    approval: ApprovalRequest | None
    message: str


def _text(value: str | None, name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
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


def _user(value: str) -> str:
    return value.strip().strip("<>").lstrip("@").strip()


def touch(case: Case, now: datetime) -> None:
    """Always write the row, even when nothing else changed (a grant only adds rows elsewhere),
    so the version check runs and concurrent steps on one case serialise."""
    case.updated_at = now
    flag_modified(case, "updated_at")


def tag_open_text(policy: Policy, problem: str, wants: str | None) -> tuple[str, str | None, str | None]:
    """The quick-open text's `#category` (problem first, then the wish) taken out against the team's
    vocabulary: (problem, wants, category). A near miss in the problem raises NearMissCategory."""
    tagged = tag_category(policy, problem)
    category = None
    if tagged.category is None and wants:
        in_wants = tag_category(policy, wants)
        if in_wants.category is not None:
            wants, category = in_wants.text, in_wants.category
    if tagged.category is not None:
        problem, category = tagged.text, tagged.category
    elif category is None and tagged.near_miss is not None:
        raise NearMissCategory(tagged.near_miss, tagged.meant or "")
    return problem, wants, category


def customer_key(name: str) -> str:
    return " ".join(name.lower().split())


def mention(user: str | None) -> str:
    return f"<@{user}>" if user else "nobody"


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


async def _request_and_case(s: AsyncSession, team_id: str, approval_id: int) -> tuple[ApprovalRequest, Case]:
    """An approval request of this team and the case it is for, or the refusal a person reads."""
    req = await s.get(ApprovalRequest, approval_id)
    if req is None or req.team_id != team_id:
        raise NotFound(
            f"There is no approval request {approval_id} in this team.",
            "Pending requests are listed with /recover approvals.",
        )
    case = await s.get(Case, req.case_id)
    assert case is not None
    return req, case


class RecoveryService:
    """The core's single entry point: plain async methods, no platform anywhere."""

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

    async def policy(self, team_id: str, actor: str, platform: str = "shell") -> Policy:
        async with self.db.session() as s:
            return await load_policy(s, team_id, actor, self.clock.now(), platform)

    # ----- policy --------------------------------------------------------------------------

    async def change_policy(
        self, team_id: str, actor: str, change: PolicyChange, platform: str = "shell"
    ) -> str:
        for _ in range(_RETRIES):
            async with self.db.session() as s:
                now = self.clock.now()
                policy = await load_policy(s, team_id, actor, now, platform)
                before = policy.model_dump(exclude={"created_at", "updated_at", "version"})
                message = apply_change(policy, change, actor)
                policy.updated_at = now
                s.add(
                    TimelineEvent(
                        team_id=team_id, kind="policy_changed", actor=actor, at=now,
                        data={"setting": change.setting, "args": change.args, "before": before},
                    )
                )  # fmt: skip
                try:
                    await s.commit()
                except StaleDataError:
                    continue
                return message
        raise Conflict("Another admin changed the policy at the same moment.", "Look at it and try again.")

    # ----- opening -------------------------------------------------------------------------

    async def open_case(
        self,
        team_id: str,
        channel_id: str,
        actor: str,
        problem: str,
        *,
        platform: str = "shell",
        customer: str | None = None,
        wants: str | None = None,
        category: str | None = None,
        severity: str | None = None,
        own: bool = False,
        source_ref: str | None = None,
        email: str | None = None,
        direct: bool = False,
        tag: bool = False,
        language: str | None = None,
    ) -> OpenedCase:
        """`tag`: read a `#category` in the problem or wish against the team's vocabulary (the quick-open
        text), in this transaction; a near miss raises NearMissCategory and opens nothing."""
        # Tagging needs the policy, so the texts are checked after it; otherwise before any query.
        tagging = tag and category is None and "#" in f"{problem} {wants or ''}"
        if not tagging:
            problem_text = _text(problem, "problem", required=True)
            wants_text = _text(wants, "wish")
        customer_name = _text(customer, "customer", limit=MAX_SHORT)
        email_address = validate_email(email) if email and email.strip() else None
        if email_address and not customer_name:
            customer_name = email_address  # the address is how the team knows this customer
        severity_value = (severity or "medium").strip().lower()
        if severity_value not in SEVERITIES:
            raise BadInput(
                f"{severity!r} is not a severity.", f"Use one of: {', '.join(SEVERITIES)}.", field="severity"
            )
        category_text = _text(category, "category", limit=64)
        customer_language = require_language(language) if language and language.strip() else None

        # A redelivery is found by its source_ref; the unique (team_id, source_ref) refuses the second
        # INSERT anyway, so the first attempt does not look and a clash is looked up on the retry.
        look_up_source = False
        for _ in range(_RETRIES):
            async with self.db.session() as s:
                now = self.clock.now()
                policy = await load_policy(s, team_id, actor, now, platform)
                if tagging:
                    tagged_problem, tagged_wants, tagged_category = tag_open_text(policy, problem, wants)
                    problem_text = _text(tagged_problem, "problem", required=True)
                    wants_text = _text(tagged_wants, "wish")
                    category_text = _text(tagged_category, "category", limit=64)
                category_value = require_category(policy, category_text)
                if source_ref and look_up_source:
                    existing = (
                        await s.exec(
                            select(Case).where(Case.team_id == team_id, Case.source_ref == source_ref)
                        )
                    ).first()
                    if existing is not None:
                        return OpenedCase(existing, None, [], duplicate=True)
                cust, earlier = await self._remember_customer(s, team_id, customer_name, now, email_address)
                number = await self._next_number(s, team_id)
                case = Case(
                    team_id=team_id, number=number, platform=platform, channel_id=channel_id,
                    source_ref=source_ref, opened_by=actor, opened_at=now,
                    customer_id=cust.id if cust else None,
                    customer_name=cust.name if cust else customer_name, customer_language=customer_language,
                    problem=problem_text, wants=wants_text, category=category_value,
                    severity=severity_value, updated_at=now,
                )  # fmt: skip
                if own:
                    case.status, case.owner_id, case.owned_at = CaseStatus.OWNED, actor, now
                s.add(case)
                try:
                    await s.flush()
                except IntegrityError:  # a redelivery (or the same one racing us): the retry finds it
                    await s.rollback()
                    look_up_source = True
                    continue
                events = [self._event(case, "opened", actor, now, problem=problem_text, customer=customer_name)]
                if own:
                    events.append(self._event(case, "claimed", actor, now))
                s.add_all(events)
                await self._after(s, case, policy, "opened", {"own": own}, now)
                # The policy row as this transaction leaves it, without marking the object dirty.
                set_committed_value(policy, "case_counter", number)
                first = not direct and policy.digest_channel is None
                if first and await self._first_channel(s, team_id, channel_id):
                    set_committed_value(policy, "digest_channel", channel_id)
                await s.commit()
                # The card: a new case has no grants, approvals, steps or flags yet.
                detail = CaseDetail(case=case, policy=policy, customer=cust, events=events)
                return OpenedCase(case, cust, earlier, detail=detail)
        raise Conflict("Many cases were opened at the same moment.", "Send the command again.")

    @staticmethod
    async def _first_channel(s: AsyncSession, team_id: str, channel_id: str) -> bool:
        """A team's digest goes to the channel where it first opened a case, until an admin
        names another (`policy digest ... #channel`); one conditional UPDATE, so concurrent
        opens neither conflict on the policy's version nor overwrite an admin's choice."""
        table = Policy.__table__  # type: ignore[attr-defined]
        first = (
            update(table)
            .where(table.c.team_id == team_id, table.c.digest_channel.is_(None))
            .values(digest_channel=channel_id)
        )
        return bool((await s.exec(first)).rowcount)  # type: ignore[call-overload]

    @staticmethod
    async def _next_number(s: AsyncSession, team_id: str) -> int:
        """An atomic counter: the row lock serialises concurrent opens instead of retrying them."""
        table = Policy.__table__  # type: ignore[attr-defined]
        bump = (
            update(table)
            .where(table.c.team_id == team_id)
            .values(case_counter=table.c.case_counter + 1)
            .returning(table.c.case_counter)
        )
        return int((await s.exec(bump)).scalar_one())  # type: ignore[call-overload]

    async def _remember_customer(
        self, s: AsyncSession, team_id: str, name: str | None, now: datetime, email: str | None = None
    ) -> tuple[Customer | None, list[Case]]:
        if not name:
            return None, []
        key = customer_key(name)
        find = select(Customer).where(Customer.team_id == team_id, Customer.key == key)
        cust = (await s.exec(find)).first()
        if cust is not None and email and cust.email != email:
            cust.email = email  # the newest address the team was given wins
            s.add(cust)
        if cust is None:
            new = Customer(team_id=team_id, key=key, name=name, email=email, created_at=now)
            # Another transaction may add the same customer at the same moment: the insert then
            # does nothing (no savepoint needed) and theirs is read.
            return (await self._insert_customer(s, new) or (await s.exec(find)).one()), []
        earlier = list(
            (
                await s.exec(
                    select(Case).where(Case.customer_id == cust.id).order_by(col(Case.opened_at).desc())
                )
            ).all()
        )
        return cust, earlier

    @staticmethod
    async def _insert_customer(s: AsyncSession, cust: Customer) -> Customer | None:
        """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new customer, persistent in `s`
        as if loaded, or None when the (team, key) exists already."""
        stmt = insert_or_skip(Customer.__table__, ("team_id", "key"))  # type: ignore[attr-defined]
        with s.no_autoflush:
            row = (await s.exec(stmt, params=cust.model_dump(exclude={"id"}))).first()  # type: ignore[call-overload]
        if row is None:
            return None
        cust.id = int(row[0])
        make_transient_to_detached(cust)
        s.add(cust)  # a detached object with its key: persistent, no SQL
        return cust

    async def customer(self, team_id: str, name: str) -> tuple[Customer, list[Case]]:
        async with self.db.session() as s:
            cust = (
                await s.exec(
                    select(Customer).where(Customer.team_id == team_id, Customer.key == customer_key(name))
                )
            ).first()
            if cust is None:
                raise NotFound(
                    f"No customer called {name!r} yet.",
                    "Customers are remembered when a case names them: /recover <customer>: <what went wrong>.",
                )
            cases = (
                await s.exec(
                    select(Case).where(Case.customer_id == cust.id).order_by(col(Case.opened_at).desc())
                )
            ).all()
            return cust, list(cases)

    async def note_customer(self, team_id: str, actor: str, name: str, text: str) -> Customer:
        """Preferences and history worth knowing next time ("prefers a call, not email")."""
        note = _text(text, "note", required=True, limit=1000)
        customer_name = _text(name, "customer", required=True, limit=MAX_SHORT)
        assert customer_name is not None
        async with self.db.session() as s:
            now = self.clock.now()
            cust, _ = await self._remember_customer(s, team_id, customer_name, now)
            assert cust is not None
            cust.notes = [*cust.notes, {"text": note, "by": actor, "at": now.isoformat()}]
            s.add(cust)
            s.add(
                TimelineEvent(
                    team_id=team_id, kind="customer_noted", actor=actor, at=now,
                    data={"customer": cust.name, "note": note},
                )
            )  # fmt: skip
            await s.commit()
            return cust

    # ----- the steps -----------------------------------------------------------------------

    @staticmethod
    def _event(case: Case, kind: str, actor: str, at: datetime, **data: Any) -> TimelineEvent:
        clean = {k: (str(v) if isinstance(v, Decimal | datetime) else v) for k, v in data.items()}
        return TimelineEvent(team_id=case.team_id, case_id=case.id, kind=kind, actor=actor, at=at, data=clean)

    async def _change(
        self,
        team_id: str,
        number: int,
        actor: str,
        apply: Callable[[AsyncSession, Case, Policy, datetime], Awaitable[tuple[str, dict[str, Any]]]],
        card: Card | None = None,
    ) -> Case:
        """Load, check, change, record, commit; on a concurrent change, start over. With `card`, the
        case's detail is read after the change in the same transaction, reusing the case and policy."""
        for _ in range(_RETRIES):
            async with self.db.session() as s:
                now = self.clock.now()
                case, policy, customer = await self._step_case(s, team_id, number, actor, now)
                self._not_cancelled(case)
                kind, data = await apply(s, case, policy, now)
                touch(case, now)
                s.add(case)
                s.add(self._event(case, kind, actor, now, **data))
                await self._after(s, case, policy, kind, data, now)
                try:
                    await s.flush()
                    if card is not None:
                        card.detail = await detail_in(s, case, policy, customer, await child_counts(s, case.id or 0))
                    await s.commit()
                except StaleDataError:
                    await s.rollback()
                    continue
                return case
        raise Conflict(
            f"Case #{number} was changed by someone else at the same moment.",
            f"Look at it again with /recover show {number}.",
        )

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
        self, s: AsyncSession, team_id: str, number: int, actor: str, now: datetime
    ) -> tuple[Case, Policy, Customer | None]:
        """The case (row-locked on PostgreSQL, so concurrent steps queue instead of retrying), its
        team's policy and its customer, in one statement."""
        query = (
            select(Case, Policy, Customer)
            .outerjoin(Policy, col(Policy.team_id) == col(Case.team_id))
            .outerjoin(Customer, col(Customer.id) == col(Case.customer_id))
            .where(Case.team_id == team_id, Case.number == number)
            .with_for_update(of=Case)  # type: ignore[arg-type]
        )
        row = (await s.exec(query)).first()  # type: ignore[call-overload]
        if row is not None and row[1] is not None:
            return row[0], row[1], row[2]
        # A team's first command makes its policy (and its first user admin), as it always did.
        policy = await load_policy(s, team_id, actor, now)
        if row is None:
            raise NotFound(f"There is no case #{number} in this team.", "See open cases with /recover list.")
        return row[0], policy, row[2]

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

    async def claim(self, team_id: str, number: int, actor: str, *, card: Card | None = None) -> Case:
        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "claim it")
            if case.owner_id == actor:
                raise InvalidStep(f"You already own case #{number}.", "Nothing to do.")
            if case.owner_id is not None:
                raise InvalidStep(
                    f"Case #{number} is already owned by {mention(case.owner_id)}.",
                    f"Ask them to hand it over: /recover handover {number} @you.",
                )
            case.owner_id = actor
            case.owned_at = case.owned_at or now
            if case.status == CaseStatus.OPEN:
                case.status = CaseStatus.OWNED
            return "claimed", {"minutes_to_own": round((now - case.opened_at).total_seconds() / 60, 1)}

        return await self._change(team_id, number, actor, apply, card)

    async def handover(self, team_id: str, number: int, actor: str, to: str, *, card: Card | None = None) -> Case:
        target = _user(to)
        if not target:
            raise BadInput("Who should own it?", f"Usage: /recover handover {number} @person")

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "hand it over")
            self._needs_owner(case, "hand it over")
            if actor != case.owner_id and actor not in p.admins:
                raise NotAllowed(
                    f"Only the owner ({mention(case.owner_id)}) or an admin can hand case #{number} over.",
                    "Ask the owner to hand it to you.",
                )
            if target == case.owner_id:
                raise InvalidStep(f"{mention(target)} already owns case #{number}.", "Nothing to do.")
            previous = case.owner_id
            case.owner_id = target
            return "handed_over", {"from": previous, "to": target}

        case = await self._change(team_id, number, actor, apply, card)
        await self._tell_user(
            case, target, "handover", f"{mention(actor)} handed case #{number} to you: {case.problem}"
        )
        return case

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
        words_text = _text(words, "apology", limit=1000)

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
        gesture_text = _text(gesture, "gesture", required=True, limit=120)
        assert gesture_text is not None
        note_text = _text(note, "note", limit=1000)
        out: dict[str, Any] = {}

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "grant compensation")
            self._needs_owner(case, "grant compensation")
            if case.status == CaseStatus.RESOLVED:
                raise InvalidStep(
                    f"Case #{number} is resolved, so compensation is settled.",
                    "If the customer is not satisfied, answer the follow-up 'not satisfied' to reopen work.",
                )
            known = find_gesture(p, gesture_text)
            name = known["name"] if known else gesture_text
            if amount is None or str(amount).strip() == "":
                if known is None:
                    raise BadInput(
                        f"{gesture_text!r} is not in the catalogue, so I need its value.",
                        f"Add the amount: /recover grant {number} {gesture_text} 25",
                        field="amount",
                    )
                value = parse_amount(known["value"], p.currency)
            else:
                value = parse_amount(amount, p.currency)
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
                return "granted", {
                    "gesture": name,
                    "amount": value,
                    "currency": p.currency,
                    "within_authority": True,
                }
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
            out["approval"] = req
            out["approvers"] = approvers
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
            for approver in out["approvers"]:
                await self._tell_user(
                    case, approver, "approval_request",
                    f"{mention(actor)} asks to give {approval.gesture} "
                    f"({format_amount(from_minor(approval.amount_minor, approval.currency), approval.currency)}) "
                    f"on case #{number} ({case.problem}). Approve or deny: /recover approve {approval.id} "
                    f"or /recover deny {approval.id} <reason>.",
                    approval_id=approval.id,
                )  # fmt: skip
        return GrantOutcome(out.get("grant"), approval, out["message"])

    # ----- approvals -----------------------------------------------------------------------

    async def pending_approvals(self, team_id: str) -> list[ApprovalRequest]:
        async with self.db.session() as s:
            rows = await s.exec(
                select(ApprovalRequest)
                .where(ApprovalRequest.team_id == team_id, ApprovalRequest.status == ApprovalStatus.PENDING)
                .order_by(col(ApprovalRequest.requested_at))
            )
            return list(rows.all())

    async def decide(
        self, team_id: str, approval_id: int, actor: str, approve: bool, note: str | None = None, *,
        card: Card | None = None,
    ) -> tuple[ApprovalRequest, Case]:  # fmt: skip
        """Only an approver decides, once; the wait is recorded with the outcome."""
        note_text = _text(note, "note", limit=1000)
        for _ in range(_RETRIES):
            async with self.db.session() as s:
                now = self.clock.now()
                policy = await load_policy(s, team_id, actor, now)
                req, case = await _request_and_case(s, team_id, approval_id)
                if not may_approve(policy, actor):
                    who = ", ".join(mention(a) for a in approvers_of(policy))
                    backups = ", ".join(mention(a) for a in backups_of(policy))
                    raise NotAllowed(
                        "Only an approver can answer this request.", f"Approvers: {who}; backups: {backups}."
                    )
                if actor == req.requested_by:
                    raise NotAllowed(
                        "You can't answer your own request; that is what the approval is for.",
                        "Another approver must answer it; an admin adds one with /recover policy approver add @name.",
                    )
                if req.status != ApprovalStatus.PENDING:
                    raise InvalidStep(
                        f"Request {approval_id} was already {req.status.value} by {mention(req.decided_by)}.",
                        "Nothing more to do.",
                    )
                if approve:
                    self._not_closed(case, "approve compensation on it")
                req.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.DENIED
                req.decided_by, req.decided_at, req.decision_note = actor, now, note_text
                s.add(req)
                if approve:
                    s.add(
                        Grant(
                            team_id=team_id, case_id=case.id or 0, granted_by=req.requested_by,
                            gesture=req.gesture, amount_minor=req.amount_minor, currency=req.currency,
                            within_authority=False, approval_id=req.id, granted_at=now,
                        )
                    )  # fmt: skip
                touch(case, now)
                s.add(case)
                wait = round((now - req.requested_at).total_seconds() / 60, 1)
                s.add(
                    self._event(
                        case, "approved" if approve else "denied", actor, now, approval_id=req.id,
                        gesture=req.gesture, amount=from_minor(req.amount_minor, req.currency),
                        currency=req.currency, wait_minutes=wait, note=note_text,
                    )
                )  # fmt: skip
                await self._after(
                    s, case, policy, "approved" if approve else "denied", {"approval_id": req.id}, now
                )
                try:
                    await s.flush()
                    await self._card_in(s, case, policy, card)
                    await s.commit()
                except StaleDataError:
                    await s.rollback()
                    continue
                amount = format_amount(from_minor(req.amount_minor, req.currency), req.currency)
                verdict = "approved" if approve else "denied"
                reason = f" ({note_text})" if note_text else ""
                await self._tell_user(
                    case, req.requested_by, "approval_decided",
                    f"{mention(actor)} {verdict} {req.gesture} ({amount}) on case #{case.number}{reason}.",
                    approval_id=req.id, approved=approve,
                )  # fmt: skip
                return req, case
        raise Conflict("Someone answered this request at the same moment.", "Look at the case again.")

    @staticmethod
    async def _card_in(s: AsyncSession, case: Case, policy: Policy, card: Card | None) -> None:
        """Fill `card` (when asked) with the case's detail as this transaction leaves it."""
        if card is None:
            return
        customer = await s.get(Customer, case.customer_id) if case.customer_id else None
        card.detail = await detail_in(s, case, policy, customer, await child_counts(s, case.id or 0))

    # ----- next steps, flags ---------------------------------------------------------------

    async def add_step(
        self, team_id: str, number: int, actor: str, text: str, owner: str | None = None,
        due: datetime | None = None, *, card: Card | None = None,
    ) -> NextStep:  # fmt: skip
        step_text = _text(text, "next step", required=True, limit=1000)
        made: list[NextStep] = []

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "add a next step")
            count = (await s.exec(select(func.count()).where(NextStep.case_id == case.id))).one()
            who = _user(owner) if owner else (case.owner_id or actor)
            step = NextStep(
                team_id=team_id, case_id=case.id or 0, position=int(count) + 1, text=step_text or "",
                owner_id=who, due_at=due, created_by=actor, created_at=now,
            )  # fmt: skip
            s.add(step)
            made.append(step)
            return "step_added", {"position": step.position, "text": step_text, "owner": who, "due_at": due}

        await self._change(team_id, number, actor, apply, card)
        return made[-1]

    async def complete_step(
        self, team_id: str, number: int, position: int, actor: str, *, card: Card | None = None
    ) -> NextStep:
        done: list[NextStep] = []

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            step = (
                await s.exec(
                    select(NextStep).where(NextStep.case_id == case.id, NextStep.position == position)
                )
            ).first()
            if step is None:
                raise NotFound(
                    f"Case #{number} has no next step {position}.",
                    f"See its steps with /recover show {number}.",
                )
            if step.done:
                raise InvalidStep(f"Step {position} of case #{number} is already done.", "Nothing to do.")
            step.done, step.done_at, step.done_by = True, now, actor
            s.add(step)
            done.append(step)
            return "step_done", {"position": position, "text": step.text}

        await self._change(team_id, number, actor, apply, card)
        return done[-1]

    async def flag(self, team_id: str, number: int, actor: str, note: str, *, card: Card | None = None) -> Case:
        note_text = _text(note, "note", required=True, limit=1000)

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            s.add(
                ImprovementFlag(
                    team_id=team_id,
                    case_id=case.id or 0,
                    flagged_by=actor,
                    note=note_text or "",
                    flagged_at=now,
                )
            )
            return "flagged", {"note": note_text}

        return await self._change(team_id, number, actor, apply, card)

    # ----- resolution and follow-up --------------------------------------------------------

    async def resolve(
        self, team_id: str, number: int, actor: str, summary: str, root_cause: str, *, card: Card | None = None
    ) -> Case:
        summary_text = _text(summary, "resolution", required=True)
        cause = _text(root_cause, "root cause", limit=500)
        if cause is None:
            raise BadInput(
                "The root cause is missing; it is what the weekly digest learns from.",
                f"Add it after a '|': /recover resolve {number} <what you did> | <root cause>",
                field="root_cause",
            )

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "resolve it")
            if case.status == CaseStatus.RESOLVED:
                raise InvalidStep(
                    f"Case #{number} is already resolved; it waits for the customer's follow-up.",
                    f"Record it with /recover followup {number} satisfied|not <score 1-5>.",
                )
            self._needs_owner(case, "resolve it")
            if actor != case.owner_id:
                raise NotAllowed(
                    f"Only the owner ({mention(case.owner_id)}) can resolve case #{number}.",
                    f"Ask them, or ask for a handover: /recover handover {number} @you.",
                )
            if case.apologised_at is None:
                raise InvalidStep(
                    f"No apology is recorded on case #{number}; a recovery starts with one.",
                    f"Record it first: /recover apologise {number} in_person|phone|email|chat [words].",
                )
            pending = (
                await s.exec(
                    select(func.count()).where(
                        ApprovalRequest.case_id == case.id, ApprovalRequest.status == ApprovalStatus.PENDING
                    )
                )
            ).one()
            if pending:
                req = (
                    await s.exec(
                        select(ApprovalRequest).where(
                            ApprovalRequest.case_id == case.id, ApprovalRequest.status == ApprovalStatus.PENDING
                        )
                    )
                ).first()
                assert req is not None
                raise InvalidStep(
                    f"Case #{number} has a compensation request waiting for an approver "
                    f"(request {req.id}, {req.gesture}).",
                    "Resolve it once the approver has answered, so you promise only what was agreed, "
                    f"or withdraw the request: /recover withdraw {req.id}.",
                    offer=(f"Withdraw request {req.id}", f"withdraw {req.id}"),
                )
            case.status = CaseStatus.RESOLVED
            case.resolved_at, case.resolution, case.root_cause = now, summary_text, cause
            case.followup_due_at = now + timedelta(hours=p.followup_after_hours)
            hours = round((now - case.opened_at).total_seconds() / 3600, 2)
            return "resolved", {
                "resolution": summary_text, "root_cause": cause, "hours_to_resolve": hours,
                "followup_due_at": case.followup_due_at,
            }  # fmt: skip

        return await self._change(team_id, number, actor, apply, card)

    async def answer_followup(
        self, team_id: str, number: int, actor: str, satisfied: bool, score: int, won_back: bool | None = None,
        *, by_customer: bool = False, comment: str | None = None,
        guard: Callable[[AsyncSession, Case, datetime], Awaitable[None]] | None = None,
        card: Card | None = None,
    ) -> Case:  # fmt: skip
        """Satisfied closes the case; not satisfied sends it back to its owner to work on.

        `by_customer`: the customer answered themselves (the feedback page). Their word is
        recorded whatever the case's state: on a resolved case it closes or reopens work as a
        staff answer does; on a closed case a "not satisfied" reopens it; on a case still being
        worked it is recorded and the work goes on. `guard` runs first in the same transaction
        (the feedback link's single-use UPDATE), so the answer and the used link commit together.
        """
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise BadInput(
                f"{score!r} is not a score.", "Give the customer's score from 1 to 5.", field="score"
            )
        comment_text = _text(comment, "comment", limit=MAX_TEXT)

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            if guard is not None:
                await guard(s, case, now)
            if by_customer:
                return self._customer_verdict(case, now, satisfied, score, won_back, comment_text)
            if case.status != CaseStatus.RESOLVED:
                state = case.status.value
                raise InvalidStep(
                    f"Case #{number} is {state}; the follow-up comes after it is resolved.",
                    f"Resolve it first: /recover resolve {number} <what you did> | <root cause>."
                    if state != "closed"
                    else f"Reopen it with /recover reopen {number} if there is more to do.",
                )
            case.followup_at, case.satisfied, case.score, case.won_back = now, satisfied, score, won_back
            case.followup_source = "staff"
            case.followup_due_at = None
            if satisfied:
                case.status, case.closed_at = CaseStatus.CLOSED, now
            else:
                case.status = CaseStatus.OWNED
            return "followup_answered", {
                "satisfied": satisfied, "score": score, "won_back": won_back, "source": "staff",
            }  # fmt: skip

        case = await self._change(team_id, number, actor, apply, card)
        if by_customer and case.owner_id:
            verdict = "satisfied" if satisfied else "not satisfied"
            after = {
                CaseStatus.CLOSED: f"case #{number} is closed.",
                CaseStatus.OWNED: f"case #{number} is back with you.",
            }.get(case.status, f"case #{number} stays {case.status.value}.")
            said = f" They wrote: “{comment_text}”" if comment_text else ""
            await self._tell_user(
                case, case.owner_id, "customer_feedback",
                f"{case.customer_name or 'The customer'} answered the follow-up themselves: {verdict}, "
                f"{score}/5; {after}{said}",
                satisfied=satisfied, score=score,
            )  # fmt: skip
        return case

    @staticmethod
    def _customer_verdict(
        case: Case, now: datetime, satisfied: bool, score: int, won_back: bool | None, comment: str | None
    ) -> tuple[str, dict[str, Any]]:
        was = case.status
        case.followup_at, case.satisfied, case.score, case.won_back = now, satisfied, score, won_back
        case.followup_source = "customer"
        if was == CaseStatus.RESOLVED:
            case.followup_due_at = None
            if satisfied:
                case.status, case.closed_at = CaseStatus.CLOSED, now
            else:
                case.status = CaseStatus.OWNED
        elif was == CaseStatus.CLOSED and not satisfied:
            case.status = CaseStatus.OWNED if case.owner_id else CaseStatus.OPEN
            case.closed_at, case.reopened_count = None, case.reopened_count + 1
        return "followup_answered", {
            "satisfied": satisfied, "score": score, "won_back": won_back, "source": "customer",
            "comment": comment, "status_before": was.value,
        }  # fmt: skip

    async def reopen(
        self, team_id: str, number: int, actor: str, reason: str | None = None, *, card: Card | None = None
    ) -> Case:
        reason_text = _text(reason, "reason", limit=1000)

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            if case.status != CaseStatus.CLOSED:
                raise InvalidStep(
                    f"Case #{number} is {case.status.value}, not closed.", "It is still being worked."
                )
            case.status = CaseStatus.OWNED if case.owner_id else CaseStatus.OPEN
            case.closed_at, case.reopened_count = None, case.reopened_count + 1
            # The old verdict stays in the timeline; the card, CSV, stats and leaderboard use the latest.
            superseded = {"satisfied": case.satisfied, "score": case.score, "won_back": case.won_back}
            case.followup_at, case.satisfied, case.score, case.won_back = None, None, None, None
            return "reopened", {"reason": reason_text, "superseded": superseded}

        return await self._change(team_id, number, actor, apply, card)

    # ----- records kept clean ----------------------------------------------------------------

    async def cancel(
        self, team_id: str, number: int, actor: str, reason: str, duplicate_of: int | None = None, *,
        card: Card | None = None,
    ) -> Case:  # fmt: skip
        """Opened by mistake or twice: the case leaves every figure and nudge, stays in the timeline."""
        reason_text = _text(reason, "reason", required=True, limit=500)

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            if actor not in (case.opened_by, case.owner_id) and actor not in p.admins:
                raise NotAllowed(
                    f"Only whoever opened case #{number} ({mention(case.opened_by)}), its owner or an admin "
                    "can cancel it.",
                    "Ask one of them; a case that is real but finished is resolved, not cancelled.",
                )
            if duplicate_of is not None:
                if duplicate_of == number:
                    raise BadInput("A case can't be a duplicate of itself.", "Name the case that carries on.")
                other = await self.get_case(s, team_id, duplicate_of)
                if other.status == CaseStatus.CANCELLED:
                    raise InvalidStep(
                        f"Case #{duplicate_of} is cancelled itself.", "Name the case that carries on."
                    )
            withdrawn = []
            for req in (
                await s.exec(
                    select(ApprovalRequest).where(
                        ApprovalRequest.case_id == case.id, ApprovalRequest.status == ApprovalStatus.PENDING
                    )
                )
            ).all():
                req.status, req.decided_by, req.decided_at = ApprovalStatus.WITHDRAWN, actor, now
                req.decision_note = "case cancelled"
                s.add(req)
                withdrawn.append(req.id)
            before = case.status.value
            case.status, case.cancelled_at = CaseStatus.CANCELLED, now
            case.cancel_reason, case.duplicate_of = reason_text, duplicate_of
            case.followup_due_at = None
            return "cancelled", {
                "reason": reason_text, "duplicate_of": duplicate_of, "was": before, "withdrawn": withdrawn,
            }  # fmt: skip

        return await self._change(team_id, number, actor, apply, card)

    async def recategorise(
        self, team_id: str, number: int, actor: str, category: str, *, card: Card | None = None
    ) -> Case:
        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            new = require_category(p, category)
            if new == case.category:
                raise InvalidStep(f"Case #{number} is already in {new}.", "Nothing to do.")
            before, case.category = case.category, new
            return "recategorised", {"from": before, "to": new}

        return await self._change(team_id, number, actor, apply, card)

    async def withdraw(
        self, team_id: str, approval_id: int, actor: str, *, card: Card | None = None
    ) -> tuple[ApprovalRequest, Case]:
        """The requester takes back a request nobody has answered; the approvers stop being asked."""
        for _ in range(_RETRIES):
            async with self.db.session() as s:
                now = self.clock.now()
                policy = await load_policy(s, team_id, actor, now)
                req, case = await _request_and_case(s, team_id, approval_id)
                if actor != req.requested_by:
                    raise NotAllowed(
                        f"Only {mention(req.requested_by)}, who asked, can withdraw request {approval_id}.",
                        "An approver answers it instead: /recover approve or /recover deny.",
                    )
                if req.status != ApprovalStatus.PENDING:
                    raise InvalidStep(f"Request {approval_id} is already {req.status.value}.", "Nothing to do.")
                req.status, req.decided_by, req.decided_at = ApprovalStatus.WITHDRAWN, actor, now
                s.add(req)
                touch(case, now)
                s.add(case)
                data = {"approval_id": req.id, "gesture": req.gesture}
                s.add(self._event(case, "withdrawn", actor, now, **data))
                await self._after(s, case, policy, "withdrawn", data, now)
                try:
                    await s.flush()
                    await self._card_in(s, case, policy, card)
                    await s.commit()
                except StaleDataError:
                    await s.rollback()
                    continue
                for approver in [a for a in approvers_of(policy) if a != actor]:
                    await self._tell_user(
                        case, approver, "approval_withdrawn",
                        f"{mention(actor)} withdrew request {req.id} ({req.gesture}) on case #{case.number}; "
                        "nothing to answer.", approval_id=req.id,
                    )  # fmt: skip
                return req, case
        raise Conflict("Someone answered this request at the same moment.", "Look at the case again.")

    async def write_card_ref(self, team_id: str, number: int, patch: dict[str, Any]) -> None:
        """Merge `patch` into the adapter's bookkeeping in one UPDATE (see `card_ref.py`)."""
        await self._merge_card_ref(and_(col(Case.team_id) == team_id, col(Case.number) == number), patch)

    async def write_card_ref_by_id(self, case_id: int, patch: dict[str, Any]) -> None:
        """`write_card_ref` for a caller that knows the case's id."""
        await self._merge_card_ref(col(Case.id) == case_id, patch)

    async def _merge_card_ref(self, which: Any, patch: dict[str, Any]) -> None:
        async with self.db.session() as s:
            await s.exec(merge_card_ref(s.bind.dialect.name, which, patch))
            await s.commit()

    async def set_card_ref(self, team_id: str, number: int, ref: dict[str, Any]) -> None:
        """Where an adapter posted the case card, so it can update it in place later."""
        await self.write_card_ref(team_id, number, ref)

    async def update_card_ref(
        self, team_id: str, number: int, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        """Read-modify-write of the adapter's bookkeeping: the row is locked for it (PostgreSQL; SQLite's
        writer turn does the same), and the case's version is left alone so no step has to retry."""
        async with self.db.session() as s:
            q = select(Case.id, Case.card_ref).where(col(Case.team_id) == team_id, col(Case.number) == number)
            if s.bind.dialect.name == "postgresql":
                q = q.with_for_update()
            row = (await s.exec(q)).first()
            if row is None:
                return
            await s.exec(  # type: ignore[call-overload]
                update(Case).where(col(Case.id) == row[0]).values(card_ref=change(dict(row[1] or {})))
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            await s.commit()

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
