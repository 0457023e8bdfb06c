"""The resource quota controller: keeps every ResourceQuota's ``status.hard`` and ``status.used`` true.

As upstream's ``pkg/controller/resourcequota``: a quota is synced when it is created or its spec
changes, when an object it may count is created or deleted in its namespace or changes what it
costs (replenishment), and every
``resource_quota_sync_period`` seconds (upstream's 5 minutes) in any case.  A sync recounts from
scratch: ``status.hard`` becomes ``spec.hard`` and ``status.used`` the sum, over the namespace's
objects that match the quota's scopes, of what each costs (``api/core_v1/helpers/quota.py``, the
rules the ResourceQuota admission charges by).  The status is written only when it changed.

Pods, services, claims, ConfigMaps, Secrets, ReplicationControllers and ResourceQuotas are
watched through shared informers; other ``count/<resource>.<group>`` names are counted with a
list through the API (the group's preferred version from discovery) and rechecked every
``resource_quota_count_period`` seconds (15), since no informer tells of their changes.
"""

from __future__ import annotations

import datetime
import functools
import logging
from typing import Any

from pyk8s.api.core_v1.helpers import quota as q
from pyk8s.client.errors import ApiError, is_conflict, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.informer import EventHandler, SharedInformer
from pyk8s.client.tools.store import split_key
from pyk8s.controllers.manager import ControllerContext

log = logging.getLogger(__name__)
Obj = dict[str, Any]

QUOTAS = DynamicResource("", "v1", "resourcequotas", True, "ResourceQuota")
INFORMED: dict[q.GroupResource, DynamicResource] = {
    q.PODS: DynamicResource("", "v1", "pods", True, "Pod"),
    q.SERVICES: DynamicResource("", "v1", "services", True, "Service"),
    q.PVCS: DynamicResource("", "v1", "persistentvolumeclaims", True, "PersistentVolumeClaim"),
    ("", "configmaps"): DynamicResource("", "v1", "configmaps", True, "ConfigMap"),
    ("", "secrets"): DynamicResource("", "v1", "secrets", True, "Secret"),
    ("", "replicationcontrollers"): DynamicResource("", "v1", "replicationcontrollers", True,
                                                    "ReplicationController"),
    ("", "resourcequotas"): QUOTAS,
}


def compute_status(quota: Obj, objects: dict[q.GroupResource, list[Obj]],
                   now: datetime.datetime | None = None) -> Obj:
    """The status a quota should have, given the namespace's objects of each resource it counts."""
    hard = dict((quota.get("spec") or {}).get("hard") or {})
    totals: dict[str, q.quantity.Quantity] = {name: q.ZERO for name in hard}
    for resource, items in objects.items():
        names = q.matching(hard, resource)
        if not names:
            continue
        for obj in items:
            if q.matches_scopes(quota, resource, obj):
                cost = q.usage(resource, obj, now)
                totals = q.add(totals, {k: v for k, v in cost.items() if k in names})
    return {"hard": hard, "used": {name: str(value) for name, value in totals.items()}}


class ResourceQuotaController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.resync = float(ctx.option("resource_quota_sync_period", 300))
        self.count_period = float(ctx.option("resource_quota_count_period", 15))
        self.quotas = ctx.factory.informer(QUOTAS)
        self.informers: dict[q.GroupResource, SharedInformer] = {
            gr: ctx.factory.informer(rt) for gr, rt in INFORMED.items()}
        self.controller = Controller("resourcequota", self.sync,
                                     workers=int(ctx.option("resourcequota_workers", 5)),
                                     informers=[*self.informers.values()], clock=ctx.clock)
        self.quotas.add_event_handler(EventHandler(on_add=self.controller.enqueue, on_update=self._quota_updated))
        for gr, informer in self.informers.items():
            if gr != ("", "resourcequotas"):
                informer.add_event_handler(EventHandler(
                    on_add=self._replenish, on_update=functools.partial(self._updated, gr),
                    on_delete=self._replenish))
        self.versions: dict[str, str] = {}
        self.ready = self.controller.ready

    def _quota_updated(self, old: Obj, new: Obj) -> None:
        # Its own status writes come back here too; only a spec change (or a status someone else
        # changed away from the truth, caught by the periodic resync) needs a recount.
        if old.get("spec") != new.get("spec") or (new.get("status") or {}).get("hard") != \
                (new.get("spec") or {}).get("hard"):
            self.controller.enqueue(new)

    def _updated(self, resource: q.GroupResource, old: Obj, new: Obj) -> None:
        # Only a change of what the object costs (a pod finishing or being deleted, a service changing
        # type) needs a recount: status churn of thousands of pods must not recount each time.
        if q.usage(resource, old) != q.usage(resource, new):
            self._replenish(new)

    def _replenish(self, obj: Any) -> None:
        meta = (obj.get("metadata") if isinstance(obj, dict) else getattr(obj, "obj", {}).get("metadata")) or {}
        namespace = meta.get("namespace")
        if namespace:
            for quota in self.quotas.lister.list(namespace):
                self.controller.enqueue(quota)

    async def run(self) -> None:
        await self.controller.run()

    async def _objects(self, namespace: str, resource: q.GroupResource) -> list[Obj]:
        informer = self.informers.get(resource)
        if informer is not None:
            return informer.lister.list(namespace)
        group, plural = resource
        version = await self._version(group)
        if not version:
            return []
        try:
            listed = await self.client.list(DynamicResource(group, version, plural, True), namespace=namespace)
        except ApiError as exc:
            if is_not_found(exc):
                return []
            raise
        items: list[Obj] = listed.get("items") or []
        return items

    async def _version(self, group: str) -> str:
        if not group:
            return "v1"
        if group not in self.versions:
            try:
                doc = await self.client.request("GET", f"/apis/{group}")
            except ApiError as exc:
                if is_not_found(exc):
                    return ""
                raise
            self.versions[group] = ((doc.get("preferredVersion") or {}).get("version")) or ""
        return self.versions[group]

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        quota = self.quotas.lister.get(name, ns)
        if quota is None:
            return None
        hard = (quota.get("spec") or {}).get("hard") or {}
        resources = {r for n in hard if (r := q.resource_of(n)) is not None}
        objects = {r: await self._objects(ns, r) for r in resources}
        status = compute_status(quota, objects, self.clock.now())
        if status != {"hard": (quota.get("status") or {}).get("hard") or {},
                      "used": (quota.get("status") or {}).get("used") or {}} or not quota.get("status"):
            updated = dict(quota)
            updated["status"] = status
            try:
                await self.client.update_status(QUOTAS, updated, namespace=ns)
            except ApiError as exc:
                if is_not_found(exc):
                    return None
                if not is_conflict(exc):
                    raise
                return 0.2  # admission charged it meanwhile: recount from the newer object
        uninformed = any(r not in self.informers for r in resources)
        return self.count_period if uninformed else self.resync


def new(ctx: ControllerContext) -> ResourceQuotaController:
    return ResourceQuotaController(ctx)
