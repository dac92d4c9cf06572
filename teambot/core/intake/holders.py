"""Which lease holders are gone: a process can tell for holders on its own host.

A holder id is `new_worker_id`'s, read back by `worker_host_pid` (both in core/leases.py). A holder on this host whose pid runs no process
is dead (SIGKILL, OOM); so is one with this process's own pid that this process never made (a
restarted container reuses pids, often pid 1). Their rows are taken at once instead of after the
lease. A holder on another host, or whose pid runs (perhaps reused by an unrelated process), keeps
its lease: waiting it out is the safe side.
"""

from __future__ import annotations

import os

from teambot.core.leases import worker_host_pid, worker_prefix

_MADE_HERE: set[str] = set()  # holder ids this process made (a test process makes many)


def made_here(holder: str) -> None:
    _MADE_HERE.add(holder)


def local_prefix() -> str:
    """What every holder id made on this host starts with."""
    return worker_prefix()


def is_dead_local(holder: str) -> bool:
    host_pid = worker_host_pid(holder)
    if host_pid is None or f"{host_pid[0]}:" != local_prefix():
        return False
    pid = host_pid[1]
    if pid == os.getpid():
        return holder not in _MADE_HERE
    try:
        os.kill(pid, 0)  # signal 0: does the process exist?
    except ProcessLookupError:
        return True
    except OSError:  # it exists under another user (PermissionError), or we cannot tell
        return False
    return False
