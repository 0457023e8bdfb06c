"""ComponentStatus (kind in ``api/core_v1/componentstatus.py``), computed on every read as upstream's
deprecated API computes it.

Upstream probes the scheduler's and controller manager's ``/healthz`` on localhost and asks each
etcd server for its health.  pyk8s's components may run in other processes or on other machines
and serve no health port the API server knows, so the checks here are:

* ``scheduler`` and ``controller-manager``: the leader-election Lease (``kube-system/kube-scheduler``,
  ``kube-system/kube-controller-manager``) is held and was renewed within its
  ``leaseDurationSeconds``: some instance is alive and leading;
* ``etcd-0``: the API server's storage answers a current-revision read (etcd or SQLite alike).

Healthy components say ``ok`` as upstream's do; an unhealthy one has the reason in ``error``.
"""

from __future__ import annotations

import datetime
from typing import Any

from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rest import ListOptions
from pyk8s.machinery.errors import StatusError

Obj = dict[str, Any]
LEASE_NAMESPACE = "kube-system"
LEASED = (("scheduler", "kube-scheduler"), ("controller-manager", "kube-controller-manager"))
ETCD = "etcd-0"


def _status(name: str, healthy: bool, detail: str) -> Obj:
    condition: Obj = {"type": "Healthy", "status": "True" if healthy else "False"}
    if healthy:
        condition["message"] = detail
    else:
        condition["error"] = detail
    return {"kind": "ComponentStatus", "apiVersion": "v1", "metadata": {"name": name}, "conditions": [condition]}


def _parse(value: Any) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def lease_health(lease: Obj | None, lease_name: str, now: datetime.datetime) -> tuple[bool, str]:
    where = f"{LEASE_NAMESPACE}/{lease_name}"
    if lease is None:
        return False, f"no leader-election Lease {where}: no instance has been elected"
    spec = lease.get("spec") or {}
    holder = spec.get("holderIdentity") or ""
    renewed = _parse(spec.get("renewTime"))
    if not holder or renewed is None:
        return False, f"leader-election Lease {where} has no holder"
    expires = renewed + datetime.timedelta(seconds=int(spec.get("leaseDurationSeconds") or 0))
    if expires <= now:
        return False, (f"leader-election Lease {where} held by {holder} expired at "
                       f"{expires.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    return True, "ok"


class ComponentStatusStore(GenericStore):
    """get and list only; nothing is stored under this resource."""

    async def _compute(self, name: str) -> Obj | None:
        if name == ETCD:
            try:
                await self.storage.current_revision()
            except Exception as exc:  # noqa: BLE001 - any storage failure is the component's ill health
                return _status(ETCD, False, f"storage unreachable: {exc}")
            return _status(ETCD, True, "ok")
        lease_name = dict(LEASED).get(name)
        if lease_name is None:
            return None
        leases = self.registry.store("coordination.k8s.io", "leases") if self.registry is not None else None
        lease = None
        if leases is not None:
            try:
                lease = await leases.get(LEASE_NAMESPACE, lease_name)
            except StatusError as exc:
                if exc.code != 404:
                    raise
        healthy, detail = lease_health(lease, lease_name, datetime.datetime.now(datetime.UTC))
        return _status(name, healthy, detail)

    async def get(self, namespace: str, name: str, *, resource_version: str = "") -> Obj:
        found = await self._compute(name)
        if found is None:
            raise self._not_found(name)
        return found

    async def list(self, namespace: str, opts: ListOptions) -> Obj:
        match = self._filter(opts.label_selector, opts.field_selector)
        items = []
        for name in (*(n for n, _ in LEASED), ETCD):
            obj = await self._compute(name)
            if obj is not None and match(obj):
                items.append(obj)
        return {"kind": "ComponentStatusList", "apiVersion": "v1", "metadata": {}, "items": items}
