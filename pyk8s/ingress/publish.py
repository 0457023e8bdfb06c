"""The ingress controller's own LoadBalancer Service (ingress-nginx's ``--publish-service``, k3s's traefik Service).

``kube-system/pyk8s-ingress`` is a ``type: LoadBalancer`` Service without
a selector, ports ``http`` 80 and ``https`` 443, whose endpoints are the
addresses nginx listens on: one EndpointSlice per controller instance
(``pyk8s-ingress-<node>``, managed by ``ingress.pyk8s.io``).
The service-lb-controller then gives it an address like any LoadBalancer
Service, which does two things: the ingress is reachable at that address
through the service proxy (also from a configured pool), and ports 80 and
443 on a shared node address count as taken, so a user's LoadBalancer
Service asking for them is told so (AllocationFailed) instead of quietly
capturing the ingress's traffic.  Ingress statuses publish the Service's
load-balancer IPs once it has them.  Both objects are kept by server-side
apply, so a user's edits to other fields survive.
"""

from __future__ import annotations

import ipaddress
from typing import Any

Obj = dict[str, Any]
NAMESPACE, NAME = "kube-system", "pyk8s-ingress"
MANAGED_BY = "ingress.pyk8s.io"  # a label value: no "/" (upstream's is endpointslice-controller.k8s.io)
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
APP_LABEL = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/component": "controller"}


def parse(text: str) -> tuple[str, str] | None:
    """``namespace/name`` (or "" for none)."""
    if not text:
        return None
    ns, sep, name = text.partition("/")
    if not sep or not ns or not name:
        raise ValueError(f"--publish-service wants namespace/name, not {text!r}")
    return ns, name


def service(namespace: str, name: str, http_port: int, https_port: int) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(APP_LABEL)},
            "spec": {"type": "LoadBalancer",
                     "ports": [{"name": "http", "port": 80, "targetPort": http_port, "protocol": "TCP"},
                               {"name": "https", "port": 443, "targetPort": https_port, "protocol": "TCP"}]}}


def slice_name(name: str, instance: str) -> str:
    return f"{name}-{instance}"[:253].rstrip("-.")


def endpoint_slice(namespace: str, name: str, instance: str, addresses: list[str], *, http_port: int,
                   https_port: int, node_name: str = "") -> Obj:
    family = "IPv6" if addresses and ipaddress.ip_address(addresses[0]).version == 6 else "IPv4"
    endpoints = []
    for addr in addresses:
        if ("IPv6" if ipaddress.ip_address(addr).version == 6 else "IPv4") != family:
            continue
        ep: Obj = {"addresses": [addr], "conditions": {"ready": True, "serving": True, "terminating": False}}
        if node_name:
            ep["nodeName"] = node_name
        endpoints.append(ep)
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": slice_name(name, instance), "namespace": namespace,
                         "labels": {SERVICE_NAME_LABEL: name, MANAGED_BY_LABEL: MANAGED_BY, **APP_LABEL}},
            "addressType": family,
            "ports": [{"name": "http", "port": http_port, "protocol": "TCP"},
                      {"name": "https", "port": https_port, "protocol": "TCP"}],
            "endpoints": endpoints}


def load_balancer_ips(svc: Obj | None) -> list[str]:
    if svc is None:
        return []
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [str(i["ip"]) for i in ingress if i.get("ip")]
