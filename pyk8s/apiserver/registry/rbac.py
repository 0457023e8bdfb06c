"""Stores of the RBAC kinds: the generic store plus escalation prevention (``authorization.escalation``).

Upstream checks escalation in the rbac REST storage, after the object is
defaulted and validated and before it is written; here that is the
validating admission phase of creates and updates (patches included, on
the patched object).
"""

from __future__ import annotations

from typing import Any

from pyk8s.apiserver.authorization import escalation
from pyk8s.apiserver.registry.generic import GenericStore

Obj = dict[str, Any]


#: What the garbage collector changes; an update touching nothing else is not checked (upstream's
#: IsOnlyMutatingGCFields), so the collector may drop owner references it does not hold the rights for.
_GC_FIELDS = ("ownerReferences", "finalizers")
_POLICY_FIELDS = ("rules", "aggregationRule", "roleRef", "subjects")


def only_gc_fields_changed(new: Obj, old: Obj | None) -> bool:
    if old is None:
        return False
    if any(new.get(k) != old.get(k) for k in _POLICY_FIELDS):
        return False
    new_meta, old_meta = new.get("metadata") or {}, old.get("metadata") or {}
    if any(new_meta.get(k) != old_meta.get(k) for k in ("labels", "annotations", "name", "namespace")):
        return False
    return any(new_meta.get(k) != old_meta.get(k) for k in _GC_FIELDS)


class RoleStore(GenericStore):
    async def _admit(self, operation: str, obj: Obj, old: Obj | None, *args: Any, **kwargs: Any) -> None:
        await super()._admit(operation, obj, old, *args, **kwargs)
        if kwargs.get("validating") and not only_gc_fields_changed(obj, old):
            await escalation.check_role(self.resource.plural, obj, old)


class BindingStore(GenericStore):
    async def _admit(self, operation: str, obj: Obj, old: Obj | None, *args: Any, **kwargs: Any) -> None:
        await super()._admit(operation, obj, old, *args, **kwargs)
        if kwargs.get("validating") and not only_gc_fields_changed(obj, old):
            await escalation.check_binding(self.resource.plural, obj)
