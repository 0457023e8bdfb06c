"""ResourceQuota: refuse what would take a namespace past its quotas, and charge what is admitted.

Validating only, last in the chain (upstream's order).  For a create (or an update of a pod,
service or claim: only the increase counts) in a namespace that has quotas, each quota whose
``status.hard`` names something this object counts and whose scopes match it is pertinent:

* a quota on cpu or memory makes every container state them: ``failed quota: <name>: must
  specify limits.cpu for: app``;
* a quota whose ``status.used`` lacks a counted name is not computed yet: ``status unknown for
  quota: <name>, resources: pods``;
* ``used + requested > hard`` is refused: ``exceeded quota: <name>, requested: pods=1, used:
  pods=2, limited: pods=2``.

Otherwise the new usage is written to each pertinent quota's status right away, before the
object is stored (compare-and-swap on the quota's resourceVersion, retried on conflict), so
concurrent creates cannot both take the last unit.  Like upstream, a write that fails after
this leaves usage overcounted until the quota controller recomputes it.  Dry runs charge nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.api.core_v1.helpers import quota as q
from pyk8s.api.core_v1.helpers import resources
from pyk8s.apiserver.admission.interface import CREATE, UPDATE, Attributes, Obj, Plugin
from pyk8s.apiserver.registry import cachedreads
from pyk8s.apiserver.registry.rest import ListOptions, WriteOptions
from pyk8s.machinery import errors

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry
    from pyk8s.apiserver.registry.generic import GenericStore

NAME = "ResourceQuota"
QUOTAS = ("", "resourcequotas")
RETRIES = 10
SETTLE = 3  # event-loop turns to wait for the watch cache to apply the previous create's charge
UPDATE_COUNTED = frozenset({q.PODS, q.SERVICES, q.PVCS})


class ResourceQuota(Plugin):
    name = NAME

    def handles(self, attrs: Attributes) -> bool:
        if not attrs.namespace or attrs.subresource:
            return False
        return attrs.operation == CREATE or (attrs.operation == UPDATE and attrs.resource in UPDATE_COUNTED)

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        store = registry.store(*QUOTAS)
        if store is None:
            return
        quotas = await cachedreads.namespace_items(store, attrs.namespace, settle=SETTLE)
        if not quotas:
            return
        for attempt in range(RETRIES):
            try:
                await self._check_and_charge(store, quotas, attrs)
                return
            except errors.StatusError as exc:
                if exc.reason != "Conflict" or attempt == RETRIES - 1:
                    raise
            quotas = (await store.list(attrs.namespace, ListOptions()))["items"]  # fresh, after a conflict

    async def _check_and_charge(self, store: GenericStore, quotas: list[Obj], attrs: Attributes) -> None:
        pertinent = [quota for quota in quotas if q.quota_matches(quota, attrs.resource, attrs.obj)]
        for quota in pertinent:
            check_quota_status(quota, attrs)
        if not pertinent:
            return
        delta = q.usage(attrs.resource, attrs.obj)
        if attrs.operation == UPDATE and attrs.old is not None:
            delta = q.subtract_non_negative(delta, q.usage(attrs.resource, attrs.old))
        delta = {k: v for k, v in delta.items() if not v.is_zero()}
        if not delta:
            return
        charged: list[Obj] = []
        for quota in pertinent:
            new_used = charge(quota, delta, attrs)
            if new_used is not None:
                updated = dict(quota)
                updated["status"] = {**(quota.get("status") or {}), "used": new_used}
                charged.append(updated)
        if attrs.dry_run:
            return
        for updated in charged:
            name = updated["metadata"]["name"]
            await store.update(attrs.namespace, name, updated, WriteOptions(), subresource="status")


def check_quota_status(quota: Obj, attrs: Attributes) -> None:
    """Constraints and usage stats of one pertinent quota (upstream's checks before counting)."""
    status = quota.get("status") or {}
    hard = status.get("hard") or {}
    restricted = q.matching(hard, attrs.resource)
    name = quota["metadata"]["name"]
    if attrs.resource == q.PODS:
        missing = q.missing_requirements(attrs.obj, restricted)
        if missing:
            raise attrs.forbidden(f"failed quota: {name}: {missing}")
    used = status.get("used") or {}
    unknown = sorted(n for n in restricted if n not in used)
    if unknown:
        raise attrs.forbidden(f"status unknown for quota: {name}, resources: {','.join(unknown)}")


def charge(quota: Obj, delta: dict[str, q.quantity.Quantity], attrs: Attributes) -> dict[str, str] | None:
    """The quota's new ``status.used`` with ``delta`` added (None if it counts none of it); 403 past hard."""
    status = quota.get("status") or {}
    hard = q.parse_list(status.get("hard"))
    used = q.parse_list(status.get("used"))
    requested = {k: v for k, v in delta.items() if k in hard}
    if not requested:
        return None
    new_used = q.add(used, requested)
    exceeded = sorted(k for k in requested if hard[k] < new_used[k])
    if exceeded:
        raise attrs.forbidden(
            f"exceeded quota: {quota['metadata']['name']}, "
            f"requested: {q.pretty({k: requested[k] for k in exceeded})}, "
            f"used: {q.pretty({k: used.get(k, q.ZERO) for k in exceeded})}, "
            f"limited: {q.pretty({k: hard[k] for k in exceeded})}")
    out = {k: str(v) for k, v in new_used.items()}
    for k, text in out.items():
        resources.remember(text, new_used[k])  # read back by the next create's charge
    return out


def build(options: object) -> Plugin:
    return ResourceQuota()
