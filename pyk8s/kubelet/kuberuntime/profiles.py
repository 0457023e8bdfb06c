"""Seccomp and AppArmor profiles as the kubelet hands them to the runtime (upstream ``kuberuntime`` helpers).

Seccomp: the container's ``seccompProfile``, else the pod's; without either
the container runs Unconfined (upstream's default with ``seccompDefault``
off, as here).  A Localhost profile is a file under the kubelet's seccomp
root, ``<root-dir>/seccomp``; the runtime reads it when it creates the
container, so a missing file fails that (CreateContainerError).  The
``seccomp.security.alpha.kubernetes.io`` annotations have had no effect
since v1.27 (the API server warns about them).

AppArmor: the container's ``appArmorProfile``, else its
``container.apparmor.security.beta.kubernetes.io/<name>`` annotation, else
the pod's ``appArmorProfile``; none leaves the runtime's default.  Whether
the host can enforce one is the kubelet's admission (``kubelet/apparmor``).
"""

from __future__ import annotations

import os
from typing import Any

from pyk8s.kubelet.runtime import interface as ri

Obj = dict[str, Any]
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
_APPARMOR_ANNOTATION_TYPES = {"runtime/default": "RuntimeDefault", "unconfined": "Unconfined"}
_LOCALHOST_PREFIX = "localhost/"


class ProfileError(Exception):
    """The profile cannot be built (upstream: CreateContainerConfigError with this message)."""


def _field_seccomp(profile: Obj, root: str) -> ri.SecurityProfile:
    kind = profile.get("type")
    if kind == "RuntimeDefault":
        return ri.SecurityProfile("RuntimeDefault")
    if kind == "Localhost":
        name = profile.get("localhostProfile") or ""
        if not name:
            raise ProfileError("localhostProfile must be set if seccompProfile type is Localhost.")
        return ri.SecurityProfile("Localhost", os.path.join(root, name))
    return ri.SecurityProfile("Unconfined")


def seccomp(pod_sc: Obj, container_sc: Obj, root: str) -> ri.SecurityProfile:
    """The container's profile (``container_sc`` empty: the sandbox's, from the pod alone)."""
    for sc in (container_sc, pod_sc):
        if sc.get("seccompProfile"):
            return _field_seccomp(sc["seccompProfile"], root)
    return ri.SecurityProfile("Unconfined")


def apparmor_from_annotation(value: str) -> Obj:
    """An annotation value as the field it stands for."""
    if value.startswith(_LOCALHOST_PREFIX):
        return {"type": "Localhost", "localhostProfile": value[len(_LOCALHOST_PREFIX):]}
    return {"type": _APPARMOR_ANNOTATION_TYPES.get(value, value)}


def apparmor_field(pod: Obj, container: Obj) -> Obj | None:
    """The AppArmor profile (API form) that applies to ``container``: its field, its annotation, the pod's."""
    own = (container.get("securityContext") or {}).get("appArmorProfile")
    if own:
        return dict(own)
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(APPARMOR_ANNOTATION_PREFIX + str(container.get("name", "")))
    if value:
        return apparmor_from_annotation(value)
    pod_profile = ((pod.get("spec") or {}).get("securityContext") or {}).get("appArmorProfile")
    return dict(pod_profile) if pod_profile else None


def apparmor(pod: Obj, container: Obj) -> ri.SecurityProfile | None:
    profile = apparmor_field(pod, container)
    if profile is None:
        return None
    kind = profile.get("type")
    if kind in ("RuntimeDefault", "Unconfined"):
        return ri.SecurityProfile(str(kind))
    if kind == "Localhost":
        if not profile.get("localhostProfile"):
            raise ProfileError("missing localhost apparmor profile name")
        return ri.SecurityProfile("Localhost", str(profile["localhostProfile"]))
    raise ProfileError(f'unknown apparmor profile type: "{kind}"')
