"""Stopping the child processes that test helpers start (kubelet, proxy, DNS, ingress).

Each helper starts its process in a session of its own, so the whole group
can be signalled by PID (never by name).  SIGTERM first, SIGKILL to the group
after ``timeout``; the helper's log file is closed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import IO, Any


def stop_logged(proc: subprocess.Popen[Any] | None, log: IO[Any] | None, timeout: float, *,
                term_group: bool = True) -> None:
    """Stop ``proc`` (TERM, then KILL its group) and close ``log``.

    ``term_group=False`` sends the TERM to the process alone, for a process
    that stops its own children gracefully (the ingress controller and its
    nginx); the KILL still goes to the whole group.
    """
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            if term_group:
                os.killpg(proc.pid, signal.SIGTERM)
            else:
                os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    if log is not None:
        log.close()
