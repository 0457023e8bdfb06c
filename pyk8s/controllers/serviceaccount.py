"""ServiceAccounts controller: a ``default`` ServiceAccount in every active namespace.

Level-triggered on namespace keys: namespace events and ``default``
ServiceAccount events (a deleted one is recreated) enqueue the namespace;
``sync`` creates the account when the namespace is active and the cache does
not have it.  AlreadyExists is success (another writer won).
"""

from __future__ import annotations

from typing import Any

from pyk8s.api.core_v1.helpers import namespaces
from pyk8s.client.errors import ApiError, is_already_exists, is_namespace_terminating, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.store import DeletedFinalStateUnknown
from pyk8s.controllers.manager import ControllerContext

Obj = dict[str, Any]
NAMESPACES = DynamicResource("", "v1", "namespaces", False, "Namespace")
SERVICE_ACCOUNTS = DynamicResource("", "v1", "serviceaccounts", True, "ServiceAccount")
ACCOUNTS = ("default",)


class ServiceAccountsController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.namespaces = ctx.factory.informer(NAMESPACES)
        self.accounts = ctx.factory.informer(SERVICE_ACCOUNTS)
        self.controller = Controller("serviceaccount", self.sync, informers=[self.namespaces, self.accounts],
                                     clock=ctx.clock, workers=int(ctx.option("serviceaccount_workers", 1)))
        self.ready = self.controller.ready
        self.namespaces.add_event_handler(on_add=self.controller.enqueue,
                                          on_update=lambda old, new: self.controller.enqueue(new))
        self.accounts.add_event_handler(on_delete=self._account_deleted)

    def _account_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        sa = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        meta = sa.get("metadata") or {}
        if meta.get("name") in ACCOUNTS and meta.get("namespace"):
            self.controller.queue.add(meta["namespace"])

    async def run(self) -> None:
        await self.controller.run()

    async def sync(self, key: str) -> None:
        ns = self.namespaces.lister.get(key)
        if ns is None or namespaces.is_terminating(ns):
            return
        for name in ACCOUNTS:
            if self.accounts.lister.get(name, key) is not None:
                continue
            body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": key}}
            try:
                await self.client.create(SERVICE_ACCOUNTS, body, namespace=key)
            except ApiError as exc:
                # Gone namespace or a racing creator: nothing more to do.
                if is_already_exists(exc) or is_not_found(exc):
                    continue
                if is_namespace_terminating(exc):
                    continue
                raise


def new(ctx: ControllerContext) -> ServiceAccountsController:
    return ServiceAccountsController(ctx)
