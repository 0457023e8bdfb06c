"""Service environment variables, as upstream's ``pkg/kubelet/envvars`` writes them.

For every Service with a cluster IP (not headless, not ExternalName) the
kubelet injects ``<NAME>_SERVICE_HOST``, ``<NAME>_SERVICE_PORT`` (first port),
``<NAME>_SERVICE_PORT_<PORTNAME>`` for named ports, and the Docker-link set
``<NAME>_PORT=tcp://ip:port`` plus ``<NAME>_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}``.
Which Services count is decided by ``services_for_pod``: with
``enableServiceLinks`` every Service of the pod's namespace, and always the
master ``kubernetes`` Service of ``default`` (a same-named Service in the
pod's own namespace wins over it, as upstream's map does).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Obj = dict[str, Any]
MASTER_NAMESPACE = "default"
MASTER_SERVICES = frozenset({"kubernetes"})


def env_name(service_name: str) -> str:
    return service_name.upper().replace("-", "_")


def _has_cluster_ip(service: Obj) -> bool:
    ip = (service.get("spec") or {}).get("clusterIP", "")
    return bool(ip) and ip != "None"


def services_for_pod(services: Iterable[Obj], namespace: str, enable_service_links: bool) -> list[Obj]:
    chosen: dict[str, Obj] = {}
    for svc in services:
        meta = svc.get("metadata") or {}
        name, ns = meta.get("name", ""), meta.get("namespace", "")
        if not _has_cluster_ip(svc):
            continue
        if ns == MASTER_NAMESPACE and name in MASTER_SERVICES:
            chosen.setdefault(name, svc)
        elif ns == namespace and enable_service_links:
            chosen[name] = svc
    return [chosen[k] for k in sorted(chosen)]


def from_services(services: Iterable[Obj]) -> dict[str, str]:
    env: dict[str, str] = {}
    for svc in services:
        spec = svc.get("spec") or {}
        prefix = env_name((svc.get("metadata") or {}).get("name", ""))
        ip = spec.get("clusterIP", "")
        ports = spec.get("ports") or []
        env[f"{prefix}_SERVICE_HOST"] = ip
        if ports:
            env[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port"))
        for port in ports:
            if port.get("name"):
                env[f"{prefix}_SERVICE_PORT_{env_name(port['name'])}"] = str(port.get("port"))
        env.update(_link_variables(prefix, ip, ports))
    return env


def _link_variables(prefix: str, ip: str, ports: list[Obj]) -> dict[str, str]:
    env: dict[str, str] = {}
    for i, port in enumerate(ports):
        protocol = str(port.get("protocol") or "TCP")
        number = str(port.get("port"))
        if i == 0:
            env[f"{prefix}_PORT"] = f"{protocol.lower()}://{ip}:{number}"
        base = f"{prefix}_PORT_{number}_{protocol.upper()}"
        env[base] = f"{protocol.lower()}://{ip}:{number}"
        env[f"{base}_PROTO"] = protocol.lower()
        env[f"{base}_PORT"] = number
        env[f"{base}_ADDR"] = ip
    return env
