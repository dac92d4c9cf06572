"""Leaving the shell: a piped script ends by itself, a signal ends a waiting shell, both fast and
quiet (the 20-run loop is tests/stress/shell_exit.py)."""

from __future__ import annotations

import signal

import pytest

from tests.stress.shell_exit import LIMIT, run_once, signal_once


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
def test_a_signal_ends_a_shell_waiting_for_input(sig: signal.Signals) -> None:
    """stdin stays open (a person at the keyboard): the shell stops cleanly without waiting for Enter."""
    code, took, out = signal_once(sig)
    assert code == 0, out
    assert took < LIMIT, out  # about 0.5 s on an idle machine; the 2 s bound is tests/stress/shell_exit.py's
    assert "Teambot: stopping (signal received).\nBye." in out, out
    assert "Traceback" not in out and "ERROR" not in out, out
