"""The Bot Connector clients, credentials and token are kept between turns (issue 15), and stay correct."""

from __future__ import annotations

from teambot.core.cases.queries import list_cases
from tests.teams.conftest import ALICE, BOB, CHANNEL, TENANT, Teams


async def test_turns_share_one_connector_client_and_one_token(teams: Teams) -> None:
    idp = teams.identity
    assert idp is not None
    for i, who in enumerate((ALICE, BOB, ALICE)):
        assert await teams.say(who, f"recover Guest {i}: soup was cold") == 201
    sends = teams.connector.sends(CHANNEL)
    assert len(sends) == 3 and all(s.authorised for s in sends), "every reply carries the bot's valid token"
    # botbuilder alone builds new credentials (an empty MSAL cache) for every turn: one token request each.
    assert len(idp.token_requests) == 1
    adapter = teams.adapter
    auth = adapter.bot_framework_authentication
    claims = adapter.create_claims_identity(teams.container.settings.microsoft_app_id or "")
    factory = auth.create_connector_factory(claims)
    assert factory is auth.create_connector_factory(claims)
    client = await factory.create(teams.connector_url, None)
    assert client is await factory.create(teams.connector_url, None)
    assert client is not await factory.create(teams.connector_url + "other/", None)


async def test_a_bad_token_is_still_refused_after_good_turns(teams: Teams) -> None:
    """Reuse is on the way out only: every incoming request is still checked."""
    assert await teams.say(ALICE, "recover Soup was cold") == 201
    body = teams.activity(ALICE, text="<at>Teambot</at> recover Tea was cold")
    assert (await teams.post(body, token="Bearer not-a-token")).status == 401
    assert (await teams.post(body, token=False)).status == 401
    assert len(teams.connector.sends(CHANNEL)) == 1
    assert len(await list_cases(teams.container.db, TENANT)) == 1

