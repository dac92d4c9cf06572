"""Every transition and every refusal of the case engine, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from teambot.bootstrap import Container
from teambot.core.cases.followup import draft_followup
from teambot.core.cases.models import ApprovalStatus, CaseStatus
from teambot.core.cases.queries import case_detail
from teambot.core.errors import BadInput, DomainError, InvalidStep, NotAllowed, NotFound
from teambot.core.policy.settings import PolicyChange
from tests.helpers import FakeClock, RecordingNotifier

T, CH = "T1", "C1"
ADMIN = "admin"  # the first person to touch a team is its admin and approver


async def _owned(c: Container, owner: str = "bob", apologise: bool = True) -> int:
    await c.service.policy(T, ADMIN)
    opened = await c.service.open_case(T, CH, "alice", "Room 412 had no hot water", customer="Mrs Patel")
    await c.service.claim(T, opened.case.number, owner)
    if apologise:
        await c.service.apologise(T, opened.case.number, owner, "phone")
    return opened.case.number


async def _refused(kind: type[DomainError], coro: object, says: str) -> DomainError:
    with pytest.raises(kind) as err:
        await coro  # type: ignore[misc]
    assert says in err.value.message, err.value.message
    assert err.value.hint, "every refusal says what to do instead"
    return err.value


# ----- ownership ---------------------------------------------------------------------------------


async def test_claim_and_handover_keep_exactly_one_owner(container: Container) -> None:
    s = container.service
    n = await _owned(container, apologise=False)
    await _refused(InvalidStep, s.claim(T, n, "carol"), "already owned by <@bob>")
    await _refused(InvalidStep, s.claim(T, n, "bob"), "already own")
    await _refused(NotAllowed, s.handover(T, n, "carol", "carol"), "Only the owner")
    case = await s.handover(T, n, "bob", "@carol")
    assert case.owner_id == "carol"
    await _refused(InvalidStep, s.handover(T, n, "carol", "carol"), "already owns")
    case = await s.handover(T, n, ADMIN, "dave")  # an admin may move it too
    assert case.owner_id == "dave"
    detail = await case_detail(container.db, T, n)
    assert [e.data for e in detail.events if e.kind == "handed_over"] == [
        {"from": "bob", "to": "carol"},
        {"from": "carol", "to": "dave"},
    ]


async def test_two_concurrent_claims_produce_exactly_one_owner(container: Container) -> None:
    s = container.service
    await s.policy(T, ADMIN)
    for _ in range(5):
        n = (await s.open_case(T, CH, "alice", "Late delivery")).case.number
        results = await asyncio.gather(
            s.claim(T, n, "bob"), s.claim(T, n, "carol"), s.claim(T, n, "dave"), return_exceptions=True
        )
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, BaseException)]
        assert len(winners) == 1, results
        assert all(isinstance(e, InvalidStep) and "already owned" in e.message for e in losers), losers
        detail = await case_detail(container.db, T, n)
        assert detail.case.owner_id == winners[0].owner_id
        assert [e.kind for e in detail.events].count("claimed") == 1


async def test_concurrent_opens_get_distinct_numbers(container: Container) -> None:
    await container.service.policy(T, ADMIN)
    opened = await asyncio.gather(*(container.service.open_case(T, CH, "a", f"p{i}") for i in range(6)))
    assert sorted(o.case.number for o in opened) == [1, 2, 3, 4, 5, 6]


async def test_a_redelivered_open_returns_the_same_case(container: Container) -> None:
    s = container.service
    first = await s.open_case(T, CH, "alice", "Cold soup", source_ref="evt-1")
    again = await s.open_case(T, CH, "alice", "Cold soup", source_ref="evt-1")
    assert again.duplicate and again.case.id == first.case.id
    other_team = await s.open_case("T2", CH, "alice", "Cold soup", source_ref="evt-1")
    assert not other_team.duplicate and other_team.case.number == 1


# ----- apology ------------------------------------------------------------------------------------


async def test_apology_needs_an_owner_and_a_known_method(container: Container) -> None:
    s = container.service
    await s.policy(T, ADMIN)
    n = (await s.open_case(T, CH, "alice", "Wrong order")).case.number
    await _refused(InvalidStep, s.apologise(T, n, "bob", "phone"), "Nobody owns")
    await s.claim(T, n, "bob")
    await _refused(BadInput, s.apologise(T, n, "bob", "carrier pigeon"), "not a way of apologising")
    case = await s.apologise(T, n, "bob", "in person", "I'm so sorry, that's on us")
    assert case.apology_method == "in_person" and case.apology_words == "I'm so sorry, that's on us"


# ----- compensation and authority ----------------------------------------------------------------


async def test_grant_refusals(container: Container) -> None:
    s = container.service
    await s.policy(T, ADMIN)
    n = (await s.open_case(T, CH, "alice", "Wrong order")).case.number
    await _refused(InvalidStep, s.grant(T, n, "bob", "Waived fee"), "Nobody owns")
    await s.claim(T, n, "bob")
    await _refused(BadInput, s.grant(T, n, "bob", "Waived fee", "-5"), "more than zero")
    await _refused(BadInput, s.grant(T, n, "bob", "Waived fee", "0"), "more than zero")
    await _refused(BadInput, s.grant(T, n, "bob", "Waived fee", "lots"), "not an amount")
    await _refused(BadInput, s.grant(T, n, "bob", "Waived fee", "NaN"), "not an amount")
    await _refused(BadInput, s.grant(T, n, "bob", "Waived fee", "99999999"), "far beyond")
    await _refused(BadInput, s.grant(T, n, "bob", "Bespoke thing"), "not in the catalogue")
    detail = await case_detail(container.db, T, n)
    assert detail.grants == [] and detail.approvals == []
    assert [e.kind for e in detail.events] == ["opened", "claimed"]  # refusals change nothing


async def test_grant_within_authority_is_immediate(container: Container) -> None:
    s = container.service
    n = await _owned(container)
    out = await s.grant(T, n, "bob", "free round", None)  # a unique partial match of the catalogue
    assert out.grant is not None and out.approval is None
    assert out.grant.gesture == "Free round of drinks" and out.grant.within_authority
    out = await s.grant(T, n, "bob", "Bespoke flowers", "12.50")
    assert out.grant is not None and out.grant.amount_minor == 1250
    detail = await case_detail(container.db, T, n)
    assert detail.total_granted == Decimal("42.50")


async def test_splitting_a_grant_to_creep_past_the_limit_is_caught(
    container: Container, notifier: RecordingNotifier
) -> None:
    s = container.service
    n = await _owned(container)
    first = await s.grant(T, n, "bob", "Waived fee", "30")
    assert first.grant is not None
    second = await s.grant(T, n, "bob", "Waived fee", "30")  # 60 in all, above bob's 50
    assert second.grant is None and second.approval is not None
    assert "have given $30.00" in second.message
    assert second.approval.status == ApprovalStatus.PENDING
    # Another person's grants don't eat into bob's limit.
    third = await s.grant(T, n, "carol", "Waived fee", "50")
    assert third.grant is not None
    asks = notifier.to(ADMIN)
    assert [n.kind for n in asks] == ["approval_request"]
    assert asks[0].data["approval_id"] == second.approval.id


async def test_approval_flow_and_its_refusals(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    s = container.service
    n = await _owned(container)
    out = await s.grant(T, n, "bob", "Room upgrade")  # 80 > 50
    req = out.approval
    assert req is not None and req.id is not None
    await _refused(InvalidStep, s.resolve(T, n, "bob", "moved room", "boiler"), "waiting for an approver")
    await _refused(NotAllowed, s.decide(T, req.id, "carol", True), "Only an approver")
    clock.advance(minutes=7)
    approved, _ = await s.decide(T, req.id, ADMIN, True, "worth it")
    assert approved.status == ApprovalStatus.APPROVED and approved.decided_by == ADMIN
    await _refused(InvalidStep, s.decide(T, req.id, ADMIN, False), "already approved")
    await _refused(NotFound, s.decide(T, 999, ADMIN, True), "no approval request 999")
    detail = await case_detail(container.db, T, n)
    assert [(g.gesture, g.within_authority, g.approval_id) for g in detail.grants] == [
        ("Room upgrade", False, req.id)
    ]
    approved_event = next(e for e in detail.events if e.kind == "approved")
    assert approved_event.data["wait_minutes"] == 7.0
    assert [x.data["approved"] for x in notifier.to("bob") if x.kind == "approval_decided"] == [True]


async def test_denied_request_grants_nothing_and_nobody_approves_their_own(container: Container) -> None:
    s = container.service
    await s.policy(T, ADMIN)
    await s.change_policy(T, ADMIN, PolicyChange("approver", ["add", "@lead"]))
    n = (await s.open_case(T, CH, "alice", "Double charged")).case.number
    await s.claim(T, n, "lead")
    req = (await s.grant(T, n, "lead", "Gift card", "200")).approval
    assert req is not None and req.id is not None
    await _refused(NotAllowed, s.decide(T, req.id, "lead", True), "your own request")
    denied, _ = await s.decide(T, req.id, ADMIN, False, "too much for a double charge")
    assert denied.status == ApprovalStatus.DENIED
    assert (await case_detail(container.db, T, n)).grants == []


async def test_no_other_approver_means_a_clear_refusal(container: Container) -> None:
    s = container.service
    await s.policy(T, ADMIN)
    n = (await s.open_case(T, CH, "alice", "Broken lamp")).case.number
    await s.claim(T, n, ADMIN)
    await _refused(NotAllowed, s.grant(T, n, ADMIN, "Gift card", "75"), "no other approver")


async def test_roles_and_personal_limits(container: Container) -> None:
    s = container.service
    await s.policy(T, ADMIN)
    await s.change_policy(T, ADMIN, PolicyChange("role", ["@lina", "lead"]))
    await s.change_policy(T, ADMIN, PolicyChange("role", ["@max", "manager"]))
    await s.change_policy(T, ADMIN, PolicyChange("override", ["@ola", "120"]))
    n = (await s.open_case(T, CH, "alice", "Lost booking")).case.number
    await s.claim(T, n, "lina")
    assert (await s.grant(T, n, "lina", "Gift card", "250")).grant is not None
    assert (await s.grant(T, n, "lina", "Gift card", "0.01")).approval is not None
    assert (await s.grant(T, n, "max", "Gift card", "5000")).grant is not None  # unlimited
    assert (await s.grant(T, n, "ola", "Gift card", "120")).grant is not None
    assert (await s.grant(T, n, "ola", "Gift card", "1")).approval is not None


# ----- policy -----------------------------------------------------------------------------------


async def test_only_admins_change_the_policy_and_anyone_reads_it(container: Container) -> None:
    s = container.service
    policy = await s.policy(T, ADMIN)
    assert policy.admins == [ADMIN] and policy.currency == "USD"
    assert 5 <= len(policy.catalogue) <= 10
    await _refused(
        NotAllowed, s.change_policy(T, "mallory", PolicyChange("limit", ["member", "5000"])), "Only"
    )
    assert (await s.policy(T, "mallory")).role_limits["member"] == "50"  # unchanged, and readable
    msg = await s.change_policy(T, ADMIN, PolicyChange("currency", ["eur"]))
    assert msg.startswith("Currency is now EUR. Limits and gesture values are now read in EUR: member €50.00")
    await s.change_policy(T, ADMIN, PolicyChange("gesture", ["add", "Spa", "voucher", "60"]))
    await s.change_policy(T, ADMIN, PolicyChange("digest", ["friday", "16:30", "Europe/Paris", "#managers"]))
    await s.change_policy(T, ADMIN, PolicyChange("targets", ["10", "12", "24"]))
    p = await s.policy(T, "anyone")
    assert {"name": "Spa voucher", "value": "60.00"} in p.catalogue
    assert (p.digest_weekday, p.digest_time, p.digest_timezone, p.digest_channel) == (
        4, "16:30", "Europe/Paris", "managers",
    )  # fmt: skip
    assert (p.own_within_minutes, p.resolve_within_hours, p.followup_after_hours) == (10, 12, 24)
    for change, says in [
        (PolicyChange("currency", ["euros"]), "not a currency"),
        (PolicyChange("limit", ["intern", "5"]), "Name a role"),
        (PolicyChange("digest", ["someday", "9:00", "UTC"]), "not a weekday"),
        (PolicyChange("digest", ["monday", "9:75", "UTC"]), "not a time"),
        (PolicyChange("digest", ["monday", "09:00", "Mars/Olympus"]), "not a time zone"),
        (PolicyChange("admin", ["remove", "@admin"]), "no admin"),
        (PolicyChange("colour", ["blue"]), "no policy setting"),
    ]:
        await _refused(BadInput, s.change_policy(T, ADMIN, change), says)


# ----- steps, flags, resolution, follow-up --------------------------------------------------------


async def test_next_steps(container: Container, clock: FakeClock) -> None:
    s = container.service
    n = await _owned(container)
    due = clock.now() + timedelta(days=1)
    step = await s.add_step(T, n, "bob", "Call back with the refund", due=due)
    assert (step.position, step.owner_id, step.due_at, step.done) == (1, "bob", due, False)
    step2 = await s.add_step(T, n, "bob", "Send voucher", owner="@carol")
    assert (step2.position, step2.owner_id) == (2, "carol")
    done = await s.complete_step(T, n, 1, "bob")
    assert done.done and done.done_by == "bob"
    await _refused(InvalidStep, s.complete_step(T, n, 1, "bob"), "already done")
    await _refused(NotFound, s.complete_step(T, n, 9, "bob"), "no next step 9")


async def test_flags_can_repeat(container: Container) -> None:
    s = container.service
    n = await _owned(container)
    await s.flag(T, n, "carol", "Boilers in the east wing keep failing")
    await s.flag(T, n, "dave", "Night staff can't reach maintenance")
    await _refused(BadInput, s.flag(T, n, "dave", "  "), "empty")
    assert len((await case_detail(container.db, T, n)).flags) == 2


async def test_resolve_refusals(container: Container) -> None:
    s = container.service
    n = await _owned(container, apologise=False)
    await _refused(InvalidStep, s.resolve(T, n, "bob", "moved room", "boiler"), "No apology")
    await s.apologise(T, n, "bob", "email")
    await _refused(NotAllowed, s.resolve(T, n, "carol", "moved room", "boiler"), "Only the owner")
    await _refused(BadInput, s.resolve(T, n, "bob", "moved room", ""), "root cause is missing")
    await s.resolve(T, n, "bob", "moved room", "boiler")
    await _refused(InvalidStep, s.resolve(T, n, "bob", "again", "boiler"), "already resolved")
    await _refused(InvalidStep, s.grant(T, n, "bob", "Waived fee"), "resolved")


async def test_not_satisfied_reopens_work_and_closed_cases_reopen(
    container: Container, clock: FakeClock
) -> None:
    s = container.service
    n = await _owned(container)
    await _refused(InvalidStep, s.answer_followup(T, n, "bob", True, 5), "comes after it is resolved")
    await s.resolve(T, n, "bob", "moved room", "boiler")
    await _refused(BadInput, s.answer_followup(T, n, "bob", True, 6), "not a score")
    case = await s.answer_followup(T, n, "bob", satisfied=False, score=2)
    assert case.status == CaseStatus.OWNED and case.owner_id == "bob" and case.closed_at is None
    await s.grant(T, n, "bob", "Waived fee")  # work continues
    await s.resolve(T, n, "bob", "refunded the night", "boiler")
    case = await s.answer_followup(T, n, "bob", satisfied=True, score=4, won_back=True)
    assert case.status == CaseStatus.CLOSED
    for step in (s.claim(T, n, "x"), s.grant(T, n, "bob", "Waived fee"), s.resolve(T, n, "bob", "a", "b")):
        await _refused(InvalidStep, step, "closed")
    await _refused(InvalidStep, s.answer_followup(T, n, "bob", True, 5), "closed")
    case = await s.reopen(T, n, "bob", "customer wrote again")
    assert case.status == CaseStatus.OWNED and case.reopened_count == 1
    await _refused(InvalidStep, s.reopen(T, n, "bob"), "not closed")


async def test_unknown_case_and_long_text(container: Container) -> None:
    s = container.service
    await _refused(NotFound, s.claim(T, 42, "bob"), "no case #42")
    err = await _refused(BadInput, s.open_case(T, CH, "a", "x" * 3001), "3001 characters")
    assert err.field == "problem"
    await _refused(BadInput, s.open_case(T, CH, "a", "ok", severity="apocalyptic"), "not a severity")


async def test_timeline_is_append_only_and_complete(container: Container) -> None:
    s = container.service
    n = await _owned(container)
    await s.grant(T, n, "bob", "Waived fee")
    await s.add_step(T, n, "bob", "Call back")
    await s.flag(T, n, "bob", "Boiler checks")
    before = [(e.id, e.kind, e.at) for e in (await case_detail(container.db, T, n)).events]
    await s.resolve(T, n, "bob", "moved", "boiler")
    after = [(e.id, e.kind, e.at) for e in (await case_detail(container.db, T, n)).events]
    assert after[: len(before)] == before and len(after) == len(before) + 1
    assert [k for _, k, _ in after] == [
        "opened", "claimed", "apologised", "granted", "step_added", "flagged", "resolved",
    ]  # fmt: skip


# ----- customers and the written follow-up --------------------------------------------------------


async def test_known_customers_bring_their_history(container: Container) -> None:
    s = container.service
    await s.policy(T, ADMIN)
    first = await s.open_case(T, CH, "alice", "Cold soup", customer="Mr Jones")
    assert first.earlier_cases == []
    await s.note_customer(T, "alice", "mr  JONES", "Prefers a phone call to email")
    again = await s.open_case(T, CH, "bob", "Wrong wine", customer="Mr Jones")
    assert [c.number for c in again.earlier_cases] == [first.case.number]
    assert again.customer is not None and again.customer.notes[0]["text"] == "Prefers a phone call to email"
    other_team = await s.open_case("T2", CH, "bob", "Wrong wine", customer="Mr Jones")
    assert other_team.earlier_cases == []


async def test_draft_restates_only_what_was_recorded(container: Container, clock: FakeClock) -> None:
    s = container.service
    await s.policy(T, ADMIN)
    n = (
        await s.open_case(T, CH, "a", "the room was not cleaned", customer="Ms Kim", wants="a clean room")
    ).case.number
    bare = draft_followup(await case_detail(container.db, T, n))
    assert "Dear Ms Kim" in bare and "a clean room" in bare
    for absent in ("gesture", "agreed", "What we have done"):
        assert absent not in bare  # nothing recorded, nothing promised
    await s.claim(T, n, "bob")
    await s.apologise(T, n, "bob", "phone")
    await s.grant(T, n, "bob", "Waived fee")
    await s.add_step(T, n, "bob", "Deep clean before 6pm", due=clock.now() + timedelta(hours=3))
    await s.grant(T, n, "bob", "Room upgrade")  # above authority: pending, must not be promised
    text = draft_followup(await case_detail(container.db, T, n))
    assert "on the phone" in text and "Waived fee ($25.00)" in text
    assert "Deep clean before 6pm by Monday 23 November, 12:00" in text
    assert "Room upgrade" not in text and "still confirming" in text
