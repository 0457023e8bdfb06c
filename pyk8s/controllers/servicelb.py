"""The service load-balancer controller (``service-lb-controller``): LoadBalancer Services never stay pending.

Upstream leaves ``type: LoadBalancer`` to a cloud provider's service
controller; on a laptop there is none and EXTERNAL-IP stays ``<pending>``.
This controller plays that role with addresses the machine can reach:

* the pool is ``--load-balancer-ip-pool`` (CIDRs, ranges, addresses; see
  ``lbpool``) or, by default, the nodes' InternalIPs, read from the Node
  objects (nodes labelled ``node.kubernetes.io/exclude-from-external-load-balancers``
  are left out, as upstream's service controller leaves them out);
* each Service gets one address (``lbpool.Allocator``: ``spec.loadBalancerIP``
  honoured, addresses shared while ports do not collide) written to
  ``status.loadBalancer.ingress[].ip`` with ``ipMode: VIP`` (the service
  proxy short-circuits the address to the endpoints, as kube-proxy does);
  the proxy programs the rules, this controller only allocates;
* Services with a ``spec.loadBalancerClass`` other than ours
  (``pyk8s.io/service-lb``) are left alone, as upstream's controller leaves
  every classed Service to its own implementation; no class means ours;
* the ``service.kubernetes.io/load-balancer-cleanup`` finalizer is added
  before an address is handed out and removed once it is released (on
  deletion, or when the type changes away, which also clears the status);
* events as upstream's service controller words them
  (``EnsuringLoadBalancer``, ``EnsuredLoadBalancer``, ``DeletingLoadBalancer``,
  ``DeletedLoadBalancer``) and MetalLB's failure event, ``Warning
  AllocationFailed  Failed to allocate IP for "ns/name": no available IPs...``,
  which ``kubectl describe svc`` shows.

Level-triggered: a Service that could not get an address is retried
whenever any LoadBalancer Service or any Node changes (room may have
appeared), not on a timer.  One worker, so two allocations never race; the
claims of other Services come from the informer cache, overlaid with the
statuses this controller wrote that the cache has not caught up with yet.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.store import DeletedFinalStateUnknown, deletion_key, meta_key
from pyk8s.controllers import lbpool
from pyk8s.controllers.manager import ControllerContext
from pyk8s.controllers.ownwrites import numeric_rv

log = logging.getLogger(__name__)
Obj = dict[str, Any]

NAME = "service-lb-controller"
SERVICES = DynamicResource("", "v1", "services", True, "Service")
NODES = DynamicResource("", "v1", "nodes", False, "Node")
LOAD_BALANCER_CLASS = "pyk8s.io/service-lb"
FINALIZER = "service.kubernetes.io/load-balancer-cleanup"
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


def is_ours(svc: Obj) -> bool:
    cls = (svc.get("spec") or {}).get("loadBalancerClass")
    return not cls or cls == LOAD_BALANCER_CLASS


def wants_load_balancer(svc: Obj) -> bool:
    return ((svc.get("spec") or {}).get("type") == "LoadBalancer" and is_ours(svc)
            and not (svc.get("metadata") or {}).get("deletionTimestamp"))


def lb_ingress(svc: Obj) -> list[Obj]:
    return list(((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])


def node_addresses(nodes: list[Obj]) -> list[str]:
    """InternalIPs of the nodes that may carry load balancers, by node name."""
    out: list[str] = []
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        if EXCLUDE_LABEL in ((node["metadata"].get("labels")) or {}):
            continue
        for addr in (node.get("status") or {}).get("addresses") or []:
            if addr.get("type") == "InternalIP" and addr.get("address") and addr["address"] not in out:
                out.append(addr["address"])
    return out



def _ref(svc: Obj) -> Obj:
    meta = svc["metadata"]
    return {"kind": "Service", "apiVersion": "v1", "namespace": meta.get("namespace", ""),
            "name": meta["name"], "uid": meta.get("uid", ""), "resourceVersion": meta.get("resourceVersion", "")}


@dataclass
class _Written:
    rv: int
    ingress: list[Obj]


class ServiceLBController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        text = str(ctx.option("load_balancer_ip_pool", "") or "")
        self.configured = lbpool.AddressPool.parse(text)
        self.services = ctx.factory.informer(SERVICES)
        self.nodes = ctx.factory.informer(NODES)
        self.controller = Controller(NAME, self.sync, informers=[self.services, self.nodes], clock=ctx.clock,
                                     workers=1)
        self.recorder = EventRecorder(ctx.client, component="service-controller", clock=ctx.clock)
        self.services.add_event_handler(on_add=self._on_service, on_update=self._on_service_update,
                                        on_delete=self._on_service_delete)
        self.nodes.add_event_handler(on_add=lambda _: self._requeue_all(), on_delete=lambda _: self._requeue_all(),
                                     on_update=self._on_node_update)
        self.ready = self.controller.ready
        self.written: dict[str, _Written] = {}

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.recorder.run())
            tg.create_task(self.controller.run())

    # --- handlers ---------------------------------------------------------------------------

    def _relevant(self, svc: Obj) -> bool:
        return (svc.get("spec") or {}).get("type") == "LoadBalancer" or FINALIZER in (
            (svc.get("metadata") or {}).get("finalizers") or []) or bool(lb_ingress(svc))

    def _on_service(self, svc: Obj) -> None:
        if self._relevant(svc):
            self.controller.queue.add(meta_key(svc))

    def _on_service_update(self, old: Obj, new: Obj) -> None:
        if not (self._relevant(old) or self._relevant(new)):
            return
        self.controller.queue.add(meta_key(new))
        if old.get("spec") != new.get("spec") or lb_ingress(old) != lb_ingress(new):
            self._requeue_all()  # ports or addresses moved: a waiting Service may fit now

    def _on_service_delete(self, svc: Obj | DeletedFinalStateUnknown) -> None:
        self.written.pop(deletion_key(svc), None)
        self._requeue_all()

    def _on_node_update(self, old: Obj, new: Obj) -> None:
        if node_addresses([old]) != node_addresses([new]):
            self._requeue_all()

    def _requeue_all(self) -> None:
        for svc in self.services.lister.list():
            if self._relevant(svc):
                self.controller.queue.add(meta_key(svc))

    # --- state --------------------------------------------------------------------------------

    def pool(self) -> lbpool.AddressPool:
        if self.configured:
            return self.configured
        return lbpool.AddressPool.of(node_addresses(self.nodes.lister.list()))

    def effective_ingress(self, key: str, svc: Obj) -> list[Obj]:
        """The Service's status, or what we last wrote if the cache has not seen it yet."""
        mine = self.written.get(key)
        if mine is not None and numeric_rv(svc) < mine.rv:
            return mine.ingress
        if mine is not None:
            del self.written[key]
        return lb_ingress(svc)

    def claims(self, pool: lbpool.AddressPool) -> list[lbpool.Claim]:
        out: list[lbpool.Claim] = []
        for svc in self.services.lister.list():
            if (svc.get("spec") or {}).get("type") != "LoadBalancer" or not is_ours(svc):
                continue
            key = meta_key(svc)
            out += lbpool.claim_of(key, svc, self.effective_ingress(key, svc), pool.__contains__)
        return out

    # --- sync -----------------------------------------------------------------------------------

    async def sync(self, key: str) -> float | None:
        ns, _, name = key.partition("/")
        svc = self.services.lister.get(name, ns)
        if svc is None:
            self.written.pop(key, None)
            return None
        if wants_load_balancer(svc):
            await self.ensure(key, svc)
        elif FINALIZER in (svc["metadata"].get("finalizers") or []):
            await self.release(key, svc)
        return None

    async def ensure(self, key: str, svc: Obj) -> None:
        pool = self.pool()
        allocator = lbpool.Allocator(pool, self.claims(pool))
        spec, meta = svc.get("spec") or {}, svc["metadata"]
        current = [i for i in self.effective_ingress(key, svc) if i.get("ip")]
        families = spec.get("ipFamilies") or ["IPv4"]
        result = allocator.allocate(key, lbpool.service_ports(svc), family=str(families[0]),
                                    requested=str(spec.get("loadBalancerIP") or ""),
                                    current=str(current[0]["ip"]) if current else "",
                                    age=(str(meta.get("creationTimestamp") or ""), key))
        if result.ip is None:
            if not pool and not self.configured:
                result.error += " (no node has an InternalIP yet)"
            self.recorder.event(_ref(svc), "Warning", "AllocationFailed",
                                f'Failed to allocate IP for "{key}": {result.error}')
            log.info("%s: %s: %s", NAME, key, result.error)
            if current:  # the address it had is no longer its to keep: back to <pending>
                await self._write_status(key, svc, [])
            return
        want = [{"ip": result.ip, "ipMode": "VIP"}]
        if [{"ip": i.get("ip"), "ipMode": i.get("ipMode") or "VIP"} for i in current] == want:
            return
        self.recorder.event(_ref(svc), "Normal", "EnsuringLoadBalancer", "Ensuring load balancer")
        svc = await self._add_finalizer(svc)
        await self._write_status(key, svc, want)
        log.info("%s: %s gets %s", NAME, key, result.ip)
        self.recorder.event(_ref(svc), "Normal", "IPAllocated", f'Assigned IP ["{result.ip}"]')
        self.recorder.event(_ref(svc), "Normal", "EnsuredLoadBalancer", "Ensured load balancer")

    async def release(self, key: str, svc: Obj) -> None:
        self.recorder.event(_ref(svc), "Normal", "DeletingLoadBalancer", "Deleting load balancer")
        if not svc["metadata"].get("deletionTimestamp") and lb_ingress(svc):
            svc = await self._write_status(key, svc, [])
        await self._remove_finalizer(svc)
        self.written.pop(key, None)
        self.recorder.event(_ref(svc), "Normal", "DeletedLoadBalancer", "Deleted load balancer")
        self._requeue_all()

    # --- writes ---------------------------------------------------------------------------------

    # Finalizers go through services/status, as upstream's service controller patches them: a Service's
    # status subresource keeps metadata changes, and that is all the controller's role may write.
    async def _add_finalizer(self, svc: Obj) -> Obj:
        finalizers = list(svc["metadata"].get("finalizers") or [])
        if FINALIZER in finalizers:
            return svc
        return await self._patch(svc, {"metadata": {"finalizers": [*finalizers, FINALIZER],
                                                    "resourceVersion": svc["metadata"].get("resourceVersion")}},
                                 subresource="status")

    async def _remove_finalizer(self, svc: Obj) -> Obj:
        finalizers = list(svc["metadata"].get("finalizers") or [])
        if FINALIZER not in finalizers:
            return svc
        rest = [f for f in finalizers if f != FINALIZER]
        return await self._patch(svc, {"metadata": {"finalizers": rest or None,
                                                    "resourceVersion": svc["metadata"].get("resourceVersion")}},
                                 subresource="status")

    async def _write_status(self, key: str, svc: Obj, ingress: list[Obj]) -> Obj:
        body: Obj = {"metadata": {"resourceVersion": svc["metadata"].get("resourceVersion")},
                     "status": {"loadBalancer": {"ingress": ingress or None}}}
        out = await self._patch(svc, body, subresource="status")
        self.written[key] = _Written(numeric_rv(out), ingress)
        return out

    async def _patch(self, svc: Obj, body: Obj, subresource: str = "") -> Obj:
        meta = svc["metadata"]
        try:
            return await self.client.patch(SERVICES, meta["name"], body, namespace=meta.get("namespace"),
                                           patch_type="merge", subresource=subresource)
        except ApiError as exc:
            if is_not_found(exc):
                return svc
            raise


def new(ctx: ControllerContext) -> ServiceLBController:
    return ServiceLBController(ctx)
