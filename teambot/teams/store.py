"""Who and where the bot has met on Teams, so it can speak first later (proactive messages).

Every incoming activity refreshes two rows: the conversation it came from (its
ConversationReference, as botbuilder serialises it) and the person who sent it (name,
time zone, and their 1:1 conversation once they have one). No botbuilder import here.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select

from teambot.core.db import Database
from teambot.core.types import UTCDateTime

MAX_KEY = 128  # cases.channel_id is 128 long; Teams 1:1 conversation ids can be longer


def conversation_key(conversation_id: str) -> str:
    """A conversation id short enough for `cases.channel_id`; long ids become a stable hash."""
    if len(conversation_id) <= MAX_KEY:
        return conversation_id
    return "h:" + hashlib.sha256(conversation_id.encode()).hexdigest()[:40]


class TeamsConversation(SQLModel, table=True):
    """A conversation the bot is in: personal (1:1), groupChat or channel."""

    __tablename__ = "teams_conversations"
    __table_args__ = (Index("ix_teams_conversations_tenant", "tenant_id", "kind"),)

    key: str = Field(primary_key=True, max_length=MAX_KEY)
    tenant_id: str = Field(max_length=128)
    conversation_id: str
    kind: str = Field(max_length=16)  # personal | groupChat | channel
    service_url: str = Field(max_length=500)
    team_id: str | None = Field(default=None, max_length=200)  # the Teams team, for channels
    reference: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_type=UTCDateTime)


class TeamsPerson(SQLModel, table=True):
    """A person met on Teams: `user_id` is the AAD object id the core knows them by."""

    __tablename__ = "teams_people"

    tenant_id: str = Field(primary_key=True, max_length=128)
    user_id: str = Field(primary_key=True, max_length=128)
    teams_id: str = Field(max_length=200)  # the channel account id (29:...)
    name: str | None = Field(default=None, max_length=200)
    tz: str | None = Field(default=None, max_length=64)
    personal_key: str | None = Field(default=None, max_length=MAX_KEY)  # their 1:1 conversation
    home_activity_id: str | None = Field(default=None, max_length=200)  # their home card, updated in place
    updated_at: datetime = Field(sa_type=UTCDateTime)


class TeamsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def remember_turn(
        self,
        *,
        tenant_id: str,
        conversation_id: str,
        kind: str,
        service_url: str,
        reference: dict[str, Any],
        now: datetime,
        team_id: str | None = None,
        user_id: str | None = None,
        teams_id: str | None = None,
        name: str | None = None,
        tz: str | None = None,
    ) -> tuple[str, str | None]:
        """Upsert the conversation and its sender; returns the conversation key and the sender's time zone
        as now stored (said now, or said before): one session for what a turn needs before it runs."""
        key = conversation_key(conversation_id)
        stored_tz: str | None = None
        async with self.db.session() as s:
            conv = await s.get(TeamsConversation, key)
            if conv is None:
                conv = TeamsConversation(
                    key=key, tenant_id=tenant_id, conversation_id=conversation_id, kind=kind,
                    service_url=service_url, reference=reference, updated_at=now, team_id=team_id,
                )  # fmt: skip
            else:
                conv.service_url, conv.reference, conv.updated_at = service_url, reference, now
                conv.team_id = team_id or conv.team_id
            s.add(conv)
            if user_id:
                person = await s.get(TeamsPerson, (tenant_id, user_id))
                if person is None:
                    person = TeamsPerson(tenant_id=tenant_id, user_id=user_id, teams_id=teams_id or user_id,
                                         updated_at=now)  # fmt: skip
                person.teams_id = teams_id or person.teams_id
                person.name = (name or "")[:200] or person.name
                person.tz = tz or person.tz
                if kind == "personal":
                    person.personal_key = key
                person.updated_at = now
                stored_tz = person.tz
                s.add(person)
            try:
                await s.commit()
            except IntegrityError:  # a concurrent first insert of the same row: theirs is as good
                await s.rollback()
        return key, stored_tz

    async def remember(self, **kwargs: Any) -> str:
        """Upsert the conversation and its sender (see remember_turn); returns the conversation key."""
        return (await self.remember_turn(**kwargs))[0]

    async def conversation(self, key: str) -> TeamsConversation | None:
        async with self.db.read() as s:
            return await s.get(TeamsConversation, key)

    async def person(self, tenant_id: str, user_id: str) -> TeamsPerson | None:
        async with self.db.read() as s:
            return await s.get(TeamsPerson, (tenant_id, user_id))

    async def _people(self, tenant_id: str, user_ids: set[str]) -> list[TeamsPerson]:
        """The people of this tenant among `user_ids` (AAD object ids)."""
        if not user_ids:
            return []
        async with self.db.read() as s:
            rows = await s.exec(
                select(TeamsPerson).where(
                    TeamsPerson.tenant_id == tenant_id, col(TeamsPerson.user_id).in_(sorted(user_ids))
                )
            )
            return list(rows.all())

    async def names(self, tenant_id: str, user_ids: set[str]) -> dict[str, str]:
        """Display names for the mentions a card shows."""
        return {
            person.user_id: person.name for person in await self._people(tenant_id, user_ids) if person.name
        }

    async def teams_ids(self, tenant_id: str, user_ids: list[str]) -> dict[str, str]:
        """AAD object id -> Teams user id (29:...), for a card's refresh.userIds."""
        return {person.user_id: person.teams_id for person in await self._people(tenant_id, set(user_ids))}

    async def refresh_people(
        self, tenant_id: str, user_ids: list[str], limit: int
    ) -> tuple[dict[str, str], list[str]]:
        """teams_ids and recent_people in one read session (every case card asks for both)."""
        async with self.db.read() as s:
            ids: dict[str, str] = {}
            if user_ids:
                rows = await s.exec(
                    select(TeamsPerson.user_id, TeamsPerson.teams_id).where(
                        TeamsPerson.tenant_id == tenant_id,
                        col(TeamsPerson.user_id).in_(sorted(set(user_ids))),
                    )
                )
                ids = {user: teams_id for user, teams_id in rows.all()}
            if len(ids) >= limit:
                return ids, []
            recent = await s.exec(
                select(TeamsPerson.teams_id)
                .where(TeamsPerson.tenant_id == tenant_id)
                .order_by(col(TeamsPerson.updated_at).desc())
                .limit(limit)
            )
            return ids, list(recent.all())

    async def recent_people(self, tenant_id: str, limit: int) -> list[str]:
        """Teams user ids of the people seen most recently in this tenant."""
        async with self.db.read() as s:
            rows = await s.exec(
                select(TeamsPerson.teams_id)
                .where(TeamsPerson.tenant_id == tenant_id)
                .order_by(col(TeamsPerson.updated_at).desc())
                .limit(limit)
            )
            return list(rows.all())

    async def team_conversations(self, tenant_id: str) -> list[TeamsConversation]:
        """Channels of a Teams team in this tenant, most recent first: where a roster can be read."""
        async with self.db.read() as s:
            rows = await s.exec(
                select(TeamsConversation)
                .where(TeamsConversation.tenant_id == tenant_id, col(TeamsConversation.team_id).is_not(None))
                .order_by(col(TeamsConversation.updated_at).desc())
            )
            return list(rows.all())

    async def remember_member(
        self, tenant_id: str, user_id: str, teams_id: str, name: str | None, now: datetime
    ) -> None:
        """A person read from a team's roster (they may never have written to the bot)."""
        async with self.db.session() as s:
            person = await s.get(TeamsPerson, (tenant_id, user_id))
            if person is None:
                person = TeamsPerson(tenant_id=tenant_id, user_id=user_id, teams_id=teams_id, updated_at=now)
            person.teams_id = teams_id
            person.name = (name or "")[:200] or person.name
            s.add(person)
            try:
                await s.commit()
            except IntegrityError:
                await s.rollback()

    async def set_home(self, tenant_id: str, user_id: str, activity_id: str | None) -> None:
        async with self.db.session() as s:
            person = await s.get(TeamsPerson, (tenant_id, user_id))
            if person is not None:
                person.home_activity_id = activity_id
                s.add(person)
                await s.commit()
