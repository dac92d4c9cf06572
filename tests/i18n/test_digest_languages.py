"""The manager's surfaces speak every language Teambot ships: the digest (with what to fix first, the
actions and whether a fix worked) and its chart in the team's language, a nudge in its reader's
language, a shout-out's reply and `/recover causes` in the asker's; numbers and money the locale's
way. One realistic week is built through the commands every adapter runs, on SQLite and PostgreSQL.

"No English sentence left" is checked against the catalogue itself: every English fragment of a
marked message (the text between its placeholders, two words or more) that the translation does
not keep (a command between slashes or backticks is kept) must be absent from the output.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache

import pytest
from babel.messages.pofile import read_po

from teambot.bootstrap import Container
from teambot.core import i18n
from teambot.core.commands.context import Context
from teambot.core.commands.replies import ErrorReply, Reply
from teambot.core.insights import delivery
from teambot.core.insights.charts import digest_figure
from teambot.core.insights.digest import current_monday, week_label
from teambot.core.scheduling.models import DueItem
from teambot.core.scheduling.nudges import NUDGES
from tests.helpers import FakeClock, RecordingNotifier
from tests.scheduling.helpers import configure

T, CH = "T27", "C1"
BOSS, ANA, BOB = "boss", "ana", "bob"
LANGUAGES = list(i18n.LANGUAGES)

# A word each language's digest uses, and its translation of "Recovery digest" (the head line).
WORD = {"en": "opened", "de": "eröffnet", "fr": "ouverts", "es": "abiertos", "nl": "geopend", "pt": "abertos"}
HEAD = {
    "en": "*Recovery digest", "de": "*Wochenbericht", "fr": "*Bilan de la semaine", "es": "*Resumen semanal",
    "nl": "*Weekoverzicht", "pt": "*Resumo semanal",
}  # fmt: skip
CHART_WORD = {"en": "cases", "de": "Fälle", "fr": "cas", "es": "casos", "nl": "zaken", "pt": "casos"}
MONEY = Decimal("1234.50")
_KEPT = re.compile(r"/recover[^.;()]*|`[^`]*`")  # commands: one grammar, English everywhere
_BREAKS = re.compile(r"%\(\w+\)[sdr]|[*().,:;?!·\[\]“”\"\n|/]")


@cache
def english_fragments(lang: str) -> tuple[str, ...]:
    """Every English run of two words or more in a marked message whose translation drops it."""
    if lang == i18n.SOURCE:
        return ()
    with i18n.po_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang)
    found = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        for english in ids:
            for fragment in _BREAKS.split(_KEPT.sub("|", english)):
                fragment = fragment.strip()
                if len(fragment.split()) >= 2 and not any(fragment in s for s in strings):
                    found.add(fragment)
    return tuple(sorted(found))


def assert_in_language(text: str, lang: str, word: str) -> None:
    assert word in text, f"{lang}: {word!r} missing from:\n{text}"
    left = [fragment for fragment in english_fragments(lang) if fragment in text]
    assert not left, f"{lang}: English left {left[:5]} in:\n{text}"


async def run(c: Container, text: str, user: str) -> Reply:
    reply = await c.commands.run_text(text, Context(team_id=T, channel_id=CH, user_id=user))
    assert not isinstance(reply, ErrorReply), reply.text
    return reply


def said(reply: Reply) -> str:
    return getattr(reply, "text", "") or getattr(reply, "message", "")


async def a_week(c: Container, clock: FakeClock, lang: str) -> None:
    """Two weeks of a team in EUR: causes with a cost, a costly grant, a flag, an action done and
    reviewed three weeks later, a shout-out, an unowned case; everyone speaking `lang`."""
    clock.current = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
    await run(c, "policy", BOSS)  # the first user is the admin
    await configure(
        c, T, BOSS, currency="EUR", person_limits={BOSS: "5000.00", ANA: "5000.00", BOB: "5000.00"},
        work_days=[0, 1, 2, 3, 4, 5, 6], work_start="00:00", work_end="23:59", pattern_min_cases=2,
        shoutouts_per_day=20,
    )  # fmt: skip
    await run(c, f"policy language {lang}", BOSS)
    for user in (BOSS, ANA, BOB):
        await run(c, f"policy my language {lang}", user)
    await run(c, f"policy role @{ANA} lead", BOSS)
    await run(c, "policy cause add Heat lamp", BOSS)
    await run(c, "policy cause add Housekeeping", BOSS)
    for problem, cause in (("cold plates", "heat lamp broken"), ("cold soup", "heat lamp on the pass out")):
        number = (await run(c, f"Guest A: {problem}", ANA)).detail.case.number  # type: ignore[attr-defined]
        await run(c, f"claim {number}", ANA)
        await run(c, f"apologise {number} in_person so sorry", ANA)
        await run(c, f"grant {number} Refund {MONEY}", ANA)
        clock.advance(minutes=30)
        await run(c, f"resolve {number} replated | {cause}", ANA)
        await run(c, f"cause {number} Heat lamp", ANA)
    await run(c, "action 1 Replace the heat lamp @ana due in 2 days", BOSS)
    clock.advance(days=1)
    await run(c, "action done 1 new lamp fitted", ANA)
    clock.current = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # three weeks on: W48
    number = (await run(c, "Guest B: room not cleaned", ANA)).detail.case.number  # type: ignore[attr-defined]
    await run(c, f"claim {number}", BOB)
    await run(c, f"apologise {number} phone so sorry", BOB)
    await run(c, f"grant {number} Room refund {MONEY}", BOB)
    await run(c, f"flag {number} housekeeping rota too thin", ANA)
    clock.advance(hours=2)
    await run(c, f"resolve {number} cleaned it | housekeeping skipped the room", BOB)
    await run(c, f"cause {number} Housekeeping", BOB)
    await run(c, "Guest C: lift out of order", ANA)  # never owned


async def test_the_managers_surfaces_speak_every_language(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    c = container
    await a_week(c, clock, LANGUAGES[0])
    for lang in LANGUAGES:  # one week, read in every language (the settings change, the data stays)
        await run(c, f"policy language {lang}", BOSS)
        for user in (BOSS, ANA, BOB):
            await run(c, f"policy my language {lang}", user)
        clock.current = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
        await the_digest(c, clock, lang)
        await the_causes(c, lang)
        await the_shoutout(c, notifier, lang)
        await the_nudges(c, clock, lang)


async def the_digest(c: Container, clock: FakeClock, lang: str) -> None:
    """Sent by the sweep's handler in the team's language, with its buttons and its chart."""
    monday = current_monday(clock.now(), "UTC") - timedelta(days=7)
    item = DueItem(key=f"digest:{T}:{lang}", team_id=T, kind="digest", ref=week_label(monday),
                   due_at=clock.now(), created_at=clock.now())  # fmt: skip
    outcome = await delivery.DUE_HANDLERS["digest"](c.deadlines, item)  # type: ignore[arg-type]
    notice = outcome.messages[0][1]
    text = notice.text
    assert text.startswith(HEAD[lang]), text
    assert_in_language(text, lang, WORD[lang])
    for key in ("fix_first", "actions"):
        assert notice.data["improvement"][key], key
    with i18n.use_locale(lang):
        fix_first, did_it_work = i18n.gettext("*What to fix first* (causes by cost this week):"), i18n.gettext(
            "Did it work? %(action)s"
        ) % {"action": ""}  # fmt: skip
        money = i18n.format_money(MONEY, "EUR")
        button = i18n.gettext("Action from #%(number)s's flag") % {"number": 3}
    assert fix_first in text and did_it_work.strip() in text, text
    assert money in text, (money, text)  # the week's one grant, the locale's way
    if lang == "de":
        assert "1.234,50\xa0€" in text
    if lang != "en":
        assert "€1,234.50" not in text
    assert notice.data["choices"][0][0] == button
    assert notice.attachments and notice.attachments[0].content.startswith(b"\x89PNG")

    with i18n.use_locale(lang):  # the chart's words: titles, axis labels, legends, day names
        figure = digest_figure(outcome_digest(notice.data))
        figure.savefig(io.BytesIO(), format="png")  # drawn, so the ticks have their labels
    words = [figure.get_suptitle()]
    for axes in figure.axes:
        words += [axes.get_title(), axes.get_xlabel(), axes.get_ylabel()]
        words += [label.get_text() for label in axes.get_xticklabels()]
        legend = axes.get_legend()
        if legend is not None:
            words += [entry.get_text() for entry in legend.get_texts()]
    chart = "\n".join(w for w in words if w)
    assert_in_language(chart, lang, CHART_WORD[lang])
    assert "What to fix first" not in chart or lang == "en"


def outcome_digest(data: dict) -> object:
    """The Digest back from its data (as the notice carries it), for the chart."""
    from teambot.core.insights.digest import Digest, Figures

    fields = {k: v for k, v in data.items() if k in Digest.__dataclass_fields__}
    return Digest(**{**fields, "this": Figures(**data["this"]), "last": Figures(**data["last"])})


async def the_causes(c: Container, lang: str) -> None:
    text = said(await run(c, "causes month", BOSS))
    with i18n.use_locale(lang):
        head = i18n.gettext("*What to fix first, %(period)s* (ranked by cost)").split("%(period)s")[0]
        cases = i18n.ngettext("%(count)s case", "%(count)s cases", 2) % {"count": 2}
    assert text.startswith(head) and "*Heat lamp*" in text and cases in text, text
    assert_in_language(text, lang, cases)


async def the_shoutout(c: Container, notifier: RecordingNotifier, lang: str) -> None:
    notifier.sent.clear()
    reply = said(await run(c, "shoutout @bob 3 calm and quick", ANA))
    with i18n.use_locale(lang):
        thanks = i18n.gettext("Shout-out to %(person)s for case #%(number)s posted. Thank you for noticing.") % {
            "person": "<@bob>", "number": 3}  # fmt: skip
    assert reply == thanks
    assert_in_language(reply, lang, "<@bob>")
    posted = [n.text for r, n in notifier.sent if n.kind == "shoutout"]
    assert posted and "calm and quick" in posted[0]
    assert_in_language(posted[0], lang, "#3")


async def the_nudges(c: Container, clock: FakeClock, lang: str) -> None:
    """The unowned case's nudge in the team's channel (the team's language); a follow-up DM in its
    reader's language even when the team speaks another."""
    item = DueItem(key=f"n:{lang}", team_id=T, kind="nudge_unowned", case_id=4, stage=1,
                   due_at=clock.now(), created_at=clock.now())  # fmt: skip
    async with c.db.read() as s:
        from sqlmodel import select

        from teambot.core.cases.models import Case

        cases = {case.number: case for case in (await s.exec(select(Case).where(Case.team_id == T))).all()}
    item.case_id = cases[4].id
    outcome = await NUDGES["nudge_unowned"](c.deadlines, item)  # type: ignore[arg-type]
    (rcpt, notice), *_ = outcome.messages
    assert rcpt.kind == "channel"
    with i18n.use_locale(lang):
        waited = i18n.gettext("Case #%(number)s has had no owner for %(waited)s (target %(target)s min): %(problem)s. "
                              "Who takes it? /recover claim %(number)s").split("%(waited)s")[0] % {"number": 4}  # fmt: skip
    assert notice.text.startswith(waited), notice.text
    assert_in_language(notice.text, lang, "/recover claim 4")

    other = "fr" if lang != "fr" else "de"
    await run(c, f"policy language {other}", BOSS)  # the team speaks another language now: the DM does not
    item = DueItem(key=f"f:{lang}", team_id=T, kind="followup_due", case_id=cases[3].id, stage=1,
                   due_at=clock.now(), created_at=clock.now())  # fmt: skip
    clock.current = cases[3].followup_due_at or clock.now()
    outcome = await NUDGES["followup_due"](c.deadlines, item)  # type: ignore[arg-type]
    (rcpt, notice), *_ = outcome.messages
    assert rcpt.kind == "user" and rcpt.id == BOB
    assert_in_language(notice.text, lang, "/recover followup 3")
    with i18n.use_locale(lang):
        start = i18n.gettext("%(owner)s: time to follow up with %(customer)s on case #%(number)s (%(problem)s). "
                             "Are they satisfied now? Answer with /recover followup %(number)s satisfied|not "
                             "<score 1-5>, or /recover snooze %(number)s for 1h (or tomorrow).")  # fmt: skip
    assert notice.text.startswith(start.split("%(customer)s")[0] % {"owner": "<@bob>"}), notice.text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_catalogue_gives_each_language_english_to_look_for(lang: str) -> None:
    """The English check is only as good as its list: it must hold the digest's own sentences."""
    fragments = english_fragments(lang)
    assert (
        (not fragments) if lang == "en" else ("What to fix first" in fragments and "Did it work" in fragments)
    )
