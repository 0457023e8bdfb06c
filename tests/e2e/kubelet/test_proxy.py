"""pods/proxy, services/proxy and nodes/proxy against a real kubelet and a real nginx pod, with kubectl and
the official Python client.

The API server runs on the machine and the pod inside the node's namespace.  A real API server reaches
pod IPs through its host's routes; here the test gives the machine one route, for this pod's address
only, through the node's veth (``<podIP>/32 via <node IP> dev <veth>``), so the packets go into the
namespace and nowhere else, and removes it before the module ends.  Every proxied request is made while
the route is in place.  The pod's reply comes back the same way (the node answers on-link).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.helpers import new_api_client, wait_until
from tests.e2e.kubelet.conftest import NODE, Cluster

NS = "proxy-e2e"


def _pod_ip(c: Cluster, name: str) -> str:
    pod = json.loads(c.kubectl("get", "pod", name, "-n", NS, "-o", "json").stdout)
    ready = any(x.get("type") == "Ready" and x.get("status") == "True"
                for x in (pod.get("status") or {}).get("conditions") or [])
    return str(pod["status"].get("podIP", "")) if ready else ""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def nginx(cluster: Cluster) -> Iterator[str]:
    """The ``nginx`` pod's IP, routed from the machine into the node's namespace for this module."""
    cluster.kubectl("create", "namespace", NS)
    routed = ""
    try:
        cluster.kubectl("run", "nginx", "-n", NS, "--image=nginx", "--port=80")
        ip = wait_until(lambda: _pod_ip(cluster, "nginx"), timeout=120, what="nginx Ready with an IP")
        assert ip.startswith("10."), ip  # a pod-network address: only ever reached through the route below
        forwarding = cluster.kubelet.node("sysctl", "-n", "net.ipv4.ip_forward").stdout.strip()
        if forwarding != "1":  # the CNI bridge normally turns it on; this is the node's namespace, not the machine
            cluster.kubelet.node("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        _ip("route", "add", f"{ip}/32", "via", cluster.netns.node_ip, "dev", cluster.netns.veth_host)
        routed = ip
        yield ip
    finally:
        if routed:
            subprocess.run(["ip", "route", "del", f"{routed}/32", "dev", cluster.netns.veth_host],
                           capture_output=True, check=False)
        cluster.kubectl("delete", "namespace", NS, "--wait=false", check=False)


def test_kubectl_get_raw_through_the_pod_proxy_prints_the_nginx_page(cluster: Cluster, nginx: str) -> None:
    page = cluster.kubectl("get", "--raw", f"/api/v1/namespaces/{NS}/pods/nginx:80/proxy/")
    assert "Welcome to nginx!" in page.stdout, page.stderr
    page = cluster.kubectl("get", "--raw", f"/api/v1/namespaces/{NS}/pods/nginx/proxy/index.html?x=1")
    assert "Welcome to nginx!" in page.stdout, page.stderr  # no port: the first container port (80)
    missing = cluster.kubectl("get", "--raw", f"/api/v1/namespaces/{NS}/pods/nginx:80/proxy/nope", check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr, missing.stderr  # nginx's own 404


def test_a_closed_pod_port_is_upstreams_503(cluster: Cluster, nginx: str) -> None:
    out = cluster.kubectl("get", "--raw", f"/api/v1/namespaces/{NS}/pods/nginx:81/proxy/", check=False)
    assert out.returncode != 0
    assert (f"Error from server (ServiceUnavailable): error trying to reach service: dial tcp {nginx}:81: "
            "connect: connection refused") in out.stderr, out.stderr


def test_services_proxy_reaches_a_ready_endpoint(cluster: Cluster, nginx: str) -> None:
    cluster.kubectl("expose", "pod", "nginx", "-n", NS, "--name=web", "--port=8080", "--target-port=80")
    cluster.kubectl("create", "service", "clusterip", "idle", "-n", NS, "--tcp=80:80")

    def page() -> str:
        out = cluster.kubectl("get", "--raw", f"/api/v1/namespaces/{NS}/services/web:8080/proxy/", check=False)
        return out.stdout if "Welcome to nginx!" in out.stdout else ""

    wait_until(page, timeout=60, what="the Service's endpoint serving through services/proxy")
    idle = cluster.kubectl("get", "--raw", f"/api/v1/namespaces/{NS}/services/idle:80/proxy/", check=False)
    assert 'no endpoints available for service "idle"' in idle.stderr, idle.stderr


def test_node_proxy_reaches_the_kubelet(cluster: Cluster) -> None:
    out = cluster.kubectl("get", "--raw", f"/api/v1/nodes/{NODE}/proxy/healthz")
    assert out.stdout.strip() == "ok", out.stderr
    pods = json.loads(cluster.kubectl("get", "--raw", f"/api/v1/nodes/{NODE}/proxy/pods").stdout)
    assert pods["kind"] == "PodList"


def test_official_python_client_connects_through_the_pod_proxy(cluster: Cluster, nginx: str) -> None:
    from kubernetes import client

    api = client.CoreV1Api(new_api_client(cluster.server))
    page = api.connect_get_namespaced_pod_proxy_with_path("nginx:80", NS, "index.html")
    assert "Welcome to nginx!" in page
    assert api.connect_get_node_proxy_with_path(NODE, "healthz") == "ok"
