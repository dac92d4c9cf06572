"""`teambot doctor`: each check passing and failing against the local stand-ins (Slack's Web API,
the Teams token issuer, an SMTP server with STARTTLS and login, an HTTPS /healthz), then the whole
report and its exit status, as an operator runs it."""

from __future__ import annotations

import ssl
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import delete

from teambot.config import Settings, load_settings
from teambot.core.db import Database
from teambot.core.heartbeat import WorkerBeat, beat
from teambot.core.migrate import HEAD, upgrade_async
from teambot.ops import doctor, probes
from teambot.ops.probes import FAIL, OK, SKIP, WARN
from tests.mail.test_senders import _free_port
from tests.ops.conftest import SMTP_PASSWORD, SMTP_USER
from tests.slack.fake_slack import FakeSlack
from tests.teams.conftest import teams_settings
from tests.teams.fakes import IdentityProvider

SECRET = "doctor-test-secret-0123456789abcdef"


def settings(db_url: str = "sqlite:///:memory:", **values: Any) -> Settings:
    return load_settings(database_url=db_url, **values)


# ----- database ---------------------------------------------------------------------------------


async def test_database_at_head_passes(db_url: str) -> None:
    db = Database(db_url)
    try:
        check = await probes.database(db)
    finally:
        await db.dispose()
    assert check.status == OK and HEAD in check.detail


async def test_database_unreachable_or_behind_fails(tmp_path: Path) -> None:
    dead = Database("postgresql://postgres@127.0.0.1:1/nothing")
    check = await probes.database(dead)
    await dead.dispose()
    assert check.status == FAIL and "unreachable" in check.detail and "DATABASE_URL" in check.fix
    behind_url = f"sqlite:///{tmp_path}/old.db"
    await upgrade_async(behind_url, "0012_digest_indexes")
    behind = Database(behind_url)
    check = await probes.database(behind)
    await behind.dispose()
    assert check.status == FAIL and "schema at 0012_digest_indexes" in check.detail
    assert "teambot db upgrade" in check.fix


# ----- TEAMBOT_SECRET ---------------------------------------------------------------------------


def test_secret_set_passes_unset_warns_short_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    assert probes.secret(settings(secret=SECRET)).status == OK
    unset = probes.secret(settings())
    assert unset.status == WARN and "TEAMBOT_SECRET" in unset.fix
    monkeypatch.setenv("TEAMBOT_SECRET", "short")
    status, report = doctor.main(lambda: settings())
    assert status == 1
    assert report.startswith("FAIL") and "TEAMBOT_SECRET" in report and "16 characters" in report
    assert "short" not in report.replace("shorten", "")  # the value itself is never printed


# ----- Slack ------------------------------------------------------------------------------------


def test_signing_secret_set_passes_missing_fails() -> None:
    assert probes.slack_signing(settings(slack_bot_token="xoxb-1", slack_signing_secret="s" * 32)).status == OK
    missing = probes.slack_signing(settings(slack_bot_token="xoxb-1"))
    assert missing.status == FAIL and "SLACK_SIGNING_SECRET" in missing.fix
    assert probes.slack_signing(settings()).status == SKIP


async def test_slack_token_with_the_manifest_scopes_passes(fake_slack: FakeSlack) -> None:
    s = settings(slack_bot_token="xoxb-good", slack_api_url=f"{fake_slack.url}/api/")
    check = await probes.slack_token(s, scopes=probes.manifest_scopes())
    assert check.status == OK and "T1" in check.detail, check
    assert [c.token for c in fake_slack.calls if c.method == "auth.test"] == ["xoxb-good"]
    assert "xoxb-good" not in check.detail + check.fix


async def test_slack_token_refused_or_short_of_scopes_fails(fake_slack: FakeSlack) -> None:
    s = settings(slack_bot_token="xoxb-revoked", slack_api_url=f"{fake_slack.url}/api/")
    fake_slack.bad_tokens.add("xoxb-revoked")
    refused = await probes.slack_token(s, scopes=probes.manifest_scopes())
    assert refused.status == FAIL and "invalid_auth" in refused.detail and "reinstall" in refused.fix
    fake_slack.bad_tokens.clear()
    fake_slack.scopes = "commands,chat:write"
    short = await probes.slack_token(s, scopes=probes.manifest_scopes())
    assert short.status == FAIL and "missing scopes" in short.detail
    assert "users:read" in short.detail and "im:write" in short.detail and "commands" not in short.detail


async def test_slack_unreachable_fails() -> None:
    s = settings(slack_bot_token="xoxb-1", slack_api_url=f"http://127.0.0.1:{_free_port()}/api/")
    check = await probes.slack_token(s)
    assert check.status == FAIL and "unreachable" in check.detail


# ----- Teams ------------------------------------------------------------------------------------


async def test_teams_app_id_and_password_get_a_token(identity: IdentityProvider) -> None:
    check = await probes.teams_token(settings(**teams_settings(identity)))
    assert check.status == OK, check
    assert identity.token_requests and identity.token_requests[-1]["grant_type"] == "client_credentials"


async def test_teams_wrong_password_fails(identity: IdentityProvider) -> None:
    values = {**teams_settings(identity), "microsoft_app_password": SecretStr("not-the-password")}
    check = await probes.teams_token(settings(**values))
    assert check.status == FAIL and "refused" in check.detail and "MICROSOFT_APP_PASSWORD" in check.fix
    assert "not-the-password" not in check.detail + check.fix
    no_password = await probes.teams_token(settings(microsoft_app_id="00000000-aaaa-bbbb-cccc-000000000001"))
    assert no_password.status == FAIL and "MICROSOFT_APP_PASSWORD" in no_password.detail


# ----- SMTP -------------------------------------------------------------------------------------


async def test_smtp_with_starttls_and_login_passes(smtp_tls: int, certs: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    s = settings(smtp_url=f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{smtp_tls}")
    check = await probes.smtp(s, tls_context=certs[1])
    assert check.status == OK and "STARTTLS" in check.detail and "login accepted" in check.detail, check


async def test_smtp_wrong_password_no_server_or_no_tls_is_reported(
    smtp_tls: int, smtp_plain: int, certs: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    wrong = await probes.smtp(settings(smtp_url=f"smtp://{SMTP_USER}:nope-nope@127.0.0.1:{smtp_tls}"),
                              tls_context=certs[1])  # fmt: skip
    assert wrong.status == FAIL and "nope-nope" not in wrong.detail + wrong.fix
    nobody = await probes.smtp(settings(smtp_url=f"smtp://127.0.0.1:{_free_port()}"))
    assert nobody.status == FAIL and "SMTP_URL" in nobody.fix
    untrusted = await probes.smtp(settings(smtp_url=f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{smtp_tls}"))
    assert untrusted.status == FAIL  # a certificate the system does not trust is not "reachable with TLS"
    plain = await probes.smtp(settings(smtp_url=f"smtp://127.0.0.1:{smtp_plain}"))
    assert plain.status == WARN and "without TLS" in plain.detail and "587" in plain.fix
    outbox = await probes.smtp(settings())
    assert outbox.status == WARN and "SMTP_URL" in outbox.fix


# ----- TEAMBOT_PUBLIC_URL -----------------------------------------------------------------------


async def test_public_url_https_answering_healthz_passes(
    https_site: str, certs: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    check = await probes.public_url(settings(public_url_setting=https_site), ssl_context=certs[1])
    assert check.status == OK and "answers 200" in check.detail


async def test_public_url_plain_http_unset_or_silent_is_reported(
    https_site: str, certs: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    http = await probes.public_url(settings(public_url_setting="http://teambot.example.com"))
    assert http.status == FAIL and "not https" in http.detail
    unset = await probes.public_url(settings())
    assert unset.status == WARN and "localhost" in unset.detail
    silent = await probes.public_url(settings(public_url_setting=f"https://127.0.0.1:{_free_port()}"))
    assert silent.status == FAIL and "does not answer" in silent.detail
    wrong_path = await probes.public_url(settings(public_url_setting=f"{https_site}/elsewhere"), ssl_context=certs[1])
    assert wrong_path.status == FAIL and "answers 404" in wrong_path.detail


# ----- the worker mode --------------------------------------------------------------------------


async def forget_workers(db: Database) -> None:
    async with db.session() as s:
        await s.exec(delete(WorkerBeat))  # type: ignore[call-overload]
        await s.commit()


async def test_worker_mode_with_a_worker_seen_passes_without_fails(db_url: str) -> None:
    db = Database(db_url)
    s = settings(db_url, work="worker")
    try:
        await forget_workers(db)
        none = await probes.worker(s, db)
        assert none.status == FAIL and "teambot worker" in none.fix
        await beat(db, "host:1:gone", now=datetime.now(UTC) - timedelta(minutes=2))  # stopped beating
        assert (await probes.worker(s, db)).status == FAIL
        await beat(db, "host:2:alive")
        alive = await probes.worker(s, db)
        assert alive.status == OK and "1 `teambot worker`" in alive.detail
        assert (await probes.worker(settings(db_url), db)).status == OK
        await forget_workers(db)
        assert (await probes.worker(settings(db_url), db)).status == SKIP  # web mode needs none
        assert (await probes.worker(settings(db_url, scheduler_enabled=False), db)).status == FAIL
    finally:
        await db.dispose()


# ----- the whole report --------------------------------------------------------------------------


async def test_a_healthy_set_up_is_all_ok_and_exits_0(
    db_url: str, fake_slack: FakeSlack, identity: IdentityProvider, smtp_tls: int, https_site: str,
    certs: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:  # fmt: skip
    s = settings(
        db_url, secret=SECRET, slack_bot_token="xoxb-good", slack_signing_secret="s" * 32,
        slack_api_url=f"{fake_slack.url}/api/", smtp_url=f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{smtp_tls}",
        public_url_setting=https_site, work="worker", **teams_settings(identity),
    )  # fmt: skip
    db = Database(db_url)
    await forget_workers(db)
    await beat(db, "host:3:alive")
    await db.dispose()
    checks = await doctor.run_checks(s, doctor.Trust(smtp=certs[1], public=certs[1]))
    report = doctor.render(checks)
    print(report)  # the healthy example in docs/operations.md
    assert [c.status for c in checks] == [OK] * 8, report
    assert doctor.exit_status(checks) == 0
    assert len(report.splitlines()) == 8  # one line per check, no fix lines when all is well
    for secret in (SECRET, "xoxb-good", "s" * 32, "p@ss:w/rd", SMTP_PASSWORD):
        assert secret not in report


def test_teambot_doctor_exits_1_on_a_broken_set_up(tmp_path: Path) -> None:
    teambot = Path(sys.executable).parent / "teambot"
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/teambot", "TEAMBOT_WORK": "worker",
           "TEAMBOT_PUBLIC_URL": "http://teambot.example.com", "SLACK_BOT_TOKEN": "xoxb-1",
           "SLACK_API_URL": f"http://127.0.0.1:{_free_port()}/api/"}  # fmt: skip
    done = subprocess.run([str(teambot), "doctor"], capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path)  # fmt: skip
    print(done.stdout)  # the broken example in docs/operations.md
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    statuses = {line.split()[1] + (" " + line.split()[2] if line.split()[1] == "slack" else ""): line.split()[0]
                for line in lines if line.split()[0] in (OK, WARN, FAIL, SKIP)}  # fmt: skip
    assert statuses["database"] == FAIL and statuses["slack signing"] == FAIL and statuses["slack token"] == FAIL
    assert statuses["public"] == FAIL and statuses["worker"] == FAIL and statuses["TEAMBOT_SECRET"] == WARN
    assert "fix: check DATABASE_URL" in done.stdout and "Traceback" not in done.stdout + done.stderr


async def test_the_doctor_on_sqlite_warns_of_a_schema_it_upgrades_itself(tmp_path: Path) -> None:
    missing = settings(f"sqlite:///{tmp_path}/none.db", work="worker")
    checks = await doctor.run_checks(missing)
    assert checks[0].status == WARN and "first start" in checks[0].detail
    assert checks[-1].status == FAIL and "database" in checks[-1].detail
    assert not (tmp_path / "none.db").exists()  # the doctor creates nothing
    old = f"sqlite:///{tmp_path}/old.db"
    await upgrade_async(old, "0012_digest_indexes")
    [database, *_] = await doctor.run_checks(settings(old))
    assert database.status == WARN and "0012_digest_indexes" in database.detail
