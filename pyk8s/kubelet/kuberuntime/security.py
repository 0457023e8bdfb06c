"""securityContext -> CRI container security settings, and the runAsNonRoot check.

The effective context merges the pod's ``securityContext`` under the
container's (runAsUser, runAsGroup, runAsNonRoot come from either, the
container winning); privileged, capabilities, readOnlyRootFilesystem and
allowPrivilegeEscalation are the container's own.  Supplemental groups are
``fsGroup`` then ``supplementalGroups``.  ``no_new_privs`` is set only when
allowPrivilegeEscalation is explicitly false, as upstream.

``verify_run_as_non_root`` returns upstream's messages (they become
CreateContainerConfigError) given the image's user from ImageStatus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
_MERGED = ("runAsUser", "runAsGroup", "runAsNonRoot")


@dataclass
class EffectiveSecurity:
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool = False
    privileged: bool = False
    readonly_rootfs: bool = False
    no_new_privs: bool = False
    capabilities_add: list[str] = field(default_factory=list)
    capabilities_drop: list[str] = field(default_factory=list)
    supplemental_groups: list[int] = field(default_factory=list)


def effective(pod: Obj, container: Obj) -> EffectiveSecurity:
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    sc = container.get("securityContext") or {}
    merged = {k: sc[k] if sc.get(k) is not None else pod_sc.get(k) for k in _MERGED}
    caps = sc.get("capabilities") or {}
    groups = ([int(pod_sc["fsGroup"])] if pod_sc.get("fsGroup") is not None else []) + [
        int(g) for g in pod_sc.get("supplementalGroups") or []]
    return EffectiveSecurity(
        run_as_user=merged["runAsUser"], run_as_group=merged["runAsGroup"],
        run_as_non_root=bool(merged["runAsNonRoot"]), privileged=bool(sc.get("privileged")),
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
        no_new_privs=sc.get("allowPrivilegeEscalation") is False,
        capabilities_add=list(caps.get("add") or []), capabilities_drop=list(caps.get("drop") or []),
        supplemental_groups=groups,
    )


def verify_run_as_non_root(pod_ref: str, container_name: str, sec: EffectiveSecurity,
                           image_uid: int | None, image_user: str) -> str | None:
    """None when allowed, else upstream's refusal message."""
    if not sec.run_as_non_root:
        return None
    if sec.run_as_user is not None:
        if sec.run_as_user == 0:
            return f'container\'s runAsUser breaks non-root policy (pod: "{pod_ref}", container: {container_name})'
        return None
    if image_uid is not None and image_uid == 0:
        return f'container has runAsNonRoot and image will run as root (pod: "{pod_ref}", container: {container_name})'
    if image_uid is None and image_user:
        return (f"container has runAsNonRoot and image has non-numeric user ({image_user}), cannot verify user is "
                f'non-root (pod: "{pod_ref}", container: {container_name})')
    return None
