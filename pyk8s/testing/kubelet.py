"""A real ``pyk8s kubelet`` in a subprocess, inside a node network namespace, for e2e tests.

``KubeletProcess(server, netns)`` runs ``pyk8s kubelet`` inside ``netns``
(see ``pyk8s.testing.nodenet``) against ``server`` (a ``ServerProcess`` bound
to ``netns.host_ip``), with its own root dir; the kubelet's containerd, the
pods and their CNI bridge all live in that namespace.  ``node(...)`` runs a
command there (``curl`` a pod IP "from the node").

``stop()`` ends the kubelet by PID (pods keep running, as with a real
kubelet); ``start()`` again adopts them.  ``close()`` stops it and resets the
node with ``pyk8s kubelet --reset`` (every sandbox removed through CRI,
containerd stopped by PID, mounts unmounted, the bridge and the empty
cgroups the pods left deleted), then removes the root dir.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any

from pyk8s.kubelet.runtime.containerd import ContainerdPaths
from pyk8s.testing.cluster import ServerProcess, server_binary
from pyk8s.testing.nodenet import NodeNetns
from pyk8s.testing.processes import stop_logged

TEST_EVICTION_HARD = ("--eviction-hard=memory.available<100Mi,nodefs.available<0%,nodefs.inodesFree<0%,"
                      "imagefs.available<0%")
#: Shorter periods than upstream's 1m0s and 20s (the flags are upstream's), so that a ConfigMap edit reaches a
#: volume and a manifest file becomes a static pod within seconds instead of a minute: the tests still wait for
#: the real periodic sync, only a shorter one.
TEST_PERIODS = ("--sync-frequency=10s", "--file-check-frequency=2s")


class KubeletProcess:
    def __init__(self, server: ServerProcess, netns: NodeNetns, *, node_name: str = "node-1",
                 extra_args: list[str] | tuple[str, ...] = (), test_periods: bool = True) -> None:
        self.server, self.netns, self.node_name = server, netns, node_name
        self.extra_args = list(extra_args)
        self.test_periods = test_periods  # False: the kubelet's own (upstream's) periods, as a benchmark wants
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="pyk8s-kubelet-"))
        self.root_dir = self.root / "root"
        self.manifests_dir = self.root / "manifests"  # --pod-manifest-path: tests drop static pods here
        self.manifests_dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def log_path(self) -> pathlib.Path:
        return self.root / "kubelet.log"

    def command(self) -> list[str]:
        # As kind does for its nodes: no disk-pressure eviction (0% thresholds are off), so that a test
        # machine whose disk is more than 85 % full still runs the tests' pods; memory keeps upstream's.
        defaults = [TEST_EVICTION_HARD, *(TEST_PERIODS if self.test_periods else ())]
        own = [d for d in defaults if not any(a.startswith(d.split("=", 1)[0]) for a in self.extra_args)]
        return self.netns.command([server_binary(), "kubelet", "--kubeconfig", self.server.kubeconfig,
                                   "--root-dir", str(self.root_dir), "--node-name", self.node_name,
                                   "--node-ip", self.netns.node_ip, "--pod-manifest-path", str(self.manifests_dir),
                                   *own, *self.extra_args])

    def start(self) -> KubeletProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                     start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Until the Node reports Ready (registration, then the pod CIDR written as the CNI config)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"kubelet exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.ready():
                return
            time.sleep(0.5)
        raise TimeoutError(f"node {self.node_name} not Ready after {timeout}s:\n{self.log_tail()}")

    def ready(self) -> bool:
        """Whether the Node's Ready condition is True. A plain request, not kubectl: a kubectl run per poll took
        CPU from the kubelet and containerd that were starting."""
        try:
            status, body = self.server.request("GET", f"/api/v1/nodes/{self.node_name}")
        except OSError:
            return False
        if status != 200:
            return False
        conditions = (json.loads(body).get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    @property
    def containerd(self) -> ContainerdPaths:
        """The paths of the kubelet's managed containerd (``--root-dir``/containerd, as the kubelet places it)."""
        return ContainerdPaths(self.root_dir / "containerd")

    def crictl(self, *args: str) -> str:
        """``crictl`` against this node's containerd, in its namespace; its output (a failure fails the test).
        The socket's path is known: searching the root dir for it raced containerd deleting snapshot dirs."""
        out = self.node(server_binary(), "crictl", "-r", f"unix://{self.containerd.socket}", *args)
        assert out.returncode == 0, out.stderr
        return str(out.stdout)

    def node(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run a command on the node (inside its network namespace)."""
        return subprocess.run(self.netns.command(list(args)), capture_output=True, text=True, timeout=timeout,
                              check=False)

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None:
            return
        stop_logged(self.proc, self._log, timeout)
        self.proc, self._log = None, None

    def kill(self) -> None:
        """SIGKILL the kubelet (only its own process group: containerd runs in a session of its own)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
            self.proc = None

    def close(self) -> None:
        try:
            self.stop()
        finally:
            subprocess.run(self.netns.command([server_binary(), "kubelet", "--reset", "--root-dir",
                                               str(self.root_dir)]), capture_output=True, timeout=120, check=False)
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

