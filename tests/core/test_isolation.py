"""Teams (workspaces, tenants) never see each other's cases, and logs never carry customer words."""

from __future__ import annotations

import logging

import pytest

from teambot.bootstrap import Container
from teambot.core.cases.replies import CaseReply, ListReply
from teambot.core.commands.context import Context
from teambot.core.commands.replies import ErrorReply
from teambot.logs import configure


async def test_one_team_cannot_reach_another_teams_cases(container: Container) -> None:
    run = container.commands.run_text
    a_admin, a_bob = Context("TA", "C1", "a-admin"), Context("TA", "C1", "a-bob")
    b_admin, b_eve = Context("TB", "C9", "b-admin"), Context("TB", "C9", "b-eve")
    await run("policy", a_admin)
    await run("policy", b_admin)
    await run("Mrs Patel: secret problem of team A", a_bob)
    await run("claim 1", a_bob)
    await run("apologise 1 phone", a_bob)
    asked = await run("grant 1 Room upgrade", a_bob)
    assert isinstance(asked, CaseReply) and asked.approval is not None
    approval_id = asked.approval.id

    for text in ("show 1", "claim 1", "timeline 1", "draft 1", "resolve 1 x | y", "flag 1 note",
                 f"approve {approval_id}", f"deny {approval_id} no", "customer Mrs Patel",
                 "export-customer Mrs Patel", "forget-customer Mrs Patel"):  # fmt: skip
        reply = await run(text, b_admin if "customer" in text or "approve" in text else b_eve)
        assert isinstance(reply, ErrorReply), text
        assert "secret" not in reply.text and "Patel" not in reply.text.replace("'Mrs Patel'", "")
    listed = await run("list", b_eve)
    assert isinstance(listed, ListReply) and listed.cases == []
    # Team A's case is untouched by all of that.
    own = await run("show 1", a_bob)
    assert isinstance(own, CaseReply) and own.detail is not None
    assert own.detail.case.owner_id == "a-bob" and len(own.detail.pending) == 1
    assert [e.kind for e in own.detail.events] == ["opened", "claimed", "apologised", "approval_requested"]


async def test_logs_carry_ids_not_customer_words(
    container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    configure("DEBUG")
    caplog.set_level(logging.DEBUG)
    run = container.commands.run_text
    admin, bob = Context("T1", "C1", "admin"), Context("T1", "C1", "bob")
    words = ["Zanzibar-Customer", "flooded-bathroom-4711", "wants-a-penthouse", "so-very-sorry-xyz"]
    await run("policy", admin)
    await run(f"{words[0]}: {words[1]} wants: {words[2]}", bob)
    await run("claim 1", bob)
    await run(f"apologise 1 phone {words[3]}", bob)
    await run("grant 1 Room upgrade", bob)
    await run(f"resolve 1 {words[1]} fixed | plumbing", bob)  # refused: approval pending
    await run("grant 1 gift card NaN", bob)
    assert caplog.records is not None
    text = "\n".join(r.getMessage() for r in caplog.records)
    for word in words:
        assert word not in text
    logging.getLogger().setLevel(logging.WARNING)
