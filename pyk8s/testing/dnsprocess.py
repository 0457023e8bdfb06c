"""A real ``pyk8s dns`` in a subprocess, for e2e tests: never forwarding, so no query leaves the machine.

``DNSProcess(server, address)`` runs ``pyk8s dns --kubeconfig K
--bind-address ADDRESS --port PORT --no-forward`` on the machine (an
address such as a test ``NodeNetns.host_ip``, which pods reach through the
node's masquerade), and ``wait_ready()`` waits until it answers
``dns-version.cluster.local`` over UDP and the ``kube-dns`` EndpointSlice
names it.  ``close()`` stops it by PID (SIGTERM: it withdraws its slice).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
import tempfile
import time
from typing import Any

import dns.exception
import dns.message
import dns.query

from pyk8s.testing.cluster import ServerProcess, server_binary
from pyk8s.testing.processes import stop_logged


class DNSProcess:
    def __init__(self, server: ServerProcess, address: str, *, port: int = 53,
                 extra_args: list[str] | tuple[str, ...] = ()) -> None:
        self.server, self.address, self.port = server, address, port
        self.extra_args = list(extra_args)
        self.log_path = pathlib.Path(tempfile.mkstemp(prefix="pyk8s-dns-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def command(self) -> list[str]:
        return [server_binary(), "dns", "--kubeconfig", self.server.kubeconfig, "--bind-address", self.address,
                "--port", str(self.port), "--no-forward", *self.extra_args]

    def start(self) -> DNSProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                     start_new_session=True)
        return self

    def query(self, name: str, rdtype: str = "A", *, timeout: float = 2.0) -> dns.message.Message:
        return dns.query.udp(dns.message.make_query(name, rdtype), self.address, port=self.port, timeout=timeout)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"pyk8s dns exited:\n{self.log_tail()}")
            with contextlib.suppress(dns.exception.DNSException, OSError):
                if self.query("dns-version.cluster.local.", "TXT", timeout=1).answer and \
                        "points at" in self.log_tail():
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"pyk8s dns not ready:\n{self.log_tail()}")
            time.sleep(0.3)

    def stop(self, timeout: float = 10.0) -> None:
        stop_logged(self.proc, self._log, timeout)
        self.proc, self._log = None, None

    def close(self) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            self.log_path.unlink()

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-size:].decode(errors="replace")
        except OSError:
            return ""
