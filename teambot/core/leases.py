"""Leases and retries, shared by the two durable queues: the intake (`core/intake/`) and what is due
(`core/scheduling/`). A worker holds a row for a while; when it fails, the row waits twice as long
each time, up to a ceiling; after `MAX_ATTEMPTS` it is given up on.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

MAX_ATTEMPTS = 8


def new_worker_id() -> str:
    """Who holds a lease: host, process and a random part (two workers in one process differ).
    `worker_host_pid` reads it back; the two change together."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def worker_prefix() -> str:
    """What every worker id made on this host starts with."""
    return f"{socket.gethostname()}:"


def worker_host_pid(worker_id: str) -> tuple[str, int] | None:
    """The host and pid in a worker id (`new_worker_id`); None for an id of another shape."""
    parts = worker_id.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdecimal() or int(parts[1]) <= 0:
        return None
    return parts[0], int(parts[1])


@dataclass(frozen=True)
class Leases:
    """How long a claim holds a row, and how long a failed row waits before it is tried again."""

    hold: timedelta
    unit: timedelta  # the first wait
    longest: timedelta  # the wait doubles up to this
    free: int = 0  # attempts that still wait one unit (the count starts at the first try, or at none)

    def backoff(self, attempts: int) -> timedelta:
        return min(self.unit * 2 ** max(attempts - self.free, 0), self.longest)


# A request's work: seconds, renewed every hold/3 while the holder lives (1, 2, 4 ... s, at most 2 min).
INTAKE = Leases(hold=timedelta(seconds=30), unit=timedelta(seconds=1), longest=timedelta(seconds=120))
# A nudge or a mail: a chat API that is down gets room to recover (1, 2, 4 ... min, at most an hour).
DUE = Leases(hold=timedelta(minutes=5), unit=timedelta(minutes=1), longest=timedelta(hours=1), free=1)


def intake_backoff(attempts: int) -> timedelta:
    """The intake's wait after `attempts` tries (the adapters release their rows with it too)."""
    return INTAKE.backoff(attempts)
