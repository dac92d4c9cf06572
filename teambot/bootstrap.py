"""The composition root: the only place that decides which parts plug into which."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from teambot.api.jira_client import AiohttpJira
from teambot.api.transport import AiohttpTransport
from teambot.config import ConfigError, Settings
from teambot.core.api_tokens.handlers import ApiTokenHandlers
from teambot.core.api_tokens.store import ApiTokens
from teambot.core.cases.events import CaseEvents
from teambot.core.cases.handlers import CaseHandlers
from teambot.core.cases.service import RecoveryService
from teambot.core.commands.dispatch import Commands
from teambot.core.customer_loop.handlers import LoopHandlers
from teambot.core.customer_loop.sending import FollowupMailer
from teambot.core.customer_loop.store import DbFeedbackStore, site_secret
from teambot.core.db import Database, is_sqlite
from teambot.core.improvement import actions as improvement_actions
from teambot.core.improvement import vocabulary as causes
from teambot.core.improvement.handlers import ImprovementHandlers
from teambot.core.insights import delivery as digests
from teambot.core.insights import patterns
from teambot.core.insights.handlers import InsightHandlers
from teambot.core.intake.queue import Intake
from teambot.core.jira import handlers as jira_handlers
from teambot.core.jira.handlers import JiraHandlers
from teambot.core.jira.loop_actions import LoopActions
from teambot.core.jira.service import JiraLinks
from teambot.core.migrate import HEAD, current_revision, upgrade_async
from teambot.core.policy.handlers import PolicyHandlers
from teambot.core.policy.language import Languages
from teambot.core.ports import Clock, RoutingNotifier, SystemClock
from teambot.core.privacy.handlers import PrivacyHandlers
from teambot.core.recognition.handlers import RecognitionHandlers
from teambot.core.recognition.shoutouts import Shoutouts
from teambot.core.scheduling import subscriber as due_subscriber
from teambot.core.scheduling.deadlines import Deadlines
from teambot.core.scheduling.handlers import SchedulingHandlers
from teambot.core.scheduling.scheduler import Scheduler
from teambot.core.secretbox import SecretBox
from teambot.core.webhooks.admin import Webhooks
from teambot.core.webhooks.delivery import WebhookSender
from teambot.core.webhooks.handlers import WebhookHandlers
from teambot.core.webhooks.outbox import Outbox
from teambot.mail.senders import sender_from_env

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Every service the adapters and the CLI use, by name and type."""

    settings: Settings
    db: Database
    clock: Clock
    notifier: RoutingNotifier
    events: CaseEvents
    service: RecoveryService
    deadlines: Deadlines
    shoutouts: Shoutouts
    scheduler: Scheduler
    commands: Commands
    mailer: FollowupMailer
    feedback_store: DbFeedbackStore
    feedback_secret: bytes = field(repr=False)  # signs feedback links; never shown or logged
    intake: Intake
    tokens: ApiTokens
    webhooks: Webhooks
    webhook_sender: WebhookSender
    jira: JiraLinks
    box: SecretBox = field(repr=False)  # seals secrets kept for later use (webhook, Jira)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # adapters' own

    async def close(self) -> None:
        for closer in self.closers:
            await closer()
        await self.db.dispose()
        await self.intake.db.dispose()


async def _check_schema(db: Database) -> None:
    current = await current_revision(db)
    if current != HEAD:
        raise ConfigError(
            f"The database schema is at {current or 'nothing'}, the code needs {HEAD}. "
            "Run `teambot db upgrade` (the Procfile's release step does it on deploy)."
        )


async def _database(settings: Settings, migrate: bool | None) -> Database:
    """SQLite upgrades itself (zero set-up); PostgreSQL must already be at head."""
    db = Database(settings.database_url)
    if (migrate if migrate is not None else is_sqlite(settings.async_database_url)) and (
        await current_revision(db) != HEAD
    ):
        await upgrade_async(settings.database_url)  # Alembic is imported only when there is something to do
    await _check_schema(db)
    return db


def _jira(db: Database, clk: Clock, dl: Deadlines, events: CaseEvents, api: AiohttpJira,
          loop_actions: LoopActions, secret_value: str | None) -> JiraLinks:  # fmt: skip
    """The Jira API token is sealed with a key from TEAMBOT_SECRET itself (never the made-up site secret,
    which lives in the same database): without it, linking Jira is refused with a sentence."""
    jira_box = SecretBox(secret_value.encode(), "teambot jira") if secret_value else None
    jira = JiraLinks(db, clk, api, jira_box, loop_actions)
    events.subscribe(jira_handlers.on_case_changed)  # an action done here moves its Jira issue (a due item)
    for kind, handler in jira_handlers.due_handlers(jira).items():
        dl.register(kind, handler)
    return jira


def _deadlines(
    settings: Settings, db: Database, clk: Clock, notifier: RoutingNotifier, events: CaseEvents
) -> Deadlines:
    """The due-item queue, with the case-event subscribers that fill it and the handlers of what the core owns."""
    # Items in flight hold no database session (a sweep reads and settles per batch), so sends
    # overlap freely; SQLite's one writer still takes each batch's commit in turn.
    dl = Deadlines(db, clk, notifier, concurrency=16 if is_sqlite(db.url) else 64,
                   lease=timedelta(seconds=settings.due_lease_seconds))  # fmt: skip
    events.subscribe(causes.on_case_changed)  # a resolved case's root cause is filed under a cause
    events.subscribe(improvement_actions.on_case_changed)  # an action's due date becomes a reminder
    events.subscribe(due_subscriber.on_case_changed)  # nudges follow the case
    events.subscribe(patterns.on_case_changed)  # a changed case may start a pattern
    for kind, handler in {
        **patterns.DUE_HANDLERS,
        **digests.DUE_HANDLERS,
        **improvement_actions.DUE_HANDLERS,
    }.items():
        dl.register(kind, handler)
    return dl


def _intake(settings: Settings, db: Database) -> Intake:
    """On PostgreSQL its own small pool, so recording a request before its ack never waits behind
    the work's sessions; SQLite has one writer, so intake takes its turn on the same queue."""
    intake_db = db if db.sqlite else Database(settings.database_url, pool_size=4)
    return Intake(
        intake_db, lease=timedelta(seconds=settings.intake_lease_seconds), defer=settings.work == "worker"
    )


async def build(settings: Settings, *, clock: Clock | None = None, migrate: bool | None = None) -> Container:
    """SQLite upgrades itself (zero set-up); PostgreSQL must already be at head."""
    db = await _database(settings, migrate)
    clk = clock or SystemClock()
    notifier = RoutingNotifier()
    events = CaseEvents()
    service = RecoveryService(db, clk, notifier, events)
    dl = _deadlines(settings, db, clk, notifier, events)
    intake = _intake(settings, db)
    events.subscribe(intake.on_case_changed)  # marks the request applied, arms the card outbox
    outbox = Outbox()
    events.subscribe(outbox.on_case_changed)  # webhook deliveries, in the change's transaction
    shoutouts = Shoutouts(db, clk, notifier)
    secret_value = settings.secret.get_secret_value() if settings.secret else None
    secret = await site_secret(db, secret_value, clk.now())
    team_name = team_display_name(settings.mail_from)
    smtp = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    mailer = FollowupMailer(
        service, dl, sender_from_env(smtp, Path(settings.outbox_dir)), mail_from=settings.mail_from,
        secret=secret, public_url=settings.public_url, team_name=team_name,
    )  # fmt: skip
    for kind, handler in mailer.due_handlers().items():
        dl.register(kind, handler)
    feedback_store = DbFeedbackStore(service, team_name)
    box = SecretBox(secret)
    transport = AiohttpTransport()
    sender = WebhookSender(db, clk, transport, box)
    for kind, handler in sender.due_handlers().items():
        dl.register(kind, handler)
    webhooks = Webhooks(db, clk, dl, outbox, box)
    tokens = ApiTokens(db, clk)
    jira_api = AiohttpJira()
    loop_actions = LoopActions(service, settings.public_url)
    jira = _jira(db, clk, dl, events, jira_api, loop_actions, secret_value)

    async def jira_linked(team_id: str) -> list[tuple[str, str]]:
        link = await jira.linked(team_id)
        return [("Jira", f"{link.site.removeprefix('https://')} · project {link.project}")] if link else []

    async def plan_digests(now: datetime) -> None:
        await digests.plan_digests(dl, now)

    # Planning digests is cheap and idempotent; the sweep does the sending.
    async def poll_jira(now: datetime) -> None:
        await jira.poll(now)  # each open issue at most every 15 minutes: the Jira webhook's safety net

    scheduler = Scheduler(
        dl, [plan_digests, poll_jira], sweep_seconds=settings.sweep_seconds, plan_seconds=300
    )
    outbox.committed = scheduler.soon  # a webhook goes out at once, not at the next sweep
    case_handlers = CaseHandlers(service)
    improvement = ImprovementHandlers(
        service, dl, case_handlers.resolve, case_handlers.home, case_handlers.flag
    )
    commands = Commands(
        {
            **case_handlers.handlers(),
            **PolicyHandlers(service.policies, jira_linked).handlers(),
            **PrivacyHandlers(service).handlers(),
            **SchedulingHandlers(dl).handlers(),
            **InsightHandlers(service).handlers(),
            **RecognitionHandlers(shoutouts).handlers(),
            **LoopHandlers(mailer).handlers(),
            **improvement.handlers(),  # wraps resolve, home and flag
            **JiraHandlers(jira, loop_actions, improvement.create_action).handlers(),  # wraps create_action
            **ApiTokenHandlers(tokens).handlers(),
            **WebhookHandlers(webhooks).handlers(),
        },
        language_of=(languages := Languages(db)).of,
        forget=languages.forget,
    )
    container = Container(
        settings, db, clk, notifier, events, service, dl, shoutouts, scheduler, commands,
        mailer, feedback_store, secret, intake, tokens, webhooks, sender, jira, box,
    )  # fmt: skip
    container.closers += [transport.close, jira_api.close]
    return container


def team_display_name(mail_from: str) -> str:
    """The name customers know the team by: MAIL_FROM's display name ("Bistro Care <care@...>")."""
    from email.utils import parseaddr

    name = parseaddr(mail_from)[0].strip()
    return name or "our team"
