"""Cluster objects for DNS tests and the DNS benchmark: Services, EndpointSlices, Namespaces in stores.

``zone(objects)`` files each object in the store an informer would keep it
in and returns a ``ClusterView`` over them, so resolver tests need neither an
API server nor sockets.  ``bench_zone(n)`` is the benchmark's cluster: ``n``
ClusterIP Services with a named port plus a headless Service with endpoints.
"""

from __future__ import annotations

from typing import Any

from pyk8s.client.tools.store import Store
from pyk8s.dns.cluster import ClusterView

Obj = dict[str, Any]


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def service(name: str, namespace: str = "default", *, cluster_ip: str = "10.96.0.100",
            ports: list[Obj] | None = None, type: str = "ClusterIP", external_name: str = "",
            cluster_ips: list[str] | None = None) -> Obj:
    spec: Obj = {"type": type, "ports": ports if ports is not None else [{"name": "http", "port": 80,
                                                                          "protocol": "TCP", "targetPort": 8080}]}
    if type == "ExternalName":
        spec = {"type": type, "externalName": external_name}
    else:
        spec["clusterIP"] = cluster_ip
        spec["clusterIPs"] = cluster_ips or [cluster_ip]
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def endpoint(ip: str, *, hostname: str = "", ready: bool | None = True) -> Obj:
    ep: Obj = {"addresses": [ip], "conditions": {} if ready is None else {"ready": ready}}
    if hostname:
        ep["hostname"] = hostname
    return ep


def endpoint_slice(service: str, endpoints: list[Obj], namespace: str = "default", *, name: str = "",
                   ports: list[Obj] | None = None, address_type: str = "IPv4") -> Obj:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": address_type,
            "metadata": {"name": name or f"{service}-abcde", "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": service}},
            "endpoints": endpoints,
            "ports": ports if ports is not None else [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def zone(objects: list[Obj]) -> ClusterView:
    services, slices, namespaces = Store(), Store(), Store()
    stores = {"Service": services, "EndpointSlice": slices, "Namespace": namespaces}
    for obj in objects:
        stores[obj["kind"]].add(obj)
    return ClusterView(services, slices, namespaces)


def bench_zone(n: int) -> list[Obj]:
    """``n`` ClusterIP Services (svc-0..) in ``default`` plus headless ``nginx`` with 3 named endpoints."""
    objs: list[Obj] = [namespace("default")]
    for i in range(n):
        j = i + 1
        objs.append(service(f"svc-{i}", cluster_ip=f"10.{96 + j // 65536}.{j // 256 % 256}.{j % 256}"))
    objs.append(service("nginx", cluster_ip="None"))
    objs.append(endpoint_slice("nginx", [endpoint(f"10.244.0.{10 + i}", hostname=f"web-{i}") for i in range(3)]))
    return objs
