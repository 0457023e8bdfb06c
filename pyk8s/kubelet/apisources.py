"""The runtime manager's ``ObjectSource`` backed by the API server.

ConfigMaps, Secrets, PersistentVolumeClaims and PersistentVolumes are read
with a GET each time a pod syncs (upstream's default ``Watch`` strategy
caches them; a GET per sync is simpler and still sees edits within a sync,
which is what keeps mounted ConfigMaps and Secrets fresh).  Identical GETs asked
while one is in flight share its answer: a burst of pods in one namespace
reads kube-root-ca.crt with a few GETs, not one each (no staler than the
watch cache upstream reads it from).  Services come
from an informer, since every pod's environment lists all of them.  A 404
becomes ``ObjectNotFound`` with upstream's singular wording.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.rest import Client, Resource
from pyk8s.client.tools.informer import SharedInformer
from pyk8s.kubelet.kuberuntime.sources import ObjectNotFound

Obj = dict[str, Any]

CONFIGMAPS = Client.resource("", "v1", "configmaps", namespaced=True)
SECRETS = Client.resource("", "v1", "secrets", namespaced=True)
SERVICES = Client.resource("", "v1", "services", namespaced=True)
PVCS = Client.resource("", "v1", "persistentvolumeclaims", namespaced=True)
PVS = Client.resource("", "v1", "persistentvolumes", namespaced=False)
SERVICE_ACCOUNTS = Client.resource("", "v1", "serviceaccounts", namespaced=True)
RUNTIME_CLASSES = Client.resource("node.k8s.io", "v1", "runtimeclasses", namespaced=False)


class APIObjectSource:
    def __init__(self, client: Client, services: SharedInformer) -> None:
        self.client = client
        self.services = services
        self._in_flight: dict[tuple[str, str, str], asyncio.Future[Obj]] = {}

    async def _get(self, rt: Resource, singular: str, name: str, namespace: str | None) -> Obj:
        key = (singular, namespace or "", name)
        shared = self._in_flight.get(key)
        if shared is None:
            shared = asyncio.ensure_future(self._fetch(rt, singular, name, namespace))
            self._in_flight[key] = shared
            shared.add_done_callback(lambda f: self._settled(key, f))
        # shield: one caller's cancellation (its pod deleted mid-sync) does not cancel the others' GET.
        # Each caller gets its own copy, as it would from its own GET.
        return copy.deepcopy(await asyncio.shield(shared))

    def _settled(self, key: tuple[str, str, str], future: asyncio.Future[Obj]) -> None:
        self._in_flight.pop(key, None)
        if not future.cancelled():
            future.exception()  # retrieved: no "never retrieved" warning when every caller has gone

    async def _fetch(self, rt: Resource, singular: str, name: str, namespace: str | None) -> Obj:
        try:
            return await self.client.get(rt, name, namespace=namespace)
        except ApiError as exc:
            if is_not_found(exc):
                raise ObjectNotFound(singular, name) from exc
            raise

    async def get_configmap(self, namespace: str, name: str) -> Obj:
        return await self._get(CONFIGMAPS, "configmap", name, namespace)

    async def get_secret(self, namespace: str, name: str) -> Obj:
        return await self._get(SECRETS, "secret", name, namespace)

    async def list_services(self) -> list[Obj]:
        return self.services.store.list()

    async def get_persistent_volume_claim(self, namespace: str, name: str) -> Obj:
        return await self._get(PVCS, "persistentvolumeclaim", name, namespace)

    async def get_persistent_volume(self, name: str) -> Obj:
        return await self._get(PVS, "persistentvolume", name, None)

    async def get_runtime_class(self, name: str) -> Obj:
        return await self._get(RUNTIME_CLASSES, "runtimeclass.node.k8s.io", name, None)

    async def request_token(self, namespace: str, service_account: str, *, audiences: list[str],
                            expiration_seconds: int, pod_name: str, pod_uid: str) -> Obj:
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"audiences": audiences, "expirationSeconds": expiration_seconds,
                         "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "uid": pod_uid}}}
        try:
            created = await self.client.create(SERVICE_ACCOUNTS, body, namespace=namespace, subresource="token",
                                               name=service_account)
        except ApiError as exc:
            if is_not_found(exc):
                raise ObjectNotFound("serviceaccount", service_account) from exc
            raise
        status: Obj = created.get("status") or {}
        return status
