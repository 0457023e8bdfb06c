"""Namespaces: deletion marks the namespace Terminating and keeps it until the
namespace controller has emptied it and cleared ``spec.finalizers`` through
the ``finalize`` subresource; only then (and with no metadata.finalizers) is
it removed.

``default``, ``kube-system`` and ``kube-public`` may never be deleted: the
control plane lives in them (upstream's NamespaceLifecycle admission refuses
with 403 before anything else is looked at)."""

from __future__ import annotations

from typing import Any

from pyk8s.apiserver.registry import objectmeta
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rest import DeleteOptions
from pyk8s.machinery import errors

Obj = dict[str, Any]
PURGE_MESSAGE = ("The system is ensuring all content is removed from this namespace.  Upon completion, this "
                 "namespace will automatically be purged by the system.")

IMMORTAL = frozenset({"default", "kube-system", "kube-public"})


class NamespaceStore(GenericStore):
    async def delete(self, namespace: str, name: str, opts: DeleteOptions) -> Obj:
        if name in IMMORTAL:
            raise errors.forbidden("this namespace may not be deleted", "namespaces", name)
        return await super().delete(namespace, name, opts)

    async def graceful_delete(self, obj: Obj, opts: DeleteOptions) -> bool:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            if (obj.get("spec") or {}).get("finalizers"):
                raise self._conflict(meta["name"], PURGE_MESSAGE)
            return bool(meta.get("finalizers"))
        if not (obj.get("spec") or {}).get("finalizers"):
            return False
        meta["deletionTimestamp"] = objectmeta.now_rfc3339()
        meta["deletionGracePeriodSeconds"] = 0
        obj.setdefault("status", {})["phase"] = "Terminating"
        return True

    def delete_on_update(self, new: Obj) -> bool:
        return super().delete_on_update(new) and not (new.get("spec") or {}).get("finalizers")
