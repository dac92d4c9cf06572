"""Cards the HTTP tests may not reach, rendered directly and parsed by Microsoft's library at 1.5."""

from __future__ import annotations

from teambot.core.errors import BadInput
from teambot.core.ports import Notice
from teambot.teams import cards
from tests.teams.adaptive import problems

FORMS = ["open", "apologise", "grant", "step", "resolve", "followup", "handover", "flag", "reopen", "shoutout", "deny"]


def test_every_form_and_notice_parses_cleanly() -> None:
    rendered = []
    for form in FORMS:
        rendered.append(cards.form_card(form, {"number": 3}, {"amount": "12.5", "due_date": "2030-01-02"}))
        rendered.append(cards.form_card(form, {}, {}, error=BadInput("No.", field="x"), dialog=True))
    for kind in ("approval_request", "followup_due", "nudge_unowned", "step_due", "nudge_resolve", "digest"):
        data = {"number": 1, "approval_id": 2, "position": 1}
        rendered.append(cards.notice_card(Notice(kind, "Case #1 <@x>", "t", 1, data), {"x": "X"}, note="note"))
    rendered.append(cards.error_card(BadInput("Bad", "Hint"), "you typed this"))
    rendered.append(cards.image_card("Chart", b"\x89PNG\r\n\x1a\n"))
    assert not (found := problems(rendered)), found


def test_the_check_is_strict() -> None:
    bad = cards.card([{"type": "Input.Frobnicate", "id": "x"}])
    assert problems([bad]), "an unknown element must not pass"
    picker = cards.card([{"type": "Input.ChoiceSet", "id": "p", "choices": [],
                          "choices.data": {"type": "Data.Query", "dataset": "example.com/things"}}])  # fmt: skip
    assert problems([picker]), "only Teams' people search is tolerated as choices.data"
