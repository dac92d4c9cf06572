"""Stand-ins the ops tests share: the local Slack, the Teams token issuer, an SMTP server with
STARTTLS and login, and an HTTPS server answering /healthz (all real sockets on 127.0.0.1)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.mail.test_senders import Inbox, _serve
from tests.mail.test_senders import certs as certs  # the module-scoped certificate fixture
from tests.slack.fake_slack import FakeSlack
from tests.teams.conftest import APP_ID, APP_PASSWORD
from tests.teams.fakes import IdentityProvider

SMTP_USER, SMTP_PASSWORD = "care%40bistro.example", "p%40ss%3Aw%2Frd"  # as the Inbox stand-in accepts them


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[IdentityProvider]:
    with IdentityProvider(tmp_path, APP_ID, APP_PASSWORD) as idp:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(idp.cert_path))
        yield idp


@pytest.fixture
def smtp_tls(certs: tuple[ssl.SSLContext, ssl.SSLContext]) -> Iterator[int]:
    """An SMTP server that insists on STARTTLS and a login (the Inbox's one account)."""
    inbox = Inbox()
    yield from _serve(inbox, tls_context=certs[0], require_starttls=True, authenticator=inbox.authenticate,
                      auth_required=True, auth_require_tls=True)  # fmt: skip


@pytest.fixture
def smtp_plain() -> Iterator[int]:
    yield from _serve(Inbox())


@pytest.fixture
async def https_site(certs: tuple[ssl.SSLContext, ssl.SSLContext]) -> AsyncIterator[str]:
    """`https://127.0.0.1:<port>` answering /healthz 200 and anything else 404."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=certs[0])
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
