"""Opening a case: the texts checked, the customer remembered, the number counted, one INSERT."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import Integer, bindparam, column, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import TextClause
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import MAX_SHORT, RETRIES, CaseSteps, checked_text, customer_key
from teambot.core.cases.kinds import SEVERITIES
from teambot.core.cases.models import Case, CaseStatus, Customer, TimelineEvent
from teambot.core.cases.queries import CaseDetail
from teambot.core.customer_loop.email_address import validate_email
from teambot.core.errors import BadInput, Conflict, NotFound
from teambot.core.i18n import gettext as _
from teambot.core.i18n import require_language
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import load_policy, require_category, tag_category


@dataclass
class OpenedCase:
    case: Case
    customer: Customer | None
    earlier_cases: list[Case] = field(default_factory=list)
    duplicate: bool = False  # a redelivery of an open we already did
    # The new case's card, built from what opening held (nothing is read again); None on a duplicate.
    detail: CaseDetail | None = None


# Counting a team's cases up, the policy row returned (an ORM UPDATE: SQLAlchemy compiles it once).
_BUMP = (
    update(Policy)
    .where(col(Policy.team_id) == bindparam("team"))
    .values(case_counter=col(Policy.case_counter) + 1)
    .returning(Policy)
    .execution_options(synchronize_session=False)
)


_CUSTOMER_COLUMNS = tuple(c.name for c in Customer.__table__.c)  # type: ignore[attr-defined]


@cache
def _remember_statement() -> TextClause:
    """`INSERT ... ON CONFLICT (team_id, key) DO UPDATE ... RETURNING` the customer row, as a typed
    text() compiled once (the dialects' on_conflict_do_update() is compiled anew on every use)."""
    table = Customer.__table__  # type: ignore[attr-defined]
    cols = [column for column in table.c if column.name != "id"]
    names = ", ".join(f'"{column.name}"' for column in cols)
    values = ", ".join(f":{column.name}" for column in cols)
    back = ", ".join(f'"{name}"' for name in _CUSTOMER_COLUMNS)
    sql = (
        f'INSERT INTO customers ({names}) VALUES ({values}) ON CONFLICT (team_id, "key") '
        f"DO UPDATE SET email = COALESCE(excluded.email, customers.email) RETURNING {back}, "
        "(SELECT COUNT(*) FROM cases WHERE cases.customer_id = customers.id) AS known_cases"
    )
    typed = text(sql).bindparams(*(bindparam(c.name, type_=c.type) for c in cols))
    return typed.columns(*table.c, column("known_cases", Integer))


@dataclass
class _Opening:
    """What an open was asked for, and its texts as checked (the problem, wish and category again
    in the transaction when they are tagged against the team's vocabulary)."""

    team_id: str
    channel_id: str
    actor: str
    platform: str
    problem: str
    wants: str | None
    own: bool
    source_ref: str | None
    direct: bool
    tagging: bool
    problem_text: str | None = None
    wants_text: str | None = None
    category_text: str | None = None
    customer_name: str | None = None
    email: str | None = None
    severity: str = "medium"
    language: str | None = None


class NearMissCategory(Exception):
    """`#delivry` in a quick-open text: close to one of the team's categories; nothing was opened."""

    def __init__(self, typed: str, meant: str) -> None:
        super().__init__(typed)
        self.typed, self.meant = typed, meant


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


class OpeningSteps(CaseSteps):
    """Opening a case, and the customers it names."""

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
        order = _Opening(
            team_id, channel_id, actor, platform, problem, wants, own, source_ref, direct, tagging
        )
        if not tagging:
            order.problem_text = checked_text(problem, "problem", required=True)
            order.wants_text = checked_text(wants, "wish")
        order.customer_name = checked_text(customer, "customer", limit=MAX_SHORT)
        order.email = validate_email(email) if email and email.strip() else None
        if order.email and not order.customer_name:
            order.customer_name = order.email  # the address is how the team knows this customer
        order.severity = (severity or "medium").strip().lower()
        if order.severity not in SEVERITIES:
            raise BadInput(_("%(severity)s is not a severity.") % {"severity": repr(severity)},
                           _("Use one of: %(list)s.") % {"list": ", ".join(SEVERITIES)}, field="severity")  # fmt: skip
        order.category_text = checked_text(category, "category", limit=64)
        order.language = require_language(language) if language and language.strip() else None

        # A redelivery is found by its source_ref; the unique (team_id, source_ref) refuses the second
        # INSERT anyway, so the first attempt does not look and a clash is looked up on the retry.
        look_up_source = False
        for _attempt in range(RETRIES):
            async with self.db.session() as s:
                opened = await self._open_in(s, order, look_up_source)
                if opened is not None:
                    return opened
                look_up_source = True
        raise Conflict(_("Many cases were opened at the same moment."), _("Send the command again."))

    async def _open_in(self, s: AsyncSession, order: _Opening, look_up_source: bool) -> OpenedCase | None:
        """One attempt at opening, in `s`: None when the INSERT clashed (a redelivery, or the same one
        racing us), for the retry to find it by its source_ref."""
        team_id, actor, own = order.team_id, order.actor, order.own
        now = self.clock.now()
        # The counter's UPDATE returns the whole policy row: no SELECT of it first.
        policy = await self._bump_counter(s, team_id)
        if policy is None:  # a team's first command makes its policy (and its first user admin)
            await load_policy(s, team_id, actor, now, order.platform)
            policy = await self._bump_counter(s, team_id)
            assert policy is not None
        if order.tagging:
            tagged_problem, tagged_wants, tagged_category = tag_open_text(policy, order.problem, order.wants)
            order.problem_text = checked_text(tagged_problem, "problem", required=True)
            order.wants_text = checked_text(tagged_wants, "wish")
            order.category_text = checked_text(tagged_category, "category", limit=64)
        category_value = require_category(policy, order.category_text)
        if order.source_ref and look_up_source:
            same_source = select(Case).where(Case.team_id == team_id, Case.source_ref == order.source_ref)
            existing = (await s.exec(same_source)).first()
            if existing is not None:
                return OpenedCase(existing, None, [], duplicate=True)
        customer_name = order.customer_name
        cust, earlier = await self._remember_customer(s, team_id, customer_name, now, order.email)
        case = Case(
            team_id=team_id, number=policy.case_counter, platform=order.platform, channel_id=order.channel_id,
            source_ref=order.source_ref, opened_by=actor, opened_at=now,
            customer_id=cust.id if cust else None,
            customer_name=cust.name if cust else customer_name, customer_language=order.language,
            problem=order.problem_text, wants=order.wants_text, category=category_value,
            severity=order.severity, updated_at=now,
        )  # fmt: skip
        if own:
            case.status, case.owner_id, case.owned_at = CaseStatus.OWNED, actor, now
        s.add(case)
        try:
            await s.flush()
        except IntegrityError:  # a redelivery (or the same one racing us): the retry finds it
            await s.rollback()
            return None
        events = [self._event(case, "opened", actor, now, problem=order.problem_text, customer=customer_name)]
        if own:
            events.append(self._event(case, "claimed", actor, now))
        s.add_all(events)
        await self._after(s, case, policy, "opened", {"own": own}, now)
        first = not order.direct and policy.digest_channel is None
        if first and await self._first_channel(s, team_id, order.channel_id):
            set_committed_value(policy, "digest_channel", order.channel_id)
        await s.commit()
        # The card: a new case has no grants, approvals, steps or flags yet.
        detail = CaseDetail(case=case, policy=policy, customer=cust, events=events)
        return OpenedCase(case, cust, earlier, detail=detail)

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
    async def _bump_counter(s: AsyncSession, team_id: str) -> Policy | None:
        """The team's policy with its case counter counted up, in one UPDATE ... RETURNING (the row
        lock serialises concurrent opens instead of retrying them); None when the team has none yet."""
        return (await s.exec(_BUMP, params={"team": team_id})).scalars().first()  # type: ignore[call-overload]

    async def _remember_customer(
        self, s: AsyncSession, team_id: str, name: str | None, now: datetime, email: str | None = None
    ) -> tuple[Customer | None, list[Case]]:
        """The customer, remembered in one upsert that returns the row (a newer address replaces the
        one on file), and the cases the team opened for them before (only looked up for one it knew)."""
        if not name:
            return None, []
        new = Customer(team_id=team_id, key=customer_key(name), name=name, email=email, created_at=now)
        with s.no_autoflush:
            row = (await s.exec(_remember_statement(), params=new.model_dump(exclude={"id"}))).one()  # type: ignore[call-overload]
        *fields, known_cases = row
        cust = Customer(**dict(zip(_CUSTOMER_COLUMNS, fields, strict=True)))
        make_transient_to_detached(cust)
        s.add(cust)  # a detached object with its key: persistent, no SQL
        if not known_cases:  # new, or named before without a case: nothing earlier to look up
            return cust, []
        earlier = list(
            (
                await s.exec(
                    select(Case).where(Case.customer_id == cust.id).order_by(col(Case.opened_at).desc())
                )
            ).all()
        )
        return cust, earlier

    async def customer(self, team_id: str, name: str) -> tuple[Customer, list[Case]]:
        async with self.db.session() as s:
            cust = (
                await s.exec(
                    select(Customer).where(Customer.team_id == team_id, Customer.key == customer_key(name))
                )
            ).first()
            if cust is None:
                raise NotFound(
                    _("No customer called %(name)s yet.") % {"name": repr(name)},
                    _("Customers are remembered when a case names them: /recover <customer>: <what went wrong>."),
                )
            cases = (
                await s.exec(
                    select(Case).where(Case.customer_id == cust.id).order_by(col(Case.opened_at).desc())
                )
            ).all()
            return cust, list(cases)

    async def note_customer(self, team_id: str, actor: str, name: str, text: str) -> Customer:
        """Preferences and history worth knowing next time ("prefers a call, not email")."""
        note = checked_text(text, "note", required=True, limit=1000)
        customer_name = checked_text(name, "customer", required=True, limit=MAX_SHORT)
        assert customer_name is not None
        async with self.db.session() as s:
            now = self.clock.now()
            cust, _new = await self._remember_customer(s, team_id, customer_name, now)
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
