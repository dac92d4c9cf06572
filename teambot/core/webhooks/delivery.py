"""Sending one delivery: the due-item handler for kind `webhook`.

Each delivery is a due item, so the sweep's lease machinery claims it (one process at a time),
and a process that dies mid-send leaves it to the next one after the lease. Per case and
endpoint the events go in order: a delivery waits while an earlier one for the same case and
endpoint is still pending. A failure is retried on the Standard Webhooks schedule (5 s, 5 min,
30 min, 2 h, 5 h, 10 h...) for 24 hours; an endpoint failing that long is disabled and the
team's admins are told. Every attempt is logged (`/recover webhook log`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select

from teambot.core.db import Database
from teambot.core.i18n import first_supported, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.policy.models import Policy
from teambot.core.ports import Clock, Notice, Recipient
from teambot.core.scheduling.deadlines import Deadlines
from teambot.core.scheduling.models import PENDING, DueItem
from teambot.core.scheduling.queue import DueHandler, Outcome
from teambot.core.secretbox import SecretBox
from teambot.core.webhooks.models import ACTIVE, DISABLED, Webhook, WebhookAttempt
from teambot.core.webhooks.outbox import KIND
from teambot.core.webhooks.ports import WebhookTransport
from teambot.core.webhooks.signing import headers

log = logging.getLogger(__name__)

RETRY_FOR = timedelta(hours=24)
SCHEDULE = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10),
)  # fmt: skip
ORDER_GAP = timedelta(seconds=1)


def retry_delay(failures: int) -> timedelta:
    """After the n-th failed attempt (1-based), the wait before the next."""
    return SCHEDULE[min(max(failures, 1), len(SCHEDULE)) - 1]


def body_of(item: DueItem) -> bytes:
    return json.dumps(item.data.get("payload", {}), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class WebhookSender:
    """Delivers webhook due items through the transport port."""

    def __init__(self, db: Database, clock: Clock, transport: WebhookTransport, box: SecretBox, *,
                 wall: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.db = db
        self.clock = clock
        self.transport = transport
        self.box = box
        self.wall = wall  # webhook-timestamp is the real time of sending: receivers check it against theirs

    def due_handlers(self) -> dict[str, DueHandler]:
        return {KIND: self.handle}

    async def handle(self, dl: Deadlines, item: DueItem) -> Outcome:
        now = self.clock.now()
        async with self.db.session() as s:
            hook = await s.get(Webhook, int(item.ref or 0))
            if hook is None or hook.status != ACTIVE:
                return Outcome(cancel=True, result={"why": "the webhook was removed or disabled"})
            if item.case_id is not None:
                earlier = (
                    await s.exec(
                        select(DueItem.due_at).where(
                            col(DueItem.case_id) == item.case_id, col(DueItem.kind) == KIND,
                            col(DueItem.ref) == item.ref, col(DueItem.status) == PENDING, col(DueItem.id) < item.id,
                        ).order_by(col(DueItem.id)).limit(1)
                    )
                ).first()  # fmt: skip
                if earlier is not None:  # in order per case: after the earlier event is settled
                    return Outcome(defer_until=max(earlier, now) + ORDER_GAP)
            url, secret = hook.url, self.box.open(hook.secret)
        event_id = str(item.data.get("event_id"))
        body = body_of(item)
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            answer = await self.transport.post(url, body, headers(secret, event_id, int(self.wall()), body))
            status = answer.status
            if not 200 <= status < 300:
                error = _answered(status)
        except Exception as exc:  # a refused connection, a timeout, a TLS failure...
            error = f"{type(exc).__name__}: {exc}"[:300] if str(exc) else type(exc).__name__
        took = int((time.monotonic() - started) * 1000)
        return await self._settle(item, hook, status, error, took, now)

    async def _settle(self, item: DueItem, hook: Webhook, status: int | None, error: str | None, took: int,
                      now: datetime) -> Outcome:  # fmt: skip
        """Log the attempt and move the endpoint's failure clock, in one transaction."""
        async with self.db.session() as s:
            s.add(WebhookAttempt(webhook_id=hook.id or 0, event_id=str(item.data.get("event_id")),
                                 event_type=str(item.data.get("type")), case_id=item.case_id, at=now,
                                 ok=error is None, status_code=status, error=error, duration_ms=took))  # fmt: skip
            table = Webhook.__table__  # type: ignore[attr-defined]
            if error is None:
                await s.exec(update(table).where(table.c.id == hook.id).values(failing_since=None))  # type: ignore[call-overload]
                await s.commit()
                return Outcome(result={"status": status})
            failing_since = hook.failing_since or now
            disable = now - failing_since >= RETRY_FOR
            values: dict[str, Any] = {"failing_since": failing_since}
            if disable:
                values.update(status=DISABLED, disabled_at=now)
            await s.exec(  # type: ignore[call-overload]
                update(table).where(table.c.id == hook.id, table.c.status == ACTIVE).values(**values)
            )
            failures = (
                await s.exec(
                    select(func.count()).select_from(WebhookAttempt)
                    .where(WebhookAttempt.webhook_id == hook.id, WebhookAttempt.event_id == str(item.data.get("event_id")),
                           col(WebhookAttempt.ok).is_(False))
                )
            ).one()  # fmt: skip
            policy = await s.get(Policy, hook.team_id) if disable else None
            await s.commit()
        log.warning("webhook %s: delivery of %s failed (%s)", hook.id, item.data.get("type"), error)
        if disable:
            return Outcome(
                messages=self._tell_admins(hook, policy, error), result={"failed": error, "disabled": True}
            )
        if now - item.created_at >= RETRY_FOR:
            return Outcome(cancel=True, result={"failed": error, "gave_up": True})
        # The last try falls on the 24-hour mark, so a dead endpoint is disabled then, not hours later.
        until = min(now + retry_delay(int(failures)), max(failing_since + RETRY_FOR, now + SCHEDULE[0]))
        return Outcome(defer_until=until, result={"failed": error})

    @staticmethod
    def _tell_admins(hook: Webhook, policy: Policy | None, error: str) -> list[tuple[Recipient, Notice]]:
        """Each admin is told in their own language (their choice, else the team's)."""
        if policy is None:
            return []
        out = []
        for admin in policy.admins:
            with use_locale(first_supported((policy.languages or {}).get(admin), policy.language)):
                text = _("The webhook to %(url)s has failed for 24 hours (%(error)s), so Teambot stopped sending "
                         "to it. Fix the endpoint, then /recover webhook remove %(url)s and add it again.") % {
                    "url": hook.url, "error": error}  # fmt: skip
            notice = Notice("webhook_disabled", text, hook.team_id, None, {"url": hook.url})
            out.append((Recipient("user", admin, policy.platform), notice))
        return out


def _answered(status: int) -> str:
    """Why a delivery failed, as the webhook log shows it (an admin reads it)."""
    if 300 <= status < 400:
        return _("answered %(status)s (redirects are not followed)") % {"status": status}
    return _("answered %(status)s") % {"status": status}
