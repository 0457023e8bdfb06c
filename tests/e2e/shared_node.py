"""One real-kubelet cluster shared, one folder at a time, by the e2e folders that need only a plain node.

The kubelet, services, dns and ingress folders each used to start the same
cluster of their own (``pyk8s server`` with its controller manager and
scheduler, bound to the machine's end of a ``NodeNetns``, and ``pyk8s
kubelet`` as ``node-1`` inside it): most of a minute each.  They now borrow
this one; what a folder adds (the proxy, ``pyk8s dns``, ``pyk8s ingress``)
its own package fixture starts and stops.

* ``acquire()`` starts the cluster on first use, or starts a fresh one when
  the borrowed one is not healthy (server or kubelet exited, node not Ready).
* ``release()``, at the end of each folder, removes what the folder left:
  static pod manifests, every namespace made since the cluster started and
  the workloads and Services in ``default``, and waits until no such pod is
  left on the node, so the next folder starts on an empty node.  A cluster
  that cannot be emptied is closed instead (the next ``acquire()`` starts
  anew), never handed on dirty.
* ``close()`` stops the kubelet and resets the node (sandboxes, containerd
  by PID, mounts, bridge), stops the server by PID and deletes the
  namespace.  ``tests/e2e/conftest.py`` calls it as soon as the next test is
  in a folder that does not use the cluster, and runs those folders back to
  back, so no idle cluster loads the rest of the session.
"""

from __future__ import annotations

import json
import sys
import time

from pyk8s.kubelet.images import build
from pyk8s.testing.cluster import ServerProcess
from pyk8s.testing.kubelet import KubeletProcess
from pyk8s.testing.nodenet import NodeNetns

NODE = "node-1"
FIXTURE = "shared_node"  # the session fixture every user of the cluster requests
EMPTY_TIMEOUT = 150.0  # with the close that may follow, inside the 300 s pytest-timeout of one test
# What a folder may leave in ``default`` (its own namespaces go as a whole).
DEFAULT_KINDS = ("pods", "deployments.apps", "replicasets.apps", "statefulsets.apps", "daemonsets.apps",
                 "jobs.batch", "cronjobs.batch", "services")


class SharedNode:
    def __init__(self) -> None:
        self.server: ServerProcess | None = None
        self.kubelet: KubeletProcess | None = None
        self.netns: NodeNetns | None = None
        self._baseline: set[str] = set()
        # Set by the conftest's teardown hook while the last folder that borrows the cluster ends.
        self.last_user = False

    @property
    def running(self) -> bool:
        return self.netns is not None

    def acquire(self) -> tuple[ServerProcess, KubeletProcess, NodeNetns]:
        if self.running and not self._healthy():
            self.close()
        if not self.running:
            self._start()
        assert self.server is not None and self.kubelet is not None and self.netns is not None
        return self.server, self.kubelet, self.netns

    def release(self) -> None:
        if not self.running:
            return
        if self.last_user:
            # No later folder borrows it: closing removes everything at once, emptying first would only wait.
            self.close()
            return
        try:
            self._empty()
        except Exception as exc:  # noqa: BLE001 - a cluster that cannot be emptied is replaced, not reused
            print(f"\nshared e2e cluster not emptied ({exc}); closing it", file=sys.stderr)
            self.close()

    def close(self) -> None:
        netns, server, kubelet = self.netns, self.server, self.kubelet
        self.netns = self.server = self.kubelet = None
        try:
            if kubelet is not None:
                kubelet.close()
        finally:
            try:
                if server is not None:
                    server.close()
            finally:
                if netns is not None:
                    netns.delete()

    # --- internals -----------------------------------------------------------

    def _start(self) -> None:
        self.last_user = False
        # Built (or found current) here, with the machine's network: the node's namespace has none.
        build.build(build.DEFAULT_OUT)
        self.netns = NodeNetns().create()
        try:
            self.server = ServerProcess(control_plane=True, bind_address=self.netns.host_ip).start()
            self.kubelet = KubeletProcess(self.server, self.netns, node_name=NODE).start()
            self.kubelet.wait_ready()
            self._baseline = set(self._names("namespaces"))
        except BaseException:
            self.close()
            raise

    def _healthy(self) -> bool:
        server, kubelet = self.server, self.kubelet
        if server is None or kubelet is None or server.proc is None or kubelet.proc is None:
            return False
        if server.proc.poll() is not None or kubelet.proc.poll() is not None:
            return False
        try:
            kubelet.wait_ready(timeout=60)
        except (RuntimeError, TimeoutError):
            return False
        return True

    def _kubectl(self, *args: str, timeout: float = 120) -> str:
        assert self.server is not None
        return str(self.server.kubectl(*args, timeout=timeout).stdout)

    def _names(self, kind: str, namespace: str | None = None) -> list[str]:
        scope = ["-n", namespace] if namespace else []
        items = json.loads(self._kubectl("get", kind, *scope, "-o", "json"))["items"]
        return [item["metadata"]["name"] for item in items]

    def _empty(self) -> None:
        assert self.kubelet is not None
        if self.kubelet.proc is None or self.kubelet.proc.poll() is not None:
            raise RuntimeError("the kubelet is not running")
        for manifest in self.kubelet.manifests_dir.iterdir():
            manifest.unlink()
        leftover = sorted(set(self._names("namespaces")) - self._baseline)
        if leftover:
            self._kubectl("delete", "namespace", *leftover, "--wait=false")
        for kind in DEFAULT_KINDS:
            names = [n for n in self._names(kind, "default") if not (kind == "services" and n == "kubernetes")]
            if names:
                self._kubectl("-n", "default", "delete", kind, *names, "--wait=false", "--ignore-not-found")
        deadline = time.monotonic() + EMPTY_TIMEOUT
        while True:
            left = sorted(set(self._names("namespaces")) - self._baseline) + self._names("pods", "default")
            if not left:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"still there after {EMPTY_TIMEOUT:.0f}s: {left}")
            time.sleep(0.5)
