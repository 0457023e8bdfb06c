"""Services and EndpointSlices as the API serves them, for the proxy's unit tests."""

from __future__ import annotations

from typing import Any

NODE = "node-a"


def service(name: str, ip: str, *, ns: str = "default", ports: list[dict[str, Any]] | None = None,
            **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "type": spec.pop("type", "ClusterIP"),
                     "ports": ports or [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
                     **spec}}


def endpoint(ip: str, *, node: str = NODE, ready: bool = True, serving: bool | None = None,
             terminating: bool = False) -> dict[str, Any]:
    cond: dict[str, Any] = {"ready": ready, "terminating": terminating}
    if serving is not None:
        cond["serving"] = serving
    return {"addresses": [ip], "conditions": cond, "nodeName": node}


def slice_(service_name: str, *endpoints: dict[str, Any], ns: str = "default", name: str = "",
           ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name or f"{service_name}-abc", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": "IPv4", "endpoints": list(endpoints),
            "ports": ports or [{"name": "http", "port": 8080, "protocol": "TCP"}]}
