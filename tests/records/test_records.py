"""Issue 14, clean records: typos open nothing, cancel and recategorise, the category vocabulary,
reopen supersedes the verdict, withdrawing a request. Real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from teambot.bootstrap import Container
from teambot.core.cases.models import ApprovalRequest, ApprovalStatus, CaseStatus
from teambot.core.cases.queries import case_detail, list_cases
from teambot.core.cases.replies import CaseReply
from teambot.core.cases.summary import case_facts
from teambot.core.commands.context import Context
from teambot.core.commands.grammar import parse
from teambot.core.commands.intents import Cancel, Open, Recategorise, Suggest
from teambot.core.commands.replies import ChoiceReply, ErrorReply, Reply
from teambot.core.insights.digest import compute
from teambot.core.scheduling.models import PENDING, DueItem
from tests.helpers import FakeClock

T = "T1"


def ctx(user: str = "you") -> Context:
    return Context(T, "C1", user)


async def run(c: Container, text: str, user: str = "you") -> Reply:
    return await c.commands.run_text(text, ctx(user))


# ----- 1. typos open nothing --------------------------------------------------------------------


def test_the_first_word_is_a_typo_only_when_it_reads_like_one() -> None:
    assert parse("clam 1") == Suggest(unknown="clam", command="claim 1", text="clam 1")
    assert parse("shwo 2").command == "show 2"  # type: ignore[attr-defined]
    assert parse("resolv 3 fixed it | boiler").command == "resolve 3 fixed it | boiler"  # type: ignore[attr-defined]
    assert parse("aprove 4").command == "approve 4"  # type: ignore[attr-defined]
    assert parse("lsit").command == "list"  # type: ignore[attr-defined]
    for description in ("Clam chowder was cold", "Shower was cold in 412", "Drafty room 12", "lost luggage",
                        "Shows the wrong price", "Claimed refund never arrived", "Staff were rude", "Wine was corked",
                        "Shop closed early", "Mind the broken step",
                        "Cancel button broken on the app"):  # fmt: skip
        assert isinstance(parse(description), Open), description
    assert parse("cancel 2 duplicate of 1") == Cancel(
        number=2, reason="duplicate of 1", duplicate_of=1, text="cancel 2 duplicate of 1"
    )
    assert parse("category 1 delivery") == Recategorise(number=1, category="delivery", text="category 1 delivery")


async def test_a_typo_opens_nothing_and_offers_the_command(container: Container) -> None:
    await run(container, "Soup arrived cold")
    reply = await run(container, "clam 1", user="ana")
    assert isinstance(reply, ChoiceReply)
    assert "Did you mean `/recover claim 1`?" in reply.text and reply.choices == [("/recover claim 1", "claim 1")]
    assert [c.number for c in await list_cases(container.db, T)] == [1]
    pressed = await run(container, reply.choices[0][1], user="ana")  # the button runs it as its presser
    assert isinstance(pressed, CaseReply) and pressed.detail is not None and pressed.detail.case.owner_id == "ana"
    opened = await run(container, "Clam chowder was cold")  # a real description still opens in one step
    assert isinstance(opened, CaseReply) and opened.detail is not None and opened.detail.case.number == 2


# ----- 2. cancel and recategorise ---------------------------------------------------------------


async def test_cancel_a_duplicate_leaves_every_figure_and_nudge(container: Container, clock: FakeClock) -> None:
    await run(container, "Soup arrived cold #food-and-drink")
    await run(container, "Soup arrived cold again", user="ana")
    refused = await run(container, "cancel 2 mistake", user="bob")  # not the opener, owner or an admin
    assert isinstance(refused, ErrorReply) and "Only whoever opened case #2" in refused.text
    reply = await run(container, "cancel 2 duplicate of 1", user="ana")
    assert isinstance(reply, CaseReply) and reply.detail is not None
    case = reply.detail.case
    assert case.status == CaseStatus.CANCELLED and case.duplicate_of == 1
    shown = dict(case_facts(reply.detail, clock.now()))
    assert shown["Status"].startswith("Cancelled") and shown["Cancelled"].startswith("duplicate of #1")
    assert reply.detail.next_actions() == []
    assert [e.kind for e in reply.detail.events] == ["opened", "cancelled"]  # stays in the timeline
    async with container.db.session() as s:
        due = (await s.exec(select(DueItem).where(DueItem.case_id == case.id, DueItem.status == PENDING))).all()
    assert due == []  # no nudge will ever mention it
    assert [c.number for c in await list_cases(container.db, T)] == [1]
    digest = await compute(container.db, T, date(2026, 11, 23), clock.now(), preview=True)
    assert digest.this.opened == 1
    again = await run(container, "claim 2", user="ana")
    assert isinstance(again, ErrorReply) and "Carry on in case #1" in again.text
    dup_of_self = await run(container, "cancel 1 duplicate of 1")
    assert isinstance(dup_of_self, ErrorReply)


async def test_recategorise_is_a_timeline_event_and_only_the_vocabulary(container: Container) -> None:
    await run(container, "Parcel arrived late")
    reply = await run(container, "category 1 delivery", user="ana")
    assert isinstance(reply, CaseReply) and reply.detail is not None
    assert reply.detail.case.category == "delivery"
    assert reply.detail.events[-1].kind == "recategorised"
    assert reply.detail.events[-1].data == {"from": "uncategorised", "to": "delivery"}
    nope = await run(container, "category 1 delivry")
    assert isinstance(nope, ErrorReply) and "Did you mean delivery?" in nope.text


# ----- 3. categories are a vocabulary -----------------------------------------------------------


async def test_hashtags_are_categories_only_when_the_team_has_them(container: Container) -> None:
    r = await run(container, "order #A123 arrived late #delivery")
    assert isinstance(r, CaseReply) and r.detail is not None
    assert (r.detail.case.category, r.detail.case.problem) == ("delivery", "order #A123 arrived late")
    r = await run(container, "Soup was cold #food and drink")
    assert isinstance(r, CaseReply) and r.detail is not None and r.detail.case.category == "food and drink"
    assert r.detail.case.problem == "Soup was cold"
    r = await run(container, "Soup was cold #Food-and_Drink")
    assert isinstance(r, CaseReply) and r.detail is not None and r.detail.case.category == "food and drink"
    near = await run(container, "Parcel lost #delivry")
    assert isinstance(near, ChoiceReply) and "Did you mean #delivery?" in near.text
    assert near.choices == [("Open it in #delivery", "Parcel lost #delivery"),
                            ("Open it without a category", "Parcel lost delivry")]  # fmt: skip
    assert len(await list_cases(container.db, T)) == 3  # the near miss opened nothing

    refused = await run(container, "policy category add spa", user="ana")
    assert isinstance(refused, ErrorReply) and "Only a Teambot admin" in refused.text
    await run(container, "policy category add Spa and wellness")
    r = await run(container, "Sauna cold #spa-and-wellness")
    assert isinstance(r, CaseReply) and r.detail is not None and r.detail.case.category == "spa and wellness"
    await run(container, "policy category remove delivery")
    r = await run(container, "Parcel lost #delivery")  # no longer a category: it stays in the text
    assert isinstance(r, CaseReply) and r.detail is not None
    assert (r.detail.case.category, r.detail.case.problem) == ("uncategorised", "Parcel lost #delivery")
    form = await container.service.open_case(T, "C1", "you", "x", category="Spa and Wellness")
    assert form.case.category == "spa and wellness"


# ----- 4. reopen supersedes the verdict ---------------------------------------------------------


async def _closed_case(c: Container) -> None:
    for line in ("Soup cold", "claim 1", "apologise 1 in_person sorry", "resolve 1 new soup | kitchen slow",
                 "followup 1 satisfied 5 won"):  # fmt: skip
        assert not isinstance(await run(c, line), ErrorReply), line


async def test_reopen_clears_the_verdict_but_keeps_it_in_the_timeline(container: Container) -> None:
    await _closed_case(container)
    await run(container, "reopen 1 she called back")
    d = await case_detail(container.db, T, 1)
    assert (d.case.satisfied, d.case.score, d.case.won_back, d.case.followup_at) == (None, None, None, None)
    assert "Follow-up" not in dict(case_facts(d, d.case.updated_at))
    kinds = [e.kind for e in d.events]
    assert kinds[-2:] == ["followup_answered", "reopened"]
    assert d.events[-1].data["superseded"] == {"satisfied": True, "score": 5, "won_back": True}
    assert all(row.recovered == 0 for row in await container.shoutouts.leaderboard(T))


# ----- 5. approvals never strand a case (withdraw) -----------------------------------------------


async def test_the_requester_withdraws_and_resolving_offers_it(container: Container) -> None:
    for line in ("Soup cold", "policy approver add boss"):
        await run(container, line)
    for line in ("claim 1", "apologise 1 in_person sorry", "grant 1 Room upgrade"):
        assert not isinstance(await run(container, line, user="ana"), ErrorReply)
    async with container.db.session() as s:
        req = (await s.exec(select(ApprovalRequest))).one()
    blocked = await run(container, "resolve 1 new soup | kitchen", user="ana")
    assert isinstance(blocked, ChoiceReply) and f"withdraw {req.id}" in blocked.choices[0][1]
    other = await run(container, f"withdraw {req.id}", user="bob")
    assert isinstance(other, ErrorReply) and "Only <@ana>, who asked" in other.text
    done = await run(container, blocked.choices[0][1], user="ana")
    assert isinstance(done, CaseReply) and done.detail is not None and done.detail.pending == []
    assert done.detail.events[-1].kind == "withdrawn"
    async with container.db.session() as s:
        assert (await s.get(ApprovalRequest, req.id)).status == ApprovalStatus.WITHDRAWN  # type: ignore[union-attr]
        due = (await s.exec(select(DueItem).where(DueItem.kind == "approval_waiting", DueItem.status == PENDING))).all()
    assert due == []
    late = await run(container, f"approve {req.id}", user="boss")
    assert isinstance(late, ErrorReply) and "already withdrawn" in late.text
    ok = await run(container, "resolve 1 new soup | kitchen", user="ana")
    assert isinstance(ok, CaseReply)
