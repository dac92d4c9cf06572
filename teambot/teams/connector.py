"""botbuilder's authentication with its outbound clients kept between turns.

Out of the box botbuilder 4.17 builds, for every turn, new app credentials (each with its own MSAL
app, so its own empty token cache: a blocking call to Azure AD for a token on the event loop), a new
ConnectorClient (its msrest configuration, retry policy and requests.Session: a new TCP and TLS
connection to the Bot Connector) and a new UserTokenClient. In the Teams bench that was about a sixth
of the event loop's busy time. Here the same objects are built once per app id (and service URL and audience)
and reused: the token is fetched once and refreshed by MSAL when it nears expiry, the connection is
kept alive. Nothing about validating incoming requests changes: that is still botbuilder's
`authenticate_request` on every request (its OpenID metadata and signing keys are cached by
botbuilder itself, refreshed daily).

The caches are bounded: in local mode (no MICROSOFT_APP_ID) anyone can name a serviceUrl.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectorFactory,
    ServiceClientCredentialsFactory,
    UserTokenClient,
)
from msrest.authentication import Authentication

MAX_CLIENTS = 64  # (service URL, audience) pairs kept per app id; Teams uses a handful of service URLs


class _Lru(OrderedDict[Any, Any]):
    """A small least-recently-used map: the newest `size` entries."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_fresh(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: Any, value: Any) -> Any:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
        return value


class CachingCredentialsFactory(ServiceClientCredentialsFactory):
    """One credentials object (so one MSAL token cache) per app id, scope and login endpoint."""

    def __init__(self, inner: ServiceClientCredentialsFactory) -> None:
        self.inner = inner
        self._credentials = _Lru(MAX_CLIENTS)

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(await self.inner.is_valid_app_id(app_id))

    async def is_authentication_disabled(self) -> bool:
        return bool(await self.inner.is_authentication_disabled())

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Authentication:
        key = (app_id, oauth_scope, login_endpoint, validate_authority)
        credentials = self._credentials.get_fresh(key)
        if credentials is None:  # an invalid app id raises here, every time, as before
            credentials = await self.inner.create_credentials(app_id, oauth_scope, login_endpoint, validate_authority)
            self._credentials.put(key, credentials)
        return credentials


class CachingConnectorFactory(ConnectorFactory):
    """botbuilder's connector factory for one app id, its ConnectorClients kept per service URL and
    audience (msrest clients are safe to share between concurrent turns: nothing per turn lives on them)."""

    def __init__(self, inner: ConnectorFactory) -> None:
        self.inner = inner
        self._clients = _Lru(MAX_CLIENTS)

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (service_url, audience)
        client = self._clients.get_fresh(key)
        if client is None:
            client = self._clients.put(key, await self.inner.create(service_url, audience))  # type: ignore[arg-type]
        return client


class CachingBotFrameworkAuthentication(ConfigurationBotFrameworkAuthentication):
    """ConfigurationBotFrameworkAuthentication whose connector factories and user-token clients are
    kept per app id, and whose credentials are kept per app id and scope."""

    def __init__(self, configuration: Any, **kwargs: Any) -> None:
        inner = kwargs.pop("credentials_factory", None) or ConfigurationServiceClientCredentialFactory(configuration)
        super().__init__(configuration, credentials_factory=CachingCredentialsFactory(inner), **kwargs)
        self._factories: dict[str | None, CachingConnectorFactory] = {}
        self._token_clients: dict[str | None, UserTokenClient] = {}

    @staticmethod
    def _app_id(claims: ClaimsIdentity) -> str | None:
        """The app id botbuilder's factory would use: the audience claim, else the appid claim."""
        value = claims.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
        return value if value is not None else claims.get_claim_value(AuthenticationConstants.APP_ID_CLAIM)

    def _factory(self, app_id: str | None, make: Callable[[], ConnectorFactory]) -> CachingConnectorFactory:
        factory = self._factories.get(app_id)
        if factory is None:
            if len(self._factories) >= MAX_CLIENTS:
                self._factories.clear()
            factory = self._factories[app_id] = CachingConnectorFactory(make())
        return factory

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await super().authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            inner = result.connector_factory
            result.connector_factory = self._factory(self._app_id(result.claims_identity), lambda: inner)
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return self._factory(
            self._app_id(claims_identity), lambda: super(CachingBotFrameworkAuthentication, self)
            .create_connector_factory(claims_identity)
        )  # fmt: skip

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        app_id = self._app_id(claims_identity)
        client = self._token_clients.get(app_id)
        if client is None:
            if len(self._token_clients) >= MAX_CLIENTS:
                self._token_clients.clear()
            client = self._token_clients[app_id] = await super().create_user_token_client(claims_identity)
        return client
