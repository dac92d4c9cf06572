"""Database races the load run found on PostgreSQL, pinned down small."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from teambot.bootstrap import Container
from teambot.core.cases.models import Case, Customer


async def test_a_redelivery_racing_its_original_for_a_new_customer_opens_one_case(
    container: Container,
) -> None:
    """Both insert the new customer; the loser's savepoint must absorb the clash, not its transaction."""
    s = container.service
    await s.policy("T1", "admin")
    for round_ in range(5):
        name = f"Guest {round_}"
        results = await asyncio.gather(
            *(s.open_case("T1", "C1", "U1", "Cold soup", customer=name, source_ref=f"slack:cmd:t{round_}")
              for _ in range(4)),
            return_exceptions=True,
        )  # fmt: skip
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert len({r.case.id for r in results if not isinstance(r, BaseException)}) == 1
    # Different commands naming the same new customer at once: one customer, every case opened.
    results = await asyncio.gather(
        *(s.open_case("T1", "C1", f"U{i}", f"Problem {i}", customer="Mrs Patel") for i in range(6)),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    async with container.db.session() as sess:
        cases = (await sess.exec(select(Case))).all()
        patels = (await sess.exec(select(Customer).where(Customer.key == "mrs patel"))).all()
    assert len(cases) == 5 + 6 and len(patels) == 1
