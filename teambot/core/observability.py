"""What an operator watches: the process's Prometheus metrics and the log context of a request.

The core counts (a nudge sent, a mail retried, a lease taken over) through the metric objects
below; the HTTP exposition is an adapter's (`teambot/web/ops.py`). Figures several processes share
(intake backlog, the oldest pending row, sweep lag, workers alive) live in the database, so they are
read from it at scrape time (`read_backlog`) rather than tracked in one process's memory.

Labels are bounded: platforms, request kinds, due-item kinds and results come from the code, never
a team, case, user or message. Names follow Prometheus' guide (`teambot_..._total`, `_seconds`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import func
from sqlmodel import col, select

from teambot.core.db import Database
from teambot.core.heartbeat import WORKER_SEEN, WorkerBeat
from teambot.core.intake.models import PENDING as INTAKE_PENDING
from teambot.core.intake.models import IntakeItem
from teambot.core.scheduling.models import PENDING as DUE_PENDING
from teambot.core.scheduling.models import DueItem

# One registry for Teambot's own metrics (and the process's CPU, memory, GC), so a test or a second
# container in one process never registers a name twice on prometheus_client's global one.
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

PLATFORMS = ("slack", "teams")
REQUEST_KINDS = ("command", "action", "view", "shortcut", "event", "message", "invoke", "other")
OUTCOMES = ("ok", "rejected", "unauthorized", "error")
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)

REQUESTS = Counter(
    "teambot_requests", "Requests from a chat platform, by platform, kind and outcome (HTTP status class).",
    ["platform", "kind", "outcome"], registry=REGISTRY,
)  # fmt: skip
ACK_SECONDS = Histogram(
    "teambot_request_ack_seconds", "Time from a platform's request to Teambot's answer (the ack); Slack "
    "gives up at 3 s.", ["platform", "kind"], buckets=ACK_BUCKETS, registry=REGISTRY,
)  # fmt: skip
INTAKE_TAKEOVERS = Counter(
    "teambot_intake_takeovers", "Intake rows this process claimed from another (dead or stopped) process "
    "whose lease ran out.", registry=REGISTRY,
)  # fmt: skip
SENDS = Counter(
    "teambot_sends", "Due items the sweep handled, by kind (nudge_unowned, digest, followup_mail...) "
    "and result (sent, retried, failed, deferred, cancelled).", ["kind", "result"], registry=REGISTRY,
)  # fmt: skip
MAILS = Counter(
    "teambot_mails", "Follow-up mail attempts by result: sent; retried (this attempt failed, another "
    "follows); failed (the last attempt failed, the owner is told).", ["result"], registry=REGISTRY,
)  # fmt: skip
# Outgoing webhooks: whoever sends one calls `WEBHOOKS.labels(result="sent" | "retried" | "failed").inc()`
# once per attempt, with the same meaning as MAILS (see docs/operations.md).
WEBHOOKS = Counter(
    "teambot_webhooks", "Outgoing webhook attempts by result: sent, retried (another attempt follows), "
    "failed (given up).", ["result"], registry=REGISTRY,
)  # fmt: skip
DIGEST_BUILD_SECONDS = Histogram(
    "teambot_digest_build_seconds", "Time to compute one team's weekly digest before it is sent.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0), registry=REGISTRY,
)  # fmt: skip
SEND_RESULTS = ("sent", "retried", "failed", "deferred", "cancelled")
MAIL_RESULTS = ("sent", "retried", "failed")


def _prime() -> None:
    """Every bounded label set starts at 0, so a rate() or an alert sees the series before its first event."""
    for platform in PLATFORMS:
        for kind in REQUEST_KINDS:
            ACK_SECONDS.labels(platform, kind)
            for outcome in OUTCOMES:
                REQUESTS.labels(platform, kind, outcome)
    for result in MAIL_RESULTS:
        MAILS.labels(result)
        WEBHOOKS.labels(result)


_prime()


def count_request(platform: str, kind: str, outcome: str, seconds: float) -> None:
    platform = platform if platform in PLATFORMS else "other"
    kind = kind if kind in REQUEST_KINDS else "other"
    REQUESTS.labels(platform, kind, outcome if outcome in OUTCOMES else "error").inc()
    ACK_SECONDS.labels(platform, kind).observe(seconds)


def count_send(kind: str, result: str) -> None:
    SENDS.labels(kind[:32], result).inc()


# ----- figures read from the database at scrape time -----------------------------------------------


@dataclass
class Backlog:
    """What every process shares, as the database says now."""

    intake_pending: dict[str, int]  # platform -> requests recorded and not yet done
    intake_oldest_seconds: float  # age of the oldest pending request (0 when none)
    card_backlog: int  # card rows waiting to be posted or brought up to date
    due_now: int  # due items whose time has come and that are not sent yet
    sweep_lag_seconds: float  # now minus the oldest due item still waiting (0 when none)
    workers_seen: int  # `teambot worker` processes seen in the last minute


async def read_backlog(db: Database, now: datetime, wall: datetime | None = None) -> Backlog:
    """A handful of indexed aggregate reads (intake by status, due items by status and due time).
    `now` is the scheduler's clock (due times); `wall` the machine's, which intake rows and worker
    heartbeats are stamped with (the same in production; a test moves only the first)."""
    wall = wall or now
    async with db.read() as s:
        rows = (await s.exec(
            select(IntakeItem.kind, func.count(), func.min(IntakeItem.created_at))
            .where(col(IntakeItem.status) == INTAKE_PENDING).group_by(IntakeItem.kind)
        )).all()  # fmt: skip
        due = (await s.exec(
            select(func.count(), func.min(DueItem.due_at))
            .where(col(DueItem.status) == DUE_PENDING, col(DueItem.due_at) <= now)
        )).one()  # fmt: skip
        seen = (await s.exec(
            select(func.count()).select_from(WorkerBeat)
            .where(col(WorkerBeat.seen_at) >= wall - WORKER_SEEN, col(WorkerBeat.role) == "worker")
        )).one()  # fmt: skip
    pending: dict[str, int] = dict.fromkeys(PLATFORMS, 0)
    cards, oldest = 0, None
    for kind, count, first in rows:
        if str(kind).startswith("card:"):
            cards += int(count)
            continue
        platform = str(kind) if kind in PLATFORMS else "other"
        pending[platform] = pending.get(platform, 0) + int(count)
        oldest = first if oldest is None or (first is not None and first < oldest) else oldest
    due_count, due_first = due
    return Backlog(
        intake_pending=pending,
        intake_oldest_seconds=max((wall - oldest).total_seconds(), 0.0) if oldest else 0.0,
        card_backlog=cards, due_now=int(due_count or 0),
        sweep_lag_seconds=max((now - due_first).total_seconds(), 0.0) if due_first else 0.0,
        workers_seen=int(seen or 0),
    )  # fmt: skip


def backlog_metrics(b: Backlog, pools: dict[str, tuple[int, int]]) -> Iterator[Metric]:
    """The scrape-time gauges; `pools` is pool name -> (connections in use, pool size)."""
    pending = GaugeMetricFamily("teambot_intake_pending", "Requests recorded (acknowledged) and not yet done.",
                                labels=["platform"])  # fmt: skip
    for platform, count in sorted(b.intake_pending.items()):
        pending.add_metric([platform], count)
    yield pending
    yield GaugeMetricFamily("teambot_intake_oldest_pending_age_seconds",
                            "Age of the oldest request not yet done (0 when none).", value=b.intake_oldest_seconds)
    yield GaugeMetricFamily("teambot_card_outbox_backlog", "Case cards waiting to be posted or updated.",
                            value=b.card_backlog)
    yield GaugeMetricFamily("teambot_due_items_due", "Nudges, digests and mails whose time has come, not yet sent.",
                            value=b.due_now)
    yield GaugeMetricFamily("teambot_sweep_lag_seconds",
                            "Now minus the due time of the oldest item still waiting (0 when none).",
                            value=b.sweep_lag_seconds)
    yield GaugeMetricFamily("teambot_workers_seen", "`teambot worker` processes seen in the last minute.",
                            value=b.workers_seen)
    in_use = GaugeMetricFamily("teambot_db_pool_in_use", "Database connections this process has checked out.",
                               labels=["pool"])  # fmt: skip
    size = GaugeMetricFamily("teambot_db_pool_size", "Connections this process's pool keeps open at most "
                             "(before overflow).", labels=["pool"])  # fmt: skip
    for name, (used, limit) in sorted(pools.items()):
        in_use.add_metric([name], used)
        size.add_metric([name], limit)
    yield in_use
    yield size


def pool_usage(db: Database) -> tuple[int, int]:
    """(checked out, size) of a database's connection pool; SQLite's file pools report what they can."""
    pool: Any = db.engine.pool
    used = pool.checkedout() if hasattr(pool, "checkedout") else 0
    size = pool.size() if hasattr(pool, "size") else 0
    return int(used), int(size)
