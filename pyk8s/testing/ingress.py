"""A real ``pyk8s ingress`` in a subprocess, inside a node network namespace, for e2e tests and benchmarks.

``IngressProcess(server, netns, node_name=...)`` runs ``pyk8s ingress``
inside ``netns`` (``pyk8s.testing.nodenet``), so its nginx listens on the
node's ports and reaches the pod IPs there; the machine reaches it at
``netns.node_ip`` over the veth.  ``wait_ready()`` waits until nginx answers;
``close()`` stops the controller by PID (it stops its nginx gracefully; nginx
also gets SIGTERM should the controller die) and removes its data dir.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile
import time
from typing import Any

from pyk8s.testing.cluster import ServerProcess, server_binary
from pyk8s.testing.nodenet import NodeNetns
from pyk8s.testing.processes import stop_logged


class IngressProcess:
    def __init__(self, server: ServerProcess, netns: NodeNetns, *, node_name: str, http_port: int = 80,
                 https_port: int = 443, extra_args: list[str] | tuple[str, ...] = ()) -> None:
        self.server, self.netns, self.node_name = server, netns, node_name
        self.http_port, self.https_port = http_port, https_port
        self.extra_args = list(extra_args)
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="pyk8s-ingress-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def log_path(self) -> pathlib.Path:
        return self.root / "ingress.log"

    @property
    def data_dir(self) -> pathlib.Path:
        return self.root / "data"

    @property
    def kubeconfig(self) -> str:
        """The identity the server issues for the ingress controller (kube-system/pyk8s-ingress), so its
        RBAC role is what the tests exercise; the admin kubeconfig where the server writes none."""
        own = pathlib.Path(self.server.data_dir) / "ingress.kubeconfig"
        return str(own) if own.exists() else self.server.kubeconfig

    def command(self) -> list[str]:
        return self.netns.command([server_binary(), "ingress", "--kubeconfig", self.kubeconfig,
                                   "--data-dir", str(self.data_dir), "--node-name", self.node_name,
                                   "--http-port", str(self.http_port), "--https-port", str(self.https_port),
                                   "--worker-processes", "1", *self.extra_args])

    def start(self) -> IngressProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                     start_new_session=True)
        return self

    def curl(self, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
        """curl from the machine (over the veth to the node's address)."""
        return subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", "10", *args], capture_output=True,
                              text=True, timeout=timeout, check=False)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until nginx answers on the node's address (404 for an unknown host is an answer)."""
        deadline = time.monotonic() + timeout
        url = f"http://{self.netns.node_ip}:{self.http_port}/"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"pyk8s ingress exited with {self.proc.returncode}:\n{self.log_tail()}")
            out = self.curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: nobody.invalid", url)
            if out.stdout.strip() not in ("", "000"):
                return
            time.sleep(0.3)
        raise TimeoutError(f"ingress not answering on {url} after {timeout}s:\n{self.log_tail()}")

    def nginx_conf(self) -> str:
        try:
            return (self.data_dir / "nginx.conf").read_text()
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None:
            return
        # The controller stops its nginx gracefully on TERM: signal it alone.
        stop_logged(self.proc, self._log, timeout, term_group=False)
        self.proc, self._log = None, None

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""
