"""Slack requests as Slack sends them (signed), and the side-by-side runner the Slack benchmarks share."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bench._common import TEAM, Level, Make, Proc, hammer, signed, wait_count


def command(i: int, fake_url: str, text: str | None = None) -> tuple[bytes, dict[str, str]]:
    """A `/recover` slash command: each request its own channel (Slack paces posts per channel),
    50 people, 500 customers (so some have earlier cases, as in life)."""
    form = {
        "token": "legacy", "team_id": TEAM, "team_domain": "bench", "channel_id": f"C{i:07d}",
        "channel_name": f"desk-{i}", "user_id": f"U{i % 50:03d}", "user_name": f"person{i % 50}",
        "command": "/recover", "api_app_id": "A1", "is_enterprise_install": "false",
        "text": text or f"Guest {i % 500}: breakfast arrived cold, room {i % 900 + 100} wants: a refund #food",
        "response_url": f"{fake_url}/response/{i}", "trigger_id": f"{i}.{int(time.time())}.bench",
    }  # fmt: skip
    return signed(urlencode(form))


def click(
    i: int, fake_url: str, number: int, channel: str, ts: str, action: str = "claim"
) -> tuple[bytes, dict[str, str]]:
    """A `block_actions` payload: a card button (`case:<action>`) pressed on the card itself."""
    user = f"U{100 + i % 50:03d}"
    payload = {
        "type": "block_actions", "api_app_id": "A1", "token": "legacy", "is_enterprise_install": False,
        "team": {"id": TEAM, "domain": "bench"}, "enterprise": None,
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "trigger_id": f"{i}.{int(time.time())}.click",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "desk"},
        "message": {"type": "message", "ts": ts, "text": "card", "user": "UBOT"},
        "response_url": f"{fake_url}/response/click{i}",
        "actions": [{"action_id": f"case:{action}", "block_id": "b", "type": "button", "value": str(number),
                     "text": {"type": "plain_text", "text": action.title()}, "action_ts": str(time.time())}],
    }  # fmt: skip
    return signed(urlencode({"payload": json.dumps(payload)}))


@dataclass
class Target:
    name: str
    proc: Proc
    does_work: bool  # Teambot: wait for its work after the ack to reach the chat API
    make: Make | None = None  # its own requests (else the shared ones)
    limit: int | None = None  # at most this many requests over all levels (e.g. one click per open case)


async def side_by_side(
    targets: list[Target], make: Make, levels: list[int], seconds: float, fake: Proc, done_key: str,
    starts: dict[str, int] | None = None, drain_timeout: float = 120.0,
) -> tuple[list[Level], dict[str, int]]:  # fmt: skip
    """Each level: every target in turn, same requests. For a target that does work after its
    ack, wait until that work reached the chat API (counts[done_key] grew by the acks), and
    report how long that took: acks that outrun the work would only hide a backlog. Request
    ids continue per target across calls (`starts`), so no request is ever sent twice."""
    out: list[Level] = []
    starts = dict(starts or {})
    for c in levels:
        for t in targets:
            start = starts.get(t.name, 0)
            before = int((await _stats(fake)).get(done_key, 0))
            limit = None if t.limit is None else max(0, t.limit - start)
            lvl = await hammer(t.name, f"{t.proc.url}/slack/events", t.make or make, c, seconds, start=start,
                               limit=limit)  # fmt: skip
            starts[t.name] = start + lvl.requests
            if t.does_work:
                reached, waited = await wait_count(fake, done_key, before + lvl.ok, drain_timeout)
                lvl.extra.update(
                    done=reached - before, lost=max(0, lvl.ok - (reached - before)), drain_s=round(waited, 2),
                    done_per_s=round((reached - before) / (lvl.seconds + waited), 1),
                )  # fmt: skip
            out.append(lvl)
            print(_line(lvl), flush=True)
    return out, starts


async def _stats(fake: Proc) -> dict[str, Any]:
    from bench._common import fake_stats

    return dict((await fake_stats(fake))["counts"])


def _line(lvl: Level) -> str:
    extra = (
        f" done={lvl.extra['done']} lost={lvl.extra['lost']} drain={lvl.extra['drain_s']}s"
        if "done" in lvl.extra
        else ""
    )
    return (
        f"  {lvl.target:16s} c={lvl.concurrency:<3d} n={lvl.requests:<6d} err={lvl.errors:<3d} "
        f"{lvl.rps:8.1f} req/s  p50={lvl.p50_ms:7.2f} ms  p99={lvl.p99_ms:7.2f} ms{extra}"
    )


def compare_rows(levels: list[Level], base: str, subject_prefix: str = "teambot") -> list[dict[str, Any]]:
    """One row per (subject target, concurrency) with its ratios to each baseline of that level."""
    rows = []
    by = {(lv.target, lv.concurrency): lv for lv in levels}
    for lv in levels:
        if not lv.target.startswith(subject_prefix):
            continue
        row: dict[str, Any] = {"target": lv.target, "c": lv.concurrency, "req/s": lv.rps, "p50 ms": lv.p50_ms,
                               "p99 ms": lv.p99_ms, "errors": lv.errors}  # fmt: skip
        for b in ("aiohttp", base):
            ref = by.get((b, lv.concurrency))
            if ref:
                row[f"{b} req/s"] = ref.rps
                row[f"{b} p99 ms"] = ref.p99_ms
                row[f"req/s ÷ {b}"] = round(lv.rps / ref.rps, 3) if ref.rps else float("nan")
        if "done_per_s" in lv.extra:
            row["work done/s"] = lv.extra["done_per_s"]
            row["drain s"] = lv.extra["drain_s"]
            row["lost"] = lv.extra["lost"]
            row["errors"] += lv.extra["lost"]
        rows.append(row)
    return rows
