"""Races a busy channel produces: many clicks at once must still respect the rules."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from teambot.bootstrap import Container
from teambot.core.cases.queries import case_detail
from teambot.core.errors import InvalidStep

T, CH = "T1", "C1"


async def test_fifty_simultaneous_claims_make_one_owner(container: Container) -> None:
    s = container.service
    await s.policy(T, "admin")
    n = (await s.open_case(T, CH, "alice", "Flight rebooked on the wrong day")).case.number
    results = await asyncio.gather(*(s.claim(T, n, f"user{i}") for i in range(50)), return_exceptions=True)
    owners = [r.owner_id for r in results if not isinstance(r, BaseException)]
    refusals = [r for r in results if isinstance(r, BaseException)]
    assert len(owners) == 1 and len(refusals) == 49
    assert all(
        isinstance(r, InvalidStep) and f"already owned by <@{owners[0]}>" in r.message for r in refusals
    )
    detail = await case_detail(container.db, T, n)
    assert detail.case.owner_id == owners[0]
    assert [e.kind for e in detail.events].count("claimed") == 1


async def test_concurrent_grants_by_one_person_cannot_exceed_their_authority(container: Container) -> None:
    s = container.service
    await s.policy(T, "admin")
    n = (await s.open_case(T, CH, "alice", "Wrong size delivered")).case.number
    await s.claim(T, n, "bob")
    outcomes = await asyncio.gather(*(s.grant(T, n, "bob", "Discount", "20") for _ in range(8)))
    given = [o.grant for o in outcomes if o.grant is not None]
    asked = [o.approval for o in outcomes if o.approval is not None]
    assert len(given) == 2 and len(asked) == 6  # 2 x 20 fits in 50; a third would make 60
    detail = await case_detail(container.db, T, n)
    assert detail.total_granted == Decimal("40.00") <= Decimal(50)
