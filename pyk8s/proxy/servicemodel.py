"""Services and EndpointSlices (API objects) read into ``ServicePort`` values.

Pure functions, so the rules a backend writes can be tested from plain dicts.
Only IPv4 is programmed (the ``ip`` table / ``iptables``); IPv6 addresses in
a Service are ignored here, as a single-stack IPv4 kube-proxy does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from pyk8s.proxy.interface import DEFAULT_AFFINITY_TIMEOUT, Endpoint, ServicePort, ServicePortName

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
EXTERNAL_TYPES = ("NodePort", "LoadBalancer")


def is_ipv4(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False


def slice_service(slice_: Obj) -> tuple[str, str] | None:
    """(namespace, service name) an EndpointSlice belongs to, from its label."""
    meta = slice_.get("metadata") or {}
    name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return (meta.get("namespace", ""), name) if name else None


def _proxied(service: Obj) -> bool:
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return False
    return is_ipv4(spec.get("clusterIP") or "")


def _load_balancer_ips(service: Obj) -> tuple[str, ...]:
    if (service.get("spec") or {}).get("type") != "LoadBalancer":
        return ()
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    # ipMode Proxy: the load balancer itself proxies; the node must not short-circuit its address.
    return tuple(i["ip"] for i in ingress if is_ipv4(i.get("ip") or "") and i.get("ipMode") != "Proxy")


def _source_ranges(spec: Obj) -> tuple[str, ...]:
    """spec.loadBalancerSourceRanges as IPv4 networks (upstream trims spaces and parses sloppily; IPv6 skipped)."""
    if spec.get("type") != "LoadBalancer":
        return ()
    ranges = []
    for text in spec.get("loadBalancerSourceRanges") or []:
        try:
            net = ipaddress.ip_network(str(text).strip(), strict=False)
        except ValueError:
            continue  # validation refuses these on write; never let one break the sync
        if isinstance(net, ipaddress.IPv4Network):
            ranges.append(str(net))
    return tuple(dict.fromkeys(ranges))


def _affinity_timeout(spec: Obj) -> int:
    if spec.get("sessionAffinity") != "ClientIP":
        return 0
    config = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
    return int(config.get("timeoutSeconds") or DEFAULT_AFFINITY_TIMEOUT)


def _endpoints(slices: Iterable[Obj], port_name: str, protocol: str, node_name: str) -> tuple[Endpoint, ...]:
    found: dict[tuple[str, int], Endpoint] = {}
    for slice_ in slices:
        if slice_.get("addressType", "IPv4") != "IPv4":
            continue
        ports = [p for p in slice_.get("ports") or []
                 if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == protocol and p.get("port")]
        for port in ports:
            for ep in slice_.get("endpoints") or []:
                addresses = ep.get("addresses") or []
                if not addresses or not is_ipv4(addresses[0]):
                    continue
                cond = ep.get("conditions") or {}
                ready = cond.get("ready") is not False
                serving = cond.get("serving") if cond.get("serving") is not None else ready
                node = ep.get("nodeName") or ""
                found.setdefault((addresses[0], int(port["port"])), Endpoint(
                    ip=addresses[0], port=int(port["port"]), ready=ready, serving=bool(serving),
                    terminating=bool(cond.get("terminating")), node=node, local=bool(node) and node == node_name))
    return tuple(sorted(found.values(), key=lambda e: (e.ip, e.port)))


def service_ports(service: Obj, slices: Iterable[Obj], node_name: str) -> list[ServicePort]:
    """One ``ServicePort`` per port of ``service`` (none for headless and ExternalName Services)."""
    if not _proxied(service):
        return []
    meta, spec = service.get("metadata") or {}, service.get("spec") or {}
    slices = list(slices)
    svc_type = spec.get("type") or "ClusterIP"
    external_ips = tuple(ip for ip in spec.get("externalIPs") or [] if is_ipv4(ip))
    accessible = svc_type in EXTERNAL_TYPES or bool(external_ips)
    external_local = accessible and spec.get("externalTrafficPolicy") == "Local"
    result = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        name = ServicePortName(meta.get("namespace", ""), meta.get("name", ""), port.get("name") or "", protocol)
        result.append(ServicePort(
            name=name, cluster_ip=spec["clusterIP"], port=int(port["port"]),
            node_port=int(port.get("nodePort") or 0) if svc_type in EXTERNAL_TYPES else 0,
            external_ips=external_ips, load_balancer_ips=_load_balancer_ips(service),
            affinity_timeout=_affinity_timeout(spec), external_local=external_local,
            internal_local=spec.get("internalTrafficPolicy") == "Local",
            health_check_node_port=int(spec.get("healthCheckNodePort") or 0) if external_local else 0,
            source_ranges=_source_ranges(spec),
            endpoints=_endpoints(slices, name.port, protocol, node_name)))
    return result
