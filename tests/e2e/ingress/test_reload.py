"""A request in flight through the ingress survives a reload of its nginx (SIGHUP is graceful).

The backend's CGI answers only when the test says so (a file it waits for),
so the request is certainly in flight across the whole reload: the test sees
the request arrive, changes the Ingress, waits until the new route is served
(the reload is done and the old workers are retiring), then releases the
answer and expects it intact.  No speed is assumed; the whole exchange must
only fit in nginx's 60 s proxy_read_timeout.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.helpers import wait_until
from tests.e2e.ingress.conftest import BUSYBOX, NS, Cluster

# /www/cgi-bin/hold: says it started, then waits (up to 90 s) for /tmp/go before answering.
SERVE = ("mkdir -p /www/cgi-bin && echo ok > /www/index.html && printf '#!/bin/sh\\ntouch /tmp/started\\n"
         "i=0; while [ ! -f /tmp/go ] && [ $i -lt 450 ]; do sleep 0.2; i=$((i+1)); done\\n"
         "echo Content-Type: text/plain\\necho\\necho held-and-answered\\n' > /www/cgi-bin/hold && "
         "chmod +x /www/cgi-bin/hold && exec httpd -f -p 8080 -h /www")


def _ingress(*hosts: str) -> dict[str, Any]:
    rules = [{"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "hold", "port": {"number": 80}}}}]}} for h in hosts]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "hold", "namespace": NS},
            "spec": {"rules": rules}}


@pytest.fixture
def hold(cluster: Cluster) -> Iterator[Cluster]:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hold", "namespace": NS, "labels": {"app": "hold"}},
           "spec": {"terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "httpd", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent",
                                    "command": ["sh", "-c", SERVE],
                                    "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hold", "namespace": NS},
           "spec": {"selector": {"app": "hold"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}
    cluster.apply(pod, svc, _ingress("hold.example.test"))
    try:
        cluster.kubectl("-n", NS, "wait", "--for=condition=Ready", "pod/hold", "--timeout=120s", timeout=130)
        yield cluster
    finally:
        cluster.kubectl("-n", NS, "delete", "ingress/hold", "service/hold", "pod/hold", "--wait=false", check=False)


def _code(c: Cluster, host: str) -> str:
    return c.ingress.curl("-o", "/dev/null", "-w", "%{http_code}", "-H", f"Host: {host}",
                          f"http://{c.node_ip}/").stdout.strip()


def test_a_request_in_flight_survives_a_reload(hold: Cluster) -> None:
    c = hold
    wait_until(lambda: _code(c, "hold.example.test") == "200", timeout=30, what="the hold route")
    c.kubectl("-n", NS, "exec", "hold", "--", "rm", "-f", "/tmp/started", "/tmp/go")
    request = subprocess.Popen(["curl", "-sS", "--noproxy", "*", "--max-time", "120", "-w", "\n%{http_code}",
                                "-H", "Host: hold.example.test", f"http://{c.node_ip}/cgi-bin/hold"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: c.kubectl("-n", NS, "exec", "hold", "--", "test", "-f", "/tmp/started",
                                     check=False).returncode == 0, timeout=30, interval=0.5, what="request in flight")
        c.apply(_ingress("hold.example.test", "second.example.test"))  # a new server block: nginx reloads
        wait_until(lambda: _code(c, "second.example.test") == "200", timeout=30, what="the reloaded config")
        assert request.poll() is None  # still waiting on the backend, held by a retiring worker
        c.kubectl("-n", NS, "exec", "hold", "--", "touch", "/tmp/go")
        out, err = request.communicate(timeout=60)
    finally:
        if request.poll() is None:
            request.kill()
            request.wait()
    body, _, code = out.rpartition("\n")
    assert (code, body.strip()) == ("200", "held-and-answered"), err
