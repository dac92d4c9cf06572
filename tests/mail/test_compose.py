"""The follow-up as an email: the link in both parts, the body escaped, the owner signing."""

from __future__ import annotations

import pytest

from teambot.core.customer_loop.mail import body_of_draft, compose_followup
from teambot.core.errors import BadInput

URL = "https://teambot.example.com/feedback/abc.def"
DRAFT = """Dear Jane Doe,

Thank you for your patience. As we said on the phone on 21 November, we are sorry that the <b>soup</b> was cold & late.

As a gesture of apology, we have given you:
  - Dessert on the house (€8.00)
  - <script>alert(1)</script>

If anything is still not right, please tell us.

Kind regards,
Sam"""


def compose(**overrides: str | None):
    args = {
        "customer_first_name": "Jane",
        "team_name": "Bistro & Co",
        "owner_name": "Sam Lee",
        "body_text": DRAFT,
        "feedback_url": URL,
        "to": "jane@example.com",
        "reply_to": None,
    } | overrides
    return compose_followup(**args)  # type: ignore[arg-type]


def test_text_part() -> None:
    mail = compose()
    assert mail.to == "jane@example.com"
    assert mail.subject == "Following up from Bistro & Co"
    assert mail.text.startswith("Dear Jane,\n\n")
    assert "the <b>soup</b> was cold & late." in mail.text  # plain text is not HTML-escaped
    assert "  - Dessert on the house (€8.00)" in mail.text
    assert URL in mail.text
    assert mail.text.rstrip().endswith("Kind regards,\nSam Lee\nBistro & Co")
    assert "Dear Jane Doe" not in mail.text  # the draft's own greeting is replaced
    assert "\nSam\n" not in mail.text  # and its sign-off
    assert "If anything is still not right, please tell us." in mail.text
    assert "reply to this email" not in mail.text  # no reply address given: don't invite one


def test_html_part_escapes_the_body_and_links_the_page() -> None:
    mail = compose()
    assert '<html lang="en">' in mail.html
    assert "&lt;b&gt;soup&lt;/b&gt; was cold &amp; late." in mail.html
    assert "<script>" not in mail.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in mail.html
    assert "<li>Dessert on the house (€8.00)</li>" in mail.html
    assert f'<a href="{URL}"' in mail.html
    assert "Sam Lee<br>" in mail.html and "Bistro &amp; Co" in mail.html


def test_reply_to_invites_a_reply_by_email() -> None:
    mail = compose(reply_to="Sam.Lee@Bistro.example")
    assert mail.reply_to == "Sam.Lee@bistro.example"
    assert "just reply to this email" in mail.text
    assert "just reply to this email" in mail.html


def test_names_cannot_break_lines_or_markup() -> None:
    mail = compose(customer_first_name="<Jane>\n", team_name="Bistro\r\nBcc: x@evil.example")
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert "Dear &lt;Jane&gt;," in mail.html


def test_refuses_a_bad_address_or_link() -> None:
    with pytest.raises(BadInput):
        compose(to="jane@example")
    with pytest.raises(BadInput):
        compose(feedback_url="javascript:alert(1)")


def test_body_of_draft_keeps_sentences_that_only_start_like_a_sign_off() -> None:
    body = "Dear Jane,\n\nThanks to your note we changed the menu.\nThank you\n\nSam"
    assert body_of_draft(body) == "Thanks to your note we changed the menu."


def test_greeting_without_a_first_name() -> None:
    mail = compose(customer_first_name="  ")
    assert mail.text.startswith("Hello,\n")
