"""Admission plugins that read other objects through the registry.

The generic store calls ``Registry.admit`` (mutating) on the defaulted body
of a create or main-resource update, before the strategy prepares and
validates it, and ``Registry.validate`` once the strategy's validation has
passed, right before the write: upstream's two admission phases.
Subresource writes skip both, as upstream's plugins ignore them.  A plugin
names the ``(group, plural)`` resources it cares about and refuses a request
by raising a ``StatusError``.

Plugins here:

* ``ServiceAccount``: a new pod's ServiceAccount (``default`` unless named),
  its imagePullSecrets, and the ``kube-api-access-xxxxx`` token volume.

* ``DefaultStorageClass``: a new claim that names no class (neither
  ``spec.storageClassName`` nor the beta annotation) gets the default one.

* ``StorageObjectInUseProtection``: new claims and volumes get the
  ``kubernetes.io/pvc-protection`` / ``kubernetes.io/pv-protection``
  finalizers, which the protection controllers remove once nothing uses them.

* ``DefaultTolerationSeconds``: new pods tolerate the not-ready and
  unreachable NoExecute taints for the server's configured seconds.

* ``Priority``: resolves a new pod's ``spec.priorityClassName`` (or the
  globalDefault class) into ``spec.priority`` and ``spec.preemptionPolicy``,
  keeps both on pod updates, and allows at most one globalDefault
  PriorityClass.  Pod templates are not resolved; only pods are.  Classes
  are read from the watch cache (``cachedreads``), as upstream's lister.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyk8s.api import scheduling_v1, storage_v1
from pyk8s.api.core_v1 import persistentvolume, pod
from pyk8s.apiserver.registry import cachedreads
from pyk8s.apiserver.registry.rest import ListOptions
from pyk8s.machinery import errors

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

Obj = dict[str, Any]
CREATE = "CREATE"
UPDATE = "UPDATE"


@dataclass
class Attributes:
    """One admission request: the operation and the object (``old`` on updates)."""

    operation: str
    group: str
    plural: str
    obj: Obj
    old: Obj | None = None

    @property
    def name(self) -> str:
        """The name errors use: before generation, the generateName prefix (as upstream)."""
        meta = self.obj.get("metadata") or {}
        return meta.get("name") or meta.get("generateName") or "Unknown"

    def forbidden(self, message: str) -> errors.StatusError:
        """``<resource> "<name>" is forbidden: <message>`` (admission.NewForbidden)."""
        return errors.forbidden(message, self.plural, self.name, self.group)


class Plugin:
    resources: frozenset[tuple[str, str]] = frozenset()

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        """Mutating phase: may change ``attrs.obj``."""

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        """Validating phase: may only refuse."""


# ------------------------------------------------------------------ Priority

PODS = ("", "pods")
PRIORITY_CLASSES = (scheduling_v1.GROUP, "priorityclasses")


def _value(pc: Obj) -> int:
    """A class's value; request bodies are not type-checked on decode, so tolerate junk as 0."""
    value = pc.get("value")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


async def _priority_class(registry: Registry, name: str) -> Obj | None:
    store = registry.store(*PRIORITY_CLASSES)
    return None if store is None else await cachedreads.get(store, "", name)


async def default_priority_class(registry: Registry, *, live: bool = False) -> Obj | None:
    """The globalDefault class; if a race let in several, the lowest value wins (as upstream).
    From the watch cache as upstream's lister, or ``live`` from storage (the one-default check)."""
    store = registry.store(*PRIORITY_CLASSES)
    if store is None:
        return None
    found: Obj | None = None
    classes = (await store.list("", ListOptions()))["items"] if live else await cachedreads.items(store)
    for pc in classes:
        if pc.get("globalDefault") and (found is None or _value(pc) < _value(found)):
            found = pc
    return found


class Priority(Plugin):
    resources = frozenset({PODS, PRIORITY_CLASSES})

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        if (attrs.group, attrs.plural) != PODS:
            return
        spec = attrs.obj.get("spec")
        if not isinstance(spec, dict):
            spec = attrs.obj["spec"] = {}
        if attrs.operation == UPDATE:
            # Set at creation; an update that leaves them out keeps them (validation forbids changing them).
            old_spec = (attrs.old or {}).get("spec") or {}
            for key in ("priority", "preemptionPolicy"):
                if spec.get(key) is None and old_spec.get(key) is not None:
                    spec[key] = old_spec[key]
            return
        if attrs.operation != CREATE:
            return
        class_name = spec.get("priorityClassName") or ""
        policy: str | None
        if class_name:
            pc = await _priority_class(registry, class_name)
            if pc is None:
                raise attrs.forbidden(f"no PriorityClass with name {class_name} was found")
            value, policy = _value(pc), pc.get("preemptionPolicy")
        else:
            pc = await default_priority_class(registry)
            if pc is not None:
                class_name = pc["metadata"]["name"]
                value, policy = _value(pc), pc.get("preemptionPolicy")
            else:
                value = scheduling_v1.DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS
                policy = scheduling_v1.PREEMPT_LOWER_PRIORITY
        if class_name:
            spec["priorityClassName"] = class_name
        given = spec.get("priority")
        if given is not None and given != value:
            raise attrs.forbidden(f"the integer value of priority ({given}) must not be provided in pod spec; "
                                  f"priority admission controller computed {value} from the given PriorityClass name")
        spec["priority"] = value
        if policy is not None:
            given_policy = spec.get("preemptionPolicy")
            if given_policy is not None and given_policy != policy:
                raise attrs.forbidden(f"the string value of PreemptionPolicy ({given_policy}) must not be provided "
                                      f"in pod spec; priority admission controller computed {policy} from the "
                                      f"given PriorityClass name")
            spec["preemptionPolicy"] = policy

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        if (attrs.group, attrs.plural) != PRIORITY_CLASSES or not attrs.obj.get("globalDefault"):
            return
        current = await default_priority_class(registry, live=True)
        if current is None:
            return
        name = current["metadata"]["name"]
        if attrs.operation == CREATE or name != (attrs.obj.get("metadata") or {}).get("name"):
            raise attrs.forbidden(f"PriorityClass {name} is already marked as default. Only one default can exist")


# ------------------------------------------------------------------ storage

PVCS = ("", "persistentvolumeclaims")
PVS = ("", "persistentvolumes")


class DefaultStorageClass(Plugin):
    """Claims created without a class get the default one; with several defaults the newest wins (as 1.32)."""

    resources = frozenset({PVCS})

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        if attrs.operation != CREATE or persistentvolume.has_storage_class(attrs.obj):
            return
        store = registry.store("storage.k8s.io", "storageclasses")
        if store is None:
            return
        defaults = [sc for sc in (await store.list("", ListOptions()))["items"] if storage_v1.is_default_class(sc)]
        if not defaults:
            return
        newest = max(defaults, key=lambda sc: (sc["metadata"].get("creationTimestamp", ""),
                                              sc["metadata"]["name"]))
        spec = attrs.obj.get("spec")
        if isinstance(spec, dict):
            spec["storageClassName"] = newest["metadata"]["name"]


class StorageObjectInUseProtection(Plugin):
    resources = frozenset({PVCS, PVS})

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        if attrs.operation != CREATE:
            return
        finalizer = (persistentvolume.PVC_PROTECTION_FINALIZER if (attrs.group, attrs.plural) == PVCS
                     else persistentvolume.PV_PROTECTION_FINALIZER)
        meta = attrs.obj.setdefault("metadata", {})
        if isinstance(meta, dict) and finalizer not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), finalizer]


# ------------------------------------------------------------------ DefaultTolerationSeconds

class DefaultTolerationSeconds(Plugin):
    """New pods tolerate the not-ready and unreachable NoExecute taints for a while (kube-apiserver's
    ``--default-not-ready-toleration-seconds`` / ``--default-unreachable-toleration-seconds``, 300 each),
    unless they already tolerate them: the node lifecycle controller evicts them after that long."""

    resources = frozenset({PODS})

    def __init__(self, not_ready_seconds: int = 300, unreachable_seconds: int = 300) -> None:
        self.not_ready_seconds = not_ready_seconds
        self.unreachable_seconds = unreachable_seconds

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        spec = attrs.obj.get("spec")
        if attrs.operation == CREATE and isinstance(spec, dict):
            pod.add_default_tolerations(spec, self.not_ready_seconds, self.unreachable_seconds)


# ------------------------------------------------------------------ ServiceAccount

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


def default_plugins(*, not_ready_seconds: int = 300, unreachable_seconds: int = 300) -> list[Plugin]:
    """The plugins every API server runs, in upstream's order."""
    return [ServiceAccount(), DefaultStorageClass(), StorageObjectInUseProtection(),
            DefaultTolerationSeconds(not_ready_seconds, unreachable_seconds), Priority()]


__all__ = ["CREATE", "UPDATE", "Attributes", "DefaultStorageClass", "DefaultTolerationSeconds", "Plugin", "Priority",
           "ServiceAccount", "StorageObjectInUseProtection", "default_plugins", "default_priority_class"]
