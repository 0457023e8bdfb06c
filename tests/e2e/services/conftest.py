"""One cluster for the Service tests: server, kubelet and service proxy, every packet inside a node namespace.

A session fixture (starting it costs most of a minute): a ``NodeNetns``
plays the node's host; ``pyk8s server`` (controller manager and scheduler,
no embedded kubelet or proxy) listens on the machine's end of its veth; ``pyk8s
kubelet`` and ``pyk8s proxy`` run inside the namespace, so the pods, their
bridge and every proxy rule live there and vanish with it.

``proxy`` is parametrized over both modes with module scope: pytest runs a
module's tests once per mode, and switching modes stops the proxy and runs
``pyk8s proxy --cleanup`` first, so the two modes are never active at once.
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
from pyk8s.testing.proxy import ProxyProcess

NODE = "node-1"
MODES = ("nftables", "iptables")


@dataclass
class Cluster:
    server: ServerProcess
    kubelet: KubeletProcess
    netns: NodeNetns
    proxy: ProxyProcess | None = None

    def kubectl(self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60):  # type: ignore[no-untyped-def]
        return self.server.kubectl(*args, check=check, input=input, timeout=timeout)

    def use_proxy(self, mode: str) -> ProxyProcess:
        """The proxy in ``mode``, replacing (and cleaning up after) one in the other mode."""
        if self.proxy is not None and self.proxy.mode == mode:
            return self.proxy
        self.stop_proxy()
        self.proxy = ProxyProcess(self.server, self.netns, node_name=NODE, mode=mode).start()
        self.proxy.wait_ready()
        return self.proxy

    def stop_proxy(self) -> None:
        if self.proxy is not None:
            proxy, self.proxy = self.proxy, None
            proxy.close()


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for binary in ("containerd", "runc", "nsenter", "ip", "nft", "iptables-restore", "conntrack", "curl"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    return None


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    missing = _missing()
    if missing and os.environ.get("PYK8S_NO_CONTAINERD") == "1":
        pytest.skip(f"services e2e: {missing} (PYK8S_NO_CONTAINERD=1)")
    assert missing is None, f"services e2e tests need root, containerd, nftables, iptables and conntrack: {missing}"
    build.build(build.DEFAULT_OUT)
    netns = NodeNetns().create()
    server: ServerProcess | None = None
    kubelet: KubeletProcess | None = None
    c: Cluster | None = None
    try:
        server = ServerProcess(control_plane=True, bind_address=netns.host_ip).start()
        kubelet = KubeletProcess(server, netns, node_name=NODE).start()
        kubelet.wait_ready()
        c = Cluster(server, kubelet, netns)
        yield c
    finally:
        try:
            if c is not None:
                c.stop_proxy()
        finally:
            try:
                if kubelet is not None:
                    kubelet.close()
            finally:
                if server is not None:
                    server.close()
                netns.delete()


@pytest.fixture(scope="module", params=MODES)
def proxy(request: pytest.FixtureRequest, cluster: Cluster) -> ProxyProcess:
    return cluster.use_proxy(request.param)
