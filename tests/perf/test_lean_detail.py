"""The lean paths show exactly what a fresh read shows: the new case's card built from what opening
held, and a step's card read inside its own transaction, equal `case_detail` read afterwards."""

from __future__ import annotations

from typing import Any

from teambot.bootstrap import Container
from teambot.core.cases.queries import CaseDetail, case_detail
from teambot.core.cases.replies import CaseReply
from teambot.core.commands.context import Context

T = "T1"


def dump(detail: CaseDetail) -> dict[str, Any]:
    def rows(items: list[Any]) -> list[dict[str, Any]]:
        return [i.model_dump() for i in items]

    return {
        "case": detail.case.model_dump(),
        "policy": detail.policy.model_dump(exclude={"updated_at", "version"}),
        "customer": detail.customer.model_dump() if detail.customer else None,
        "grants": rows(detail.grants), "approvals": rows(detail.approvals), "steps": rows(detail.steps),
        "flags": rows(detail.flags), "events": rows(detail.events), "actions": detail.next_actions(),
    }  # fmt: skip


async def same_as_fresh(c: Container, reply: Any) -> None:
    assert isinstance(reply, CaseReply), reply
    fresh = await case_detail(c.db, T, reply.detail.case.number)
    assert dump(reply.detail) == dump(fresh)


async def test_cards_from_the_lean_paths_equal_a_fresh_read(container: Container) -> None:
    c, cmd = container, container.commands
    ana, bob, you = Context(T, "C1", "ana"), Context(T, "C1", "bob"), Context(T, "C1", "you")
    await same_as_fresh(c, await cmd.run_text("First case in the team: it names the digest channel", you))
    await same_as_fresh(c, await cmd.run_text("Jane Doe <jane@example.com>: cold soup wants: a hot one #food-and-drink", ana))
    await same_as_fresh(c, await cmd.run_text("jane doe: the bill was wrong !high", ana))  # a known customer
    for text, who in [
        ("claim 2", bob), ("apologise 2 phone so sorry", bob), ("grant 2 Waived fee", bob),
        ("grant 2 Room upgrade", bob), ("step 2 Call her back @ana due in 2h", bob), ("done 2.1", ana),
        ("flag 2 the pass lamp", ana), ("category 2 billing", ana), ("approve 1", you),
        ("resolve 2 A fresh bowl | the pass lamp was off", bob), ("followup 2 not 2", bob),
        ("resolve 2 Another bowl | lamp again", bob), ("followup 2 satisfied 5 won", bob),
        ("reopen 2 she wrote again", bob), ("handover 2 @ana", bob), ("cancel 3 duplicate of 2", ana),
    ]:  # fmt: skip
        await same_as_fresh(c, await cmd.run_text(text, who))
    detail = await case_detail(c.db, T, 2)
    assert detail.grants and detail.approvals and detail.steps and detail.flags  # every list was exercised
