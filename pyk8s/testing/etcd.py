"""A real, throw-away etcd for tests and benchmarks.

``EtcdServer`` starts the ``etcd`` binary on free loopback ports with its data
in a fresh temp dir, waits until it answers, and stops it by PID (SIGTERM,
then SIGKILL), removing the dir.  Nothing listens off loopback.

    with EtcdServer() as server:
        storage = open_storage(server.url)   # "etcd://127.0.0.1:PORT"

or ``server.start()`` / ``server.stop()`` from a pytest fixture; ``server.restart()`` stops
and starts etcd again on the same ports and data (for clients that must ride it out).  There is
also an async variant of the readiness wait for code already on a loop:
``await server.astart()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from types import TracebackType

START_TIMEOUT = 20.0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def etcd_binary() -> str | None:
    return shutil.which("etcd")


class EtcdServer:
    def __init__(self, *, binary: str | None = None, extra_args: list[str] | None = None) -> None:
        self.binary = binary or etcd_binary() or "etcd"
        self.extra_args = extra_args or []
        self.client_port = 0
        self.peer_port = 0
        self.data_dir = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: object | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def url(self) -> str:
        """The storage URL for ``open_storage``."""
        return f"etcd://127.0.0.1:{self.client_port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def _spawn(self) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="pyk8s-etcd-")
        self.client_port = free_port()
        self.peer_port = free_port()
        while self.peer_port == self.client_port:
            self.peer_port = free_port()
        self._launch()

    def _launch(self) -> None:
        client = f"http://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        args = [
            self.binary,
            "--name=default",
            f"--data-dir={self.data_dir}/data",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}",
            "--log-level=error",
            *self.extra_args,
        ]
        log = open(os.path.join(self.data_dir, "etcd.log"), "ab")  # noqa: SIM115 - closed in stop()
        self._log = log
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint + "/version", timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            rc = self.proc.returncode
            log = self.read_log()
            self.stop()
            raise RuntimeError(f"etcd exited early (rc {rc}): {log[-2000:]}")

    def read_log(self) -> str:
        try:
            with open(os.path.join(self.data_dir, "etcd.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def start(self) -> EtcdServer:
        self._spawn()
        return self._wait_ready()

    def _wait_ready(self) -> EtcdServer:
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready():
            self._check_alive()
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("etcd did not become ready")
            time.sleep(0.05)
        return self

    async def astart(self) -> EtcdServer:
        self._spawn()
        deadline = time.monotonic() + START_TIMEOUT
        while not await asyncio.to_thread(self._ready):
            self._check_alive()
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("etcd did not become ready")
            await asyncio.sleep(0.05)
        return self

    def restart(self) -> EtcdServer:
        """Stop etcd (SIGTERM) and start it again on the same ports and data: what clients
        see of an etcd upgrade or crash-restart.  Waits until it answers."""
        self._end_process()
        self._launch()
        return self._wait_ready()

    def _end_process(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None

    def stop(self) -> None:
        self._end_process()
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = ""

    def __enter__(self) -> EtcdServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
