"""The case speaks the reader's language: its card's facts and timeline, the grammar's refusals and
what a step says, in every language Teambot ships. Each rendering must be in that language (a word
of it appears), keep no English sentence (the words below are the English ones these texts used),
fill every placeholder, and stay valid where a platform checks it (Block Kit)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from teambot.bootstrap import Container
from teambot.core.cases.models import (
    ApprovalRequest,
    Case,
    CaseStatus,
    Grant,
    ImprovementFlag,
    NextStep,
    TimelineEvent,
)
from teambot.core.cases.queries import CaseDetail
from teambot.core.cases.summary import ACTION_LABELS, STATUS_LABELS, case_facts, event_line, title
from teambot.core.commands.context import Context
from teambot.core.commands.grammar import parse
from teambot.core.errors import BadInput
from teambot.core.i18n import LANGUAGES, SOURCE, use_locale
from teambot.core.notice_actions import notice_actions
from teambot.core.policy.models import Policy
from teambot.core.ports import Notice
from teambot.slack.blocks import case_card
from tests.helpers import RecordingNotifier

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=30)
TRANSLATED = [lang for lang in LANGUAGES if lang != SOURCE]
# A word each language's case texts use (its word for "case"), looked for case-insensitively.
KNOWN = {"en": "case", "de": "fall", "fr": "dossier", "es": "caso", "nl": "zaak", "pt": "caso"}
# Words of the English these texts are written in; none may be left in a translation. (The data below
# is in no language: X-412, Spa, ana.)
ENGLISH = re.compile(
    r"\b(given|nobody|opened|owned|after|opening|root cause|to do|asked|request|approval|approved|apologised|"
    r"satisfied|overdue|missing|already|owns|now|case|step|due|made|finished|granted|took|ownership|"
    r"severity|improvement|customer|Usage)\b"
)
UNFILLED = re.compile(r"%\(\w+\)[sd]|%[sd]\b|\{\w*\}")


def rich_detail() -> CaseDetail:
    """A case that has been through almost everything: every fact and timeline line has something to say."""
    case = Case(
        id=1, team_id="T", number=7, channel_id="C", opened_by="ana", opened_at=T0, problem="X-412",
        customer_name="Kim", wants="Spa", category="rooms", severity="high", status=CaseStatus.RESOLVED,
        owner_id="bob", owned_at=T0 + timedelta(minutes=4), apologised_at=T0 + timedelta(minutes=20),
        apology_method="phone", apology_words="X-1", resolved_at=T0 + timedelta(hours=26), resolution="X-2",
        root_cause="X-3", followup_due_at=T0 + timedelta(hours=50), followup_at=T0, satisfied=False, score=2,
        won_back=True, followup_source="customer", updated_at=T0,
    )  # fmt: skip
    policy = Policy(team_id="T", own_within_minutes=15, resolve_within_hours=24, created_at=T0, updated_at=T0)
    grants = [
        Grant(team_id="T", case_id=1, granted_by="bob", gesture="Spa", amount_minor=2500, currency="USD",
              within_authority=True, granted_at=T0),
        Grant(team_id="T", case_id=1, granted_by="bob", gesture="Spa", amount_minor=9000, currency="USD",
              within_authority=False, granted_at=T0),
    ]  # fmt: skip
    pending = [ApprovalRequest(id=3, team_id="T", case_id=1, requested_by="bob", gesture="Spa", amount_minor=5000,
                               currency="USD", requested_at=T0)]  # fmt: skip
    steps = [
        NextStep(team_id="T", case_id=1, position=1, text="X-4", owner_id="bob", created_by="bob", created_at=T0,
                 due_at=T0 + timedelta(hours=2)),
        NextStep(team_id="T", case_id=1, position=2, text="X-5", owner_id="bob", created_by="bob", created_at=T0,
                 done=True, done_at=T0),
    ]  # fmt: skip
    flags = [ImprovementFlag(team_id="T", case_id=1, flagged_by="ana", note="X-6", flagged_at=T0)]
    sent = [TimelineEvent(team_id="T", case_id=1, kind="followup_sent", actor="bob", at=T0, data={})]
    return CaseDetail(case=case, policy=policy, grants=grants, approvals=pending, steps=steps, flags=flags, events=sent)


EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("opened", {"problem": "X-412"}), ("claimed", {}), ("handed_over", {"from": "ana", "to": "bob"}),
    ("apologised", {"method": "in_person", "words": "X-1"}),
    ("granted", {"gesture": "Spa", "amount": "25.00", "currency": "EUR"}),
    ("approval_requested", {"gesture": "Spa", "amount": "90", "currency": "USD"}),
    ("approved", {"gesture": "Spa", "wait_minutes": 3.5}), ("denied", {"gesture": "Spa", "note": "X-7"}),
    ("step_added", {"position": 1, "text": "X-4"}), ("step_done", {"position": 1, "text": "X-4"}),
    ("flagged", {"note": "X-6"}), ("resolved", {"resolution": "X-2", "root_cause": "X-3"}),
    ("followup_answered", {"satisfied": True, "score": 5, "source": "customer", "comment": "X-8"}),
    ("followup_answered", {"satisfied": False, "score": 2, "source": "staff"}),
    ("reopened", {"reason": "X-9"}), ("snoozed", {"until": "2026-11-24T09:00:00+00:00"}),
    ("cancelled", {"duplicate_of": 3, "reason": "X-10"}), ("recategorised", {"from": "rooms", "to": "food"}),
    ("withdrawn", {"approval_id": 3, "gesture": "Spa"}), ("customer_erased", {}),
]  # fmt: skip


def in_language(lang: str, texts: list[str]) -> None:
    joined = "\n".join(texts)
    assert KNOWN[lang] in joined.lower(), (lang, joined)
    assert not UNFILLED.findall(joined), (lang, UNFILLED.findall(joined))
    if lang != SOURCE:
        left = sorted(set(ENGLISH.findall(joined)))
        assert not left, f"{lang}: English left {left} in:\n{joined}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_case_card_reads_in_every_language(lang: str) -> None:
    detail = rich_detail()
    with use_locale(lang):
        facts = case_facts(detail, NOW, "Europe/Berlin")
        texts = [title(detail), *(f"{label}: {value}" for label, value in facts)]
        texts += [STATUS_LABELS[s] for s in CaseStatus] + [ACTION_LABELS[a] for a in ACTION_LABELS]
        card = case_card(detail, NOW, "Europe/Berlin")
    labels = [label for label, _value in facts]
    assert len(labels) >= 18 and len(set(labels)) == len(labels)  # every fact says something, once
    in_language(lang, texts)
    for block in card["blocks"]:
        Block.parse(block).validate_json()
    if lang != SOURCE:
        with use_locale(SOURCE):
            english = [label for label, _value in case_facts(detail, NOW, "Europe/Berlin")]
        assert (
            sum(a != b for a, b in zip(labels, english, strict=True)) >= len(labels) - 2
        )  # "Status" may stay


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_timeline_reads_in_every_language(lang: str) -> None:
    with use_locale(lang):
        lines = [event_line(kind, data) for kind, data in EVENTS]
        buttons = notice_actions(Notice(kind="followup_due", text="", team_id="T", data={"number": 7}))
    lines += [button.label for button in buttons]
    in_language(lang, [*lines, KNOWN[lang]])  # the timeline names no case; the known word is given
    with use_locale(SOURCE):
        english = [event_line(kind, data) for kind, data in EVENTS]
    if lang != SOURCE:
        assert all(a != b for a, b in zip(lines, english, strict=False)), lines


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_grammar_refusal_is_in_the_readers_language(lang: str) -> None:
    refusals = []
    for typed in ("claim", "claim abc", "done 12", "grant 3", "followup 3 yes x", "withdraw"):
        with use_locale(lang), pytest.raises(BadInput) as err:
            parse(typed)
        refusals.append(str(err.value))
    # The command's syntax after "Usage:" stays English, the one grammar everyone types.
    assert "/recover claim <case>" in refusals[0] and "/recover done 12.1" in refusals[2]
    in_language(lang, [re.sub(r"/recover.*", "", r) for r in refusals] + [KNOWN[lang]])


def ctx(user: str) -> Context:
    return Context("T", "C", user)


@pytest.mark.parametrize("lang", TRANSLATED)
async def test_a_step_speaks_the_team_its_refusal_the_person(
    container: Container, notifier: RecordingNotifier, lang: str
) -> None:
    c = container
    run = c.commands.run_text
    await run("policy", ctx("ana"))  # ana makes the team's policy and is its admin
    await run(f"policy language {lang}", ctx("ana"))
    await run("policy my language en", ctx("bob"))  # bob reads English; the team, and ana, `lang`
    await run("X-412 X-413", ctx("ana"))
    claimed = await run("claim 1", ctx("bob"))
    assert not hasattr(claimed, "error"), claimed.text  # type: ignore[attr-defined]
    said = claimed.message  # type: ignore[attr-defined]
    in_language(lang, [said])
    assert "<@bob>" in said and "#1" in said
    again = await run("claim 1", ctx("ana"))  # refused, in ana's language (the team's)
    in_language(lang, [again.text])  # type: ignore[attr-defined]
    refused = await run("claim 1", ctx("bob"))  # bob already owns it: told in English
    assert "You already own case #1." in refused.text  # type: ignore[attr-defined]
    # A direct message reads in its reader's language, not in that of the one who acted: bob (English)
    # hands the case to ana, who reads the team's.
    await run("handover 1 @ana", ctx("bob"))
    [dm] = [n for n in notifier.to("ana") if n.kind == "handover"]
    in_language(lang, [dm.text])
    assert "X-412" in dm.text
