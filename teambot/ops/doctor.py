"""`teambot doctor`: checks a deployment's settings end to end, one line per check.

    OK    database              reachable, schema at 0016_ops
    FAIL  slack token           auth.test says invalid_auth
          fix: reinstall the app to the workspace and set SLACK_BOT_TOKEN to its xoxb- token

Exit status 1 when any check FAILs (a deploy step or a cron can act on it), 0 otherwise; WARN says
what works but should be better, SKIP what is not configured. Nothing secret is printed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from teambot.config import ConfigError, Settings, load_settings
from teambot.core.db import Database
from teambot.ops import probes
from teambot.ops.probes import FAIL, Check


@dataclass
class Trust:
    """TLS trust for the probes (None: the system's); tests pass their local stand-ins' certificates."""

    smtp: ssl.SSLContext | None = None
    public: ssl.SSLContext | None = None


async def run_checks(settings: Settings, trust: Trust | None = None) -> list[Check]:
    """Every check, in the order an operator fixes things: the database first."""
    trust = trust or Trust()
    db = Database(settings.database_url)  # its own: the doctor neither upgrades nor builds the app
    try:
        database = await probes.database(db, self_upgrading=db.sqlite)
        checks = [database, probes.secret(settings), probes.slack_signing(settings)]
        outside = await asyncio.gather(
            probes.slack_token(settings, scopes=probes.manifest_scopes()),
            probes.teams_token(settings),
            probes.smtp(settings, tls_context=trust.smtp),
            probes.public_url(settings, ssl_context=trust.public),
        )
        checks += [*outside, await probes.worker(settings, db if database.status == probes.OK else None)]
    finally:
        await db.dispose()
    return checks


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{c.status:<5} {c.name:<{width}}  {c.detail}")
        if c.fix and c.status != "OK":
            lines.append(f"{'':<5} {'':<{width}}  fix: {c.fix}")
    return "\n".join(lines)


def exit_status(checks: list[Check]) -> int:
    return 1 if any(c.status == FAIL for c in checks) else 0


def main(load: Callable[[], Settings] = load_settings, trust: Trust | None = None) -> tuple[int, str]:
    """(exit status, report). Settings that cannot even load are one FAIL line each."""
    try:
        settings = load()
    except ConfigError as err:
        lines = [line.strip() for line in str(err).splitlines()[1:] if line.strip()]
        checks = [Check("settings", FAIL, line, "fix it in the environment or .env") for line in lines]
        return 1, render(checks)
    checks = asyncio.run(run_checks(settings, trust))
    return exit_status(checks), render(checks)
