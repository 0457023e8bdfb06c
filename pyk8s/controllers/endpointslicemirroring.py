"""EndpointSlice mirroring controller: Endpoints that someone writes by hand for a Service without
a selector are mirrored into ``discovery.k8s.io/v1`` EndpointSlices (upstream's
endpointslicemirroring controller), so kube-proxy-style consumers that read only slices see them.

An Endpoints object is mirrored while a Service of the same name exists, that Service has no
selector (with one, the EndpointSlice controller owns its slices), and the Endpoints is not labelled
``endpointslice.kubernetes.io/skip-mirror: "true"`` (the API server's own ``kubernetes`` Endpoints
is) nor a leader-election record (``control-plane.alpha.kubernetes.io/leader``).  Otherwise its
mirrored slices are deleted.

Each subset becomes slices per address family: ``addresses`` are ready endpoints,
``notReadyAddresses`` not ready ones; hostname, nodeName and targetRef carry over; at most
``MAX_ENDPOINTS_PER_SUBSET`` (1000, upstream's default) addresses of a subset are mirrored, in
slices of at most ``MAX_ENDPOINTS_PER_SLICE`` (100).  Slices are named ``<endpoints>-<random>``,
labelled with the Endpoints' labels plus ``kubernetes.io/service-name`` and
``endpointslice.kubernetes.io/managed-by: endpointslicemirroring-controller.k8s.io``, annotated
with its annotations (minus the trigger time and kubectl's last-applied configuration), and owned
by the Endpoints, so they go with it.

Only slices carrying that managed-by value are ever touched: the slices the cluster DNS and the
ingress controller write for their own selector-less Services (managed-by values of their own,
and no Endpoints object) are left alone.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from pyk8s.client.tools.controller import Controller
from pyk8s.controllers.endpoints import ENDPOINTS, SERVICES, TRIGGER
from pyk8s.controllers.managedslices import MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SLICES, ManagedSlices
from pyk8s.controllers.manager import ControllerContext

Obj = dict[str, Any]
MANAGED_BY = "endpointslicemirroring-controller.k8s.io"
SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_ENDPOINTS_PER_SUBSET = 1000
MAX_ENDPOINTS_PER_SLICE = 100

Desired = tuple[str, list[Obj], list[Obj]]  # (addressType, ports, endpoints)


def should_mirror(endpoints: Obj | None, service: Obj | None) -> bool:
    if endpoints is None or service is None:
        return False
    meta = endpoints.get("metadata") or {}
    if meta.get("deletionTimestamp") or (meta.get("labels") or {}).get(SKIP_MIRROR_LABEL) == "true":
        return False
    if LEADER_ANNOTATION in (meta.get("annotations") or {}):
        return False
    return not (service.get("spec") or {}).get("selector")


def _family(ip: str) -> str | None:
    try:
        return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"
    except ValueError:
        return None  # not an IP (a hostname in Endpoints is invalid anyway): upstream skips it


def _endpoint(address: Obj, ready: bool) -> Obj:
    ep: Obj = {"addresses": [address["ip"]], "conditions": {"ready": ready}}
    for key in ("hostname", "nodeName", "targetRef"):
        if address.get(key):
            ep[key] = copy.deepcopy(address[key])
    return ep


def _ports(subset: Obj) -> list[Obj]:
    ports = []
    for p in subset.get("ports") or []:
        port: Obj = {"name": p.get("name", ""), "port": p.get("port"), "protocol": p.get("protocol") or "TCP"}
        if p.get("appProtocol"):
            port["appProtocol"] = p["appProtocol"]
        ports.append(port)
    return ports


def desired_slices(endpoints: Obj) -> list[Desired]:
    """One entry per slice to keep, subset by subset and family by family, in a stable order."""
    out: list[Desired] = []
    for subset in endpoints.get("subsets") or []:
        ports = _ports(subset)
        families: dict[str, list[Obj]] = {}
        addresses = [(a, True) for a in subset.get("addresses") or []]
        addresses += [(a, False) for a in subset.get("notReadyAddresses") or []]
        for address, ready in addresses[:MAX_ENDPOINTS_PER_SUBSET]:
            family = _family(str(address.get("ip") or ""))
            if family is not None:
                families.setdefault(family, []).append(_endpoint(address, ready))
        for family in sorted(families):
            eps = families[family]
            for i in range(0, len(eps), MAX_ENDPOINTS_PER_SLICE):
                out.append((family, ports, eps[i:i + MAX_ENDPOINTS_PER_SLICE]))
    return out


def mirrored_metadata(endpoints: Obj) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) of the mirrored slices."""
    meta = endpoints["metadata"]
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in (SERVICE_NAME_LABEL, MANAGED_BY_LABEL)}
    labels[SERVICE_NAME_LABEL] = meta["name"]
    labels[MANAGED_BY_LABEL] = MANAGED_BY
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in (TRIGGER, LAST_APPLIED)}
    return labels, annotations


def _owner(endpoints: Obj) -> Obj:
    return {"apiVersion": "v1", "kind": "Endpoints", "name": endpoints["metadata"]["name"],
            "uid": endpoints["metadata"].get("uid", ""), "controller": True, "blockOwnerDeletion": True}


def _same(current: Obj, want: Desired, labels: dict[str, str], annotations: dict[str, str]) -> bool:
    family, ports, eps = want
    meta = current.get("metadata") or {}
    return (current.get("addressType") == family and (current.get("ports") or []) == ports
            and (current.get("endpoints") or []) == eps and (meta.get("labels") or {}) == labels
            and (meta.get("annotations") or {}) == annotations)


class EndpointSliceMirroringController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.endpoints = ctx.factory.informer(ENDPOINTS)
        self.services = ctx.factory.informer(SERVICES)
        self.slices = ctx.factory.informer(SLICES)
        self.controller = Controller("endpointslicemirroring", self.sync,
                                     informers=[self.endpoints, self.services, self.slices], clock=ctx.clock,
                                     workers=int(ctx.option("endpointslicemirroring_workers", 5)))
        self.endpoints.add_event_handler(self.controller.handler())
        self.services.add_event_handler(self.controller.handler())
        self.managed = ManagedSlices(self.client, self.slices, self.controller, MANAGED_BY)
        self.ready = self.controller.ready

    async def run(self) -> None:
        await self.controller.run()

    def mirrored(self, ns: str, name: str) -> list[Obj]:
        return sorted(self.managed.cached(ns, name), key=lambda s: s["metadata"]["name"])

    async def sync(self, key: str) -> float | None:
        ns, _, name = key.partition("/")
        existing = self.mirrored(ns, name)
        if (retry := self.managed.wait_for_created(key, existing)) is not None:
            return retry
        endpoints = self.endpoints.lister.get(name, ns)
        if endpoints is None or not should_mirror(endpoints, self.services.lister.get(name, ns)):
            for s in existing:
                await self.managed.delete(s)
            return None
        labels, annotations = mirrored_metadata(endpoints)
        unused = list(existing)
        todo: list[Desired] = []
        for want in desired_slices(endpoints):
            match = next((s for s in unused if _same(s, want, labels, annotations)), None)
            if match is not None:
                unused.remove(match)
            else:
                todo.append(want)
        for family, ports, eps in todo:
            # addressType is immutable: only a slice of the same family can be rewritten.
            reuse = next((s for s in unused if s.get("addressType") == family), None)
            if reuse is not None:
                unused.remove(reuse)
                body = copy.deepcopy(reuse)
                body["metadata"]["labels"], body["metadata"]["annotations"] = labels, annotations
                body["ports"], body["endpoints"] = ports, eps
                await self.client.update(SLICES, body, namespace=ns)
            else:
                await self.managed.create(key, self._new_slice(endpoints, labels, annotations, (family, ports, eps)),
                                          ns)
        for s in unused:
            await self.managed.delete(s)
        return None

    @staticmethod
    def _new_slice(endpoints: Obj, labels: dict[str, str], annotations: dict[str, str], want: Desired) -> Obj:
        family, ports, eps = want
        meta: Obj = {"generateName": f"{endpoints['metadata']['name']}-",
                     "namespace": endpoints["metadata"].get("namespace", ""), "labels": labels,
                     "ownerReferences": [_owner(endpoints)]}
        if annotations:
            meta["annotations"] = annotations
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta,
                "addressType": family, "ports": ports, "endpoints": eps}



def new(ctx: ControllerContext) -> EndpointSliceMirroringController:
    return EndpointSliceMirroringController(ctx)
