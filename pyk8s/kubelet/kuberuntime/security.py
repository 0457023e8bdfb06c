"""securityContext -> CRI container security settings, and the runAsNonRoot check.

The effective context merges the pod's ``securityContext`` under the
container's (runAsUser, runAsGroup, runAsNonRoot come from either, the
container winning); privileged, capabilities, readOnlyRootFilesystem and
allowPrivilegeEscalation are the container's own.  Supplemental groups are
``fsGroup`` then ``supplementalGroups``.  ``no_new_privs`` is set only when
allowPrivilegeEscalation is explicitly false, as upstream.

``verify_run_as_non_root`` returns upstream's messages (they become
CreateContainerConfigError) given the image's user from ImageStatus.

Also as upstream passes them over CRI: the pod's PID and IPC namespaces
(``hostPID`` -> NODE, ``shareProcessNamespace`` -> POD, else one per
container; ``hostIPC`` -> NODE, else the pod's), the seccomp and AppArmor
profiles and the SELinux label (``profiles``), and the /proc paths masked
or read-only by ``procMount`` (Default masks upstream's list; Unmasked none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyk8s.kubelet.kuberuntime import profiles
from pyk8s.kubelet.runtime import interface as ri

Obj = dict[str, Any]
# Upstream's securitycontext defaults for procMount Default (the runtime applies them inside the container).
DEFAULT_MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
)
DEFAULT_READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
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
    pid_mode: str = "CONTAINER"
    ipc_mode: str = "POD"
    seccomp: ri.SecurityProfile | None = None
    apparmor: ri.SecurityProfile | None = None
    selinux: ri.SELinuxOption | None = None
    masked_paths: list[str] = field(default_factory=list)
    readonly_paths: list[str] = field(default_factory=list)


def pid_mode(spec: Obj) -> str:
    if spec.get("hostPID"):
        return "NODE"
    return "POD" if spec.get("shareProcessNamespace") else "CONTAINER"


def ipc_mode(spec: Obj) -> str:
    return "NODE" if spec.get("hostIPC") else "POD"


def selinux(options: Obj | None) -> ri.SELinuxOption | None:
    if not options:
        return None
    return ri.SELinuxOption(user=options.get("user") or "", role=options.get("role") or "",
                            type=options.get("type") or "", level=options.get("level") or "")


def supplemental_groups(pod_sc: Obj) -> list[int]:
    return ([int(pod_sc["fsGroup"])] if pod_sc.get("fsGroup") is not None else []) + [
        int(g) for g in pod_sc.get("supplementalGroups") or []]


def effective(pod: Obj, container: Obj, seccomp_root: str = "/var/lib/kubelet/seccomp") -> EffectiveSecurity:
    """Raises ``profiles.ProfileError`` for a profile that cannot be built (CreateContainerConfigError)."""
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    sc = container.get("securityContext") or {}
    merged = {k: sc[k] if sc.get(k) is not None else pod_sc.get(k) for k in _MERGED}
    caps = sc.get("capabilities") or {}
    spec = pod.get("spec") or {}
    unmasked = sc.get("procMount") == "Unmasked"
    return EffectiveSecurity(
        run_as_user=merged["runAsUser"], run_as_group=merged["runAsGroup"],
        run_as_non_root=bool(merged["runAsNonRoot"]), privileged=bool(sc.get("privileged")),
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
        no_new_privs=sc.get("allowPrivilegeEscalation") is False,
        capabilities_add=list(caps.get("add") or []), capabilities_drop=list(caps.get("drop") or []),
        supplemental_groups=supplemental_groups(pod_sc),
        pid_mode=pid_mode(spec), ipc_mode=ipc_mode(spec),
        seccomp=profiles.seccomp(pod_sc, sc, seccomp_root),
        apparmor=profiles.apparmor(pod, container),
        selinux=selinux(sc.get("seLinuxOptions") or pod_sc.get("seLinuxOptions")),
        masked_paths=[] if unmasked else list(DEFAULT_MASKED_PATHS),
        readonly_paths=[] if unmasked else list(DEFAULT_READONLY_PATHS),
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
