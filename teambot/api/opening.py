"""`POST /api/v1/cases` through the durable intake, like a chat command.

The request is an intake row (kind `api`) committed before the case is opened; its key is the
team's Idempotency-Key (or a fresh one), so the same key finds the same row: the same body gives
the same case (opening is idempotent through the case's `source_ref`), another body gets 409. A
process that dies mid-request leaves the row to be taken over and the case is opened once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from typing import Any

from sqlmodel import select

from teambot.bootstrap import Container
from teambot.core.cases.opening import OpenedCase
from teambot.core.errors import BadInput, Conflict, DomainError
from teambot.core.intake.models import IntakeItem
from teambot.core.intake.queue import APPLYING, DONE_WITH_STEP

log = logging.getLogger(__name__)
KIND = "api"
KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:~+/=")


def check_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    key = raw.strip()
    if not 1 <= len(key) <= 100 or not set(key) <= KEY_CHARS:
        raise BadInput("The Idempotency-Key header must be 1 to 100 letters, digits or - _ . : ~ + / =.",
                       "Send a UUID, or your system's own id for the request (a ticket id).",
                       field="Idempotency-Key")  # fmt: skip
    return key


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def run_open(container: Container, team_id: str, payload: dict[str, Any]) -> OpenedCase:
    """Open the case a recorded request asks for (here, or after a takeover in another process)."""
    body, actor = payload["body"], str(payload["actor"])
    policy = await container.service.policy(team_id, actor)
    channel = body.get("channel") or policy.digest_channel
    customer = body.get("customer") or {}
    return await container.service.open_case(
        team_id, channel or "api", actor, body["problem"], platform=policy.platform,
        customer=customer.get("name"), email=customer.get("email"), wants=body.get("wants"),
        category=body.get("category"), severity=body.get("severity"), source_ref=str(payload["source_ref"]),
        direct=not body.get("channel"),
    )  # fmt: skip


async def open_through_intake(container: Container, team_id: str, actor: str, body: dict[str, Any],
                              idempotency_key: str | None) -> tuple[OpenedCase, bool]:  # fmt: skip
    """The case, and whether it was opened by an earlier request with the same key (a replay)."""
    ref = idempotency_key or uuid.uuid4().hex
    key = f"api:{team_id}:{ref}"
    payload = {"body": body, "hash": body_hash(body), "actor": actor, "source_ref": f"api:{ref}"}
    item = await container.intake.record(key, KIND, team_id, payload, here=True)
    if item is None:  # this key was recorded before: the same request again, or a clash
        async with container.intake.db.session() as s:
            row = (await s.exec(select(IntakeItem).where(IntakeItem.key == key))).first()
        if row is None or row.payload.get("hash") != payload["hash"]:
            raise Conflict("This Idempotency-Key was used with a different body.",
                           "Use a new key for a new case, or send the first body again to get its case.",
                           field="Idempotency-Key")  # fmt: skip
        return await run_open(container, team_id, row.payload), True
    applying, done = APPLYING.set(item.id), DONE_WITH_STEP.set(True)
    try:
        opened = await run_open(container, team_id, payload)
    except DomainError as err:
        await container.intake.finish(item, failed=str(err))
        raise
    except BaseException:
        with contextlib.suppress(Exception):
            await asyncio.shield(container.intake.release(item))
        raise
    finally:
        APPLYING.reset(applying)
        DONE_WITH_STEP.reset(done)
    await container.intake.finish(item)
    await container.intake.let_go_unadopted(item.id)  # the case card is posted by the card outbox
    return opened, opened.duplicate


def register(container: Container) -> None:
    """A row whose process died is opened by whoever takes it over (nobody waits for the answer)."""

    async def takeover(item: IntakeItem) -> None:
        try:
            await run_open(container, item.team_id, item.payload)
        except DomainError as err:  # the same request fails the same way every time: not retried
            log.warning("API request %s refused on takeover: %s", item.key, err)

    container.intake.register(KIND, takeover)
