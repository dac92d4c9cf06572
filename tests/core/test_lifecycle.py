"""A whole case from open to closed, on both databases."""

from __future__ import annotations

from decimal import Decimal

from teambot.bootstrap import Container
from teambot.core.cases.models import CaseStatus
from teambot.core.cases.queries import case_detail
from tests.helpers import FakeClock

T, CH = "T1", "C1"


async def test_case_from_open_to_closed(container: Container, clock: FakeClock) -> None:
    s = container.service
    opened = await s.open_case(T, CH, "alice", "Soup was cold", customer="Mr Jones", wants="a hot soup")
    assert opened.case.number == 1 and opened.case.status == CaseStatus.OPEN
    clock.advance(minutes=3)
    case = await s.claim(T, 1, "bob")
    assert case.owner_id == "bob" and case.status == CaseStatus.OWNED
    await s.apologise(T, 1, "bob", "in_person", "I am sorry")
    outcome = await s.grant(T, 1, "bob", "Waived fee")
    assert outcome.grant is not None and outcome.grant.amount_minor == 2500
    clock.advance(hours=1)
    case = await s.resolve(T, 1, "bob", "New soup served", "kitchen pass too slow")
    assert case.status == CaseStatus.RESOLVED
    assert case.followup_due_at == clock.now() + __import__("datetime").timedelta(hours=48)
    case = await s.answer_followup(T, 1, "bob", satisfied=True, score=5, won_back=True)
    assert case.status == CaseStatus.CLOSED and case.closed_at == clock.now()
    detail = await case_detail(container.db, T, 1)
    assert detail.total_granted == Decimal("25.00")
    kinds = [e.kind for e in detail.events]
    assert kinds == ["opened", "claimed", "apologised", "granted", "resolved", "followup_answered"]
    assert detail.events[1].data["minutes_to_own"] == 3.0
