"""``FakeObjectSource``: the runtime manager's view of API objects, in memory.

Implements ``pyk8s.kubelet.kuberuntime.sources.ObjectSource``.  Tests put
objects in with ``add(obj)`` (ConfigMap, Secret, Service,
PersistentVolumeClaim, PersistentVolume, keyed by kind/namespace/name),
remove them with ``delete``; TokenRequests answer ``token-<n>`` tokens
(``tokens_issued`` records each request) expiring after the requested
seconds on ``clock``.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass, field
from typing import Any

from pyk8s.kubelet.kuberuntime.sources import ObjectNotFound
from pyk8s.util.clock import REAL_CLOCK, Clock

Obj = dict[str, Any]
_RESOURCE = {"ConfigMap": "configmap", "Secret": "secret", "PersistentVolumeClaim": "persistentvolumeclaim",
             "PersistentVolume": "persistentvolume", "Service": "service",
             "RuntimeClass": "runtimeclass.node.k8s.io"}


@dataclass
class FakeObjectSource:
    clock: Clock = REAL_CLOCK
    objects: dict[tuple[str, str, str], Obj] = field(default_factory=dict)
    tokens_issued: list[Obj] = field(default_factory=list)

    def add(self, obj: Obj) -> Obj:
        meta = obj.get("metadata") or {}
        self.objects[(obj["kind"], meta.get("namespace", ""), meta["name"])] = copy.deepcopy(obj)
        return obj

    def delete(self, kind: str, namespace: str, name: str) -> None:
        self.objects.pop((kind, namespace, name), None)

    def _get(self, kind: str, namespace: str, name: str) -> Obj:
        try:
            return copy.deepcopy(self.objects[(kind, namespace, name)])
        except KeyError:
            raise ObjectNotFound(_RESOURCE[kind], name) from None

    async def get_configmap(self, namespace: str, name: str) -> Obj:
        return self._get("ConfigMap", namespace, name)

    async def get_secret(self, namespace: str, name: str) -> Obj:
        return self._get("Secret", namespace, name)

    async def list_services(self) -> list[Obj]:
        return [copy.deepcopy(o) for (kind, _, _), o in self.objects.items() if kind == "Service"]

    async def get_persistent_volume_claim(self, namespace: str, name: str) -> Obj:
        return self._get("PersistentVolumeClaim", namespace, name)

    async def get_persistent_volume(self, name: str) -> Obj:
        return self._get("PersistentVolume", "", name)

    async def get_runtime_class(self, name: str) -> Obj:
        return self._get("RuntimeClass", "", name)

    async def request_token(self, namespace: str, service_account: str, *, audiences: list[str],
                            expiration_seconds: int, pod_name: str, pod_uid: str) -> Obj:
        self.tokens_issued.append({"namespace": namespace, "serviceAccount": service_account,
                                   "audiences": list(audiences), "expirationSeconds": expiration_seconds,
                                   "pod": pod_name, "podUID": pod_uid})
        expires = self.clock.now() + datetime.timedelta(seconds=expiration_seconds)
        return {"token": f"token-{len(self.tokens_issued)}",
                "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
