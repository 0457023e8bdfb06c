"""Stale UDP flows: a client that keeps sending from one source port follows its Service to a new endpoint.

Without the proxy's conntrack cleanup the client's flow stays NATed to the
deleted pod's address (each datagram refreshes the entry, so it never times
out) and the new endpoint hears nothing: the "DNS breaks after CoreDNS
restarts" bug upstream's kube-proxy fixes the same way.

Busybox's nc has no UDP, so both ends are small Python programs run with this
machine's interpreter mounted read-only into busybox pods (as in
``test_in_cluster_client``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pyk8s.testing.proxy import ProxyProcess
from tests.e2e.helpers import wait_until
from tests.e2e.services.conftest import Cluster
from tests.e2e.services.test_in_cluster_client import VENV, _host_mounts

NS = "svc-udp"
LISTEN = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
while True:
    data, peer = s.recvfrom(64)
    print("heard", data.decode(), peer[1], flush=True)
"""
SEND = """
import os, socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40000))  # one source port: one conntrack flow for the whole test
while True:
    s.sendto(b"ping", (os.environ["UDP_SERVICE_HOST"], 53))
    time.sleep(0.3)
"""


def _pod(name: str, program: str, labels: dict[str, str] | None = None) -> dict[str, object]:
    volumes, mounts = _host_mounts()
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
            "spec": {"terminationGracePeriodSeconds": 0, "volumes": volumes,
                     "containers": [{"name": "c", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent",
                                     "command": [str(VENV / "bin" / "python3"), "-c", program],
                                     "volumeMounts": mounts}]}}


@pytest.fixture(scope="module")
def udp(cluster: Cluster) -> Iterator[Cluster]:
    cluster.kubectl("create", "namespace", NS)
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "udp", "namespace": NS},
               "spec": {"selector": {"app": "udp"},
                        "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353}]}}
    try:
        cluster.kubectl("apply", "-f", "-", input=json.dumps(service))
        yield cluster
    finally:
        cluster.kubectl("delete", "namespace", NS, "--wait=false", check=False)


def _heard(c: Cluster, pod: str) -> bool:
    return "heard ping 40000" in c.kubectl("-n", NS, "logs", pod, check=False).stdout


def _start(c: Cluster, *pods: dict[str, object]) -> None:
    c.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(pods)}))
    names = [f"pod/{p['metadata']['name']}" for p in pods]  # type: ignore[index]
    c.kubectl("-n", NS, "wait", "--for=condition=Ready", *names, "--timeout=60s", timeout=70)


def test_udp_client_follows_the_service_to_a_new_endpoint(udp: Cluster, proxy: ProxyProcess) -> None:
    first, second = f"udp-a-{proxy.mode}", f"udp-b-{proxy.mode}"
    client = f"udp-client-{proxy.mode}"
    _start(udp, _pod(first, LISTEN, {"app": "udp"}))
    _start(udp, _pod(client, SEND))
    try:
        wait_until(lambda: _heard(udp, first), timeout=20, interval=0.5, what=f"{first} hearing the client")
        udp.kubectl("-n", NS, "delete", "pod", first, "--wait=true", timeout=60)
        _start(udp, _pod(second, LISTEN, {"app": "udp"}))
        wait_until(lambda: _heard(udp, second), timeout=20, interval=0.5, what=f"{second} hearing the client")
    finally:
        udp.kubectl("-n", NS, "delete", "pod", client, second, "--wait=true", check=False, timeout=60)
