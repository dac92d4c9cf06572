"""Issue 26: the HTTP API. Tokens (scope, team isolation, revoked, hashed at rest), every endpoint
with every answer checked against the served OpenAPI document, idempotent opening through the
durable intake, problem documents, the per-token rate limit. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import select

from teambot.api.opening import body_hash
from teambot.api.routes import API_LIMITER
from teambot.core.api_tokens.models import ApiToken
from teambot.core.cases.models import Case
from teambot.core.intake.models import DONE, IntakeItem
from teambot.core.intake.queue import Intake
from tests.api.conftest import ADMIN, Api, app_of, ctx

BODY = {"problem": "Order arrived cold", "customer": {"name": "Ann Lee", "email": "ann@example.com"},
        "wants": "a refund", "severity": "high"}  # fmt: skip


async def test_the_document_is_valid_openapi_31_and_public(api: Api) -> None:
    resp = await api.call("GET", "/api/v1/openapi.json")
    doc = resp.json()
    assert resp.status == 200 and doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {"/api/v1/cases", "/api/v1/cases/{number}", "/api/v1/causes", "/api/v1/actions",
                                 "/api/v1/digest"}  # fmt: skip
    assert doc["paths"]["/api/v1/cases"]["post"]["responses"]["409"]["content"]["application/problem+json"]


async def test_tokens_are_shown_once_and_stored_hashed(api: Api) -> None:
    token = await api.token("bi", "read")
    async with api.container.db.session() as s:
        rows = list((await s.exec(select(ApiToken))).all())
    assert len(rows) == 1 and rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(rows[0].model_dump()) and rows[0].prefix == token[:8]
    listed = await api.container.commands.run_text("api-token list", ctx())
    assert "bi" in listed.text and "read" in listed.text and token not in listed.text and "never" in listed.text
    await api.call("GET", "/api/v1/cases", token=token)
    listed = await api.container.commands.run_text("api-token list", ctx())
    assert "never" not in listed.text  # last used is recorded


async def test_only_admins_make_tokens(api: Api) -> None:
    await api.token("first")  # the first person in a team is its admin
    reply = await api.container.commands.run_text("api-token create sneaky write", ctx(user="U_MEMBER"))
    assert "Only a Teambot admin can create API tokens" in reply.text
    bad = await api.container.commands.run_text("api-token create x admin", ctx())
    assert "not a scope" in bad.text


async def test_no_token_an_unknown_one_or_a_revoked_one_is_401(api: Api) -> None:
    token = await api.token("temp", "read")
    assert (await api.call("GET", "/api/v1/cases")).status == 401
    bad = await api.call("GET", "/api/v1/cases", token="tb_" + "x" * 43)
    assert bad.status == 401 and bad.headers["Content-Type"].startswith("application/problem+json")
    assert "api-token create" in bad.json()["detail"] and bad.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await api.call("GET", "/api/v1/cases", token=token)).status == 200
    reply = await api.container.commands.run_text("api-token revoke temp", ctx())
    assert "Revoked temp" in reply.text
    assert (await api.call("GET", "/api/v1/cases", token=token)).status == 401


async def test_a_read_token_cannot_open_cases(api: Api) -> None:
    token = await api.token("reader", "read")
    resp = await api.call("POST", "/api/v1/cases", token=token, body=BODY)
    assert resp.status == 403 and "write token" in resp.json()["detail"]
    async with api.container.db.session() as s:
        assert (await s.exec(select(Case))).first() is None


async def test_a_token_sees_its_own_team_only(api: Api) -> None:
    mine = await api.token("a", "write", team="T1")
    theirs = await api.token("b", "write", team="T2", admin="U_OTHER")
    opened = await api.call("POST", "/api/v1/cases", token=theirs, body=BODY)
    assert opened.status == 201 and opened.json()["number"] == 1
    assert (await api.call("GET", "/api/v1/cases", token=mine)).json()["items"] == []
    assert (await api.call("GET", "/api/v1/cases/1", token=mine)).status == 404
    assert (await api.call("GET", "/api/v1/cases/1", token=theirs)).status == 200


async def test_open_list_get_with_timeline_and_filters(api: Api) -> None:
    token = await api.token()
    first = await api.call("POST", "/api/v1/cases", token=token, body=BODY)
    assert first.status == 201 and first.headers["Location"] == "/api/v1/cases/1"
    case = first.json()
    assert case["customer"] == {"name": "Ann Lee"} and case["severity"] == "high" and case["opened_by"] == "api:zendesk"
    svc = api.container.service
    for n in range(2, 6):
        await api.call("POST", "/api/v1/cases", token=token, body={"problem": f"Problem {n}", "category": "billing"})
    await svc.claim("T1", 2, "U_OWNER")
    await svc.apologise("T1", 2, "U_OWNER", "phone")
    await svc.resolve("T1", 2, "U_OWNER", "Refunded", "the card reader froze")
    await api.container.commands.run_text("policy cause add Card reader", ctx())
    await api.container.commands.run_text("cause 2 Card reader", ctx())
    one = (await api.call("GET", "/api/v1/cases/2", token=token)).json()
    assert [e["kind"] for e in one["timeline"]][:4] == ["opened", "claimed", "apologised", "resolved"]
    assert one["cause"] == "Card reader"
    page = (await api.call("GET", "/api/v1/cases", token=token, query={"limit": 2})).json()
    assert [c["number"] for c in page["items"]] == [5, 4] and page["next_cursor"]
    rest = (await api.call("GET", "/api/v1/cases", token=token, query={"limit": 2, "cursor": page["next_cursor"]})).json()
    assert [c["number"] for c in rest["items"]] == [3, 2]
    last = (await api.call("GET", "/api/v1/cases", token=token, query={"limit": 2, "cursor": rest["next_cursor"]})).json()
    assert [c["number"] for c in last["items"]] == [1] and last["next_cursor"] is None
    q = {"status": "resolved", "owner": "U_OWNER", "cause": "card READER", "category": "billing"}
    found = (await api.call("GET", "/api/v1/cases", token=token, query=q)).json()["items"]
    assert [c["number"] for c in found] == [2] and found[0]["cause"] == "Card reader"
    assert (await api.call("GET", "/api/v1/cases", token=token, query={"cause": "Heat lamp"})).json()["items"] == []
    now = api.container.clock.now()
    window = {"resolved_after": (now - timedelta(hours=1)).isoformat(), "resolved_before": (now + timedelta(hours=1)).isoformat()}
    assert [c["number"] for c in (await api.call("GET", "/api/v1/cases", token=token, query=window)).json()["items"]] == [2]
    later = {"opened_after": (now + timedelta(hours=1)).isoformat()}
    assert (await api.call("GET", "/api/v1/cases", token=token, query=later)).json()["items"] == []


async def test_bad_input_is_a_problem_document_with_a_sentence(api: Api) -> None:
    token = await api.token()
    too_many = await api.call("GET", "/api/v1/cases", token=token, query={"limit": 500})
    assert too_many.status == 400 and "limit" in too_many.json()["detail"]
    cursor = await api.call("GET", "/api/v1/cases", token=token, query={"cursor": "garbage"})
    assert cursor.status == 422 and "next_cursor" in cursor.json()["detail"]
    missing = await api.call("POST", "/api/v1/cases", token=token, body={"customer": {"name": "X"}})
    assert missing.status == 422 and missing.json()["errors"][0]["field"] == "problem"
    category = await api.call("POST", "/api/v1/cases", token=token, body={"problem": "x y", "category": "nonsense"})
    assert category.status == 422 and "nonsense" in category.json()["detail"]
    not_json = await api.call("POST", "/api/v1/cases", token=token, raw=b"{oops", headers={"Content-Type": "application/json"})
    assert not_json.status == 400 and "not valid JSON" in not_json.json()["detail"]
    form = await api.call("POST", "/api/v1/cases", token=token, raw=b"a=b",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status == 415
    key = await api.call("POST", "/api/v1/cases", token=token, body=BODY, headers={"Idempotency-Key": "bad key with spaces"})
    assert key.status == 422 and key.json()["field"] == "Idempotency-Key"
    nowhere = await api.call("GET", "/api/v1/nope", token=token)
    assert nowhere.status == 404 and nowhere.headers["Content-Type"].startswith("application/problem+json")
    week = await api.call("GET", "/api/v1/digest", token=token, query={"week": "2026-W60"})
    assert week.status == 422 and "ISO week" in week.json()["detail"]
    async with api.container.db.session() as s:
        assert (await s.exec(select(Case))).first() is None  # nothing half-opened


async def test_idempotency_key_same_body_same_case_other_body_409(api: Api) -> None:
    token = await api.token()
    key = {"Idempotency-Key": "zendesk-ticket-4321"}
    first = await api.call("POST", "/api/v1/cases", token=token, body=BODY, headers=key)
    again = await api.call("POST", "/api/v1/cases", token=token, body=BODY, headers=key)
    assert first.status == again.status == 201 and first.json()["number"] == again.json()["number"] == 1
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    other = await api.call("POST", "/api/v1/cases", token=token, body={**BODY, "problem": "Something else"}, headers=key)
    assert other.status == 409 and "different body" in other.json()["detail"]
    unkeyed = [await api.call("POST", "/api/v1/cases", token=token, body=BODY) for _ in range(2)]
    assert [r.json()["number"] for r in unkeyed] == [2, 3]  # no key: each request is its own case
    # The same key in another team is that team's own.
    theirs = await api.token("t2", "write", team="T2", admin="U_OTHER")
    assert (await api.call("POST", "/api/v1/cases", token=theirs, body={"problem": "Other team"}, headers=key)).status == 201
    async with api.container.db.session() as s:
        rows = list((await s.exec(select(IntakeItem).where(IntakeItem.kind == "api"))).all())
    assert len(rows) == 4 and all(r.status == DONE and r.applied for r in rows)  # one row a key: each went through the intake


async def test_a_request_whose_process_died_is_opened_once_by_a_taker(api: Api) -> None:
    """The intake row is committed before the case; the process dies; another takes the row over."""
    token = await api.token()
    c = api.container
    body = {"problem": "Lost luggage"}
    payload = {"body": body, "hash": body_hash(body), "actor": "api:zendesk", "source_ref": "api:T-77"}
    assert await c.intake.record("api:T1:T-77", "api", "T1", payload) is not None
    # This process "dies" before running it: its lease runs out, and another process takes the row.
    async with c.intake.db.session() as s:
        await s.exec(update(IntakeItem).where(IntakeItem.key == "api:T1:T-77").values(
            lease_until=datetime.now(UTC) - timedelta(seconds=1)))  # type: ignore[call-overload]
        await s.commit()
    taker = Intake(c.intake.db)
    taker.handlers = c.intake.handlers
    taken = await taker.claim()
    assert [t.key for t in taken] == ["api:T1:T-77"]
    await taker.process(taken[0])
    again = await api.call("POST", "/api/v1/cases", token=token, body={"problem": "Lost luggage"},
                           headers={"Idempotency-Key": "T-77"})
    assert again.status == 201 and again.json()["number"] == 1
    async with c.db.session() as s:
        assert len(list((await s.exec(select(Case))).all())) == 1


async def test_digest_as_json(api: Api) -> None:
    token = await api.token()
    await api.call("POST", "/api/v1/cases", token=token, body=BODY)
    digest = await api.call("GET", "/api/v1/digest", token=token)
    data = digest.json()
    assert digest.status == 200 and data["this"]["opened"] == 1 and data["team_id"] == "T1" and data["text"]
    past = await api.call("GET", "/api/v1/digest", token=token, query={"week": "2026-W40"})
    assert past.status == 200 and past.json()["week"] == "2026-W40" and past.json()["empty"]


async def test_causes_and_actions(api: Api) -> None:
    """The improvement loop through the API: causes ranked by cost, actions with their Jira key."""
    token = await api.token()
    run, svc = api.container.commands.run_text, api.container.service
    for n, words in ((1, "the heat lamp died"), (2, "heat lamp broken again")):
        await api.call("POST", "/api/v1/cases", token=token, body={"problem": f"Cold dish {n}"})
        await svc.claim("T1", n, ADMIN)
        await svc.apologise("T1", n, ADMIN, "phone")
        await svc.resolve("T1", n, ADMIN, "Replated", words)
    await run("policy cause add Heat lamp", ctx())
    await run("cause 1,2 Heat lamp", ctx())
    await run("action 1 Replace the pass heat lamp due friday", ctx())
    api.container.clock.advance(minutes=1)  # type: ignore[attr-defined]  # the period ends now, exclusive
    causes = await api.call("GET", "/api/v1/causes", token=token)
    assert causes.status == 200
    top = causes.json()["items"][0]
    assert top["name"] == "Heat lamp" and sorted(top["cases"]) == [1, 2] and top["trend"] in ("rising", "steady", "falling")
    actions = (await api.call("GET", "/api/v1/actions", token=token)).json()["items"]
    assert [(a["number"], a["case_number"], a["cause"], a["status"], a["jira_issue"]) for a in actions] == [
        (1, 1, "Heat lamp", "open", None)]
    await run("action done 1 new lamp fitted", ctx())
    assert (await api.call("GET", "/api/v1/actions", token=token)).json()["items"] == []
    done = (await api.call("GET", "/api/v1/actions", token=token, query={"status": "done"})).json()["items"]
    assert done[0]["outcome"] == "new lamp fitted"
    now = api.container.clock.now().isoformat()
    backwards = await api.call("GET", "/api/v1/causes", token=token, query={"resolved_after": now, "resolved_before": now})
    assert backwards.status == 422 and "before" in backwards.json()["detail"]
    assert (await api.call("GET", "/api/v1/actions", token=token, query={"status": "late"})).status == 400


async def test_each_token_has_its_own_rate_limit(api: Api) -> None:
    limiter = app_of(api)[API_LIMITER]
    limiter.capacity, limiter.rate = 3.0, 3 / 60.0  # 3 a minute, for the test (120 by default)
    fast, calm = await api.token("fast", "read"), await api.token("calm", "read")
    statuses = [(await api.call("GET", "/api/v1/cases", token=fast)).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = await api.call("GET", "/api/v1/cases", token=fast)
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1 and "try again" in limited.json()["detail"]
    assert (await api.call("GET", "/api/v1/cases", token=calm)).status == 200


async def test_every_operation_and_its_answers_were_checked(api: Api) -> None:
    """A guard on this file: each operation of the document was called and validated above (here
    again, in one go, so the check does not depend on test order)."""
    token = await api.token()
    await api.call("POST", "/api/v1/cases", token=token, body=BODY)
    await api.call("GET", "/api/v1/cases", token=token)
    await api.call("GET", "/api/v1/cases/1", token=token)
    await api.call("GET", "/api/v1/digest", token=token)
    await api.call("GET", "/api/v1/causes", token=token)
    await api.call("GET", "/api/v1/actions", token=token)
    assert {c.rsplit(" ", 1)[0] for c in api.checked} >= {
        "POST /api/v1/cases", "GET /api/v1/cases", "GET /api/v1/cases/1", "GET /api/v1/digest", "GET /api/v1/causes",
        "GET /api/v1/actions"}  # fmt: skip
    assert ADMIN


async def test_a_token_is_never_shown_in_a_teams_channel(api: Api) -> None:
    """Teams shows a channel's answers to everyone: the token is given in a 1:1 chat only."""
    from teambot.core.commands.context import Context

    await api.token("first")  # the admin
    in_channel = Context(team_id="T1", channel_id="19:abc", user_id=ADMIN, platform="teams")
    refused = await api.container.commands.run_text("api-token create bi read", in_channel)
    assert "only in a 1:1 chat" in refused.text and "tb_" not in refused.text
    hook = await api.container.commands.run_text("webhook add https://example.com/h", in_channel)
    assert "only in a 1:1 chat" in hook.text and "whsec_" not in hook.text
    direct = Context(team_id="T1", channel_id="a:1", user_id=ADMIN, platform="teams", direct=True)
    assert "tb_" in (await api.container.commands.run_text("api-token create bi read", direct)).text
