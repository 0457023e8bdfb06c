"""One cluster for the Service tests: server, kubelet and service proxy, every packet inside a node namespace.

The cluster is the one the kubelet, dns and ingress folders borrow too
(``tests.e2e.shared_node``; starting it costs most of a minute): a
``NodeNetns`` plays the node's host; ``pyk8s server`` (controller manager and
scheduler, no embedded kubelet or proxy) listens on the machine's end of its
veth; ``pyk8s kubelet`` runs inside the namespace, and so does this folder's
``pyk8s proxy``, so the pods, their bridge and every proxy rule live there.
At the folder's end the proxy is stopped and cleans up its rules, and what
the tests left in the cluster is removed.

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

from pyk8s.testing.cluster import ServerProcess
from pyk8s.testing.kubelet import KubeletProcess
from pyk8s.testing.nodenet import NodeNetns
from pyk8s.testing.proxy import ProxyProcess
from tests.e2e.shared_node import NODE, SharedNode

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


@pytest.fixture(scope="package")
def cluster(shared_node: SharedNode) -> Iterator[Cluster]:
    missing = _missing()
    if missing and os.environ.get("PYK8S_NO_CONTAINERD") == "1":
        pytest.skip(f"services e2e: {missing} (PYK8S_NO_CONTAINERD=1)")
    assert missing is None, f"services e2e tests need root, containerd, nftables, iptables and conntrack: {missing}"
    server, kubelet, netns = shared_node.acquire()
    c = Cluster(server, kubelet, netns)
    try:
        yield c
    finally:
        try:
            c.stop_proxy()
        finally:
            shared_node.release()


@pytest.fixture(scope="module", params=MODES)
def proxy(request: pytest.FixtureRequest, cluster: Cluster) -> ProxyProcess:
    return cluster.use_proxy(request.param)
