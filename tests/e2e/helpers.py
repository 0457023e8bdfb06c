"""Helpers for e2e tests: the Python client, polling, and reading kubectl tables."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pyk8s.testing.cluster import ServerProcess

T = TypeVar("T")


def new_api_client(srv: ServerProcess) -> Any:
    """A fresh kubernetes.client.ApiClient configured from the server's admin kubeconfig."""
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=srv.kubeconfig, client_configuration=configuration)
    return client.ApiClient(configuration)


def wait_until(fn: Callable[[], T], *, timeout: float = 30, interval: float = 0.1, what: str = "condition") -> T:
    """Poll ``fn`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def stop_process(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM, timeout: float = 10) -> int:
    """Stop a process this test started, by its PID: ``sig``, then SIGKILL if it outlives ``timeout``.
    Returns its exit status."""
    if proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
    return proc.returncode


def table_rows(output: str) -> list[list[str]]:
    """kubectl's column output split into rows of cells (header first)."""
    return [line.split() for line in output.splitlines() if line.strip()]


def row_for(output: str, name: str) -> list[str]:
    """The row whose NAME cell (first or after NAMESPACE) is ``name``."""
    for cells in table_rows(output)[1:]:
        if name in cells[:2]:
            return cells
    raise AssertionError(f"no row for {name!r} in:\n{output}")


def read_output_until(proc: Any, done: Callable[[str], bool], *, timeout: float) -> str:
    """Collect a background process's stdout until ``done(text)`` holds for the complete lines read
    so far; fail after ``timeout``.

    Reads the pipe's file descriptor directly (select + os.read): a text-mode
    pipe cannot be read without blocking.
    """
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
            # Judge complete lines only: kubectl may write a row's name and its other cells separately.
            complete = seen[: seen.rfind(b"\n") + 1].decode(errors="replace")
            if complete and done(complete):
                return complete
        elif proc.poll() is not None:
            break
    raise AssertionError(f"output incomplete after {timeout}s:\n{seen.decode(errors='replace')}")


def rows_named(text: str, name: str) -> int:
    """How many table rows start with ``name``."""
    return sum(1 for line in text.splitlines() if line.split()[:1] == [name])
