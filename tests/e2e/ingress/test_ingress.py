"""The built-in Ingress controller end to end: real pods, real nginx in the node namespace, real kubectl and curl.

Routes: two hosts and a path to two Services (Host header and --resolve),
TLS from a Secret with a certificate made here (SNI), ADDRESS in
``kubectl get ingress``, 503 plus a Warning event for a missing Service.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyk8s.testing.selfsigned import self_signed, tls_secret
from tests.e2e.helpers import wait_until
from tests.e2e.ingress.conftest import NS, Cluster


def _path(path: str, service: str, path_type: str = "Prefix") -> dict[str, Any]:
    return {"path": path, "pathType": path_type,
            "backend": {"service": {"name": service, "port": {"number": 80}}}}


def _ingress(name: str, rules: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": NS},
            "spec": {"rules": rules, **spec}}


def _get(c: Cluster, host: str, path: str = "/") -> tuple[str, str]:
    """(status code, body) of GET http://host/path sent to the node's address."""
    out = c.ingress.curl("-w", "\n%{http_code}", "-H", f"Host: {host}", f"http://{c.node_ip}{path}")
    body, _, code = out.stdout.rpartition("\n")
    return code.strip(), body.strip()


def _until(c: Cluster, host: str, path: str, want: tuple[str, str]) -> None:
    """Polled: for a moment after a reload an old nginx worker (with the previous routes) takes connections too."""
    wait_until(lambda: _get(c, host, path) == want, timeout=30, what=f"{host}{path} -> {want}")


def test_two_hosts_and_a_path_reach_two_services(cluster: Cluster) -> None:
    # No ingressClassName: the DefaultIngressClass admission gives it pyk8s, the default class.
    cluster.apply(_ingress("site", [
        {"host": "alpha.example.test", "http": {"paths": [_path("/", "alpha")]}},
        {"host": "beta.example.test", "http": {"paths": [_path("/api", "beta"), _path("/", "alpha")]}},
    ]))
    _until(cluster, "alpha.example.test", "/", ("200", "alpha"))
    _until(cluster, "beta.example.test", "/api/info.txt", ("200", "beta-api"))
    _until(cluster, "beta.example.test", "/", ("200", "alpha"))
    assert _get(cluster, "nobody.example.test", "/")[0] == "404"

    # The same through --resolve, as a browser would send it.
    def resolved() -> str:
        return cluster.ingress.curl("--resolve", f"beta.example.test:80:{cluster.node_ip}",
                                    "http://beta.example.test/api/info.txt").stdout.strip()

    wait_until(lambda: resolved() == "beta-api", timeout=10, what="--resolve")


def test_ingress_class_and_address_in_kubectl(cluster: Cluster) -> None:
    classes = cluster.kubectl("get", "ingressclass", "pyk8s", "-o", "json").stdout
    cls = json.loads(classes)
    assert cls["spec"]["controller"] == "pyk8s.io/ingress-controller"
    assert cls["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
    cluster.apply(_ingress("classed", [{"host": "classed.example.test", "http": {"paths": [_path("/", "beta")]}}],
                           ingressClassName="pyk8s"))
    _until(cluster, "classed.example.test", "/", ("200", "beta"))

    def address() -> str:
        out = cluster.kubectl("-n", NS, "get", "ingress", "classed").stdout
        return out.splitlines()[1].split()[3] if len(out.splitlines()) > 1 else ""

    wait_until(lambda: address() == cluster.node_ip, timeout=30, what="ADDRESS in kubectl get ingress")
    header = cluster.kubectl("-n", NS, "get", "ingress", "classed").stdout.splitlines()[0].split()
    assert header == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    row = cluster.kubectl("-n", NS, "get", "ingress", "classed").stdout.splitlines()[1].split()
    assert row[:5] == ["classed", "pyk8s", "classed.example.test", cluster.node_ip, "80"]


def test_tls_with_a_secret_by_sni(cluster: Cluster, tmp_path: Path) -> None:
    cert, key = self_signed("secure.example.test")
    (tmp_path / "ca.pem").write_bytes(cert)
    cluster.apply(tls_secret("secure-tls", NS, cert, key),
                  _ingress("secure", [{"host": "secure.example.test", "http": {"paths": [_path("/", "alpha")]}}],
                           tls=[{"hosts": ["secure.example.test"], "secretName": "secure-tls"}]))
    url = "https://secure.example.test/index.html"
    resolve = f"secure.example.test:443:{cluster.node_ip}"

    def fetch() -> str:
        return cluster.ingress.curl("--cacert", str(tmp_path / "ca.pem"), "--resolve", resolve, url).stdout.strip()

    wait_until(lambda: fetch() == "alpha", timeout=30, what="HTTPS through the ingress")
    # The certificate served is the Secret's (verified against it above); plain HTTP is redirected (308).
    # (Polled: for a moment after a reload an old nginx worker may still take a new connection.)
    def redirect() -> str:
        out = cluster.ingress.curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--resolve",
                                   f"secure.example.test:80:{cluster.node_ip}", "http://secure.example.test/x")
        return out.stdout.strip()

    wait_until(lambda: redirect() == "308 https://secure.example.test/x", timeout=10, what="the 308 redirect")
    # An unknown name gets no certificate at all.
    bad = cluster.ingress.curl("-k", "--resolve", f"other.example.test:443:{cluster.node_ip}",
                               "https://other.example.test/")
    assert bad.returncode != 0


def test_missing_service_is_503_with_a_warning_event(cluster: Cluster) -> None:
    cluster.apply(_ingress("broken", [{"host": "broken.example.test",
                                       "http": {"paths": [_path("/gone", "nosuch"), _path("/", "alpha")]}}]))
    _until(cluster, "broken.example.test", "/", ("200", "alpha"))
    wait_until(lambda: _get(cluster, "broken.example.test", "/gone/x")[0] == "503", timeout=10, what="503")

    def described() -> str:
        return str(cluster.kubectl("-n", NS, "describe", "ingress", "broken").stdout)

    wait_until(lambda: "ServiceNotFound" in described(), timeout=30, what="the warning event")
    text = described()
    assert 'service "ing-e2e/nosuch" not found; answering 503' in text
    # Once the Service exists (here selecting beta's pod) the path routes to it: beta's httpd has no /gone/x.
    before = cluster.ingress.nginx_conf()
    cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nosuch", "namespace": NS},
                   "spec": {"selector": {"app": "beta"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    wait_until(lambda: _get(cluster, "broken.example.test", "/gone/x")[0] == "404", timeout=30,
               what="the path routed to the new Service")
    assert cluster.ingress.nginx_conf() != before
