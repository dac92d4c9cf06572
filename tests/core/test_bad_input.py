"""Property-based: whatever people type, the core answers with a Reply, never a traceback,
and a refusal leaves nothing half-written."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from teambot.bootstrap import build
from teambot.config import load_settings
from teambot.core.cases.models import Grant, TimelineEvent
from teambot.core.commands.context import Context
from teambot.core.commands.grammar import SUBCOMMANDS
from teambot.core.commands.replies import ErrorReply, Reply
from teambot.core.text import clean_text
from tests.conftest import _truncate
from tests.helpers import FakeClock

NASTY = [
    "1e309", "-0", "NaN", "€5,00", "5,00", "0x10", "١٢", "²", "½", "Ⅻ", "1_000", "inf", "-inf", "+5", "5.", ".5", "5e-3",
    "<!channel>", "<!here>", "*bold*", "_it_", "`code`", "'; DROP TABLE cases; --", "<@U0000000>", "@nobody",
    "\x00", "\u202e", "🙂", "日本語", "\n\n", "\t", " ", "#", "!", "|", ":", "#12", "12.1", "0", "999999999999",
]  # fmt: skip

words = st.one_of(
    st.sampled_from(NASTY), st.text(max_size=30), st.from_regex(r"[a-z@#!:|0-9 .]{0,20}", fullmatch=True)
)
commands = st.one_of(
    st.text(max_size=200),
    st.builds(lambda v, ws: " ".join([v, *ws]), st.sampled_from(SUBCOMMANDS), st.lists(words, max_size=6)),
    st.builds(
        lambda n, ws: " ".join(["grant", n, *ws]),
        st.sampled_from(["1", "2", "#1"]),
        st.lists(words, max_size=4),
    ),
    st.just("x" * 40_000),
)


@pytest.fixture
def loop_container(db_url: str):  # type: ignore[no-untyped-def]
    loop = asyncio.new_event_loop()
    container = loop.run_until_complete(
        build(load_settings(database_url=db_url), clock=FakeClock(), migrate=False)
    )
    loop.run_until_complete(_truncate(container))
    yield loop, container
    loop.run_until_complete(container.close())
    loop.close()


async def _counts(container) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with container.db.session() as s:
        events = (await s.exec(select(func.count()).select_from(TimelineEvent))).one()
        grants = (await s.exec(select(func.count()).select_from(Grant))).one()
        return events, grants


def test_any_command_text_gets_a_reply_and_refusals_write_nothing(loop_container) -> None:  # type: ignore[no-untyped-def]
    loop, container = loop_container
    ctx = Context("T1", "C1", "admin")
    setup = ["A customer: something went wrong", "claim 1", "apologise 1 phone", "A second case here"]
    for line in setup:
        loop.run_until_complete(container.commands.run_text(line, ctx))
    tried: list[str] = []
    refusals: list[str] = []

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(text=commands, user=st.sampled_from(["admin", "bob", "<@U1>", ""]))
    def check(text: str, user: str) -> None:
        tried.append(text)
        before = loop.run_until_complete(_counts(container))
        reply = loop.run_until_complete(
            container.commands.run_text(text, Context("T1", "C1", user or "anon"))
        )
        assert isinstance(reply, Reply)
        if isinstance(reply, ErrorReply):
            refusals.append(text)
            assert reply.error is not None and reply.error.message and reply.error.hint
            assert reply.echo == clean_text(text).strip()  # what they typed comes back (minus control chars)
            assert loop.run_until_complete(_counts(container)) == before, text

    check()
    assert len(tried) >= 300
    assert 0 < len(refusals) < len(tried)  # both paths were exercised
