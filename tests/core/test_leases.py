"""The two durable queues share one lease module: how long a claim holds and how long a failed
row waits. The waits are pinned here, so a change to one queue's schedule is a decision, not a slip."""

from __future__ import annotations

from datetime import timedelta

from teambot.core.leases import DUE, INTAKE, MAX_ATTEMPTS, intake_backoff, new_worker_id


def test_a_request_waits_seconds_doubling_up_to_two_minutes() -> None:
    waits = [INTAKE.backoff(n).total_seconds() for n in range(10)]
    assert waits == [1, 2, 4, 8, 16, 32, 64, 120, 120, 120]
    assert intake_backoff(3) == timedelta(seconds=8)  # what the adapters release their rows with
    assert INTAKE.hold == timedelta(seconds=30)


def test_a_nudge_waits_minutes_doubling_up_to_an_hour() -> None:
    waits = [DUE.backoff(n) / timedelta(minutes=1) for n in range(10)]
    assert waits == [1, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert DUE.hold == timedelta(minutes=5)


def test_both_queues_give_up_after_the_same_attempts_and_name_holders_alike() -> None:
    assert MAX_ATTEMPTS == 8
    host, pid, token = new_worker_id().split(":")
    assert host and pid.isdigit() and len(token) == 8
    assert new_worker_id() != new_worker_id()
