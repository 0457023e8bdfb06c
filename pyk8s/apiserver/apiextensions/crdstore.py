"""The CustomResourceDefinition store: the generic one, plus upstream's deletion rule.

Deleting a CRD first marks it (``deletionTimestamp`` and the
``customresourcecleanup.apiextensions.k8s.io`` finalizer); the CRD controller
deletes its custom objects, then removes the finalizer and the CRD goes.
"""

from __future__ import annotations

from typing import Any

from pyk8s.apiserver.apiextensions.types import FINALIZER
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.objectmeta import now_rfc3339
from pyk8s.apiserver.registry.rest import DeleteOptions

Obj = dict[str, Any]


class CRDStore(GenericStore):
    async def graceful_delete(self, obj: Obj, opts: DeleteOptions) -> bool:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            return bool(meta.get("finalizers"))
        finalizers = list(meta.get("finalizers") or [])
        if FINALIZER not in finalizers:
            finalizers.append(FINALIZER)
        meta["finalizers"] = finalizers
        meta["deletionTimestamp"] = now_rfc3339()
        meta["deletionGracePeriodSeconds"] = 0
        return True
