"""Builds the slack-bolt AsyncApp: the runtime, with every listener registered on it."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

from teambot.bootstrap import Container
from teambot.config import ConfigError
from teambot.core.i18n import gettext as _
from teambot.slack.listeners import register
from teambot.slack.pacing import Pacer
from teambot.slack.people import People
from teambot.slack.runtime import BOT_SCOPES, SlackRuntime, make_client


def build_app(container: Container, *, pacer: Pacer | None = None) -> SlackRuntime:
    s = container.settings
    secret = s.slack_signing_secret.get_secret_value() if s.slack_signing_secret else None
    token = s.slack_bot_token.get_secret_value() if s.slack_bot_token else None
    oauth = bool(s.slack_client_id and s.slack_client_secret)
    if not secret and not s.slack_app_token:
        raise ConfigError(
            _("SLACK_SIGNING_SECRET is needed to verify Slack's requests (or SLACK_APP_TOKEN for Socket Mode).")
        )
    if not oauth and not token:
        raise ConfigError(_("Set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth)."))
    common: dict[str, Any] = {
        "name": "teambot",
        "signing_secret": secret or "",
        "request_verification_enabled": bool(secret),
        "logger": logging.getLogger("teambot.slack.bolt"),
    }
    store: AsyncInstallationStore | None = None
    if oauth:
        assert s.slack_client_id and s.slack_client_secret
        client = make_client(s)
        engine = container.db.engine
        store = AsyncSQLAlchemyInstallationStore(client_id=s.slack_client_id, engine=engine)
        settings = AsyncOAuthSettings(
            client_id=s.slack_client_id,
            client_secret=s.slack_client_secret.get_secret_value(),
            scopes=BOT_SCOPES,
            installation_store=store,
            installation_store_bot_only=True,
            state_store=AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine),
        )
        authorize = AsyncInstallationStoreAuthorize(
            logger=common["logger"],
            installation_store=store,
            client_id=s.slack_client_id,
            client_secret=s.slack_client_secret.get_secret_value(),
            cache_enabled=True,
            bot_only=True,
            client=client,
        )
        app = AsyncApp(client=client, oauth_settings=settings, authorize=authorize, installation_store=store,
                       installation_store_bot_only=True, **common)  # fmt: skip
        token = None
    else:
        client = make_client(s, token)
        app = AsyncApp(client=client, **common)
    runtime = SlackRuntime(
        container=container,
        app=app,
        client=client,
        people=People(default_tz=s.default_timezone),
        pacer=pacer or Pacer(),
        installation_store=store,
        single_token=token,
    )
    register(runtime)
    return runtime
