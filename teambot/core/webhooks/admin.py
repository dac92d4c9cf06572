"""`/recover webhook add | list | remove | test | log` (admins): the endpoints of one team."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import col, select

from teambot.core.db import Database
from teambot.core.errors import BadInput, InvalidStep, NotFound
from teambot.core.i18n import format_when, ngettext
from teambot.core.i18n import gettext as _
from teambot.core.policy.rules import load_policy, require_admin
from teambot.core.ports import Clock
from teambot.core.scheduling.deadlines import Deadlines
from teambot.core.scheduling.models import CANCELLED, PENDING, DueItem
from teambot.core.secretbox import SecretBox
from teambot.core.webhooks.models import Webhook, WebhookAttempt
from teambot.core.webhooks.outbox import EVENT_TYPES, KIND, PING, Outbox, delivery, envelope
from teambot.core.webhooks.signing import check_url, clean_url, new_secret

MAX_PER_TEAM = 10
LOG_LENGTH = 20


def parse_events(text: str | None) -> list[str]:
    """`case.opened,case.resolved` (or `case.*`); none given means every event."""
    if not text or not text.strip():
        return list(EVENT_TYPES)
    wanted: list[str] = []
    for raw in text.replace(" ", ",").split(","):
        name = raw.strip().lower()
        if not name:
            continue
        if name.endswith(".*"):
            found = [e for e in EVENT_TYPES if e.startswith(name[:-1])]
        else:
            found = [name] if name in EVENT_TYPES else []
        if not found:
            raise BadInput(_("%(name)r is not a webhook event.") % {"name": raw.strip()},
                           _("Choose from: %(events)s.") % {"events": ", ".join(EVENT_TYPES)})  # fmt: skip
        wanted.extend(e for e in found if e not in wanted)
    return wanted


class Webhooks:
    def __init__(
        self, db: Database, clock: Clock, deadlines: Deadlines, outbox: Outbox, box: SecretBox
    ) -> None:
        self.db = db
        self.clock = clock
        self.deadlines = deadlines
        self.outbox = outbox
        self.box = box

    async def _admin(self, s: object, team_id: str, actor: str, doing: str) -> None:
        policy = await load_policy(s, team_id, actor, self.clock.now())  # type: ignore[arg-type]
        require_admin(policy, actor, doing)

    async def _find(self, s: object, team_id: str, url: str) -> Webhook:
        raw = clean_url(url)
        row = (await s.exec(select(Webhook).where(Webhook.team_id == team_id, Webhook.url == raw))).first()  # type: ignore[attr-defined]
        if row is None:
            raise NotFound(_("This team has no webhook to %(url)s.") % {"url": raw},
                           _("See them with /recover webhook list."))  # fmt: skip
        return row  # type: ignore[no-any-return]

    async def add(self, team_id: str, actor: str, url: str, events: str | None = None) -> tuple[Webhook, str]:
        """The plain signing secret is returned here and never shown again."""
        checked, wanted = check_url(url), parse_events(events)
        async with self.db.session() as s:
            await self._admin(s, team_id, actor, _("add webhooks"))
            hooks = list((await s.exec(select(Webhook).where(Webhook.team_id == team_id))).all())
            if any(h.url == checked for h in hooks):
                raise InvalidStep(_("This team sends to %(url)s already.") % {"url": checked},
                                  _("Remove it first to start again: /recover webhook remove %(url)s") % {"url": checked})  # fmt: skip
            if len(hooks) >= MAX_PER_TEAM:
                raise InvalidStep(ngettext("A team can have %(count)s webhook.", "A team can have %(count)s webhooks.",
                                           MAX_PER_TEAM) % {"count": MAX_PER_TEAM},
                                  _("Remove one you no longer use."))  # fmt: skip
            secret = new_secret()
            hook = Webhook(team_id=team_id, url=checked, events=wanted, secret=self.box.seal(secret),
                           created_by=actor, created_at=self.clock.now())  # fmt: skip
            s.add(hook)
            await s.commit()
            await s.refresh(hook)
        self.outbox.invalidate()
        return hook, secret

    async def list(self, team_id: str, actor: str) -> list[Webhook]:
        async with self.db.session() as s:
            await self._admin(s, team_id, actor, _("see the webhooks"))
            return list(
                (
                    await s.exec(select(Webhook).where(Webhook.team_id == team_id).order_by(col(Webhook.id)))
                ).all()
            )

    async def remove(self, team_id: str, actor: str, url: str) -> Webhook:
        async with self.db.session() as s:
            await self._admin(s, team_id, actor, _("remove webhooks"))
            hook = await self._find(s, team_id, url)
            await s.exec(  # type: ignore[call-overload]
                update(DueItem).where(col(DueItem.kind) == KIND, col(DueItem.ref) == str(hook.id),
                                      col(DueItem.status) == PENDING)
                .values(status=CANCELLED, lease_owner=None, lease_until=None, version=DueItem.version + 1)  # type: ignore[operator]
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            await s.exec(delete(WebhookAttempt).where(col(WebhookAttempt.webhook_id) == hook.id))  # type: ignore[call-overload]
            await s.delete(hook)
            await s.commit()
        self.outbox.invalidate()
        return hook

    async def test(self, team_id: str, actor: str, url: str) -> WebhookAttempt | None:
        """Send a ping now (through the outbox, so a failure is retried like any event); the attempt."""
        async with self.db.session() as s:
            await self._admin(s, team_id, actor, _("test webhooks"))
            hook = await self._find(s, team_id, url)
            if hook.status != "active":
                raise InvalidStep(_("The webhook to %(url)s is disabled after failing for 24 hours.") % {"url": hook.url},
                                  _("Remove it and add it again: /recover webhook remove %(url)s") % {"url": hook.url})  # fmt: skip
        now = self.clock.now()
        # The ping's data is for the receiver's code (like the API, English): not said to a person.
        payload = envelope(
            PING, now, data={"message": "A test from Teambot: this endpoint is set up.", "team": team_id}
        )
        item = delivery(hook.id or 0, team_id, None, PING, payload, now)
        await self.deadlines.schedule(item)
        await self.deadlines.run_now(item.key)
        async with self.db.session() as s:
            q = select(WebhookAttempt).where(WebhookAttempt.event_id == item.data["event_id"])
            return (await s.exec(q.order_by(col(WebhookAttempt.id).desc()))).first()

    async def log(self, team_id: str, actor: str, url: str) -> tuple[Webhook, list[WebhookAttempt]]:
        async with self.db.session() as s:
            await self._admin(s, team_id, actor, _("read the webhook log"))
            hook = await self._find(s, team_id, url)
            rows = await s.exec(
                select(WebhookAttempt).where(WebhookAttempt.webhook_id == hook.id)
                .order_by(col(WebhookAttempt.at).desc(), col(WebhookAttempt.id).desc()).limit(LOG_LENGTH)
            )  # fmt: skip
            return hook, list(rows.all())


def describe_hooks(hooks: list[Webhook]) -> str:
    if not hooks:
        return _("This team has no webhooks. Add one with /recover webhook add <https URL> [event,...].")
    lines = [_("Webhooks:")]
    for hook in hooks:
        events = _("every event") if set(hook.events) >= set(EVENT_TYPES) else ", ".join(hook.events)
        lines.append(f"• {hook.url} · {events} · {_state(hook)}")
    return "\n".join(lines)


def _state(hook: Webhook) -> str:
    if hook.status != "active":
        return (
            _("disabled %(when)s UTC") % {"when": format_when(hook.disabled_at, "UTC")}
            if hook.disabled_at
            else _("disabled")
        )
    if hook.failing_since:
        return _("active, failing since %(when)s UTC") % {"when": format_when(hook.failing_since, "UTC")}
    return _("active")


def describe_log(hook: Webhook, attempts: list[WebhookAttempt], tz: str = "UTC") -> str:
    if not attempts:
        return _("Nothing sent to %(url)s yet. Send a ping with /recover webhook test %(url)s.") % {
            "url": hook.url
        }
    lines = [_("Deliveries to %(url)s, newest first:") % {"url": hook.url}]
    for attempt in attempts:
        outcome = f"✓ {attempt.status_code}" if attempt.ok else f"✗ {attempt.error or attempt.status_code}"
        took = _("%(ms)s ms") % {"ms": attempt.duration_ms}
        lines.append(f"• {_at(attempt.at)} · {attempt.event_type} · {attempt.event_id} · {outcome} · {took}")
    return "\n".join(lines)


def _at(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")
