"""Local stand-ins for the Microsoft services a Teams bot talks to, over real HTTP.

- `IdentityProvider`: HTTPS (self-signed, trusted through REQUESTS_CA_BUNDLE) in its own
  thread, because botbuilder fetches OpenID metadata and msal fetches tokens with blocking
  `requests` calls from inside the event loop. It serves the Bot Connector's OpenID metadata
  and signing keys (for incoming-request validation) and an OAuth token endpoint (for the
  bot's outgoing calls), all signed with a test RSA key.
- `FakeConnector`: the Bot Connector REST API (the activity's serviceUrl), on aiohttp in the
  test's loop; records sends and updates, checks the bot's bearer token, can answer 429.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import itertools
import json
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.test"
BOT_SCOPE = "https://api.botframework.com"
KID = "test-key-1"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "idp.pem", directory / "idp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class IdentityProvider:
    """Bot Framework OpenID metadata + JWKS, and an OAuth client-credentials token endpoint."""

    def __init__(self, directory: Path, app_id: str, app_password: str) -> None:
        self.app_id, self.app_password = app_id, app_password
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.cert_path, key_path = _self_signed(directory)
        self.token_requests: list[dict[str, str]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _json(self, body: dict[str, Any], status: int = 200) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                base = provider.url
                if self.path == "/botframework/v1/.well-known/openidconfiguration":
                    self._json({"issuer": ISSUER, "jwks_uri": f"{base}/botframework/keys"})
                elif self.path == "/botframework/keys":
                    jwk = json.loads(RSAAlgorithm.to_jwk(provider.signing_key.public_key()))
                    self._json(
                        {"keys": [{**jwk, "kid": KID, "use": "sig", "endorsements": ["msteams", "emulator"]}]}
                    )
                elif self.path.startswith("/adfs/.well-known/openid-configuration"):
                    self._json(
                        {
                            "issuer": f"{base}/adfs",
                            "authorization_endpoint": f"{base}/adfs/oauth2/authorize",
                            "token_endpoint": f"{base}/adfs/oauth2/token",
                        }
                    )
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if self.path != "/adfs/oauth2/token":
                    self._json({"error": "not_found"}, 404)
                    return
                provider.token_requests.append(form)
                if (
                    form.get("client_id") != provider.app_id
                    or form.get("client_secret") != provider.app_password
                ):
                    self._json(
                        {"error": "invalid_client", "error_description": "bad app id or password"}, 401
                    )
                    return
                token = provider.token(aud=BOT_SCOPE, appid=provider.app_id, iss=f"{provider.url}/adfs")
                self._json({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> IdentityProvider:
        # botbuilder caches signing keys per metadata URL for a day, process-wide. A later test's
        # issuer may get an earlier one's port (so the same URL) with a new key under the same
        # kid: forget what was cached for this URL, as a real key rotation would be fetched anew.
        from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor

        JwtTokenExtractor.metadataCache.pop(self.metadata_url, None)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/botframework/v1/.well-known/openidconfiguration"

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        body = {"iat": now, "nbf": now - 5, "exp": now + 3600, **claims}
        return jwt.encode(body, self.signing_key, algorithm="RS256", headers={"kid": KID})

    def channel_token(self, service_url: str, **override: Any) -> str:
        """What the Bot Connector sends with every activity for this bot."""
        return self.token(**{"iss": ISSUER, "aud": self.app_id, "serviceurl": service_url, **override})

    def check_bot_token(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        try:
            claims = jwt.decode(
                header[7:], self.signing_key.public_key(), algorithms=["RS256"], audience=BOT_SCOPE
            )
        except jwt.PyJWTError:
            return False
        return claims.get("appid") == self.app_id


@dataclass
class Sent:
    method: str  # "send" | "update"
    conversation: str
    activity_id: str
    body: dict[str, Any]
    authorised: bool

    @property
    def card(self) -> dict[str, Any] | None:
        for att in self.body.get("attachments") or []:
            if att.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return att["content"]
        return None

    @property
    def text(self) -> str:
        """Everything readable in the activity, card included, for assertions."""
        parts = [self.body.get("text") or ""]
        card = self.card
        if card:
            parts.append(json.dumps(card, ensure_ascii=False))
        return "\n".join(parts)


@dataclass
class FakeConnector:
    """Answers like the Bot Connector service: ids for sends, 200 for updates."""

    identity: IdentityProvider | None = None
    log: list[Sent] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before succeeding
    members: list[dict[str, Any]] = field(default_factory=list)  # the team's roster (TeamsChannelAccount JSON)
    refuse_create: int | None = None  # answer creating a conversation with this status
    created: list[dict[str, Any]] = field(default_factory=list)  # conversations the bot created
    roster_reads: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    server: TestServer | None = None
    hold: asyncio.Event | None = None  # while set and not yet set(), sends wait (a reply not out yet)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations/{cid}/activities", self._send)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self._send)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._update)
        app.router.add_get("/v3/conversations/{cid}/pagedmembers", self._paged_members)
        app.router.add_post("/v3/conversations", self._create)
        return app

    async def start(self) -> str:
        self.server = TestServer(self.app(), host="127.0.0.1")
        await self.server.start_server()
        return str(self.server.make_url("/")).rstrip("/") + "/"

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def _authorised(self, request: web.Request) -> bool:
        if self.identity is None:
            return "Authorization" not in request.headers
        return self.identity.check_bot_token(request.headers.get("Authorization"))

    def _throttle(self) -> web.Response | None:
        if self.fail_next:
            status = self.fail_next.pop(0)
            return web.json_response(
                {"error": {"code": "Throttled"}}, status=status, headers={"Retry-After": "0"}
            )
        return None

    async def _send(self, request: web.Request) -> web.Response:
        if self.hold is not None:
            await self.hold.wait()
        if (busy := self._throttle()) is not None:
            return busy
        body = await request.json()
        aid = f"act-{next(self._ids)}"
        self.log.append(Sent("send", request.match_info["cid"], aid, body, self._authorised(request)))
        return web.json_response({"id": aid})

    async def _update(self, request: web.Request) -> web.Response:
        if (busy := self._throttle()) is not None:
            return busy
        body = await request.json()
        aid = request.match_info["aid"]
        self.log.append(Sent("update", request.match_info["cid"], aid, body, self._authorised(request)))
        return web.json_response({"id": aid})

    async def _paged_members(self, request: web.Request) -> web.Response:
        """GET pagedmembers: pages of `pageSize`, the continuation token is the next offset."""
        self.roster_reads.append(request.match_info["cid"])
        if not self._authorised(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        size = int(request.query.get("pageSize") or 2)
        start = int(request.query.get("continuationToken") or 0)
        page = self.members[start : start + min(size, 2)]  # small pages so paging is exercised
        body: dict[str, Any] = {"members": page}
        if start + len(page) < len(self.members):
            body["continuationToken"] = str(start + len(page))
        return web.json_response(body)

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.refuse_create is not None:
            return web.json_response({"error": {"code": "Forbidden"}}, status=self.refuse_create)
        member = (body.get("members") or [{}])[0]
        cid = f"a:created-{member.get('id', '?')}-" + "y" * 120
        self.created.append({"id": cid, "body": body, "authorised": self._authorised(request)})
        return web.json_response({"id": cid, "serviceUrl": str(request.url.origin()) + "/"})

    # ----- reading what the bot did ------------------------------------------------------------

    def sends(self, conversation: str | None = None) -> list[Sent]:
        return [
            s
            for s in self.log
            if s.method == "send" and (conversation is None or s.conversation == conversation)
        ]

    def updates(self, activity_id: str | None = None) -> list[Sent]:
        return [
            s
            for s in self.log
            if s.method == "update" and (activity_id is None or s.activity_id == activity_id)
        ]

    def last(self) -> Sent:
        return self.log[-1]
