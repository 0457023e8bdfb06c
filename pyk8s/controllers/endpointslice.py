"""EndpointSlice controller: ``discovery.k8s.io/v1`` slices for Services with selectors.

Pods are chosen as for Endpoints (``endpoints.selected_pods``), except that
terminating pods stay in, with conditions: ``ready`` (Ready and not
terminating; always true with ``publishNotReadyAddresses``), ``serving``
(Ready regardless of termination) and ``terminating``.  Endpoints are grouped
by their resolved port set and cut into slices of at most
``MAX_ENDPOINTS`` (100, upstream's default).

Slices are named ``<service>-<random>`` (generateName), labelled
``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/managed-by``
(only such slices are ours), carry the Service's labels, and are owned by
the Service (controller reference), so the garbage collector removes them
with it.  ``sync`` pairs existing slices with desired ones (same port set
first), updates those that differ, creates the missing and deletes the rest.
"""

from __future__ import annotations

import copy
from typing import Any

from pyk8s.api.core_v1.helpers.podready import is_pod_ready
from pyk8s.client.errors import ApiError
from pyk8s.client.tools.controller import Controller
from pyk8s.controllers.endpoints import (
    HEADLESS_LABEL,
    PODS,
    SERVICES,
    endpoint_ports,
    enqueue_services_of_pods,
    pod_hostname,
    pod_terminating,
    selected_pods,
    target_ref,
)
from pyk8s.controllers.managedslices import MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SLICES, ManagedSlices
from pyk8s.controllers.manager import ControllerContext
from pyk8s.controllers.ownwrites import numeric_rv

Obj = dict[str, Any]
MANAGED_BY = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS = 100


def _endpoint(pod: Obj, service: Obj) -> Obj:
    publish_all = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    ready = is_pod_ready(pod)
    terminating = pod_terminating(pod)
    ep: Obj = {"addresses": [pod["status"]["podIP"]],
               "conditions": {"ready": publish_all or (ready and not terminating),
                              "serving": publish_all or ready, "terminating": terminating},
               "targetRef": target_ref(pod)}
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        ep["nodeName"] = node
    hostname = pod_hostname(pod, service)
    if hostname:
        ep["hostname"] = hostname
    return ep


def _slice_ports(pod: Obj, service: Obj) -> list[Obj]:
    return sorted(({"name": p.get("name", ""), "port": p["port"], "protocol": p["protocol"],
                    **({"appProtocol": p["appProtocol"]} if p.get("appProtocol") else {})}
                   for p in endpoint_ports(pod, service)), key=lambda p: p["name"])


def desired_slices(service: Obj, pods: list[Obj]) -> list[tuple[list[Obj], list[Obj]]]:
    """``(ports, endpoints)`` per desired slice, in a stable order."""
    groups: dict[str, tuple[list[Obj], list[Obj]]] = {}
    has_ports = bool((service.get("spec") or {}).get("ports"))
    for pod in selected_pods(service, pods):
        if ":" in pod["status"]["podIP"]:
            continue  # IPv6 belongs in an IPv6 slice; single-stack IPv4 here
        ports = _slice_ports(pod, service)
        if has_ports and not ports:
            continue
        group = groups.setdefault(repr(ports), (ports, []))
        group[1].append(_endpoint(pod, service))
    out: list[tuple[list[Obj], list[Obj]]] = []
    for key in sorted(groups):
        ports, eps = groups[key]
        for i in range(0, len(eps), MAX_ENDPOINTS):
            out.append((ports, eps[i:i + MAX_ENDPOINTS]))
    if not out:
        out.append(([], []))  # upstream keeps one empty "placeholder" slice per service
    return out


def slice_labels(service: Obj) -> dict[str, str]:
    labels = dict(service["metadata"].get("labels") or {})
    labels.pop(SERVICE_NAME_LABEL, None)
    labels.pop(MANAGED_BY_LABEL, None)
    if (service.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    labels[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = MANAGED_BY
    return labels


def owner_ref(service: Obj) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "name": service["metadata"]["name"],
            "uid": service["metadata"].get("uid", ""), "controller": True, "blockOwnerDeletion": True}


def _same(current: Obj, ports: list[Obj], endpoints: list[Obj], labels: dict[str, str]) -> bool:
    return ((current.get("ports") or []) == ports and (current.get("endpoints") or []) == endpoints
            and (current["metadata"].get("labels") or {}) == labels)


class EndpointSliceController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.services = ctx.factory.informer(SERVICES)
        self.pods = ctx.factory.informer(PODS)
        self.slices = ctx.factory.informer(SLICES)
        self.controller = Controller("endpointslice", self.sync, informers=[self.services, self.pods, self.slices],
                                     clock=ctx.clock, workers=int(ctx.option("endpointslice_workers", 5)))
        self.services.add_event_handler(self.controller.handler())
        enqueue_services_of_pods(self.pods, self.services, self.controller.queue)
        self.managed = ManagedSlices(self.client, self.slices, self.controller, MANAGED_BY)
        self.ready = self.controller.ready
        # Our last write per slice name: newer than the cache until the watch catches up.
        self.written: dict[str, Obj] = {}

    async def run(self) -> None:
        await self.controller.run()

    def owned_slices(self, ns: str, name: str) -> list[Obj]:
        out = []
        for cached in self.managed.cached(ns, name):
            mine = self.written.get(f"{ns}/{cached['metadata']['name']}")
            if mine is not None and numeric_rv(mine) > numeric_rv(cached):
                out.append(mine)
            else:
                self.written.pop(f"{ns}/{cached['metadata']['name']}", None)
                out.append(cached)
        return sorted(out, key=lambda s: s["metadata"]["name"])

    async def sync(self, key: str) -> float | None:
        ns, _, name = key.partition("/")
        service = self.services.lister.get(name, ns)
        existing = self.owned_slices(ns, name)
        if (retry := self.managed.wait_for_created(key, existing)) is not None:
            return retry
        if service is None:
            for s in existing:
                await self._delete(s)
            return None
        if not (service.get("spec") or {}).get("selector"):
            # As upstream: a Service without a selector gets its slices out of band (the API server's own
            # ``kubernetes`` slice, a user's); this controller leaves them alone.
            return None
        if service["metadata"].get("deletionTimestamp"):
            return None
        labels = slice_labels(service)
        wanted = desired_slices(service, self.pods.lister.list(ns))
        unused = list(existing)
        todo: list[tuple[list[Obj], list[Obj]]] = []
        for ports, eps in wanted:  # first pass: exact matches stay untouched
            match = next((s for s in unused if _same(s, ports, eps, labels)), None)
            if match is not None:
                unused.remove(match)
            else:
                todo.append((ports, eps))
        for ports, eps in todo:
            reuse = next((s for s in unused if (s.get("ports") or []) == ports), None) or (unused[0] if unused else None)
            if reuse is not None:
                unused.remove(reuse)
                body = copy.deepcopy(reuse)
                body["metadata"]["labels"] = labels
                body["ports"], body["endpoints"] = ports, eps
                try:
                    self.written[f"{ns}/{body['metadata']['name']}"] = await self.client.update(
                        SLICES, body, namespace=ns)
                except ApiError:
                    self.written.pop(f"{ns}/{body['metadata']['name']}", None)
                    raise
            else:
                await self.managed.create(key, self._new_slice(service, labels, ports, eps), ns)
        for s in unused:
            await self._delete(s)
        return None

    @staticmethod
    def _new_slice(service: Obj, labels: dict[str, str], ports: list[Obj], eps: list[Obj]) -> Obj:
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"generateName": f"{service['metadata']['name']}-",
                             "namespace": service["metadata"].get("namespace", ""), "labels": labels,
                             "ownerReferences": [owner_ref(service)]},
                "addressType": "IPv4", "ports": ports, "endpoints": eps}

    async def _delete(self, s: Obj) -> None:
        self.written.pop(f"{s['metadata'].get('namespace', '')}/{s['metadata']['name']}", None)
        await self.managed.delete(s)




def new(ctx: ControllerContext) -> EndpointSliceController:
    return EndpointSliceController(ctx)
