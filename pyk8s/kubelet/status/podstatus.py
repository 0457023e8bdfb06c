"""The whole ``status`` a kubelet reports for a pod.

``generate(pod, ...)`` takes what the kubelet observed — container statuses
in API form, host and pod IPs, the start time, whether the sandbox is ready
and whether the pod is terminal — and returns the status upstream's
``generateAPIPodStatus`` would: phase, the kubelet's conditions (without
transition times: ``manager.merge`` stamps them), IPs, startTime, the
container statuses, and the qosClass and nominatedNodeName already there.
Pure: the same inputs give an equal dict, so an unchanged pod costs no write.
The container status dicts are used as given (not copied): build fresh ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyk8s.kubelet.status.conditions import conditions_of
from pyk8s.kubelet.status.phase import by_name, phase_of

Obj = dict[str, Any]
#: Status fields another component owns; the kubelet carries them over unchanged.
KEPT_FIELDS = ("qosClass", "nominatedNodeName", "resize", "resourceClaimStatuses")


def condition_dict(kind: str, status: str, reason: str = "", message: str = "") -> Obj:
    cond: Obj = {"type": kind, "status": status, "lastProbeTime": None}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def generate(pod: Mapping[str, Any], *, statuses: Sequence[Obj], init_statuses: Sequence[Obj] = (),
             ephemeral_statuses: Sequence[Obj] = (), host_ip: str = "", pod_ips: Sequence[str] = (), start_time: str | None = None,
             sandbox_ready: bool = True, terminal: bool = False) -> Obj:
    """The status for ``pod`` given what the runtime shows (see the module docstring)."""
    old = pod.get("status") or {}
    status: Obj = {k: old[k] for k in KEPT_FIELDS if k in old}
    known = by_name([*init_statuses, *statuses])
    phase = phase_of(pod.get("spec") or {}, known, terminal)
    status["phase"] = phase
    status["conditions"] = [condition_dict(*c) for c in conditions_of(pod, known, phase, sandbox_ready)]
    if host_ip:
        status["hostIP"], status["hostIPs"] = host_ip, [{"ip": host_ip}]
    if pod_ips:
        status["podIP"], status["podIPs"] = pod_ips[0], [{"ip": ip} for ip in pod_ips]
    if start_time:
        status["startTime"] = start_time
    if init_statuses:
        status["initContainerStatuses"] = list(init_statuses)
    status["containerStatuses"] = list(statuses)
    if ephemeral_statuses:
        status["ephemeralContainerStatuses"] = list(ephemeral_statuses)
    return status
