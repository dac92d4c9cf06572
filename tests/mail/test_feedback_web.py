"""The feedback page over real HTTP: form, answer, and links that must write nothing."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from teambot.core.customer_loop.ports import FeedbackAnswer
from teambot.core.customer_loop.tokens import DEFAULT_LIFETIME, issue_token, new_token_id
from teambot.web.feedback import add_feedback_routes
from teambot.web.ratelimit import RateLimiter
from tests.mail.memory_store import MemoryFeedbackStore, MovableClock

SECRET = b"feedback-secret-for-tests-0123456789"
GOOD = {"satisfied": "yes", "score": "4", "coming_back": "not_sure", "comment": "Lovely <b>soup</b> the 2nd time"}


@dataclass
class Site:
    client: TestClient
    store: MemoryFeedbackStore
    clock: MovableClock

    def link(self, first_name: str = "Jane", team: str = "Bistro & Co", **kw: bool) -> tuple[str, str]:
        token_id = new_token_id()
        self.store.add(token_id, first_name, team, **kw)
        return token_id, f"/feedback/{issue_token(SECRET, token_id, self.clock.now() + DEFAULT_LIFETIME)}"


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    store, clock = MemoryFeedbackStore(), MovableClock()
    app = web.Application()
    add_feedback_routes(app, store, SECRET, clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Site(client, store, clock)


class Structure(HTMLParser):
    """Collects what accessibility checks need: ids, labels, fieldsets, legends, inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.inputs_in_label: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "input" and "label" in self.stack:
            self.inputs_in_label.append(str(a.get("value")))
        if tag not in ("input", "meta", "br", "link"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def _parse(html: str) -> Structure:
    s = Structure()
    s.feed(html)
    return s


async def test_get_shows_an_accessible_form(site: Site) -> None:
    token_id, path = site.link()
    resp = await site.client.get(path)
    html = await resp.text()
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "form-action 'self'" in resp.headers["Content-Security-Policy"]
    assert '<html lang="en">' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "Jane, how did we do?" in html and "Bistro &amp; Co" in html
    assert token_id not in html  # the opaque id stays server-side
    s = _parse(html)
    assert len(s.all("fieldset")) == 3 and len(s.all("legend")) == 3
    radios = [a for a in s.all("input") if a.get("type") == "radio"]
    assert sorted({str(a["name"]) for a in radios}) == ["coming_back", "satisfied", "score"]
    assert len(radios) == 2 + 5 + 3 and len(s.inputs_in_label) == 10  # every radio inside its label
    assert [a["value"] for a in radios if a["name"] == "score"] == ["1", "2", "3", "4", "5"]
    [textarea] = s.all("textarea")
    assert textarea["maxlength"] == "2000"
    assert any(a.get("for") == textarea["id"] for a in s.all("label"))
    [form] = s.all("form")
    assert form["method"] == "post" and "action" not in form  # posts back to its own URL
    assert "<script" not in html


async def test_post_records_the_answer_once(site: Site) -> None:
    token_id, path = site.link()
    resp = await site.client.post(path, data=GOOD)
    assert resp.status == 200
    assert "Thank you, Jane" in await resp.text()
    assert site.store.answered(token_id) == FeedbackAnswer(True, 4, "not_sure", "Lovely <b>soup</b> the 2nd time")
    again = await site.client.post(path, data=GOOD | {"satisfied": "no"})
    assert again.status == 410
    assert "already answered" in await again.text()
    assert (await site.client.get(path)).status == 410
    assert site.store.writes == 1
    assert site.store.answered(token_id).satisfied is True  # type: ignore[union-attr]


async def test_two_posts_at_once_write_one_answer(site: Site) -> None:
    _, path = site.link()
    statuses = sorted(r.status for r in await asyncio.gather(*(site.client.post(path, data=GOOD) for _ in range(3))))
    assert statuses == [200, 410, 410]
    assert site.store.writes == 1


async def test_not_satisfied_gets_a_sorry(site: Site) -> None:
    _, path = site.link()
    resp = await site.client.post(path, data=GOOD | {"satisfied": "no", "score": "1", "coming_back": "no"})
    assert resp.status == 200
    assert "We are sorry we have not put things right yet" in await resp.text()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"score": ""}, "score", "choose a score from 1 to 5"),
        ({"score": "9"}, "score", "choose a score from 1 to 5"),
        ({"satisfied": "maybe"}, "satisfied", "whether you are satisfied"),
        ({"coming_back": ""}, "coming_back", "whether you will come back"),
        ({"comment": "x" * 2001}, "comment", "keep it under 2000"),
    ],
)
async def test_invalid_answer_shows_the_form_again_and_writes_nothing(
    site: Site, change: dict[str, str], field: str, message: str
) -> None:
    _, path = site.link()
    resp = await site.client.post(path, data=GOOD | change)
    html = await resp.text()
    assert resp.status == 400
    assert message in html
    assert f'href="#{field}"' in html and f'id="{field}"' in html  # the summary links to the field
    assert re.search(rf'aria-describedby="[^"]*\b{field}-error\b', html)
    assert "Lovely &lt;b&gt;soup&lt;/b&gt; the 2nd time" in html or field == "comment"  # kept, escaped
    assert site.store.writes == 0


async def test_expired_links_write_nothing(site: Site) -> None:
    _, path = site.link()
    site.clock.advance(days=15)
    for resp in (await site.client.get(path), await site.client.post(path, data=GOOD)):
        assert resp.status == 410
        assert "This link has expired" in await resp.text()
    site.clock.advance(days=-15)
    _, closed = site.link(closed=True)  # genuine token, but the case closed the loop already
    assert (await site.client.get(closed)).status == 410
    assert (await site.client.post(closed, data=GOOD)).status == 410
    assert site.store.writes == 0


async def test_tampered_or_unknown_links_are_404_and_write_nothing(site: Site) -> None:
    _, path = site.link()
    body, mac = path.removeprefix("/feedback/").split(".")
    # The first character: the last one of unpadded base64 carries two padding bits, so swapping
    # "B" for "A" there can leave the MAC's bytes unchanged (a test that failed at random).
    tampered = f"/feedback/{body}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    unknown = f"/feedback/{issue_token(SECRET, new_token_id(), site.clock.now() + timedelta(days=1))}"
    for bad in (tampered, unknown, "/feedback/nonsense", "/feedback/" + "A" * 400):
        for resp in (await site.client.get(bad), await site.client.post(bad, data=GOOD)):
            assert resp.status == 404, bad
            assert "This link does not work" in await resp.text()
    assert site.store.writes == 0


async def test_cross_site_origin_is_refused(site: Site) -> None:
    token_id, path = site.link()
    for origin in ("https://evil.example", "null", f"http://evil.example:{site.client.port}"):
        resp = await site.client.post(path, data=GOOD, headers={"Origin": origin})
        assert resp.status == 403
        assert "Please use the page from your email" in await resp.text()
    assert site.store.writes == 0
    own = f"http://{site.client.host}:{site.client.port}"
    assert (await site.client.post(path, data=GOOD, headers={"Origin": own})).status == 200
    assert site.store.answered(token_id) is not None


async def test_rate_limit_per_ip(site: Site) -> None:
    statuses = [(await site.client.post("/feedback/forged.token", data=GOOD)).status for _ in range(11)]
    assert statuses == [404] * 10 + [429]
    _, path = site.link()
    resp = await site.client.post(path, data=GOOD)  # even a good link waits its turn
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "60"
    assert "Please wait a moment" in await resp.text()
    assert site.store.writes == 0


async def test_rate_limit_per_link(site: Site) -> None:
    _, path = site.link()
    statuses = [(await site.client.post(path, data=GOOD | {"score": ""})).status for _ in range(6)]
    assert statuses == [400] * 5 + [429]
    assert site.store.writes == 0


def test_rate_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 60.0, clock=lambda: now[0], max_keys=3)
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]
    now[0] += 30.0  # half a minute brings back one of two
    assert [limiter.allow("a") for _ in range(2)] == [True, False]
    for key in "bcdef":  # more keys than max_keys: memory stays bounded
        limiter.allow(key)
    assert len(limiter._buckets) <= 3
