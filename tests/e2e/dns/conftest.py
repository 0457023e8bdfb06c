"""One cluster for the pod-level DNS tests: server, kubelet, service proxy and ``pyk8s dns``, all on one node link.

A session fixture (starting it costs most of a minute): a ``NodeNetns``
plays the node's host; ``pyk8s server`` (controller manager and scheduler)
listens on the machine's end of its veth, and so does ``pyk8s dns
--no-forward`` (port 53: no query may leave the machine, and none is
forwarded); ``pyk8s kubelet`` and ``pyk8s proxy`` (nftables) run inside the
namespace.  Pods get ``nameserver 10.96.0.10`` from the kubelet; the proxy
turns it into the endpoint the DNS server registered in ``kube-dns``, and
the node namespace masquerades pod traffic to the machine's end so replies
come back.  Teardown stops everything by PID and deletes the namespace.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pyk8s.kubelet.images import build
from pyk8s.testing.cluster import ServerProcess
from pyk8s.testing.dnsprocess import DNSProcess
from pyk8s.testing.kubelet import KubeletProcess
from pyk8s.testing.nodenet import NodeNetns
from pyk8s.testing.proxy import ProxyProcess

NODE = "node-1"


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


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    missing = _missing()
    if missing and os.environ.get("PYK8S_NO_CONTAINERD") == "1":
        pytest.skip(f"dns e2e: {missing} (PYK8S_NO_CONTAINERD=1)")
    assert missing is None, f"dns e2e tests need root, containerd, nftables and conntrack: {missing}"
    build.build(build.DEFAULT_OUT)
    netns = NodeNetns().create()
    started: list[ServerProcess | KubeletProcess | ProxyProcess | DNSProcess] = []
    try:
        server = ServerProcess(control_plane=True, bind_address=netns.host_ip).start()
        started.append(server)
        dns = DNSProcess(server, netns.host_ip).start()
        started.append(dns)
        kubelet = KubeletProcess(server, netns, node_name=NODE).start()
        started.append(kubelet)
        proxy = ProxyProcess(server, netns, node_name=NODE, mode="nftables").start()
        started.append(proxy)
        dns.wait_ready()
        kubelet.wait_ready()
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
            netns.delete()
