"""Money is never misread, end to end through the shared grammar and the core (issue 13):
amounts reach parse_amount whatever mark they carry, each grant keeps its own currency, and a
change of the team's currency never adds one currency into another (card, digest, CSV, authority).
SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teambot.bootstrap import Container
from teambot.core.cases.queries import case_detail
from teambot.core.cases.summary import case_facts
from teambot.core.commands.context import Context
from teambot.core.commands.grammar import parse
from teambot.core.commands.replies import ErrorReply, Reply
from teambot.core.errors import DomainError
from teambot.core.insights.digest import compute, digest_text
from teambot.core.insights.export import export_csv
from teambot.core.money import from_minor
from teambot.core.policy.rules import limit_for
from teambot.core.policy.settings import PolicyChange
from tests.helpers import FakeClock

T, CH, ADMIN = "T1", "C1", "admin"


def ctx(user: str) -> Context:
    return Context(T, CH, user)


async def run(c: Container, text: str, user: str = "bob") -> Reply:
    return await c.commands.run_text(text, ctx(user))


async def owned_case(c: Container, owner: str = "bob") -> int:
    await c.service.policy(T, ADMIN)
    opened = await c.service.open_case(T, CH, "alice", "Cold soup")
    await c.service.claim(T, opened.case.number, owner)
    await c.service.apologise(T, opened.case.number, owner, "phone")
    return opened.case.number


async def given_amounts(c: Container, n: int) -> list[tuple[str, str]]:
    detail = await case_detail(c.db, T, n)
    return [(str(from_minor(g.amount_minor, g.currency)), g.currency) for g in detail.grants]


@pytest.mark.parametrize(
    ("tail", "gesture", "amount"),
    [
        ("Coffee 4,50", "Coffee", "4,50"),
        ("Tea £5", "Tea", "£5"),
        ("Tea EUR 5", "Tea", "EUR 5"),
        ("Tea 5 EUR", "Tea", "5 EUR"),
        ("Tea 5 eur", "Tea", "5 eur"),
        ("Tea US$5", "Tea", "US$5"),
        ("Tea CA$5", "Tea", "CA$5"),
        ("Tea ¥500", "Tea", "¥500"),
        ("Tea 5€", "Tea", "5€"),
        ("Tea € 5", "Tea", "€ 5"),
        ("Gift card R$ 5", "Gift card", "R$ 5"),
        ("Tea 1.234,56", "Tea", "1.234,56"),
        ("Waived fee", "Waived fee", None),
        ("Drinks for all", "Drinks for all", None),  # "all" is a currency code only in capitals
    ],
)
def test_the_grammar_passes_every_amount_to_the_money_reader(tail: str, gesture: str, amount: str | None) -> None:
    intent = parse(f"grant 1 {tail}")
    assert (intent.gesture, intent.amount) == (gesture, amount)  # type: ignore[attr-defined]


async def test_typed_amounts_in_a_euro_team(container: Container) -> None:
    c = container
    await c.service.policy(T, ADMIN)
    await c.service.change_policy(T, ADMIN, PolicyChange("currency", ["EUR"]))
    await c.service.change_policy(T, ADMIN, PolicyChange("role", ["@bob", "manager"]))  # unlimited
    n = await owned_case(c)
    for typed in ("Coffee 4,50", "Cake 5€", "Juice EUR 5", "Water 5 eur", "Wine € 12.5", "Dinner 1.234,56"):
        reply = await run(c, f"grant {n} {typed}")
        assert not isinstance(reply, ErrorReply), (typed, reply)
    assert await given_amounts(c, n) == [
        ("4.50", "EUR"), ("5.00", "EUR"), ("5.00", "EUR"), ("5.00", "EUR"), ("12.50", "EUR"), ("1234.56", "EUR"),
    ]  # fmt: skip
    for typed, says in [
        ("Tea £5", "£5 is in GBP but this team records EUR"),
        ("Tea US$5", "US$5 is in USD but this team records EUR"),
        ("Tea ¥500", "but this team records EUR"),
        ("Tea 5 GBP", "5 GBP is in GBP but this team records EUR"),
        ("Tea 1,000", "Is 1,000 meant as 1000 or as 1.00?"),
        ("Tea 10,999", "has more decimals than EUR allows"),
        ("Tea 5kr", "'5kr' is not an amount"),  # refused, never read as euros
        ("€5", "Name the gesture as well as the amount"),
    ]:
        reply = await run(c, f"grant {n} {typed}")
        assert isinstance(reply, ErrorReply) and says in reply.text, (typed, reply)
    assert len(await given_amounts(c, n)) == 6  # nothing refused was recorded


async def test_a_currency_change_never_mixes_currencies(container: Container, clock: FakeClock) -> None:
    c, s = container, container.service
    await s.policy(T, ADMIN)
    await s.change_policy(T, ADMIN, PolicyChange("role", ["@bob", "lead"]))  # 250 per case
    n = await owned_case(c)
    await s.grant(T, n, "bob", "Waived fee", "25")
    await s.grant(T, n, "bob", "Room upgrade", "$80")
    msg = await s.change_policy(T, ADMIN, PolicyChange("currency", ["EUR"]))
    assert "Limits and gesture values are now read in EUR: member €50.00, lead €250.00" in msg
    assert "Grants already given in USD stay in USD" in msg

    detail = await case_detail(c.db, T, n)
    comp = dict(case_facts(detail, clock.now()))["Compensation"]
    assert comp.startswith("$105.00 given (USD from before the team's currency became EUR)"), comp
    assert "€105.00" not in comp

    # Authority is counted in euros only: the $105 earlier is kept apart, and said so.
    out = await s.grant(T, n, "bob", "Spa", "200")
    assert out.grant is not None and "You can give up to €50.00 more here" in out.message
    assert "not counting $105.00 given in USD before the team's currency changed" in out.message
    detail = await case_detail(c.db, T, n)
    assert detail.authority_left("bob") == 50
    comp = dict(case_facts(detail, clock.now()))["Compensation"]
    assert comp.startswith("€200.00 + $105.00 given"), comp
    out = await s.grant(T, n, "bob", "Dinner", "60")
    assert out.grant is None and out.approval is not None
    assert "have given €200.00 here (not counting $105.00 given in USD" in out.message
    assert out.approval.currency == "EUR"

    # The digest: euro figures only, dollars beside them, never added.
    d = await compute(c.db, T, clock.now().date() - timedelta(days=clock.now().weekday()), clock.now(), preview=True)
    assert (d.currency, d.this.comp_total_minor, d.this.comp_other_minor) == ("EUR", 20000, {"USD": 10500})
    text = digest_text(d)
    assert "Compensation: €200.00" in text and "Also given in an earlier currency, not added in: $105.00." in text

    # The CSV: per currency, in the same order.
    out_csv = io.StringIO()
    await export_csv(c.db, out_csv, T)
    row = out_csv.getvalue().splitlines()[1].split(",")
    assert "25.00+80.00" not in row and "105.00;200.00" in row and "USD;EUR" in row


async def test_changing_currency_with_amounts_an_admin_set(container: Container) -> None:
    s = container.service
    await s.policy(T, ADMIN)
    await s.change_policy(T, ADMIN, PolicyChange("limit", ["lead", "300"]))
    with pytest.raises(DomainError) as err:
        await s.change_policy(T, ADMIN, PolicyChange("currency", ["EUR"]))
    assert "these were set in USD: lead 300" in err.value.message
    assert "/recover policy currency EUR confirm" in (err.value.hint or "")
    assert (await s.policy(T, ADMIN)).currency == "USD"  # nothing changed
    msg = await s.change_policy(T, ADMIN, PolicyChange("currency", ["EUR", "confirm"]))
    assert "lead €300.00" in msg and (await s.policy(T, ADMIN)).currency == "EUR"
    # A value the new currency can't hold is refused, confirmed or not.
    await s.change_policy(T, ADMIN, PolicyChange("gesture", ["add", "Coffee", "4,50"]))
    with pytest.raises(DomainError) as err:
        await s.change_policy(T, ADMIN, PolicyChange("currency", ["JPY", "confirm"]))
    assert "The gesture Coffee is 4.50, which JPY can't hold (0 decimals)" in err.value.message
    assert (await s.policy(T, ADMIN)).currency == "EUR"


# ----- property: a grant never exceeds the authority left, whatever the input ----------------------

amounts = st.one_of(
    st.decimals(min_value=-5, max_value=120, places=2, allow_nan=False).map(str),
    st.sampled_from(["4,50", "€5", "5€", "EUR 5", "1,000", "10.999", "$5", "£5", "nan", "1e2", "", "  ", "49,99"]),
    st.text(alphabet="0123456789.,€$ -eE", max_size=8),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(amounts, min_size=1, max_size=4))
async def test_a_grant_never_exceeds_the_authority_left(container: Container, steps: list[str]) -> None:
    c, s = container, container.service
    await s.policy(T, ADMIN)
    policy = await s.change_policy(T, ADMIN, PolicyChange("currency", ["EUR"]))
    assert policy
    opened = await s.open_case(T, CH, "alice", "Cold soup")
    n = opened.case.number
    await s.claim(T, n, "bob")
    for typed in steps:
        before = (await case_detail(c.db, T, n)).authority_left("bob")
        try:
            out = await s.grant(T, n, "bob", "Gesture", typed or None)
        except DomainError:
            continue
        if out.grant is not None:
            assert before is not None and from_minor(out.grant.amount_minor, "EUR") <= before
    detail = await case_detail(c.db, T, n)
    within = sum(from_minor(g.amount_minor, g.currency) for g in detail.grants if g.within_authority)
    limit = limit_for(detail.policy, "bob")
    assert limit is not None and within <= limit
    assert all(g.currency == "EUR" for g in detail.grants)
