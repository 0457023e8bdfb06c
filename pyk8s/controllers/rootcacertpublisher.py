"""Root CA certificate publisher: a ``kube-root-ca.crt`` ConfigMap in every active namespace.

Upstream's ``root-ca-cert-publisher``: pods verify the API server with the
``ca.crt`` this ConfigMap holds (the kubelet projects it into every pod's
``kube-api-access`` volume).  The CA is the one the controller manager itself
trusts for the API server (its kubeconfig's certificate authority, as
upstream's ``--root-ca-file``).

Level-triggered on namespace keys: a namespace event, or an event of a
``kube-root-ca.crt`` ConfigMap (deleted, or edited away from the CA),
enqueues the namespace; ``sync`` creates the ConfigMap, or puts ``ca.crt``
and the description back, when they are missing or differ.
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
CONFIGMAPS = DynamicResource("", "v1", "configmaps", True, "ConfigMap")
NAME = "kube-root-ca.crt"
DESCRIPTION_KEY = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
               "distributions of Kubernetes clusters.")


class RootCACertPublisher:
    def __init__(self, ctx: ControllerContext, ca_pem: str) -> None:
        self.client = ctx.client
        self.ca_pem = ca_pem
        self.namespaces = ctx.factory.informer(NAMESPACES)
        self.configmaps = ctx.factory.informer(CONFIGMAPS, field_selector=f"metadata.name={NAME}")
        self.controller = Controller("root-ca-cert-publisher", self.sync, informers=[self.namespaces, self.configmaps],
                                     clock=ctx.clock, workers=int(ctx.option("root_ca_cert_publisher_workers", 1)))
        self.ready = self.controller.ready
        self.namespaces.add_event_handler(on_add=self.controller.enqueue,
                                          on_update=lambda old, new: self.controller.enqueue(new))
        self.configmaps.add_event_handler(on_update=lambda old, new: self._configmap_event(new),
                                          on_delete=self._configmap_event)

    def _configmap_event(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        cm = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        namespace = (cm.get("metadata") or {}).get("namespace")
        if namespace:
            self.controller.queue.add(namespace)

    async def run(self) -> None:
        await self.controller.run()

    async def sync(self, key: str) -> None:
        ns = self.namespaces.lister.get(key)
        if ns is None or namespaces.is_terminating(ns):
            return
        current = self.configmaps.lister.get(NAME, key)
        try:
            if current is None:
                await self.client.create(CONFIGMAPS, self._wanted(key), namespace=key)
            elif (current.get("data") or {}).get("ca.crt") != self.ca_pem \
                    or ((current["metadata"].get("annotations") or {}).get(DESCRIPTION_KEY) != DESCRIPTION):
                await self.client.update(CONFIGMAPS, {**self._wanted(key), "metadata": {
                    **current["metadata"], "annotations": {**(current["metadata"].get("annotations") or {}),
                                                           DESCRIPTION_KEY: DESCRIPTION}}}, namespace=key)
        except ApiError as exc:
            # A racing creator, a namespace on its way out: nothing more to do.
            if is_already_exists(exc) or is_not_found(exc) or (is_namespace_terminating(exc)):
                return
            raise

    def _wanted(self, namespace: str) -> Obj:
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": NAME, "namespace": namespace, "annotations": {DESCRIPTION_KEY: DESCRIPTION}},
                "data": {"ca.crt": self.ca_pem}}


def new(ctx: ControllerContext) -> RootCACertPublisher:
    ca = ctx.client.config.ca_pem.decode() if ctx.client.config.ca_pem else ""
    return RootCACertPublisher(ctx, ca)
