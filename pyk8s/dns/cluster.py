"""The cluster as DNS sees it: Services, their EndpointSlices and Namespaces, read from informer stores.

``ClusterView`` reads the stores directly (they are the informers' caches:
never mutated here).  Forward lookups are key lookups; EndpointSlices are
found through an index on ``kubernetes.io/service-name``.  Reverse lookups
need every address in the cluster, so ``reverse()`` uses an index rebuilt
lazily after a change: ``changed(obj...)`` (called from the informers'
handlers) bumps ``generation`` and records which *scopes* the change touched
(``<namespace>/<service>`` for a Service or its slices, ``ptr`` for reverse
names, ``*`` for a Namespace: everything), so the server's answer cache drops
only the answers that could have changed (``take_dirty()``).

An endpoint counts when its ``conditions.ready`` is true or unset (unknown
means ready, as the EndpointSlice API documents); its name is its
``hostname``, else its dashed address (CoreDNS's default).
"""

from __future__ import annotations

import functools
import ipaddress
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pyk8s.client.tools.store import NAMESPACE_INDEX, DeletedFinalStateUnknown, Store
from pyk8s.dns import names

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
BY_SERVICE = "dns-by-service"
#: Cache scopes: every answer; reverse (PTR) answers; answers that depend on no object.
EVERYTHING, REVERSE, STATIC = "*", "ptr", "static"


def scope_of(obj: object) -> str:
    """The answers an informer object can change: its Service's, or (a Namespace) all of them."""
    if isinstance(obj, DeletedFinalStateUnknown):
        obj = obj.obj
    if not isinstance(obj, dict):
        return EVERYTHING
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    if not ns:
        return EVERYTHING  # a Namespace: namespace and pod names exist or not with it
    if "endpoints" in obj or "addressType" in obj:
        service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        return f"{ns}/{service}" if service else REVERSE
    return f"{ns}/{meta.get('name', '')}"


def by_service(obj: Obj) -> list[str]:
    """Index an EndpointSlice under ``<namespace>/<service>``."""
    meta = obj.get("metadata") or {}
    name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{meta.get('namespace', '')}/{name}"] if name else []


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str           # the DNS label: hostname, else the dashed address
    address: str
    ports: tuple[tuple[str, int, str], ...]   # (name, port, protocol) of its slice


def is_headless(service: Obj) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def cluster_ips(service: Obj) -> list[str]:
    spec = service.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [ip for ip in ips if ip and ip != "None"]


@functools.lru_cache(maxsize=65536)
def family(ip: str) -> int:
    return ipaddress.ip_address(ip).version


class ClusterView:
    def __init__(self, services: Store, slices: Store, namespaces: Store | None = None) -> None:
        self.services, self.slices, self.namespaces = services, slices, namespaces
        slices.add_indexers({BY_SERVICE: by_service})
        self.generation = 0
        self.serial = int(time.time())
        self._reverse: dict[str, list[str]] | None = None
        self._reverse_names: set[str] = set()
        self._dirty: set[str] = set()
        # Per-Service endpoint lists and name indexes, built on first use after a change.
        self._endpoints: dict[str, list[Endpoint]] = {}
        self._by_name: dict[str, dict[str, list[str]]] = {}

    def changed(self, *objs: object) -> None:
        """An informer event (its objects; none: anything may have changed): forget derived data."""
        self.generation += 1
        self.serial = max(self.serial + 1, int(time.time()))
        self._reverse = None
        self._endpoints.clear()
        self._by_name.clear()
        self._dirty.add(REVERSE)
        if objs:
            self._dirty.update(scope_of(obj) for obj in objs)
        else:
            self._dirty.add(EVERYTHING)

    def take_dirty(self) -> set[str]:
        """The scopes changed since the last call (the answer cache's invalidation list)."""
        dirty, self._dirty = self._dirty, set()
        return dirty

    # --- forward -------------------------------------------------------------------

    def service(self, namespace: str, name: str) -> Obj | None:
        return self.services.get(f"{namespace}/{name}")

    def namespace_exists(self, namespace: str) -> bool:
        if self.namespaces is not None:
            return self.namespaces.get(namespace) is not None
        return bool(self.services.index_keys(NAMESPACE_INDEX, namespace))

    def endpoints(self, namespace: str, service: str) -> list[Endpoint]:
        """Ready endpoints of a Service, one per address (the first slice that lists it wins)."""
        key = f"{namespace}/{service}"
        out = self._endpoints.get(key)
        if out is None:
            seen: set[str] = set()
            out = []
            for eps in self.slices.by_index(BY_SERVICE, key):
                for ep in _slice_endpoints(eps):
                    if ep.address not in seen:
                        seen.add(ep.address)
                        out.append(ep)
            self._endpoints[key] = out
        return out

    def endpoint_addresses(self, namespace: str, service: str, name: str) -> list[str]:
        """Addresses of a Service's ready endpoints named ``name`` (an index: SRV glue asks once per target)."""
        key = f"{namespace}/{service}"
        index = self._by_name.get(key)
        if index is None:
            index = {}
            for ep in self.endpoints(namespace, service):
                index.setdefault(ep.name, []).append(ep.address)
            self._by_name[key] = index
        return index.get(name, [])

    # --- reverse -------------------------------------------------------------------

    def reverse(self, ip: str) -> list[str]:
        """Names (relative to the zone, e.g. ``web.default.svc``) that own ``ip``."""
        return self._reverse_index().get(ip, [])

    def reverse_exists(self, reverse_name: str) -> bool:
        """True when ``reverse_name`` (absolute, lower case) is, or is a parent of, a name with a PTR."""
        self._reverse_index()
        return reverse_name in self._reverse_names

    def _reverse_index(self) -> dict[str, list[str]]:
        if self._reverse is None:
            index: dict[str, list[str]] = {}
            for ip, name in self._reverse_entries():
                owners = index.setdefault(str(ipaddress.ip_address(ip)), [])
                if name not in owners:
                    owners.append(name)
            self._reverse = index
            self._reverse_names = _reverse_tree(index)
        return self._reverse

    def _reverse_entries(self) -> Iterator[tuple[str, str]]:
        for svc in self.services.list():
            meta = svc["metadata"]
            base = f"{meta['name']}.{meta.get('namespace', '')}.svc"
            for ip in cluster_ips(svc):
                yield ip, base
        for eps in self.slices.list():
            meta = eps["metadata"]
            service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
            if not service:
                continue
            for ep in _slice_endpoints(eps):
                yield ep.address, f"{ep.name}.{service}.{meta.get('namespace', '')}.svc"


def _reverse_tree(index: dict[str, list[str]]) -> set[str]:
    """Every reverse name with a PTR, and all of its ancestors (empty non-terminals)."""
    import dns.reversename

    out: set[str] = set()
    for ip in index:
        name = dns.reversename.from_address(ip)
        while len(name.labels) > 1:
            text = name.to_text()
            if text in out:
                break
            out.add(text)
            name = name.parent()
    return out


def _slice_endpoints(eps: Obj) -> Iterator[Endpoint]:
    if eps.get("addressType", "IPv4") not in ("IPv4", "IPv6"):
        return  # FQDN slices are deprecated and carry no address DNS can serve
    ports = tuple((p.get("name") or "", int(p.get("port") or 0), p.get("protocol") or "TCP")
                  for p in eps.get("ports") or [])
    for ep in eps.get("endpoints") or []:
        if (ep.get("conditions") or {}).get("ready") is False:
            continue
        for address in ep.get("addresses") or []:
            try:
                address = str(ipaddress.ip_address(address))
            except ValueError:
                continue
            yield Endpoint(name=(ep.get("hostname") or names.dashed(address)).lower(), address=address, ports=ports)
