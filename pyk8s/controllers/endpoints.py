"""Endpoints controller: one ``Endpoints`` object per Service with a selector.

For each Service (key ``ns/name``) with ``spec.selector``, the pods in its
namespace matching the selector that have an IP, are not terminal and not
terminating become addresses; the pod's ``Ready`` condition decides ready vs
``notReadyAddresses`` (``publishNotReadyAddresses`` makes them all ready).
Ports: each service port's ``targetPort`` is a number, or a name resolved per
pod through its containers' port names (a pod lacking the name is left out of
that port's subset).  Addresses sharing a port set are grouped into one
subset.  Each address carries ``ip``, ``nodeName``, ``targetRef`` and
``hostname`` when the pod's ``spec.hostname`` is set and its
``spec.subdomain`` equals the service name (headless DNS names).

The pure function ``desired_subsets(service, pods)`` holds the logic;
``endpointslice`` reuses the pod filtering and port resolution.  Services
without a selector (like ``default/kubernetes``) are never touched.
Pod events enqueue every service in the pod's namespace whose selector
matched the pod before or after the change.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from pyk8s.api.core_v1.helpers.podready import is_pod_ready
from pyk8s.api.core_v1.helpers.timestamps import format_time
from pyk8s.client.errors import ApiError, is_already_exists, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.informer import SharedInformer
from pyk8s.client.tools.store import DeletedFinalStateUnknown
from pyk8s.controllers.manager import ControllerContext
from pyk8s.controllers.ownwrites import numeric_rv

Obj = dict[str, Any]
SERVICES = DynamicResource("", "v1", "services", True, "Service")
PODS = DynamicResource("", "v1", "pods", True, "Pod")
ENDPOINTS = DynamicResource("", "v1", "endpoints", True, "Endpoints")
TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"
HEADLESS_LABEL = "service.kubernetes.io/headless"


# --- pure helpers (shared with endpointslice) -------------------------------------------------

def selector_matches(selector: dict[str, str], pod: Obj) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pod_terminating(pod: Obj) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def selected_pods(service: Obj, pods: Iterable[Obj]) -> list[Obj]:
    """Pods matching the selector that have an IP and are not terminal, sorted by name."""
    selector = (service.get("spec") or {}).get("selector") or {}
    out = [p for p in pods if selector_matches(selector, p) and (p.get("status") or {}).get("podIP")
           and not pod_terminal(p)]
    return sorted(out, key=lambda p: p["metadata"]["name"])


def resolve_port(pod: Obj, svc_port: Obj) -> int | None:
    """The pod's port for a service port: numeric targetPort, a named container port, or ``port``."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = svc_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def endpoint_ports(pod: Obj, service: Obj) -> list[Obj]:
    """EndpointPorts for this pod, named like the service ports (unresolvable ones left out)."""
    out = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        number = resolve_port(pod, sp)
        if number is None:
            continue
        port: Obj = {"port": number, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("name"):
            port["name"] = sp["name"]
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        out.append(port)
    return out


def pod_hostname(pod: Obj, service: Obj) -> str:
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == service["metadata"]["name"]:
        return str(spec["hostname"])
    return ""


def target_ref(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta["name"], "uid": meta.get("uid", "")}


def _address(pod: Obj, service: Obj) -> Obj:
    addr: Obj = {"ip": pod["status"]["podIP"], "targetRef": target_ref(pod)}
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        addr["nodeName"] = node
    hostname = pod_hostname(pod, service)
    if hostname:
        addr["hostname"] = hostname
    return addr


def desired_subsets(service: Obj, pods: Iterable[Obj]) -> list[Obj]:
    """The Endpoints subsets for a service: addresses grouped by identical port sets."""
    publish_all = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    groups: dict[str, Obj] = {}
    for pod in selected_pods(service, pods):
        if pod_terminating(pod):
            continue
        ports = endpoint_ports(pod, service)
        if (service.get("spec") or {}).get("ports") and not ports:
            continue
        key = repr(sorted((p.get("name", ""), p["port"], p["protocol"]) for p in ports))
        subset = groups.setdefault(key, {"addresses": [], "notReadyAddresses": [],
                                         "ports": sorted(ports, key=lambda p: p.get("name", ""))})
        which = "addresses" if publish_all or is_pod_ready(pod) else "notReadyAddresses"
        subset[which].append(_address(pod, service))
    out = []
    for subset in groups.values():
        for field in ("addresses", "notReadyAddresses"):
            subset[field].sort(key=lambda a: a["ip"])
            if not subset[field]:
                del subset[field]
        if not subset["ports"]:
            del subset["ports"]
        out.append(subset)
    return sorted(out, key=lambda s: repr(s.get("ports")))


def services_for_pod(services: SharedInformer, pod: Obj) -> list[str]:
    ns = (pod.get("metadata") or {}).get("namespace") or ""
    return [f"{ns}/{s['metadata']['name']}" for s in services.lister.list(ns)
            if selector_matches((s.get("spec") or {}).get("selector") or {}, pod)]


def pod_handler_keys(services: SharedInformer, old: Obj | None, new: Obj | None) -> set[str]:
    keys: set[str] = set()
    for pod in (old, new):
        if pod:
            keys.update(services_for_pod(services, pod))
    return keys


def unwrap(obj: Obj | DeletedFinalStateUnknown) -> Obj:
    return obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj


def enqueue_services_of_pods(pods: SharedInformer, services: SharedInformer, queue: Any) -> None:
    """Queue every service selecting a pod (before or after the change) when the pod changes."""
    pods.add_event_handler(
        on_add=lambda p: [queue.add(k) for k in pod_handler_keys(services, None, p)],
        on_update=lambda o, n: [queue.add(k) for k in pod_handler_keys(services, o, n)],
        on_delete=lambda p: [queue.add(k) for k in pod_handler_keys(services, None, unwrap(p))])


# --- the controller ----------------------------------------------------------------------------

class EndpointsController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.services = ctx.factory.informer(SERVICES)
        self.pods = ctx.factory.informer(PODS)
        self.endpoints = ctx.factory.informer(ENDPOINTS)
        self.controller = Controller("endpoints", self.sync, informers=[self.services, self.pods, self.endpoints],
                                     clock=ctx.clock, workers=int(ctx.option("endpoints_workers", 5)))
        self.services.add_event_handler(self.controller.handler())
        enqueue_services_of_pods(self.pods, self.services, self.controller.queue)
        # Someone removed our Endpoints: recreate (as upstream, deletes only).
        self.endpoints.add_event_handler(on_delete=self.controller.enqueue)
        self.ready = self.controller.ready
        # Our last write per key: the cache may not have it yet, and writing over the
        # older cached copy would only earn a 409.
        self.written: dict[str, Obj] = {}

    async def run(self) -> None:
        await self.controller.run()

    def current(self, key: str, ns: str, name: str) -> Obj | None:
        cached = self.endpoints.lister.get(name, ns)
        mine = self.written.get(key)
        if mine is None:
            return cached
        if cached is not None and numeric_rv(cached) >= numeric_rv(mine):
            self.written.pop(key, None)
            return cached
        return mine  # (a 404 on update, if it was deleted meanwhile, drops it and retries)

    async def sync(self, key: str) -> None:
        ns, _, name = key.partition("/")
        service = self.services.lister.get(name, ns)
        current = self.current(key, ns, name)
        if service is None:
            self.written.pop(key, None)
            if current is not None:
                await self._delete(ns, name)
            return
        if not (service.get("spec") or {}).get("selector"):
            return  # manually managed (or the API server's own "kubernetes" service)
        subsets = desired_subsets(service, self.pods.lister.list(ns))
        labels = dict(service["metadata"].get("labels") or {})
        if (service.get("spec") or {}).get("clusterIP") == "None":
            labels[HEADLESS_LABEL] = ""
        if current is not None and (current.get("subsets") or []) == subsets \
                and (current["metadata"].get("labels") or {}) == labels:
            return
        now = format_time(self.clock.now())
        if current is None:
            body: Obj = {"apiVersion": "v1", "kind": "Endpoints",
                         "metadata": {"name": name, "namespace": ns, "labels": labels,
                                      "annotations": {TRIGGER: now}}}
            if subsets:
                body["subsets"] = subsets
            try:
                self.written[key] = await self.client.create(ENDPOINTS, body, namespace=ns)
            except ApiError as exc:
                if not is_already_exists(exc):
                    raise
                raise RuntimeError("endpoints appeared concurrently; retrying") from exc
            return
        body = copy.deepcopy(current)
        body["metadata"]["labels"] = labels
        body["metadata"].setdefault("annotations", {})[TRIGGER] = now
        if subsets:
            body["subsets"] = subsets
        else:
            body.pop("subsets", None)
        try:
            self.written[key] = await self.client.update(ENDPOINTS, body, namespace=ns)
        except ApiError:
            self.written.pop(key, None)
            raise

    async def _delete(self, ns: str, name: str) -> None:
        try:
            await self.client.delete(ENDPOINTS, name, namespace=ns)
        except ApiError as exc:
            if not is_not_found(exc):
                raise



def new(ctx: ControllerContext) -> EndpointsController:
    return EndpointsController(ctx)
