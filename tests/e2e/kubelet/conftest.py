"""A one-node cluster with a real kubelet: the control plane, and the kubelet in a node namespace.

One cluster serves every test in this folder (starting it costs most of a
minute), so tests use pod names of their own.  It is the cluster the
services, dns and ingress folders borrow too, one folder at a time
(``tests.e2e.shared_node``): a network namespace that plays the node's host
(``pyk8s.testing.nodenet``: a veth to the machine, no default route),
``pyk8s server`` (with its controller manager and scheduler) bound to the
machine's end of that link, and ``pyk8s kubelet`` inside the namespace, so
the kubelet's containerd, the pods and their bridge never touch the
machine's own network.  At the end of the folder what its tests left is
removed (namespaces, workloads in ``default``, static pods); when no later
folder needs the cluster, the kubelet is stopped, the node reset (every
sandbox removed, containerd stopped by PID, mounts and bridge gone), the
server stopped and the namespace deleted.

These tests need root and containerd: CI has both.  Where they are missing
the tests fail rather than skip, unless PYK8S_NO_CONTAINERD=1 says that is
expected on this machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pyk8s.testing.cluster import ServerProcess
from pyk8s.testing.kubelet import KubeletProcess
from pyk8s.testing.nodenet import NodeNetns
from tests.e2e.shared_node import NODE, SharedNode

__all__ = ["NODE", "Cluster"]


@dataclass
class Cluster:
    server: ServerProcess
    kubelet: KubeletProcess
    netns: NodeNetns

    def kubectl(self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60):  # type: ignore[no-untyped-def]
        return self.server.kubectl(*args, check=check, input=input, timeout=timeout)


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for binary in ("containerd", "runc", "nsenter", "ip"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    return None


@pytest.fixture(scope="package")
def cluster(shared_node: SharedNode) -> Iterator[Cluster]:
    missing = _missing()
    if missing and os.environ.get("PYK8S_NO_CONTAINERD") == "1":
        pytest.skip(f"kubelet e2e: {missing} (PYK8S_NO_CONTAINERD=1)")
    assert missing is None, f"kubelet e2e tests need root and containerd: {missing}"
    server, kubelet, netns = shared_node.acquire()
    try:
        yield Cluster(server, kubelet, netns)
    finally:
        shared_node.release()
