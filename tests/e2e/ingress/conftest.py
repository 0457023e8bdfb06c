"""One cluster for the Ingress and LoadBalancer tests, every packet inside a node namespace.

The server and kubelet are the cluster the kubelet, services and dns
folders borrow too (``tests.e2e.shared_node``; starting it costs most of a
minute): a ``NodeNetns`` plays the node's host; ``pyk8s server`` (controller
manager with the service-lb-controller, scheduler; no embedded kubelet or
ingress) listens on the machine's end of its veth; ``pyk8s kubelet`` and this
folder's ``pyk8s ingress`` run inside the namespace, so the pods, their
bridge and nginx live there (nginx reaches the pod IPs directly).  The tests
reach nginx from the machine at the node's address on the veth.  At the
folder's end the ingress (and proxy) are stopped by PID, the ingress's own
LoadBalancer Service is deleted and what the tests left is removed.

The service proxy, needed only for ``curl EXTERNAL-IP:PORT`` of a
LoadBalancer Service, is started on first use by the ``proxy`` fixture.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from pyk8s.testing.cluster import ServerProcess
from pyk8s.testing.ingress import IngressProcess
from pyk8s.testing.kubelet import KubeletProcess
from pyk8s.testing.nodenet import NodeNetns
from tests.e2e.shared_node import NODE, SharedNode

INGRESS_SERVICE = "pyk8s-ingress"  # the controller's own LoadBalancer Service, in kube-system
NS = "ing-e2e"
BUSYBOX = "busybox:1.36"


def _serve(*files: tuple[str, str]) -> str:
    """busybox httpd on 8080 serving ``files`` (path, text)."""
    writes = " && ".join(f"mkdir -p $(dirname /www{p}) && echo {text} > /www{p}" for p, text in files)
    return f"{writes} && exec httpd -f -p 8080 -h /www"


def _backend(name: str, *files: tuple[str, str]) -> list[dict[str, Any]]:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
           "spec": {"terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "httpd", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent",
                                    "command": ["sh", "-c", _serve(*files)],
                                    "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
           "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}
    return [pod, svc]


@dataclass
class Cluster:
    server: ServerProcess
    kubelet: KubeletProcess
    netns: NodeNetns
    ingress: IngressProcess
    extra: list[Any] = field(default_factory=list)

    def kubectl(self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60):  # type: ignore[no-untyped-def]
        return self.server.kubectl(*args, check=check, input=input, timeout=timeout)

    def apply(self, *objects: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))

    @property
    def node_ip(self) -> str:
        return self.netns.node_ip


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for binary in ("containerd", "runc", "nsenter", "ip", "curl", "nginx"):
        if shutil.which(binary, path=os.environ.get("PATH", "") + ":/usr/sbin") is None:
            return f"{binary} is not installed"
    return None


@pytest.fixture(scope="package")
def cluster(shared_node: SharedNode) -> Iterator[Cluster]:
    missing = _missing()
    if missing and os.environ.get("PYK8S_NO_CONTAINERD") == "1":
        pytest.skip(f"ingress e2e: {missing} (PYK8S_NO_CONTAINERD=1)")
    assert missing is None, f"ingress e2e tests need root, containerd and nginx: {missing}"
    server, kubelet, netns = shared_node.acquire()
    ingress: IngressProcess | None = None
    c: Cluster | None = None
    try:
        ingress = IngressProcess(server, netns, node_name=NODE).start()
        ingress.wait_ready()
        c = Cluster(server, kubelet, netns, ingress)
        c.kubectl("create", "namespace", NS)
        c.apply(*_backend("alpha", ("/index.html", "alpha")),
                *_backend("beta", ("/index.html", "beta"), ("/api/info.txt", "beta-api")))
        c.kubectl("-n", NS, "wait", "--for=condition=Ready", "pod/alpha", "pod/beta", "--timeout=120s", timeout=130)
        yield c
    finally:
        try:
            if c is not None:
                for item in reversed(c.extra):
                    item.close()
            if ingress is not None:
                ingress.close()
        finally:
            try:
                # The controller's own LoadBalancer Service holds 80/443 on the node's address: a later
                # folder's LoadBalancer on port 80 would be refused.
                server.kubectl("-n", "kube-system", "delete", "service", INGRESS_SERVICE, "--ignore-not-found",
                               "--timeout=60s", check=False, timeout=90)
            finally:
                shared_node.release()


@pytest.fixture(scope="package")
def proxy(cluster: Cluster) -> Any:
    """The service proxy in the node namespace (pyk8s proxy, nftables mode), for LoadBalancer traffic."""
    from pyk8s.testing.proxy import ProxyProcess

    p = ProxyProcess(cluster.server, cluster.netns, node_name=NODE).start()
    cluster.extra.append(p)
    p.wait_ready()
    return p
