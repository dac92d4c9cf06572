"""What every benchmark shares: the machine, processes under test, the load generator, the
local chat API, signed Slack requests, figures and ratios.

The load generator is an aiohttp client in the benchmark's own process: N clients, each sending
its next request as soon as the previous one is answered (closed loop), for a fixed time.
Latency is measured at the client, from before the request is written to after the whole
answer is read: what Slack or the Bot Connector would wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
# Slack's documented example signing secret (request-verification docs); fixed so runs repeat.
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-bench-token"
TEAM = "T1"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/teambot_bench")
RESULTS = ROOT / "bench" / "results"
SLACK_TIMEOUT = 3.0  # Slack shows "operation_timeout" after this many seconds


# ----- the machine ------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
        mem_gb = round(kb / 1024 / 1024, 1)
    return {
        "nproc": os.cpu_count(),
        "memory_gb": mem_gb,
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# ----- figures ----------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def ratio(value: float, base: float) -> float:
    return round(value / base, 3) if base else float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def save(name: str, data: dict[str, Any], out: Path | None = None) -> Path:
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    """A plain Markdown table of the chosen columns."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


# ----- processes --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    """The parent's environment minus anything Teambot reads, plus `extra`."""
    drop = ("SLACK_", "MICROSOFT_", "DATABASE_URL", "TEAMBOT_", "TEAMS_", "PORT", "HOST", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


class Proc:
    """A server process under test: started, waited for on /healthz, measured, stopped."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, workdir: Path) -> None:
        self.name, self.argv, self.env, self.port, self.workdir = name, argv, env, port, workdir
        self.popen: subprocess.Popen[bytes] | None = None
        self.startup_s = float("nan")
        self.log_path = workdir / f"{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 60.0) -> float:  # noqa: ASYNC109 (a plain deadline, polled)
        """Seconds from spawning the process to the first 200 from GET /healthz."""
        log = self.log_path.open("ab")
        t0 = time.perf_counter()
        self.popen = subprocess.Popen(self.argv, env=self.env, cwd=self.workdir, stdout=log, stderr=log)  # noqa: ASYNC220 (spawn only; timed on purpose)
        log.close()
        async with aiohttp.ClientSession() as session:
            while time.perf_counter() - t0 < timeout:
                if self.popen.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.popen.returncode}; see {self.log_path}"
                    )
                try:
                    async with session.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            self.startup_s = time.perf_counter() - t0
                            return self.startup_s
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.01)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout}s; see {self.log_path}")

    def rss_mb(self) -> float:
        if self.popen is None:
            return float("nan")
        try:
            for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return float("nan")

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGINT)
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def errors_logged(self) -> int:
        """ERROR lines and tracebacks the process wrote (a silent failure would hide here)."""
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace")
            return text.count(" ERROR ") + text.count("Traceback")
        return 0


@contextlib.contextmanager
def workdir(keep: bool = False) -> Iterator[Path]:
    """A scratch directory (the processes' cwd: no stray .env is read, the SQLite file lives here)."""
    path = Path(tempfile.mkdtemp(prefix="teambot-bench-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


def teambot_proc(name: str, wd: Path, database_url: str, **env: str) -> Proc:
    port = free_port()
    e = base_env(PORT=str(port), HOST="127.0.0.1", DATABASE_URL=database_url, **env)
    return Proc(name, [PY, "-m", "teambot.cli", "serve"], e, port, wd)


class WorkerProc(Proc):
    """A `teambot worker` (no HTTP): started once it says so on stderr."""

    async def start(self, timeout: float = 60.0) -> float:  # noqa: ASYNC109 (a plain deadline, polled)
        log = self.log_path.open("ab")
        t0 = time.perf_counter()
        self.popen = subprocess.Popen(self.argv, env=self.env, cwd=self.workdir, stdout=log, stderr=log)  # noqa: ASYNC220
        log.close()
        while time.perf_counter() - t0 < timeout:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; see {self.log_path}")
            if "Teambot worker" in self.log_path.read_text(errors="replace"):
                self.startup_s = time.perf_counter() - t0
                return self.startup_s
            await asyncio.sleep(0.02)
        raise RuntimeError(f"{self.name} did not start within {timeout}s; see {self.log_path}")


async def start_workers(n: int, wd: Path, database_url: str, name: str, nice: int = 0, **env: str) -> list[Proc]:
    """`n` worker processes beside a web process started with TEAMBOT_WORK=worker (it migrated);
    `nice` > 0 runs them at a lower CPU priority, so on a shared host the acks come first."""
    procs: list[Proc] = []
    for i in range(n):
        e = base_env(DATABASE_URL=database_url, TEAMBOT_WORK="worker", **env)
        niced = ["nice", "-n", str(nice)] if nice else []
        procs.append(WorkerProc(f"{name}-worker{i}", [*niced, PY, "-m", "teambot.cli", "worker"], e, 0, wd))
    for w in procs:
        await w.start()
    return procs


def baseline_proc(kind: str, wd: Path, **env: str) -> Proc:
    port = free_port()
    return Proc(kind, [PY, "-m", "bench.baselines", kind], base_env(PORT=str(port), **env), port, wd)


def fakechat_proc(wd: Path) -> Proc:
    port = free_port()
    return Proc("fakechat", [PY, "-m", "bench.fakechat", "--port", str(port)], base_env(), port, wd)


def slack_env(fake: Proc) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"{fake.url}/api/",
    }


async def fake_stats(fake: Proc, times: bool = False) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"{fake.url}/stats", params={"times": "1"} if times else {}) as r,
    ):
        return dict(await r.json())


async def fake_reset(fake: Proc) -> None:
    async with aiohttp.ClientSession() as s, s.post(f"{fake.url}/reset") as r:
        await r.read()


async def wait_count(fake: Proc, key: str, target: int, timeout: float) -> tuple[int, float]:  # noqa: ASYNC109
    """Poll the fake chat API until counts[key] >= target; (count reached, seconds waited)."""
    t0 = time.perf_counter()
    count = 0
    while time.perf_counter() - t0 < timeout:
        count = int((await fake_stats(fake))["counts"].get(key, 0))
        if count >= target:
            break
        await asyncio.sleep(0.05)
    return count, time.perf_counter() - t0


def reset_postgres(url: str) -> None:
    """Drop and recreate the bench database's schema, then migrate it (`teambot db upgrade`)."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    name = u.database
    assert name and name != "test", "the benchmarks never touch the lead's database `test`"
    psql = [
        "psql",
        "-h",
        u.host or "127.0.0.1",
        "-p",
        str(u.port or 5432),
        "-U",
        u.username or "postgres",
        "-q",
    ]
    exists = subprocess.run([*psql, "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{name}'"],
                            capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    if not exists:
        subprocess.run([*psql, "-d", "postgres", "-c", f'CREATE DATABASE "{name}"'], check=True)
    subprocess.run([*psql, "-d", name, "-c", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([PY, "-m", "teambot.cli", "db", "upgrade"], env=base_env(DATABASE_URL=url), check=True,
                   capture_output=True)  # fmt: skip


# ----- load -------------------------------------------------------------------------------


@dataclass
class Level:
    """One closed-loop run: `concurrency` clients for `seconds`."""

    target: str
    concurrency: int
    requests: int = 0
    ok: int = 0
    errors: int = 0
    over_3s: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    max_ms: float = float("nan")
    statuses: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(d.pop("extra"))
        return d


Make = Callable[[int], tuple[bytes, dict[str, str]]]


async def hammer(target: str, url: str, make: Make, concurrency: int, seconds: float,
                 start: int = 0, limit: int | None = None) -> Level:  # fmt: skip
    """Closed loop: each client sends its next request when the last is answered."""
    ids = itertools.count(start)
    lat: list[float] = []
    statuses: Counter[str] = Counter()
    over = 0
    conn = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        t_end = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal over
            while time.perf_counter() < t_end:
                i = next(ids)
                if limit is not None and i >= start + limit:
                    return
                body, headers = make(i)
                t0 = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as resp:
                        await resp.read()
                        status = str(resp.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
                dt = time.perf_counter() - t0
                statuses[status] += 1
                lat.append(dt)
                over += dt > SLACK_TIMEOUT

        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    ok = sum(n for s, n in statuses.items() if s.isdigit() and 200 <= int(s) < 300)
    n = sum(statuses.values())
    return Level(
        target=target, concurrency=concurrency, requests=n, ok=ok, errors=n - ok, over_3s=over,
        seconds=round(elapsed, 3), rps=round(n / elapsed, 1) if elapsed else 0.0,
        p50_ms=round(pct(lat, 50) * 1000, 2), p99_ms=round(pct(lat, 99) * 1000, 2),
        max_ms=round(max(lat, default=float("nan")) * 1000, 2), statuses=dict(statuses),
    )  # fmt: skip


# ----- Slack requests ---------------------------------------------------------------------

_verifier = SignatureVerifier(SECRET)


def signed(
    body: str, content_type: str = "application/x-www-form-urlencoded"
) -> tuple[bytes, dict[str, str]]:
    ts = str(int(time.time()))
    sig = _verifier.generate_signature(timestamp=ts, body=body)
    assert sig is not None
    return body.encode(), {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sig,
    }
