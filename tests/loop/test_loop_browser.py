"""The customer's side in a real browser (Debian chromium, headless): a real case, a real mail
in the outbox, its link opened and answered with the keyboard on Teambot's own server, the
answer landing on the case in the database. Runs on SQLite and PostgreSQL.

The server runs on the test's own event loop (the database engine belongs to it); selenium's
blocking calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from teambot.bootstrap import build
from teambot.config import load_settings
from teambot.server import create_app
from tests.conftest import _truncate
from tests.helpers import FakeClock, RecordingNotifier
from tests.mail.test_feedback_browser import browser, heading_after_submit  # noqa: F401  (the fixture)
from tests.mail.test_senders import _free_port


async def test_customer_answers_the_mailed_link_in_a_real_browser(
    browser: Any,  # noqa: F811
    db_url: str,
    clock: FakeClock,
    notifier: RecordingNotifier,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    port = _free_port()
    settings = load_settings(
        database_url=db_url, mail_from="Bistro Care <care@bistro.example>", outbox_dir=str(tmp_path / "outbox"),
        port=port, secret="browser-test-secret-0123456789",
    )  # fmt: skip
    c = await build(settings, clock=clock, migrate=False)
    await _truncate(c)
    c.notifier.fallback = notifier
    runner = web.AppRunner(create_app(c))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        from teambot.core.commands.context import Context

        ctx = Context("T1", "C1", "ana")
        for text in (
            "Jane Doe <jane@example.com>: the soup was cold",
            "claim 1",
            "apologise 1 in_person So sorry",
            "resolve 1 A fresh bowl | the pass lamp was off",
            "send 1",
        ):
            reply = await c.commands.run_text(text, ctx)
            assert type(reply).__name__ != "ErrorReply", reply
        [eml] = list((tmp_path / "outbox").iterdir())
        msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        text_part = msg.get_body(("plain",))  # type: ignore[attr-defined]
        [link] = re.findall(r"http://localhost:\d+/feedback/\S+", text_part.get_content())
        assert link.startswith(f"http://localhost:{port}/feedback/")  # TEAMBOT_PUBLIC_URL's default

        def customer() -> tuple[str, str]:
            browser.get(link)
            heading = browser.find_element(By.TAG_NAME, "h1").text
            body = browser.find_element(By.TAG_NAME, "body")
            body.send_keys(Keys.TAB)
            browser.switch_to.active_element.send_keys(Keys.SPACE)  # satisfied: yes
            browser.switch_to.active_element.send_keys(Keys.TAB)
            browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT * 4)  # score 5
            browser.find_element(By.XPATH, "//label[.//input[@name='coming_back' and @value='yes']]").click()
            browser.find_element(By.ID, "comment").send_keys("Thank you, & see you soon")
            browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            thanks = heading_after_submit(browser)
            browser.get(link)  # the link again: used
            return heading, thanks + "|" + browser.find_element(By.TAG_NAME, "body").text

        heading, after = await asyncio.to_thread(customer)
        assert heading == "Jane, how did we do?"
        thanks, again = after.split("|", 1)
        assert thanks == "Thank you, Jane"
        assert "already" in again.lower()
        case = await c.service.case("T1", 1)
        assert (case.status.value, case.satisfied, case.score, case.won_back) == ("closed", True, 5, True)
        assert case.followup_source == "customer"
        assert any(n.kind == "customer_feedback" for n in notifier.to("ana"))
    finally:
        await runner.cleanup()
        await c.close()
