"""The local shell speaks every language (`teambot shell --lang`): a case card, a nudge (time passes
with /later) and the digest, typed as a person would. Its own words are translated and no English
sentence is left; see tests/i18n/language_checks.py for what that checks."""

from __future__ import annotations

import io

import pytest

from teambot.bootstrap import Container
from teambot.core import i18n
from teambot.core.cases.queries import case_detail
from teambot.core.cases.summary import ACTION_LABELS, STATUS_LABELS, case_facts, event_line, title
from teambot.core.commands.context import Context
from teambot.core.i18n import use_locale
from teambot.core.notice_actions import notice_actions
from teambot.core.ports import Notice, Recipient
from teambot.shell.session import SHELL_TEAM, ShellSession
from tests.i18n.language_checks import check_language, has_a_word_of

CORE = (
    "teambot/core/cases/summary.py", "teambot/core/cases/kinds.py", "teambot/core/cases/common.py",
    "teambot/core/scheduling/nudges.py", "teambot/core/notice_actions.py", "teambot/core/insights/digest.py",
    "teambot/core/insights/handlers.py", "teambot/core/when.py",
)  # fmt: skip


def _script(lang: str, number: int) -> str:
    return (
        f"/recover policy language {lang}\n"
        "/recover Mrs Patel: no hot water in room 412 #booking !high\n"
        f"/recover show {number}\n"
        "/later 2h\n"
        "/recover digest\n"
        "/help\n"
        "/quit\n"
    )


async def _session(container: Container, lang: str, number: int, notices: list[Notice]) -> str:
    out = io.StringIO()
    session = ShellSession(
        container, stdin=io.StringIO(_script(lang, number)), stdout=out, user="you", lang=lang
    )
    deliver = session.deliver

    def recording(recipient: Recipient, notice: Notice) -> None:
        notices.append(notice)
        deliver(recipient, notice)

    session.deliver = recording  # type: ignore[method-assign]
    await session.run()
    return out.getvalue()


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
async def test_the_shell_speaks_every_language(container: Container, lang: str) -> None:
    notices: list[Notice] = []
    english = await _session(container, "en", 1, notices)
    shown = await _session(container, lang, 2, notices)
    assert "Traceback" not in shown and "┌" in shown and "🔔" in shown  # a card and a nudge were shown
    detail = await case_detail(container.db, SHELL_TEAM, 2)
    digest = await container.commands.run_text(
        "digest", Context(SHELL_TEAM, "general", "you", platform="shell", locale=lang)
    )
    with use_locale(lang):
        core = [
            title(detail), *(t for fact in case_facts(detail, container.clock.now(), "UTC") for t in fact),
            *(event_line(e.kind, e.data) for e in detail.events), *map(str, ACTION_LABELS.values()),
            *map(str, STATUS_LABELS.values()), *(n.text for n in notices), getattr(digest, "text", ""),
            *(str(a.label) for n in notices for a in notice_actions(n)),
        ]  # fmt: skip
    check_language(lang, english, shown, adapter="shell", core_texts=core, core_modules=CORE, minimum=5)
    if lang != i18n.SOURCE:
        assert has_a_word_of(lang, shown)
