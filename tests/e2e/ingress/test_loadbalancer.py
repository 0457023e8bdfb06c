"""LoadBalancer Services end to end: EXTERNAL-IP at once (the node's IP), traffic to it, and exhaustion explained.

``curl EXTERNAL-IP:PORT`` from the machine needs the service proxy's rules
for LoadBalancer ingress IPs in the node namespace (the ``proxy`` fixture).
"""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.helpers import wait_until
from tests.e2e.ingress.conftest import NS, Cluster

PORT = 8081  # not 80/443: the ingress's nginx listens there on the node's address


def _lb(name: str, app: str, port: int = PORT) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
            "spec": {"type": "LoadBalancer", "selector": {"app": app},
                     "ports": [{"name": "http", "port": port, "targetPort": 8080}]}}


def _external_ip(c: Cluster, name: str, ns: str = NS) -> str:
    out = c.kubectl("-n", ns, "get", "svc", name, check=False).stdout.splitlines()
    return out[1].split()[3] if len(out) > 1 else ""


def test_load_balancer_gets_the_node_ip_and_serves(cluster: Cluster, proxy: Any) -> None:
    cluster.apply(_lb("lb-alpha", "alpha"))
    wait_until(lambda: _external_ip(cluster, "lb-alpha") == cluster.node_ip, timeout=20, what="EXTERNAL-IP")
    svc = json.loads(cluster.kubectl("-n", NS, "get", "svc", "lb-alpha", "-o", "json").stdout)
    assert svc["status"]["loadBalancer"]["ingress"] == [{"ip": cluster.node_ip, "ipMode": "VIP"}]
    assert "service.kubernetes.io/load-balancer-cleanup" in svc["metadata"]["finalizers"]

    def fetch() -> str:
        return cluster.ingress.curl(f"http://{cluster.node_ip}:{PORT}/index.html").stdout.strip()

    wait_until(lambda: fetch() == "alpha", timeout=30, what=f"curl {cluster.node_ip}:{PORT} through the proxy")


def test_the_ingress_has_its_own_load_balancer_holding_80_and_443(cluster: Cluster, proxy: Any) -> None:
    wait_until(lambda: _external_ip(cluster, "pyk8s-ingress", "kube-system") == cluster.node_ip, timeout=20,
               what="the ingress's LoadBalancer Service")
    # Through the proxy's rules for that address (the endpoints are nginx on the node), the routes still work.
    out = cluster.ingress.curl("-H", "Host: alpha.example.test", f"http://{cluster.node_ip}/index.html")
    assert out.stdout.strip() == "alpha", out.stderr
    # A user's LoadBalancer on port 80 would capture the ingress's traffic on the shared node address: refused.
    cluster.apply(_lb("lb-on-80", "alpha", port=80))

    def described() -> str:
        return " ".join(cluster.kubectl("-n", NS, "describe", "svc", "lb-on-80").stdout.split())

    wait_until(lambda: "AllocationFailed" in described(), timeout=20, what="the AllocationFailed event")
    assert f"port 80/TCP on {cluster.node_ip} is already in use by kube-system/pyk8s-ingress" in described()
    cluster.kubectl("-n", NS, "delete", "svc", "lb-on-80")


def test_pool_exhaustion_is_explained_and_retried(cluster: Cluster) -> None:
    cluster.apply(_lb("lb-first", "beta", port=8082))
    wait_until(lambda: _external_ip(cluster, "lb-first") == cluster.node_ip, timeout=20, what="EXTERNAL-IP")
    cluster.apply(_lb("lb-second", "beta", port=8082))

    def described() -> str:
        return str(cluster.kubectl("-n", NS, "describe", "svc", "lb-second").stdout)

    wait_until(lambda: "AllocationFailed" in described(), timeout=20, what="the AllocationFailed event")
    text = described()
    assert (f'Failed to allocate IP for "{NS}/lb-second": no available IPs: port 8082/TCP on {cluster.node_ip} '
            f"is already in use by {NS}/lb-first") in " ".join(text.split())
    assert _external_ip(cluster, "lb-second") == "<pending>"
    # Room appears: the first one is deleted, and the second gets the address without being touched.
    cluster.kubectl("-n", NS, "delete", "svc", "lb-first", "--wait=true", timeout=60)
    wait_until(lambda: _external_ip(cluster, "lb-second") == cluster.node_ip, timeout=20, what="retry")
