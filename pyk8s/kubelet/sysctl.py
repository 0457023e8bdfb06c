"""Pod admission for ``spec.securityContext.sysctls`` (upstream ``pkg/kubelet/sysctl``).

The kubelet admits a pod only when each sysctl it sets is in the safe set
(namespaced and isolated from other pods: v1.32's list below) or allowed by
``--allowed-unsafe-sysctls`` (names, or prefixes ending in ``*``).  A
network sysctl needs the pod's own network namespace, an IPC one its own IPC
namespace: with ``hostNetwork`` / ``hostIPC`` they are refused even when
allowed.  A refused pod is never started: the kubelet fails it with reason
``SysctlForbidden``, message ``Pod was rejected: forbidden sysctl: ...``, and
a Warning event carrying the reason and the message without the prefix.

Names may use ``/`` as separator (``net/ipv4/ip_local_port_range``), as the
API allows; they are compared in dotted form.  The kernel version gates
upstream applies to the newer safe sysctls are not applied: every kernel this
runs on (>= 4.15) namespaces them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyk8s.api.core_v1 import pod as pod_api

REASON = "SysctlForbidden"

SAFE = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
})
# Which namespace a sysctl lives in (upstream's namespace table): only these may be allowed at all.
_IPC_NAMES = ("kernel.sem",)
_IPC_PREFIXES = ("kernel.shm", "kernel.msg", "fs.mqueue.")
_NET_PREFIX = "net."


@dataclass(frozen=True)
class Rejection:
    reason: str
    message: str  # the event's text; the pod's status message is "Pod was rejected: " + this


def normalize(name: str) -> str:
    """``a/b.c/d`` -> ``a.b/c.d``: when ``/`` separates (it comes before any ``.``), it becomes ``.`` and a
    ``.`` inside a part becomes ``/``; a name that starts dotted is left as it is."""
    first = next((ch for ch in name if ch in "./"), ".")
    if first == ".":
        return name
    return ".".join(part.replace(".", "/") for part in name.split("/"))


def _namespace(name: str) -> str:
    if name.startswith(_NET_PREFIX):
        return "net"
    if name in _IPC_NAMES or name.startswith(_IPC_PREFIXES):
        return "ipc"
    return ""


def validate_patterns(patterns: Iterable[str]) -> list[str]:
    """``--allowed-unsafe-sysctls`` checked as upstream does at start: each name, or prefix before a ``*``,
    must be a namespaced sysctl; returns the patterns (dotted), or raises ValueError with upstream's wording."""
    out = []
    for pattern in (p.strip() for p in patterns):
        if not pattern:
            continue
        name = normalize(pattern)
        prefix = name.partition("*")[0]
        if not _namespace(prefix):
            raise ValueError(f'the sysctl "{prefix}" are not known to be namespaced')
        out.append(name)
    return out


def _allowed(name: str, unsafe: Iterable[str]) -> bool:
    if name in SAFE:
        return True
    return any(name == p or (p.endswith("*") and name.startswith(p[:-1])) for p in unsafe)


def check(name: str, *, host_network: bool, host_ipc: bool, unsafe: Iterable[str] = ()) -> str | None:
    """Why ``name`` may not be set (upstream's wording), or None."""
    name = normalize(name)
    if not _allowed(name, unsafe):
        return f'"{name}" not allowlisted'
    namespace = _namespace(name)
    if namespace == "net" and host_network:
        return f'"{name}" not allowed with host net enabled'
    if namespace == "ipc" and host_ipc:
        return f'"{name}" not allowed with host ipc enabled'
    return None


def admit(pod: Mapping[str, Any], unsafe: Iterable[str] = ()) -> Rejection | None:
    """None when the kubelet may run ``pod``; else why not."""
    spec = pod.get("spec") or {}
    allowed = tuple(unsafe)
    for sysctl in (spec.get("securityContext") or {}).get("sysctls") or ():
        problem = check(str(sysctl.get("name", "")), host_network=bool(spec.get("hostNetwork")),
                        host_ipc=bool(spec.get("hostIPC")), unsafe=allowed)
        if problem:
            return Rejection(REASON, f"forbidden sysctl: {problem}")
    return None


def rejected_status(pod: Mapping[str, Any], rejection: Rejection) -> dict[str, Any]:
    """The status the kubelet writes for a pod it refused (upstream ``rejectPod``): Failed, never started."""
    return {"phase": "Failed", "reason": rejection.reason, "message": f"Pod was rejected: {rejection.message}",
            "qosClass": pod_api.qos_class(pod.get("spec") or {})}
