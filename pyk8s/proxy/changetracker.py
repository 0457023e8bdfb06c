"""Service and EndpointSlice changes, from informers, folded into the proxy's service map.

Informer handlers only note which Service (``namespace/name``) moved; the
next ``snapshot()`` re-reads just those Services and their slices from the
informer caches and replaces their ``ServicePort`` entries (incremental, as
upstream's ``ServiceChangeTracker``/``EndpointsChangeTracker``).  A full
snapshot re-reads everything, which the 30 s resync uses to repair any drift.

``on_change`` is called after every noted change: the proxier uses it to ask
its bounded-frequency runner for a sync.  ``pending_since`` is the monotonic
time of the oldest change not yet synced (for the network-programming
latency metric).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from pyk8s.client.tools.store import DeletedFinalStateUnknown
from pyk8s.proxy import servicemodel
from pyk8s.proxy.interface import ServicePort, ServicePortName

Obj = dict[str, Any]
ServiceKey = tuple[str, str]


class ChangeTracker:
    def __init__(self, node_name: str, *, on_change: Callable[[], None] = lambda: None) -> None:
        self.node_name = node_name
        self.on_change = on_change
        self.services: dict[ServiceKey, Obj] = {}
        self.slices: dict[ServiceKey, dict[str, Obj]] = defaultdict(dict)
        self.service_map: dict[ServicePortName, ServicePort] = {}
        self._ports_of: dict[ServiceKey, list[ServicePortName]] = {}
        self._dirty: set[ServiceKey] = set()
        self.pending_since: float | None = None

    # --- informer handlers (only note what moved) -------------------------------------

    def _touch(self, key: ServiceKey) -> None:
        self._dirty.add(key)
        if self.pending_since is None:
            self.pending_since = time.monotonic()
        self.on_change()

    @staticmethod
    def _unwrap(obj: Obj | DeletedFinalStateUnknown) -> Obj:
        return obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj

    @staticmethod
    def _key(obj: Obj) -> ServiceKey:
        meta = obj.get("metadata") or {}
        return meta.get("namespace", ""), meta.get("name", "")

    def service_updated(self, obj: Obj, new: Obj | None = None) -> None:
        obj = new if new is not None else obj
        key = self._key(obj)
        if self.services.get(key) is not obj:
            self.services[key] = obj
            self._touch(key)

    def service_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        key = self._key(self._unwrap(obj))
        if self.services.pop(key, None) is not None:
            self._touch(key)

    def slice_updated(self, obj: Obj, new: Obj | None = None) -> None:
        obj = new if new is not None else obj
        owner = servicemodel.slice_service(obj)
        if owner is None:
            return
        name = self._key(obj)[1]
        if self.slices[owner].get(name) is not obj:
            self.slices[owner][name] = obj
            self._touch(owner)

    def slice_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        real = self._unwrap(obj)
        owner = servicemodel.slice_service(real)
        if owner is not None and self.slices[owner].pop(self._key(real)[1], None) is not None:
            self._touch(owner)

    # --- the sync side ----------------------------------------------------------------

    def has_changes(self) -> bool:
        return bool(self._dirty)

    def snapshot(self, *, full: bool = False) -> tuple[dict[ServicePortName, ServicePort], set[ServicePortName]]:
        """The service map after folding in the changes, and the names of ports that changed."""
        keys: Iterable[ServiceKey] = set(self.services) | set(self._ports_of) if full else self._dirty
        changed: set[ServicePortName] = set()
        for key in list(keys):
            changed |= self._rebuild(key)
        self._dirty.clear()
        self.pending_since = None
        return self.service_map, changed

    def _rebuild(self, key: ServiceKey) -> set[ServicePortName]:
        service = self.services.get(key)
        ports = servicemodel.service_ports(service, self.slices.get(key, {}).values(), self.node_name) \
            if service is not None else []
        old = {name: self.service_map.pop(name) for name in self._ports_of.pop(key, [])}
        new = {p.name: p for p in ports}
        self.service_map.update(new)
        changed = {n for n in old.keys() | new.keys() if old.get(n) != new.get(n)}
        if ports:
            self._ports_of[key] = [p.name for p in ports]
        if not self.slices.get(key):
            self.slices.pop(key, None)
        return changed
