"""PriorityClasses: the built-in ``system-`` classes cannot be deleted one by one.

As upstream, the guard sits on the single-object delete only: a collection
delete goes through the generic path and removes them too (the API server
recreates them at its next start).
"""

from __future__ import annotations

import contextvars
from typing import Any

from pyk8s.api.scheduling_v1 import SYSTEM_PRIORITY_CLASS_NAMES
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions
from pyk8s.machinery import errors

Obj = dict[str, Any]
_IN_COLLECTION = contextvars.ContextVar("priorityclass_collection_delete", default=False)


class PriorityClassStore(GenericStore):
    async def delete(self, namespace: str, name: str, opts: DeleteOptions) -> Obj:
        if name in SYSTEM_PRIORITY_CLASS_NAMES and not _IN_COLLECTION.get():
            raise errors.forbidden("this is a system priority class and cannot be deleted", self.resource.plural,
                                   name, self.resource.group)
        return await super().delete(namespace, name, opts)

    async def delete_collection(self, namespace: str, list_opts: ListOptions, opts: DeleteOptions) -> Obj:
        token = _IN_COLLECTION.set(True)
        try:
            return await super().delete_collection(namespace, list_opts, opts)
        finally:
            _IN_COLLECTION.reset(token)
