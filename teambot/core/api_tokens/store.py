"""Creating, listing, revoking and checking API tokens.

A token is `tb_` + 32 random bytes (base64url): far too much entropy to guess, so one SHA-256
is the right hash (a slow password hash would only slow every request). Only the hash and the
first characters are stored; the whole token is shown once, to the admin who made it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from teambot.core.api_tokens.models import READ, WRITE, ApiToken
from teambot.core.db import Database
from teambot.core.errors import BadInput, InvalidStep, NotFound
from teambot.core.i18n import format_when
from teambot.core.i18n import gettext as _
from teambot.core.policy.rules import load_policy, require_admin
from teambot.core.ports import Clock

PREFIX = "tb_"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
TOUCH_EVERY = timedelta(minutes=1)  # `last used` is written at most this often per token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who an API request is: a team's token, by name and scope."""

    token_id: int
    team_id: str
    name: str
    scope: str

    @property
    def actor(self) -> str:
        return f"api:{self.name}"


class ApiTokens:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def create(self, team_id: str, actor: str, name: str, scope: str = READ) -> tuple[ApiToken, str]:
        """Admins only; the plain token is returned here and never again."""
        if not NAME.fullmatch(name or ""):
            raise BadInput(_("%(name)r cannot name a token.") % {"name": name},
                           _("Use letters, digits, '-', '_' or '.', up to 64."))  # fmt: skip
        scope = (scope or READ).lower()
        if scope not in (READ, WRITE):
            raise BadInput(_("%(scope)r is not a scope.") % {"scope": scope},
                           _("Use read (lists and reads) or write (also opens cases)."))  # fmt: skip
        async with self.db.session() as s:
            now = self.clock.now()
            policy = await load_policy(s, team_id, actor, now)
            require_admin(policy, actor, _("create API tokens"))
            taken = await s.exec(
                select(ApiToken.id).where(ApiToken.team_id == team_id, ApiToken.name == name,
                                          col(ApiToken.revoked_at).is_(None))
            )  # fmt: skip
            if taken.first() is not None:
                raise InvalidStep(_("This team has a token named %(name)s already.") % {"name": name},
                                  _("Pick another name, or revoke it first: /recover api-token revoke %(name)s")
                                  % {"name": name})  # fmt: skip
            plain = PREFIX + secrets.token_urlsafe(32)
            row = ApiToken(team_id=team_id, name=name, scope=scope, token_hash=token_hash(plain),
                           prefix=plain[:8], created_by=actor, created_at=now)  # fmt: skip
            s.add(row)
            await s.commit()
            await s.refresh(row)
            return row, plain

    async def list(self, team_id: str, actor: str) -> list[ApiToken]:
        async with self.db.session() as s:
            policy = await load_policy(s, team_id, actor, self.clock.now())
            require_admin(policy, actor, _("see the API tokens"))
            rows = await s.exec(
                select(ApiToken).where(ApiToken.team_id == team_id, col(ApiToken.revoked_at).is_(None))
                .order_by(col(ApiToken.created_at))
            )  # fmt: skip
            return list(rows.all())

    async def revoke(self, team_id: str, actor: str, name: str) -> ApiToken:
        async with self.db.session() as s:
            now = self.clock.now()
            policy = await load_policy(s, team_id, actor, now)
            require_admin(policy, actor, _("revoke API tokens"))
            row = (
                await s.exec(select(ApiToken).where(ApiToken.team_id == team_id, ApiToken.name == name,
                                                    col(ApiToken.revoked_at).is_(None)))
            ).first()  # fmt: skip
            if row is None:
                raise NotFound(_("This team has no token named %(name)s.") % {"name": name},
                               _("See them with /recover api-token list."))  # fmt: skip
            row.revoked_at = now
            s.add(row)
            await s.commit()
            await s.refresh(row)
            return row

    async def authenticate(self, token: str) -> Caller | None:
        """The caller a bearer token stands for; None when unknown or revoked. Every token string
        is hashed and looked up the same way, so timing tells nothing about near misses."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        digest = token_hash(token)
        async with self.db.session() as s:
            row = (await s.exec(select(ApiToken).where(ApiToken.token_hash == digest))).first()
            if row is None or row.revoked_at is not None or row.id is None:
                return None
            now = self.clock.now()
            if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
                await s.exec(  # type: ignore[call-overload]
                    update(ApiToken).where(col(ApiToken.id) == row.id).values(last_used_at=now)
                    .execution_options(synchronize_session=False)
                )  # fmt: skip
                await s.commit()
            return Caller(row.id, row.team_id, row.name, row.scope)


def describe(rows: list[ApiToken]) -> str:
    """The list as an admin reads it: name, scope, created, last used; never the token."""
    if not rows:
        return _("This team has no API tokens. Make one with /recover api-token create <name> [read|write].")
    lines = [_("API tokens (name · scope · created · last used):")]
    for token in rows:
        used = format_when(token.last_used_at, "UTC") + " UTC" if token.last_used_at else _("never")
        made = _("%(day)s by %(who)s") % {
            "day": f"{token.created_at:%Y-%m-%d}",
            "who": f"<@{token.created_by}>",
        }
        lines.append(f"• {token.name} ({token.prefix}…) · {token.scope} · {made} · {used}")
    return "\n".join(lines)
