"""A scripted `teambot run` / `teambot shell`, again and again: every run must end by itself, fast and quiet.

    python -m tests.stress.shell_exit [--runs 20]

Each run pipes a short script into the real console script on a fresh SQLite file (the scheduler on,
its first tick still under way when the script ends), with and without a case opened in the first
line; then a shell waiting at its prompt gets SIGTERM, and Ctrl-C (SIGINT), `runs` times each. Every run must exit 0 within 5 s of its greeting and 2 s of its "Bye.", and print no `Traceback`
and no `ERROR` (the suite checks all but the 2 s). The suite runs a few
(tests/shell/test_shell_exit.py); exit status 1 when any run fails.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TEAMBOT = Path(sys.executable).parent / "teambot"
WITH_CASE = (
    "/recover Jane Customer got the wrong order and wants a refund\n/recover list\n/recover policy\n/recover help\n"
)
WITHOUT_CASE = "/recover help\n/recover list\n"
LIMIT = 5.0  # seconds from the greeting to the end (start-up is not counted: a loaded machine slows imports)
STOP_LIMIT = 2.0  # seconds from "Bye." to the end
START_LIMIT = 60.0


@dataclass
class Run:
    command: str
    opened: bool
    code: int | None
    seconds: float  # from the shell's greeting (start-up done) to the process's end
    after_bye: float  # from "Bye." to the process's end
    output: str

    @property
    def problem(self) -> str | None:
        if self.code is None:
            return f"still running {LIMIT:.0f} s after its greeting"
        if self.code != 0:
            return f"exit status {self.code}"
        if "Traceback" in self.output or "ERROR" in self.output:
            return "printed a traceback or an ERROR"
        if "Bye." not in self.output:
            return "never said Bye."
        return None

    @property
    def slow_stop(self) -> str | None:
        """The 2 s from "Bye." to the end: checked by the loop here, not in the suite (Python's own
        teardown alone takes up to a second on a loaded CI machine)."""
        return f"took {self.after_bye:.1f} s from Bye. to its end" if self.after_bye > STOP_LIMIT else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shell_env(folder: Path) -> dict[str, str]:
    """No chat credentials (so `run` opens the shell), a fresh database, a port of its own."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/t.db", "PORT": str(free_port()),
           "TEAMBOT_OUTBOX": str(folder / "outbox")}  # fmt: skip
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "MICROSOFT_APP_ID",
                "TEAMBOT_SCHEDULER", "LOG_LEVEL"):  # fmt: skip
        env.pop(key, None)
    return env


def run_once(command: str, opened: bool) -> Run:
    with tempfile.TemporaryDirectory(prefix="teambot-shell-") as tmp:
        proc = subprocess.Popen(
            [str(TEAMBOT), command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=shell_env(Path(tmp)), cwd=tmp,
        )  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        lines: list[tuple[float, str]] = []
        reader = threading.Thread(target=lambda: lines.extend((time.monotonic(), line) for line in proc.stdout))
        reader.start()
        proc.stdin.write(WITH_CASE if opened else WITHOUT_CASE)
        proc.stdin.close()
        started = _when(lines, "Teambot local shell.", START_LIMIT) or time.monotonic()
        try:
            code: int | None = proc.wait(timeout=max(0.0, started + LIMIT - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        ended = time.monotonic()
        reader.join()
        bye = _when(lines, "Bye.", 0) or ended
        return Run(command, opened, code, ended - started, ended - bye, "".join(line for _, line in lines))


def signal_once(sig: signal.Signals) -> tuple[int | None, float, str]:
    """A shell waiting for its next line (stdin left open, as at a keyboard) gets `sig` once a case is
    open: (exit status, seconds from the signal to the end, what it printed)."""
    with tempfile.TemporaryDirectory(prefix="teambot-shell-") as tmp:
        proc = subprocess.Popen(
            [str(TEAMBOT), "shell"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=shell_env(Path(tmp)), cwd=tmp,
        )  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        seen = ""
        try:
            proc.stdin.write("/recover Mr Lee: cold soup\n")
            proc.stdin.flush()
            while "Case #1" not in seen:  # the case is open: the shell now waits for the next line
                line = proc.stdout.readline()
                if not line:
                    break
                seen += line
            started = time.monotonic()
            proc.send_signal(sig)
            try:
                out, _ = proc.communicate(timeout=LIMIT)
                code: int | None = proc.returncode
            except subprocess.TimeoutExpired:
                code, out = None, ""
            return code, time.monotonic() - started, seen + out
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def _when(lines: list[tuple[float, str]], text: str, wait: float) -> float | None:
    """When a line starting with `text` was printed, waiting for it up to `wait` seconds."""
    give_up = time.monotonic() + wait
    while True:
        for at, line in list(lines):
            if line.startswith(text):
                return at
        if time.monotonic() >= give_up:
            return None
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each command and script (default 20)")
    args = parser.parse_args()
    failed = 0
    for command in ("run", "shell"):
        for opened in (True, False):
            times, stops = [], []
            for _ in range(args.runs):
                run = run_once(command, opened)
                times.append(run.seconds)
                stops.append(run.after_bye)
                if run.problem or run.slow_stop:
                    failed += 1
                    print(f"FAIL teambot {command} ({'a case' if opened else 'no case'}): {run.problem or run.slow_stop}\n"
                          f"{run.output[-3000:]}")  # fmt: skip
            print(f"teambot {command:5} {'with a case' if opened else 'no case    '}: {args.runs} runs, "
                  f"greeting to end: slowest {max(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s; "
                  f"Bye. to end: slowest {max(stops):.2f} s")  # fmt: skip
    for sig in (signal.SIGTERM, signal.SIGINT):
        stops = []
        for _ in range(args.runs):
            code, took, out = signal_once(sig)
            stops.append(took)
            if code != 0 or took > STOP_LIMIT or "Traceback" in out or "ERROR" in out or "Bye." not in out:
                failed += 1
                print(f"FAIL teambot shell and {sig.name}: exit {code} after {took:.1f} s\n{out[-3000:]}")
        print(f"teambot shell {sig.name:7}: {args.runs} runs, signal to end: slowest {max(stops):.2f} s, "
              f"median {sorted(stops)[len(stops) // 2]:.2f} s")  # fmt: skip
    print("OK" if not failed else f"{failed} runs failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
