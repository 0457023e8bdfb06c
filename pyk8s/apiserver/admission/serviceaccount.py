"""ServiceAccount: a new pod's ServiceAccount (``default`` unless named), its imagePullSecrets, and
the ``kube-api-access-xxxxx`` token volume."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from pyk8s.apiserver.admission.interface import CREATE, PODS, Attributes, Obj, Plugin
from pyk8s.apiserver.registry import cachedreads

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

NAME = "ServiceAccount"
SERVICE_ACCOUNTS = ("", "serviceaccounts")
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_EXPIRATION = 3607  # upstream's: an hour plus seven seconds, so clients see a refreshed token first
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def api_access_volume(name: str) -> Obj:
    """The projected volume upstream's ServiceAccount admission adds: a bound token, the root CA, the namespace."""
    return {"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}}


class ServiceAccount(Plugin):
    """A new pod runs as its namespace's ``default`` ServiceAccount unless it names one, gets the account's
    imagePullSecrets when it has none, and (unless the pod or the account opts out with
    ``automountServiceAccountToken: false``) a ``kube-api-access-xxxxx`` volume mounted read-only at
    ``/var/run/secrets/kubernetes.io/serviceaccount`` in every container.

    Deviation, for now: where the ServiceAccount does not exist upstream refuses the pod (403 "error
    looking up service account"); here the pod is admitted without the token volume, so a bare API server
    without the service-account controller still runs pods."""

    name = NAME
    resources = frozenset({PODS})

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        spec, meta = attrs.obj.get("spec"), attrs.obj.get("metadata") or {}
        if attrs.operation != CREATE or not isinstance(spec, dict) or \
                MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            return
        # The deprecated serviceAccount mirrors serviceAccountName, as upstream's v1 conversion keeps it.
        spec["serviceAccountName"] = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        spec["serviceAccount"] = spec["serviceAccountName"]
        account = await self._account(registry, str(meta.get("namespace", "")), spec["serviceAccountName"])
        if account is None:
            return
        if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [{"name": s.get("name", "")} for s in account["imagePullSecrets"]]
        automount = spec.get("automountServiceAccountToken")
        if automount is None:
            automount = account.get("automountServiceAccountToken")
        if automount is False or any(TOKEN_MOUNT_PATH == m.get("mountPath") for c in _containers(spec)
                                     for m in c.get("volumeMounts") or []):
            return
        name = "kube-api-access-" + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
        spec["volumes"] = [*(spec.get("volumes") or []), api_access_volume(name)]
        for container in _containers(spec):
            container["volumeMounts"] = [*(container.get("volumeMounts") or []),
                                         {"name": name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}]

    @staticmethod
    async def _account(registry: Registry, namespace: str, name: str) -> Obj | None:
        # The watch cache, then storage on a miss: upstream's lister with its live lookup.
        store = registry.store(*SERVICE_ACCOUNTS)
        return None if store is None else await cachedreads.get(store, namespace, name)


def _containers(spec: Obj) -> list[Obj]:
    return [c for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])] if isinstance(c, dict)]


def build(options: object) -> Plugin:
    return ServiceAccount()
