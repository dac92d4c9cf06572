"""One real browser (Debian chromium, headless) answers the feedback form with the keyboard.

Skipped only when /usr/bin/chromium is missing AND TEAMBOT_REQUIRE_BROWSER is unset (CI
sets it, so a missing browser fails there). With TEAMBOT_SCREENSHOTS=1 it also refreshes
docs/feedback-desktop.png and docs/feedback-phone.png.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from teambot.core.customer_loop.ports import FeedbackAnswer
from teambot.core.customer_loop.tokens import DEFAULT_LIFETIME, issue_token, new_token_id
from teambot.web.feedback import add_feedback_routes
from tests.mail.memory_store import MemoryFeedbackStore, MovableClock

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DOCS = Path(__file__).resolve().parents[2] / "docs"
SECRET = b"feedback-secret-for-the-browser-test"


def _need_browser() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    if os.environ.get("TEAMBOT_REQUIRE_BROWSER"):
        pytest.fail("TEAMBOT_REQUIRE_BROWSER is set but /usr/bin/chromium or /usr/bin/chromedriver is missing")
    pytest.skip("no /usr/bin/chromium (apt-get install chromium chromium-driver)")


class ServerThread:
    """The feedback app on a real port, in its own thread and loop (selenium's calls block)."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.runner = web.AppRunner(app)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=en-GB"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def _viewport(driver: Any, width: int, height: int, *, mobile: bool) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def _screenshot(driver: Any, path: Path, width: int, height: int, *, mobile: bool) -> None:
    """The whole page at this width (taller than the viewport if the form is)."""
    _viewport(driver, width, height, mobile=mobile)
    full = max(height, int(driver.execute_script("return document.documentElement.scrollHeight")))
    _viewport(driver, width, full, mobile=mobile)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(path))


def test_answer_the_form_in_a_real_browser(browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    store, clock = MemoryFeedbackStore(), MovableClock()
    token_id = new_token_id()
    store.add(token_id, "Jane", "Bistro & Co")
    app = web.Application()
    add_feedback_routes(app, store, SECRET, clock)
    path = f"/feedback/{issue_token(SECRET, token_id, clock.now() + DEFAULT_LIFETIME)}"

    with ServerThread(app) as server:
        for width in (375, 390):  # phones: nothing may stick out sideways
            _viewport(browser, width, 844, mobile=True)
            browser.get(f"http://127.0.0.1:{server.port}{path}")
            assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        _viewport(browser, 1280, 900, mobile=False)
        browser.get(f"http://127.0.0.1:{server.port}{path}")
        assert browser.find_element(By.TAG_NAME, "h1").text == "Jane, how did we do?"

        def focused(attr: str) -> str:
            return browser.switch_to.active_element.get_attribute(attr)

        body = browser.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)  # first stop: the "satisfied" group
        assert (focused("name"), focused("value")) == ("satisfied", "yes")
        outline = browser.execute_script("return getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"  # keyboard focus is visible
        browser.switch_to.active_element.send_keys(Keys.SPACE)
        browser.switch_to.active_element.send_keys(Keys.TAB)
        assert focused("name") == "score"
        browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT * 3)  # arrows choose within a group
        assert (focused("name"), focused("value")) == ("score", "4")
        # The label is the click target for "Not sure", as it is for a thumb on a phone.
        browser.find_element(By.XPATH, "//label[.//input[@name='coming_back' and @value='not_sure']]").click()
        browser.find_element(By.ID, "comment").send_keys("Lovely soup the second time & <thanks>")

        if os.environ.get("TEAMBOT_SCREENSHOTS") == "1":
            _screenshot(browser, DOCS / "feedback-phone.png", 390, 844, mobile=True)
            _screenshot(browser, DOCS / "feedback-desktop.png", 1280, 900, mobile=False)
            _viewport(browser, 1280, 900, mobile=False)

        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        assert heading_after_submit(browser) == "Thank you, Jane"

    assert store.answered(token_id) == FeedbackAnswer(True, 4, "not_sure", "Lovely soup the second time & <thanks>")
    assert store.writes == 1


# What the customer reads in German and in Spanish: the heading, the thanks, and the switch's own name.
IN = {
    "de": ("Jane, wie war es für Sie?", "Vielen Dank, Jane", "Deutsch", "Ja", "Weiß noch nicht"),
    "es": ("Jane, ¿qué tal lo hicimos?", "Gracias, Jane", "Español", "Sí", "No lo sé"),
}


@pytest.mark.parametrize("lang", sorted(IN))
def test_answer_the_form_in_german_and_spanish(browser: Any, lang: str) -> None:
    """The case names the customer's language; the browser asks for English, and the page still
    speaks the customer's. The switch is a plain link that keeps the link working."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    heading, thanks, own_name, yes, not_sure = IN[lang]
    store, clock = MemoryFeedbackStore(), MovableClock()
    token_id = new_token_id()
    store.add(token_id, "Jane", "Bistro & Co", language=lang)
    app = web.Application()
    add_feedback_routes(app, store, SECRET, clock)
    path = f"/feedback/{issue_token(SECRET, token_id, clock.now() + DEFAULT_LIFETIME)}"

    with ServerThread(app) as server:
        for width in (375, 390):  # the longer German and Spanish words still fit a phone
            _viewport(browser, width, 844, mobile=True)
            browser.get(f"http://127.0.0.1:{server.port}{path}")
            assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        if os.environ.get("TEAMBOT_SCREENSHOTS") == "1":
            _screenshot(browser, DOCS / f"feedback-phone-{lang}.png", 390, 844, mobile=True)
        _viewport(browser, 1280, 900, mobile=False)
        browser.get(f"http://127.0.0.1:{server.port}{path}")
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
        assert browser.find_element(By.TAG_NAME, "h1").text == heading
        current = browser.find_element(By.CSS_SELECTOR, "nav.languages [aria-current]")
        assert current.text == own_name
        # The switch: to English and back, by keyboard-reachable links.
        browser.find_element(By.CSS_SELECTOR, "nav.languages a[hreflang=en]").click()
        assert browser.find_element(By.TAG_NAME, "h1").text == "Jane, how did we do?"
        browser.find_element(By.CSS_SELECTOR, f"nav.languages a[hreflang={lang}]").click()
        assert browser.find_element(By.TAG_NAME, "h1").text == heading

        browser.find_element(By.XPATH, "//label[.//input[@name='satisfied' and @value='yes']]").click()
        assert browser.find_element(By.XPATH, "//label[.//input[@name='satisfied' and @value='yes']]").text == yes
        browser.find_element(By.XPATH, "//label[.//input[@name='score' and @value='5']]").click()
        label = browser.find_element(By.XPATH, "//label[.//input[@name='coming_back' and @value='not_sure']]")
        assert label.text == not_sure
        label.click()
        browser.find_element(By.ID, "comment").send_keys("Sehr nett & schnell" if lang == "de" else "¡Muy amables!")
        if os.environ.get("TEAMBOT_SCREENSHOTS") == "1":
            _screenshot(browser, DOCS / f"feedback-desktop-{lang}.png", 1280, 900, mobile=False)
            _viewport(browser, 1280, 900, mobile=False)
        browser.find_element(By.ID, "comment").send_keys(Keys.TAB)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        assert heading_after_submit(browser, thanks.split(",")[0]) == thanks

    answer = store.answered(token_id)
    assert answer is not None and (answer.satisfied, answer.score, answer.coming_back) == (True, 5, "not_sure")


def heading_after_submit(browser: Any, starts: str = "Thank you") -> str:
    """The next page's <h1>, once the browser has left the form (reading it mid-navigation
    would hit the old page's element)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def thanked(driver: Any) -> str | bool:
        try:
            text = driver.find_element(By.TAG_NAME, "h1").text
        except StaleElementReferenceException:
            return False
        return text if text.startswith(starts) else False

    return str(WebDriverWait(browser, 15, ignored_exceptions=(StaleElementReferenceException,)).until(thanked))
