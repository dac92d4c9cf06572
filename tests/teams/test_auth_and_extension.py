"""Who may call /api/messages, the local-tools mode, and the "Open recovery case" message action."""

from __future__ import annotations

from typing import Any

from teambot.core.cases.queries import case_detail, list_cases
from tests.teams.cardtools import facts, inputs
from tests.teams.conftest import ALICE, APP_ID, CHANNEL, TENANT, Teams


async def test_requests_without_a_valid_bot_framework_token_are_refused(teams: Teams) -> None:
    idp = teams.identity
    assert idp is not None
    body = teams.activity(ALICE, text="<at>Teambot</at> recover Soup was cold")
    url = teams.connector_url
    wrong = {
        "no token": None,
        "not a JWT": "Bearer not-a-token",
        "another app's token": "Bearer " + idp.channel_token(url, aud="someone-else"),
        "wrong issuer": "Bearer " + idp.channel_token(url, iss="https://evil.example"),
        "expired": "Bearer " + idp.channel_token(url, exp=1_000_000, iat=999_000, nbf=999_000),
        "other service url": "Bearer " + idp.channel_token("https://elsewhere.example/"),
    }
    for why, header in wrong.items():
        resp = await teams.post(body, token=header if header else False)
        assert resp.status == 401, why
    assert await list_cases(teams.container.db, TENANT) == []
    assert teams.connector.log == []
    # The same activity with the Bot Connector's token is served.
    assert (await teams.post(body)).status == 201
    assert len(await list_cases(teams.container.db, TENANT)) == 1


async def test_unsigned_token_from_another_key_is_refused(teams: Teams) -> None:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {"iss": "https://api.botframework.test", "aud": APP_ID, "serviceurl": teams.connector_url,
         "exp": 4_000_000_000},
        other, algorithm="RS256", headers={"kid": "test-key-1"},
    )  # fmt: skip
    resp = await teams.post(teams.activity(ALICE, text="recover list"), token=f"Bearer {forged}")
    assert resp.status == 401
    assert teams.connector.log == []


async def test_without_an_app_id_it_serves_local_tools_unauthenticated(teams_open: Teams) -> None:
    assert await teams_open.say(ALICE, "recover Soup was cold") == 201
    sent = teams_open.connector.sends(CHANNEL)[-1]
    assert sent.authorised, "no Authorization header is sent either when there is no app id"
    assert sent.card is not None and facts(sent.card)["What went wrong"] == "Soup was cold"


def _invoke(teams: Teams, name: str, value: dict[str, Any]) -> dict[str, Any]:
    return teams.activity(ALICE, type="invoke", name=name, value=value)


MESSAGE = {
    "id": "1700000000999",
    "body": {"contentType": "html", "content": "<p>Guest in 412: no hot water&nbsp;since 7am</p>"},
    "from": {"user": {"id": "29:dan", "displayName": "Dan"}},
}


async def test_message_action_opens_a_case_from_a_channel_message(teams: Teams) -> None:
    command = {"commandId": "openCase", "commandContext": "message", "messagePayload": MESSAGE}
    async with teams.session.post(
        f"{teams.url}/api/messages",
        json=_invoke(teams, "composeExtension/fetchTask", command),
        headers={"Authorization": "Bearer " + teams.identity.channel_token(teams.connector_url)},  # type: ignore[union-attr]
    ) as resp:
        assert resp.status == 200
        task = await resp.json()
    form = task["task"]["value"]["card"]["content"]
    assert inputs(form)["problem"]["value"] == "Guest in 412: no hot water since 7am"

    # Submitted with the problem emptied: the form comes back with the refusal on it.
    empty = command | {"data": {"teambot": "open", "form_card": True, "problem": "", "customer": "Room 412"}}
    async with teams.session.post(
        f"{teams.url}/api/messages", json=_invoke(teams, "composeExtension/submitAction", empty),
        headers={"Authorization": "Bearer " + teams.identity.channel_token(teams.connector_url)},  # type: ignore[union-attr]
    ) as resp:  # fmt: skip
        refused = await resp.json()
    card = refused["task"]["value"]["card"]["content"]
    assert "The problem is empty" in str(card) and inputs(card)["customer"]["value"] == "Room 412"

    filled = command | {
        "data": {"teambot": "open", "problem": "No hot water since 7am", "customer": "Room 412"}
    }
    for _ in range(2):  # the second is a retry of the same message: still one case
        resp = await teams.post(_invoke(teams, "composeExtension/submitAction", filled))
        assert resp.status == 200
    cases = await list_cases(teams.container.db, TENANT)
    assert len(cases) == 1 and cases[0].source_ref == "teams-msg:1700000000999"
    posted = teams.connector.sends(CHANNEL)[0]
    assert posted.card is not None and facts(posted.card)["Customer"] == "Room 412"
    detail = await case_detail(teams.container.db, TENANT, 1)
    assert detail.case.card_ref == {"teams": {"conversation": CHANNEL, "activity_id": posted.activity_id}}
