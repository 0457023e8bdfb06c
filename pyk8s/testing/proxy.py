"""A real ``pyk8s proxy`` in a subprocess, inside a node network namespace, for e2e tests.

``ProxyProcess(server, netns, node_name=..., mode=...)`` runs ``pyk8s proxy``
inside ``netns`` (``pyk8s.testing.nodenet``) beside that node's kubelet, so
every rule it writes lives in the namespace and vanishes with it.
``wait_ready()`` waits for its /healthz (the first sync done); ``close()``
stops it by PID and runs ``pyk8s proxy --cleanup`` in the namespace, so the
next proxy (say, in the other mode) starts from a clean slate: two modes are
never active in one namespace at once.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import tempfile
import time
from typing import Any

from pyk8s.testing.cluster import ServerProcess, server_binary
from pyk8s.testing.nodenet import NodeNetns
from pyk8s.testing.processes import stop_logged

CLUSTER_CIDR = "10.244.0.0/16"  # the controller manager's default


class ProxyProcess:
    def __init__(self, server: ServerProcess, netns: NodeNetns, *, node_name: str, mode: str = "nftables",
                 extra_args: list[str] | tuple[str, ...] = ()) -> None:
        self.server, self.netns, self.node_name, self.mode = server, netns, node_name, mode
        self.extra_args = list(extra_args)
        self.log_path = pathlib.Path(tempfile.mkstemp(prefix=f"pyk8s-proxy-{mode}-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def kubeconfig(self) -> str:
        """The server's kubeconfig for ``system:kube-proxy`` (upstream's identity), else the admin's."""
        own = pathlib.Path(self.server.data_dir) / "kube-proxy.kubeconfig"
        return str(own) if own.exists() else self.server.kubeconfig

    def command(self) -> list[str]:
        return self.netns.command([server_binary(), "proxy", "--kubeconfig", self.kubeconfig,
                                   "--hostname-override", self.node_name, "--proxy-mode", self.mode,
                                   "--cluster-cidr", CLUSTER_CIDR, "-v", *self.extra_args])

    def start(self) -> ProxyProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                     start_new_session=True)
        return self

    def node(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.netns.command(list(args)), capture_output=True, text=True, timeout=timeout,
                              check=False)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"proxy exited with {self.proc.returncode}:\n{self.log_tail()}")
            out = self.node("curl", "-s", "--noproxy", "*", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:10256/healthz")
            if out.stdout.strip() == "200":
                return
            time.sleep(0.3)
        raise TimeoutError(f"proxy ({self.mode}) not healthy after {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        stop_logged(self.proc, self._log, timeout)
        self.proc, self._log = None, None

    def close(self) -> None:
        """Stop, then remove every rule the proxy installed in the namespace."""
        try:
            self.stop()
        finally:
            subprocess.run(self.netns.command([server_binary(), "proxy", "--cleanup"]), capture_output=True,
                           timeout=60, check=False)
            self.log_path.unlink(missing_ok=True)

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""
