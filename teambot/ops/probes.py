"""One probe per thing a deployment depends on; `/readyz` and `teambot doctor` share them.

Each returns a `Check`: a status (OK, WARN, FAIL, or SKIP when the part is not configured), what was
found, and, when it is not OK, the fix. A probe never raises and never puts a secret in its text.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import yaml
from sqlalchemy.engine import make_url

from teambot.config import Settings
from teambot.core.db import Database
from teambot.core.heartbeat import workers_seen
from teambot.core.migrate import HEAD, current_revision

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"
TIMEOUT = 10.0  # seconds any one outside service gets to answer
MANIFEST = Path(__file__).resolve().parents[2] / "manifests" / "slack.yaml"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (OK, SKIP, WARN)


def _why(exc: BaseException) -> str:
    """An exception as a short phrase that names no secret (URLs and passwords stay out)."""
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc).splitlines()[0][:160] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ----- database ---------------------------------------------------------------------------------


async def database(db: Database, *, self_upgrading: bool = False) -> Check:
    """Reachable and at head. `self_upgrading` (the doctor on SQLite, which upgrades itself at start):
    a missing or older schema is a WARN, not a FAIL."""
    if db.sqlite and self_upgrading:
        path = make_url(db.url).database
        if path and path != ":memory:" and not await asyncio.to_thread(Path(path).exists):
            return Check("database", WARN, f"no SQLite file at {path} yet: it is made and upgraded at first start",
                         "run `teambot db upgrade` now, or check DATABASE_URL if a file should be there")  # fmt: skip
    try:
        revision = await asyncio.wait_for(current_revision(db), TIMEOUT)
    except Exception as exc:
        return Check("database", FAIL, f"unreachable ({_why(exc)})",
                     "check DATABASE_URL, that the server runs and that this host may connect")  # fmt: skip
    if revision != HEAD:
        return Check("database", WARN if db.sqlite and self_upgrading else FAIL, f"schema at {revision or 'nothing'}, the code needs {HEAD}",
                     "run `teambot db upgrade` (the Procfile's release step)")  # fmt: skip
    return Check("database", OK, f"reachable, schema at {HEAD}")


# ----- Slack ------------------------------------------------------------------------------------


def manifest_scopes(path: Path = MANIFEST) -> set[str]:
    """The bot scopes manifests/slack.yaml asks for."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return set(data["oauth_config"]["scopes"]["bot"])


async def slack_token(settings: Settings, *, scopes: set[str] | None = None) -> Check:
    """`auth.test` with SLACK_BOT_TOKEN; with `scopes`, the token must have each (Slack's
    `x-oauth-scopes` header lists what it has)."""
    if settings.slack_bot_token is None:
        if settings.slack_client_id:
            return Check("slack token", SKIP, "multi-workspace OAuth: each workspace's token comes with its install")
        return Check("slack token", SKIP, "Slack not configured")
    from slack_sdk.errors import SlackApiError

    from teambot.slack.runtime import make_client

    client = make_client(settings, settings.slack_bot_token.get_secret_value())
    client.retry_handlers = []  # a probe answers now; the bot's own client retries
    try:
        resp = await asyncio.wait_for(client.auth_test(), TIMEOUT)
    except SlackApiError as exc:
        code = exc.response.get("error", "error") if exc.response is not None else "error"
        return Check("slack token", FAIL, f"auth.test says {code}",
                     "reinstall the app to the workspace and set SLACK_BOT_TOKEN to its xoxb- token")  # fmt: skip
    except Exception as exc:
        return Check("slack token", FAIL, f"Slack unreachable ({_why(exc)})",
                     "check outbound HTTPS to slack.com (or SLACK_API_URL)")  # fmt: skip
    who = f"workspace {resp.get('team_id')} as @{resp.get('user')}"
    if scopes is None:
        return Check("slack token", OK, f"valid for {who}")
    header = {k.lower(): v for k, v in (resp.headers or {}).items()}.get("x-oauth-scopes")
    have = {s.strip() for s in str(header or "").split(",") if s.strip()}
    missing = sorted(scopes - have)
    if header is None:
        return Check("slack token", WARN, f"valid for {who}; Slack did not say its scopes",
                     "compare the app's OAuth scopes with manifests/slack.yaml")  # fmt: skip
    if missing:
        return Check("slack token", FAIL, f"valid for {who} but missing scopes: {', '.join(missing)}",
                     "add them under OAuth & Permissions (or re-create the app from manifests/slack.yaml) "
                     "and reinstall it")  # fmt: skip
    return Check("slack token", OK, f"valid for {who}, with every scope the manifest asks for")


def slack_signing(settings: Settings) -> Check:
    if settings.slack_bot_token is None and settings.slack_client_id is None:
        return Check("slack signing secret", SKIP, "Slack not configured")
    if settings.slack_signing_secret is not None:
        return Check("slack signing secret", OK, "set")
    if settings.slack_app_token is not None:
        return Check("slack signing secret", WARN, "not set: Socket Mode only (development)",
                     "set SLACK_SIGNING_SECRET (Basic Information > App Credentials) to serve /slack/events")  # fmt: skip
    return Check("slack signing secret", FAIL, "not set: Slack's requests cannot be verified, so Slack is off",
                 "set SLACK_SIGNING_SECRET from the app's Basic Information > App Credentials")  # fmt: skip


# ----- Teams ------------------------------------------------------------------------------------


async def teams_token(settings: Settings) -> Check:
    """A Bot Framework token for MICROSOFT_APP_ID / MICROSOFT_APP_PASSWORD, as the bot gets one."""
    if not settings.microsoft_app_id:
        return Check("teams token", SKIP, "Teams not configured")
    if settings.microsoft_app_password is None:
        return Check("teams token", FAIL, "MICROSOFT_APP_PASSWORD is not set",
                     "set it to a client secret of the bot's Azure app registration")  # fmt: skip
    from botbuilder.integration.aiohttp import ConfigurationServiceClientCredentialFactory
    from botframework.connector.auth import AuthenticationConstants as Auth

    from teambot.teams.http import bot_configuration

    factory = ConfigurationServiceClientCredentialFactory(bot_configuration(settings))
    login = settings.to_channel_from_bot_login_url or Auth.TO_CHANNEL_FROM_BOT_LOGIN_URL
    scope = settings.to_channel_from_bot_oauth_scope or Auth.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
    try:
        creds: Any = await factory.create_credentials(settings.microsoft_app_id, scope, login, True)
        token = await asyncio.wait_for(asyncio.to_thread(creds.get_access_token), TIMEOUT)
    except Exception as exc:
        detail = "the app id or password was refused" if "invalid_client" in str(exc) else _why(exc)
        return Check("teams token", FAIL, f"no token ({detail})",
                     "check MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD (not expired) and "
                     "MICROSOFT_APP_TYPE/MICROSOFT_APP_TENANT_ID in the Azure app registration")  # fmt: skip
    if not token:
        return Check("teams token", FAIL, "the token service answered with no token", "check MICROSOFT_APP_ID")
    return Check("teams token", OK, f"token issued for app {settings.microsoft_app_id}")


# ----- the rest of the set-up -------------------------------------------------------------------


def secret(settings: Settings) -> Check:
    if settings.secret is None:
        return Check("TEAMBOT_SECRET", WARN, "not set: Teambot made one and keeps it in the database",
                     "set TEAMBOT_SECRET to 32+ random characters to keep it out of the database "
                     "(`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")  # fmt: skip
    return Check("TEAMBOT_SECRET", OK, f"set ({len(settings.secret.get_secret_value())} characters)")


async def smtp(settings: Settings, *, tls_context: ssl.SSLContext | None = None) -> Check:
    if settings.smtp_url is None:
        return Check("smtp", WARN, f"SMTP_URL not set: mails are written to {settings.outbox_dir}, not sent",
                     "set SMTP_URL=smtp://user:pass@host:587 to mail customers")  # fmt: skip
    from teambot.mail.senders import SmtpSender

    try:
        sender = SmtpSender(settings.smtp_url.get_secret_value().strip(), tls_context=tls_context, timeout=TIMEOUT)
        how = await sender.check()
    except Exception as exc:
        return Check("smtp", FAIL, f"cannot send ({_why(exc)})",
                     "check SMTP_URL's host, port, user and password, and that the server offers TLS")  # fmt: skip
    where = f"{sender.host}:{sender.port}"
    if how == "plain":
        login = "; no login" if not sender.username else ""
        return Check("smtp", WARN, f"{where} reachable without TLS{login}: mail travels in clear",
                     "use a submission port with STARTTLS (smtp://...:587) or smtps://...:465")  # fmt: skip
    return Check("smtp", OK, f"{where} reachable with {how}" + (", login accepted" if sender.username else ""))


async def public_url(settings: Settings, *, ssl_context: ssl.SSLContext | None = None) -> Check:
    url = settings.public_url_setting
    if url is None:
        return Check("public url", WARN, f"TEAMBOT_PUBLIC_URL not set: feedback links point at {settings.public_url}",
                     "set TEAMBOT_PUBLIC_URL to the https address customers reach Teambot at")  # fmt: skip
    parts = urlsplit(url)
    if parts.scheme != "https":
        return Check("public url", FAIL, f"{url} is not https: customers' browsers warn, links leak in clear",
                     "serve Teambot behind TLS and set TEAMBOT_PUBLIC_URL=https://...")  # fmt: skip
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as http, \
                http.get(f"{url}/healthz", ssl=ssl_context if ssl_context is not None else True) as resp:  # fmt: skip
            status = resp.status
    except Exception as exc:
        return Check("public url", FAIL, f"{url}/healthz does not answer ({_why(exc)})",
                     "check DNS, the load balancer and the TLS certificate for that address")  # fmt: skip
    if status != 200:
        return Check("public url", FAIL, f"{url}/healthz answers {status}",
                     "route that address to Teambot's $PORT (and check /healthz there)")  # fmt: skip
    return Check("public url", OK, f"{url}/healthz answers 200")


async def worker(settings: Settings, db: Database | None, now: datetime | None = None) -> Check:
    """A `teambot worker` seen in the last minute, when the settings need one. `db` None: the
    database is not usable yet, so nobody can tell."""
    needed = settings.work == "worker" or not settings.scheduler_enabled
    if db is None:
        if not needed:
            return Check("worker", SKIP, "TEAMBOT_WORK=web: the web processes do the work")
        return Check("worker", FAIL, "cannot tell: the database is not ready", "fix the database first")
    try:
        seen = await asyncio.wait_for(workers_seen(db, now or datetime.now(UTC)), TIMEOUT)
    except Exception as exc:
        if not needed:
            return Check("worker", SKIP, "TEAMBOT_WORK=web: the web processes do the work")
        return Check("worker", FAIL, f"cannot read the workers table ({_why(exc)})", "fix the database first")
    if seen:
        return Check("worker", OK, f"{len(seen)} `teambot worker` process(es) seen in the last minute")
    if not needed:
        return Check("worker", SKIP, "TEAMBOT_WORK=web with the scheduler on: no worker needed")
    why = "TEAMBOT_WORK=worker" if settings.work == "worker" else "TEAMBOT_SCHEDULER=off"
    return Check("worker", FAIL, f"{why} but no `teambot worker` seen in the last minute",
                 "start `teambot worker` (the Procfile's worker: process) and check its log")  # fmt: skip
