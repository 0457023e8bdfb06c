"""A Service reference to a host and port to dial, through the API server's own watch caches.

Upstream's resolver with aggregator routing: the Service's port is found by number, then a ready
endpoint of its EndpointSlices serving that port (by port name).  The clusterIP is never dialled
directly: the API server's host has no business relying on a service proxy (and tests must never send
a packet to a service address), so a Service without a ready endpoint is an error, as upstream's
endpoint routing answers it.  ExternalName Services resolve to their external name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.registry import cachedreads

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


class ResolveError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Target:
    host: str  # an address (or a name for ExternalName)
    port: int
    server_name: str  # what the serving certificate must name: <service>.<namespace>.svc


def _port_of(svc: Obj, port: int) -> Obj:
    for p in (svc.get("spec") or {}).get("ports") or []:
        if p.get("port") == port:
            return dict(p)
    raise ResolveError(f"no service port {port} found for service \"{svc['metadata']['name']}\"")


async def resolve(registry: Registry, namespace: str, name: str, port: int) -> Target:
    server_name = f"{name}.{namespace}.svc"
    services = registry.store("", "services")
    svc = None if services is None else await cachedreads.get(services, namespace, name)
    if svc is None:
        raise ResolveError(f"service \"{name}\" not found")
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return Target(str(spec.get("externalName") or ""), port, server_name)
    svc_port = _port_of(svc, port)
    slices = registry.store("discovery.k8s.io", "endpointslices")
    items = [] if slices is None else await cachedreads.namespace_items(slices, namespace)
    for es in items:
        if ((es.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL) != name:
            continue
        target_port = next((p.get("port") for p in es.get("ports") or []
                            if (p.get("name") or "") == (svc_port.get("name") or "")), None)
        if not isinstance(target_port, int):
            continue
        for ep in es.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is False or not ep.get("addresses"):
                continue
            return Target(str(ep["addresses"][0]), target_port, server_name)
    raise ResolveError(f"no endpoints available for service \"{name}\"")
