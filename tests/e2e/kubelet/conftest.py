"""A one-node cluster with a real kubelet: the control plane, and the kubelet in a node namespace.

One cluster serves every test in this folder (a session fixture: starting
it costs most of a minute), so tests use pod names of their own.  It creates a network namespace that plays the node's host
(``pyk8s.testing.nodenet``: a veth to the machine, no default route), runs
``pyk8s server`` (with its controller manager and scheduler) bound to the
machine's end of that link, and ``pyk8s kubelet`` inside the namespace, so
the kubelet's containerd, the pods and their bridge never touch the
machine's own network.  Teardown stops the kubelet, resets the node (every
sandbox removed, containerd stopped by PID, mounts and bridge gone), stops
the server and deletes the namespace.

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

from pyk8s.kubelet.images import build
from pyk8s.testing.cluster import ServerProcess
from pyk8s.testing.kubelet import KubeletProcess
from pyk8s.testing.nodenet import NodeNetns

NODE = "node-1"


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


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    missing = _missing()
    if missing and os.environ.get("PYK8S_NO_CONTAINERD") == "1":
        pytest.skip(f"kubelet e2e: {missing} (PYK8S_NO_CONTAINERD=1)")
    assert missing is None, f"kubelet e2e tests need root and containerd: {missing}"
    # Built (or found current) here, with the machine's network: the node's namespace has none.
    build.build(build.DEFAULT_OUT)
    netns = NodeNetns().create()
    server: ServerProcess | None = None
    kubelet: KubeletProcess | None = None
    try:
        server = ServerProcess(control_plane=True, bind_address=netns.host_ip).start()
        kubelet = KubeletProcess(server, netns, node_name=NODE).start()
        kubelet.wait_ready()
        yield Cluster(server, kubelet, netns)
    finally:
        try:
            if kubelet is not None:
                kubelet.close()
        finally:
            if server is not None:
                server.close()
            netns.delete()
