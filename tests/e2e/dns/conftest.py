"""One cluster for the pod-level DNS tests: server, kubelet, service proxy and ``pyk8s dns``, all on one node link.

The server and kubelet are the cluster the kubelet, services and ingress
folders borrow too (``tests.e2e.shared_node``; starting it costs most of a
minute): a ``NodeNetns`` plays the node's host; ``pyk8s server`` (controller
manager and scheduler) listens on the machine's end of its veth, and so does
this folder's ``pyk8s dns --no-forward`` (port 53: no query may leave the
machine, and none is forwarded); ``pyk8s kubelet`` and this folder's ``pyk8s
proxy`` (nftables) run inside the namespace.  Pods get ``nameserver 10.96.0.10`` from the kubelet; the proxy
turns it into the endpoint the DNS server registered in ``kube-dns``, and
the node namespace masquerades pod traffic to the machine's end so replies
come back.  At the folder's end the proxy (with ``--cleanup``) and the DNS
server are stopped by PID and what the tests left in the cluster is removed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pyk8s.testing.cluster import ServerProcess
from pyk8s.testing.dnsprocess import DNSProcess
from pyk8s.testing.kubelet import KubeletProcess
from pyk8s.testing.nodenet import NodeNetns
from pyk8s.testing.proxy import ProxyProcess
from tests.e2e.shared_node import NODE, SharedNode


@dataclass
class Cluster:
    server: ServerProcess
    kubelet: KubeletProcess
    netns: NodeNetns
    proxy: ProxyProcess
    dns: DNSProcess

    def kubectl(self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60):  # type: ignore[no-untyped-def]
        return self.server.kubectl(*args, check=check, input=input, timeout=timeout)


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for binary in ("containerd", "runc", "nsenter", "ip", "nft", "conntrack"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    return None


@pytest.fixture(scope="package")
def cluster(shared_node: SharedNode) -> Iterator[Cluster]:
    missing = _missing()
    if missing and os.environ.get("PYK8S_NO_CONTAINERD") == "1":
        pytest.skip(f"dns e2e: {missing} (PYK8S_NO_CONTAINERD=1)")
    assert missing is None, f"dns e2e tests need root, containerd, nftables and conntrack: {missing}"
    server, kubelet, netns = shared_node.acquire()
    started: list[ProxyProcess | DNSProcess] = []
    try:
        dns = DNSProcess(server, netns.host_ip).start()
        started.append(dns)
        proxy = ProxyProcess(server, netns, node_name=NODE, mode="nftables").start()
        started.append(proxy)
        dns.wait_ready()
        proxy.wait_ready()
        yield Cluster(server, kubelet, netns, proxy, dns)
    finally:
        try:
            for process in reversed(started):
                try:
                    process.close()
                except Exception:  # noqa: BLE001 - keep tearing down the rest
                    pass
        finally:
            shared_node.release()
