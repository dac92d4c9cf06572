"""A customer's data can be exported and erased by admins; figures survive erasure."""

from __future__ import annotations

import json

from teambot.bootstrap import Container
from teambot.core.cases.queries import case_detail
from teambot.core.commands.context import Context
from teambot.core.commands.replies import ErrorReply, TextReply
from teambot.core.privacy.customer_data import ERASED

T = "T1"


async def test_export_then_forget_a_customer(container: Container) -> None:
    run = container.commands.run_text
    admin, bob = Context(T, "C1", "admin"), Context(T, "C1", "bob")
    await run("policy", admin)  # admin is the team's first user
    await run("Mrs Patel: no hot water in 412 wants: a room move", bob)
    await run("claim 1", bob)
    await run("apologise 1 phone Mrs Patel, I am so sorry", bob)
    await run("grant 1 Waived fee", bob)
    await run("step 1 Call Mrs Patel on 0700 900 123 @bob", bob)
    await run("resolve 1 moved Mrs Patel to 512 | boiler not serviced", bob)
    await run("note Mrs Patel: allergic to feathers", bob)
    await run("Someone else: cold soup", bob)

    refused = await run("export-customer Mrs Patel", bob)
    assert isinstance(refused, ErrorReply) and "Only a Teambot admin" in refused.text
    exported = await run("export-customer mrs patel", admin)
    assert isinstance(exported, TextReply)
    data = json.loads(exported.text)
    assert data["customer"] == "Mrs Patel" and data["notes"][0]["text"] == "allergic to feathers"
    assert [c["case"] for c in data["cases"]] == [1]
    assert data["cases"][0]["compensation"][0]["amount"] == "25.00"

    refused = await run("forget-customer Mrs Patel", bob)
    assert isinstance(refused, ErrorReply)
    done = await run("forget-customer Mrs Patel", admin)
    assert isinstance(done, TextReply) and "1 case;" in done.text

    detail = await case_detail(container.db, T, 1)
    c = detail.case
    assert (c.customer_name, c.problem, c.wants, c.apology_words, c.resolution) == (
        ERASED,
        ERASED,
        None,
        None,
        ERASED,
    )
    assert detail.steps[0].text == ERASED
    # Figures kept.
    assert detail.total_granted == 25 and c.root_cause == "boiler not serviced" and c.resolved_at is not None
    # Nothing with her name is left anywhere in the case's timeline, and the erasure is in it.
    dump = json.dumps([e.data for e in detail.events])
    assert "Patel" not in dump and "0700" not in dump
    assert detail.events[-1].kind == "customer_erased"
    assert len(detail.events) > 5  # redacted, never deleted
    gone = await run("customer Mrs Patel", bob)
    assert isinstance(gone, ErrorReply)
    other = await case_detail(container.db, T, 2)
    assert other.case.problem == "cold soup"
