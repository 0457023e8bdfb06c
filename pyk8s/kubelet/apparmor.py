"""Pod admission for AppArmor (upstream ``lifecycle.NewAppArmorAdmitHandler`` and ``apparmor.Validator``).

A pod that asks for any AppArmor profile other than Unconfined (pod or
container ``appArmorProfile``, or a ``container.apparmor.security.beta.kubernetes.io/*``
annotation) needs AppArmor enabled in the host's kernel; where it is not,
the kubelet refuses the pod before anything starts: Failed, reason
``AppArmor``, message ``Pod was rejected: Cannot enforce AppArmor: AppArmor
is not enabled on the host``, and a Warning event with the reason.  The
check runs for a pod not yet started (Pending), as upstream's; a pod this
handler already refused keeps being refused.  Whether a Localhost profile
is loaded is the runtime's to report when it creates the container.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping
from typing import Any

from pyk8s.kubelet.kuberuntime import profiles
from pyk8s.kubelet.sysctl import Rejection

REASON = "AppArmor"
_SECURITYFS = pathlib.Path("/sys/kernel/security/apparmor")
_ENABLED = pathlib.Path("/sys/module/apparmor/parameters/enabled")


def host_error(securityfs: pathlib.Path = _SECURITYFS, enabled: pathlib.Path = _ENABLED) -> str | None:
    """None when the kernel enforces AppArmor (as runc's ``IsEnabled`` decides), else upstream's reason."""
    try:
        if securityfs.exists() and enabled.read_text().startswith("Y"):
            return None
    except OSError:
        pass
    return "AppArmor is not enabled on the host"


def _containers(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [c for key in ("initContainers", "containers", "ephemeralContainers") for c in spec.get(key) or []]


def is_required(pod: Mapping[str, Any]) -> bool:
    """Does the pod ask for confinement (any profile but Unconfined)?"""
    spec = pod.get("spec") or {}
    pod_profile = (spec.get("securityContext") or {}).get("appArmorProfile") or {}
    if pod_profile and pod_profile.get("type") != "Unconfined":
        return True
    for ctr in _containers(spec):
        own = (ctr.get("securityContext") or {}).get("appArmorProfile") or {}
        if own and own.get("type") != "Unconfined":
            return True
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    return any(key.startswith(profiles.APPARMOR_ANNOTATION_PREFIX) and value != "unconfined"
               for key, value in annotations.items())


def admit(pod: Mapping[str, Any], host: Callable[[], str | None] = host_error) -> Rejection | None:
    """None when the kubelet may run ``pod``; ``host`` says why the host cannot enforce AppArmor."""
    status = pod.get("status") or {}
    if status.get("phase") not in (None, "Pending") and status.get("reason") != REASON:
        return None
    if not is_required(pod):
        return None
    problem = host()
    if problem is None:
        return None
    return Rejection(REASON, f"Cannot enforce AppArmor: {problem}")
