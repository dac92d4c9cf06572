"""The webhook transport over aiohttp: one POST, no redirects, 5 s in all, 64 KB of answer read.

The URL was checked when the webhook was added (https, or http to loopback); it is checked again
here, so a row edited in the database cannot send Teambot's signed events anywhere else.
"""

from __future__ import annotations

import aiohttp

from teambot.core.webhooks.ports import READ_LIMIT, TIMEOUT_SECONDS, Answer
from teambot.core.webhooks.signing import check_url


class AiohttpTransport:
    def __init__(self, timeout: float = TIMEOUT_SECONDS, read_limit: int = READ_LIMIT) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.read_limit = read_limit
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        check_url(url)
        async with self._client().post(url, data=body, headers=headers, allow_redirects=False) as resp:
            # The answer matters only for its status; a huge or endless body is not read past the limit.
            head = await resp.content.read(self.read_limit)
            if not resp.content.at_eof():
                resp.close()  # the rest is never read: the connection is dropped, not reused mid-body
            return Answer(resp.status, head)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
