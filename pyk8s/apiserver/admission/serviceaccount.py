"""ServiceAccount: a new pod's ServiceAccount (``default`` unless named), its imagePullSecrets, the
``kube-api-access-xxxxx`` token volume, and the mountable-secrets rule of accounts annotated
``kubernetes.io/enforce-mountable-secrets: "true"`` (``mountable.py``)."""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

from pyk8s.apiserver.admission import mountable
from pyk8s.apiserver.admission.interface import CREATE, PODS, UPDATE, Attributes, Obj, Plugin
from pyk8s.apiserver.authorization.podrefs import pod_refs
from pyk8s.apiserver.registry import cachedreads

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

NAME = "ServiceAccount"
SERVICE_ACCOUNTS = ("", "serviceaccounts")
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_EXPIRATION = 3607  # upstream's: an hour plus seven seconds, so clients see a refreshed token first
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
DEFAULT_ACCOUNT = "default"
#: Upstream looks the ``default`` account up this many times (the controller may be about to make it).
DEFAULT_ATTEMPTS = 10
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

    A pod naming a ServiceAccount that does not exist is refused as upstream refuses it (403 ``pods "x" is
    forbidden: error looking up service account ns/sa: serviceaccount "sa" not found``); the ``default``
    account is looked up ten times, 100-200 ms apart, since the service-account controller makes it
    just after its namespace.  Mirror pods are left unchanged and may reference no ServiceAccount, Secret
    or token projection (upstream's Validate)."""

    name = NAME
    resources = frozenset({PODS, SERVICE_ACCOUNTS})

    static_handles = True  # operation, resource and subresource only

    def handles(self, attrs: Attributes) -> bool:
        # ``kubectl debug`` adds containers through pods/ephemeralcontainers: held to the same secrets.
        return attrs.resource in self.resources and attrs.subresource in ("", mountable.EPHEMERAL)

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        spec, meta = attrs.obj.get("spec"), attrs.obj.get("metadata") or {}
        if attrs.resource == SERVICE_ACCOUNTS:
            attrs.warnings.extend(mountable.deprecation_warnings(attrs.obj))
            return
        if attrs.operation != CREATE or attrs.subresource or not isinstance(spec, dict):
            return
        if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            _check_mirror(attrs, spec)
            return
        # The deprecated serviceAccount mirrors serviceAccountName, as upstream's v1 conversion keeps it.
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or DEFAULT_ACCOUNT
        spec["serviceAccountName"] = spec["serviceAccount"] = name
        namespace = attrs.namespace
        account = await self._account(registry, namespace, name)
        if account is None:
            raise attrs.forbidden(f'error looking up service account {namespace}/{name}: '
                                  f'serviceaccount "{name}" not found')
        if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [{"name": s.get("name", "")} for s in account["imagePullSecrets"]]
        automount = spec.get("automountServiceAccountToken")
        if automount is None:
            automount = account.get("automountServiceAccountToken")
        if automount is False or any(TOKEN_MOUNT_PATH == m.get("mountPath") for c in _containers(spec)
                                     for m in c.get("volumeMounts") or []):
            return
        # Upstream draws this suffix from math/rand: a name, not a secret (one call, no getrandom per character).
        name = "kube-api-access-" + "".join(random.choices(_SUFFIX_ALPHABET, k=5))  # noqa: S311
        spec["volumes"] = [*(spec.get("volumes") or []), api_access_volume(name)]
        for container in _containers(spec):
            container["volumeMounts"] = [*(container.get("volumeMounts") or []),
                                         {"name": name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}]

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        """Upstream's Validate: an account enforcing mountable secrets limits the pod to the Secrets it lists
        (after every mutation, so a Secret added by a later plugin is caught too)."""
        spec, meta = attrs.obj.get("spec"), attrs.obj.get("metadata") or {}
        if attrs.resource != PODS or not isinstance(spec, dict) or MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            return
        ephemeral = attrs.operation == UPDATE and attrs.subresource == mountable.EPHEMERAL
        if not ephemeral and (attrs.operation != CREATE or attrs.subresource):
            return
        store = registry.store(*SERVICE_ACCOUNTS)
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or DEFAULT_ACCOUNT
        account = None if store is None else await cachedreads.get(store, attrs.namespace, name)
        if account is None or not mountable.enforced(account):
            return
        problem = mountable.ephemeral_violation(account, spec) if ephemeral else mountable.violation(account, spec)
        if problem:
            raise attrs.forbidden(problem)

    @staticmethod
    async def _account(registry: Registry, namespace: str, name: str) -> Obj | None:
        # The watch cache, then storage on a miss: upstream's lister with its live lookup.
        store = registry.store(*SERVICE_ACCOUNTS)
        if store is None:
            return None
        attempts = DEFAULT_ATTEMPTS if name == DEFAULT_ACCOUNT else 1
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(random.uniform(0.1, 0.2))  # noqa: S311 - a retry spread, not a secret
            found = await cachedreads.get(store, namespace, name)
            if found is not None:
                return found
        return None


def _check_mirror(attrs: Attributes, spec: Obj) -> None:
    """What upstream's Validate refuses in a mirror pod (its spec is the static pod's, never changed here)."""
    if spec.get("serviceAccountName") or spec.get("serviceAccount"):
        raise attrs.forbidden("a mirror pod may not reference service accounts")
    if pod_refs(attrs.obj).secrets:
        raise attrs.forbidden("a mirror pod may not reference secrets")
    for volume in spec.get("volumes") or []:
        for source in ((volume or {}).get("projected") or {}).get("sources") or []:
            if isinstance(source, dict) and source.get("serviceAccountToken") is not None:
                raise attrs.forbidden("a mirror pod may not use ServiceAccountToken volume projections")


def _containers(spec: Obj) -> list[Obj]:
    return [c for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])] if isinstance(c, dict)]


def build(options: object) -> Plugin:
    return ServiceAccount()
