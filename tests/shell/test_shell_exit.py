"""Leaving the shell: a piped script ends by itself, a signal ends a waiting shell, both fast and
quiet (the 20-run loop is tests/stress/shell_exit.py)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.stress.shell_exit import LIMIT, TEAMBOT, run_once, shell_env


@pytest.mark.parametrize("command", ["run", "shell"])
@pytest.mark.parametrize("opened", [True, False], ids=["a-case", "no-case"])
def test_a_piped_script_exits_at_once_without_a_traceback(command: str, opened: bool) -> None:
    for _ in range(2):  # the first tick still under way at the end of the script, twice
        run = run_once(command, opened)
        assert run.problem is None, f"{run.problem}\n{run.output}"
        assert run.seconds < LIMIT
    if opened:
        assert "opened case #1" in run.output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_ends_a_shell_waiting_for_input(tmp_path: Path, sig: signal.Signals) -> None:
    """stdin stays open (a person at the keyboard): the shell stops cleanly without waiting for Enter."""
    proc = subprocess.Popen(
        [str(TEAMBOT), "shell"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=shell_env(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("/recover Mr Lee: cold soup\n")
        proc.stdin.flush()
        seen = ""
        while "Case #1" not in seen:  # the case is open: the shell now waits for the next line
            line = proc.stdout.readline()
            assert line, seen
            seen += line
        started = time.monotonic()
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=10)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    out = seen + out
    assert proc.returncode == 0, out
    assert took < 2.0, out
    assert "Teambot: stopping (signal received).\nBye." in out, out
    assert "Traceback" not in out and "ERROR" not in out, out
