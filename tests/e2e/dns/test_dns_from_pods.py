"""Cluster DNS from real pods: busybox's nslookup and wget (glibc's resolver, the pod's search list) and dig.

Names asked: a Service by short name, ``svc.ns`` from another namespace and
the FQDN; a headless Service and a StatefulSet's per-pod names
(``web-0.nginx``); an ExternalName; SRV for a named port; PTR; NXDOMAIN
against NODATA as dig reports them.  Queries reach ``pyk8s dns`` through the
``kube-dns`` ClusterIP (10.96.0.10) and the service proxy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.dns.conftest import Cluster
from tests.e2e.helpers import wait_until

NS, OTHER = "dns-e2e", "dns-e2e-other"
BUSYBOX = "busybox:1.36"
SERVE = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"


def _pod(name: str, ns: str, command: str, image: str = BUSYBOX, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, **extra},
            "spec": {"terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": image, "imagePullPolicy": "IfNotPresent",
                                     "command": ["sh", "-c", command]}]}}


def _service(name: str, ns: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}], **spec}}


def objects() -> list[dict[str, Any]]:
    web = _pod("web", NS, SERVE, labels={"app": "web"})
    web_other = _pod("web", OTHER, SERVE, labels={"app": "web"})
    client = _pod("client", NS, "exec sleep 3600")
    digger = _pod("dig", NS, "exec sleep 3600", image="registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3")
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "namespace": NS},
           "spec": {"serviceName": "nginx", "replicas": 2, "selector": {"matchLabels": {"app": "sts"}},
                    "template": {"metadata": {"labels": {"app": "sts"}},
                                 "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                                     {"name": "httpd", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent",
                                      "command": ["sh", "-c", SERVE],
                                      "ports": [{"name": "web", "containerPort": 8080}]}]}}}}
    headless = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nginx", "namespace": NS},
                "spec": {"clusterIP": "None", "selector": {"app": "sts"},
                         "ports": [{"name": "web", "port": 80, "targetPort": 8080}]}}
    external = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext", "namespace": NS},
                "spec": {"type": "ExternalName", "externalName": f"web.{OTHER}.svc.cluster.local"}}
    return [web, client, digger, sts, headless, external, _service("web", NS, selector={"app": "web"}),
            web_other, _service("web", OTHER, selector={"app": "web"})]


@pytest.fixture(scope="module")
def ns(cluster: Cluster) -> Iterator[Cluster]:
    for name in (NS, OTHER):
        cluster.kubectl("create", "namespace", name)
    try:
        cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                               "items": objects()}))
        cluster.kubectl("-n", NS, "rollout", "status", "statefulset/web", "--timeout=150s", timeout=160)
        cluster.kubectl("-n", NS, "wait", "--for=condition=Ready", "pod/web", "pod/client", "pod/dig",
                        "--timeout=90s", timeout=100)
        cluster.kubectl("-n", OTHER, "wait", "--for=condition=Ready", "pod/web", "--timeout=90s", timeout=100)
        yield cluster
    finally:
        for name in (NS, OTHER):
            cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def exec_in(c: Cluster, pod: str, script: str, ns: str = NS):  # type: ignore[no-untyped-def]
    return c.kubectl("-n", ns, "exec", pod, "--", "sh", "-c", script, check=False, timeout=60)


def get(c: Cluster, ns: str, *args: str) -> str:
    return str(c.kubectl("-n", ns, "get", *args).stdout).strip()


def nslookup(c: Cluster, name: str) -> str:
    """busybox nslookup in the client pod (retried while the first rules and records settle)."""
    def attempt() -> str:
        out = exec_in(c, "client", f"nslookup {name}")
        return str(out.stdout) if out.returncode == 0 else ""
    return wait_until(attempt, timeout=30, interval=1, what=f"nslookup {name}")


def fetch(c: Cluster, url: str) -> str:
    """busybox wget from the client pod; retried while a new Service's proxy rules land (a second or so)."""
    def attempt() -> str:
        out = exec_in(c, "client", f"wget -qO- -T 5 {url}")
        return str(out.stdout).strip() if out.returncode == 0 else ""
    return wait_until(attempt, timeout=30, interval=1, what=f"wget {url}")


def dig(c: Cluster, *args: str) -> str:
    out = exec_in(c, "dig", "dig +time=3 +tries=2 " + " ".join(args))
    assert out.returncode == 0, out.stderr
    return str(out.stdout)


def test_pod_resolv_conf_points_at_kube_dns(ns: Cluster) -> None:
    conf = exec_in(ns, "client", "cat /etc/resolv.conf").stdout
    assert "nameserver 10.96.0.10" in conf and f"search {NS}.svc.cluster.local svc.cluster.local" in conf
    assert get(ns, "kube-system", "svc", "kube-dns", "-o", "jsonpath={.spec.clusterIP}") == "10.96.0.10"


def test_short_name_resolves_and_serves(ns: Cluster) -> None:
    ip = get(ns, NS, "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
    assert ip in nslookup(ns, "web")
    assert fetch(ns, "http://web") == "web"


def test_other_namespace_and_fqdn(ns: Cluster) -> None:
    ip = get(ns, OTHER, "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
    assert ip in nslookup(ns, f"web.{OTHER}")
    assert ip in nslookup(ns, f"web.{OTHER}.svc.cluster.local")
    assert fetch(ns, f"http://web.{OTHER}") == "web"


def test_headless_and_statefulset_pod_names(ns: Cluster) -> None:
    ips = {name: get(ns, NS, "pod", name, "-o", "jsonpath={.status.podIP}") for name in ("web-0", "web-1")}
    both = nslookup(ns, "nginx")
    assert ips["web-0"] in both and ips["web-1"] in both
    assert ips["web-0"] in nslookup(ns, "web-0.nginx")
    assert ips["web-1"] in nslookup(ns, f"web-1.nginx.{NS}.svc.cluster.local")
    assert fetch(ns, "http://web-0.nginx:8080") == "web-0"


def test_external_name_is_a_cname(ns: Cluster) -> None:
    ip = get(ns, OTHER, "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
    out = dig(ns, f"ext.{NS}.svc.cluster.local")
    assert f"CNAME\tweb.{OTHER}.svc.cluster.local." in out and ip in out
    assert ip in nslookup(ns, "ext")


def test_srv_for_named_ports(ns: Cluster) -> None:
    out = dig(ns, "+short", "SRV", f"_http._tcp.web.{NS}.svc.cluster.local")
    assert out.split() == ["0", "100", "80", f"web.{NS}.svc.cluster.local."]
    per_pod = dig(ns, "+short", "SRV", f"_web._tcp.nginx.{NS}.svc.cluster.local").splitlines()
    assert sorted(line.split()[3] for line in per_pod) == [f"web-0.nginx.{NS}.svc.cluster.local.",
                                                            f"web-1.nginx.{NS}.svc.cluster.local."]
    assert {line.split()[2] for line in per_pod} == {"8080"}


def test_ptr_nxdomain_nodata_and_txt(ns: Cluster) -> None:
    ip = get(ns, NS, "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
    assert dig(ns, "+short", "-x", ip).strip() == f"web.{NS}.svc.cluster.local."
    assert "status: NXDOMAIN" in dig(ns, f"nope.{NS}.svc.cluster.local")
    nodata = dig(ns, "AAAA", f"web.{NS}.svc.cluster.local")
    assert "status: NOERROR" in nodata and "ANSWER: 0" in nodata and "SOA" in nodata
    assert dig(ns, "+short", "TXT", "dns-version.cluster.local").strip() == '"1.1.0"'
    # over TCP too
    assert dig(ns, "+tcp", "+short", f"web.{NS}.svc.cluster.local").strip() == ip


def test_names_outside_the_cluster_are_not_forwarded_in_tests(ns: Cluster) -> None:
    out = dig(ns, "example.com")
    assert "status: REFUSED" in out


def test_metrics_through_the_kube_dns_service(ns: Cluster) -> None:
    text = fetch(ns, "http://kube-dns.kube-system:9153/metrics")
    assert "coredns_dns_requests_total{" in text and 'rcode="NXDOMAIN"' in text
