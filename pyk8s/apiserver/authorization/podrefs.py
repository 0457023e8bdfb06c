"""What a pod uses from the API: the edges of upstream's node-authorizer graph that start at a pod.

Secrets (volumes, projected sources, env and envFrom, imagePullSecrets, the
secret references of CSI/Ceph/iSCSI-style volume sources), ConfigMaps
(volumes, projected sources, env and envFrom), PersistentVolumeClaims (claim
volumes and the claims generic ephemeral volumes make, named
``<pod>-<volume>``) and the pod's ServiceAccount.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass
class PodRefs:
    secrets: set[str] = field(default_factory=set)
    configmaps: set[str] = field(default_factory=set)
    claims: set[str] = field(default_factory=set)
    service_accounts: set[str] = field(default_factory=set)

    def merge(self, other: PodRefs) -> None:
        self.secrets |= other.secrets
        self.configmaps |= other.configmaps
        self.claims |= other.claims
        self.service_accounts |= other.service_accounts


def _containers(spec: Obj) -> Iterator[Obj]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                yield c


def _name(ref: Any) -> str:
    return str(ref.get("name") or "") if isinstance(ref, dict) else ""


def _volume_refs(vol: Obj, pod_name: str, refs: PodRefs) -> None:
    if (s := vol.get("secret")) and isinstance(s, dict) and s.get("secretName"):
        refs.secrets.add(s["secretName"])
    if (n := _name(vol.get("configMap"))):
        refs.configmaps.add(n)
    for source in (vol.get("projected") or {}).get("sources") or []:
        if not isinstance(source, dict):
            continue
        if (n := _name(source.get("secret"))):
            refs.secrets.add(n)
        if (n := _name(source.get("configMap"))):
            refs.configmaps.add(n)
    if (c := vol.get("persistentVolumeClaim")) and isinstance(c, dict) and c.get("claimName"):
        refs.claims.add(c["claimName"])
    if vol.get("ephemeral") is not None and vol.get("name"):
        refs.claims.add(f"{pod_name}-{vol['name']}")
    # Volume plugins that name a Secret in the pod's namespace (csi, cephfs, rbd, iscsi, flexVolume, ...).
    for source in vol.values():
        if isinstance(source, dict):
            for key in ("secretRef", "nodePublishSecretRef"):
                if (n := _name(source.get(key))):
                    refs.secrets.add(n)


def pod_refs(pod: Obj) -> PodRefs:
    spec = pod.get("spec") or {}
    refs = PodRefs()
    if (sa := spec.get("serviceAccountName") or spec.get("serviceAccount")):
        refs.service_accounts.add(str(sa))
    pod_name = (pod.get("metadata") or {}).get("name") or ""
    for ref in spec.get("imagePullSecrets") or []:
        if (n := _name(ref)):
            refs.secrets.add(n)
    for c in _containers(spec):
        for env in c.get("env") or []:
            source = (env or {}).get("valueFrom") or {}
            if (n := _name(source.get("secretKeyRef"))):
                refs.secrets.add(n)
            if (n := _name(source.get("configMapKeyRef"))):
                refs.configmaps.add(n)
        for env_from in c.get("envFrom") or []:
            if (n := _name((env_from or {}).get("secretRef"))):
                refs.secrets.add(n)
            if (n := _name((env_from or {}).get("configMapRef"))):
                refs.configmaps.add(n)
    for vol in spec.get("volumes") or []:
        if isinstance(vol, dict):
            _volume_refs(vol, pod_name, refs)
    return refs
