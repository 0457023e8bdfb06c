"""Container cgroup settings from requests and limits (upstream ``calculateLinuxResources``).

* cpu shares = request millicores x 1024 / 1000 (the limit when only a limit
  is set), at least 2 and at most 262144;
* cfs quota = limit millicores x period / 1000 (at least 1000 us) with the
  period 100 ms, only when a cpu limit is set and ``cpu_cfs_quota`` is on;
* memory limit in bytes; oom_score_adj by QoS: Guaranteed and node-critical
  -997, BestEffort 1000, Burstable ``1000 - 1000 x request / capacity`` kept
  within [3, 999], a sidecar's no higher than the app container's with the
  smallest request.

The pod's own cgroup (``pod_cgroup_config``) gets the pod-wide sums the same
way (upstream ``ResourceConfigForPod``).
"""

from __future__ import annotations

import functools
import pathlib
from dataclasses import dataclass
from typing import Any

from pyk8s.api.core_v1 import pod as pod_api
from pyk8s.api.core_v1.helpers import resources as core_resources
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.machinery import quantity as qty

Obj = dict[str, Any]
MIN_SHARES = 2
MAX_SHARES = 262144
SHARES_PER_CPU = 1024
MIN_QUOTA_PERIOD = 1000
GUARANTEED_OOM_SCORE_ADJ = -997
BESTEFFORT_OOM_SCORE_ADJ = 1000


def milli_cpu_to_shares(milli: int) -> int:
    if milli == 0:
        return MIN_SHARES
    return max(MIN_SHARES, min(MAX_SHARES, milli * SHARES_PER_CPU // 1000))


def milli_cpu_to_quota(milli: int, period: int) -> int:
    if milli == 0:
        return 0
    return max(MIN_QUOTA_PERIOD, milli * period // 1000)


@functools.cache
def host_memory_capacity() -> int:
    try:
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _quantity(values: Obj, name: str) -> qty.Quantity | None:
    raw = values.get(name)
    return qty.parse(raw) if raw is not None else None


def _memory_request(container: Obj) -> int:
    request = _quantity((container.get("resources") or {}).get("requests") or {}, "memory")
    return request.int_value() if request else 0


def oom_score_adj(pod: Obj, container: Obj, memory_capacity: int) -> int:
    spec = pod.get("spec") or {}
    if spec.get("priorityClassName") == "system-node-critical":
        return GUARANTEED_OOM_SCORE_ADJ
    qos = pod_api.qos_class(spec)
    if qos == "Guaranteed":
        return GUARANTEED_OOM_SCORE_ADJ
    if qos == "BestEffort" or memory_capacity <= 0:
        return BESTEFFORT_OOM_SCORE_ADJ
    score = 1000 - (1000 * _memory_request(container)) // memory_capacity
    if container.get("restartPolicy") == "Always":
        # A sidecar is killed no earlier than the app container with the smallest request.
        regular = [_memory_request(c) for c in spec.get("containers") or []]
        score = min(score, 1000 - (1000 * min(regular, default=0)) // memory_capacity)
    if score < 1000 + GUARANTEED_OOM_SCORE_ADJ:
        return 1000 + GUARANTEED_OOM_SCORE_ADJ
    return score - 1 if score == BESTEFFORT_OOM_SCORE_ADJ else score


def linux_resources(pod: Obj, container: Obj, *, cfs_quota: bool = True, period_us: int = 100_000,
                    memory_capacity: int = 0) -> ri.LinuxResources:
    res = container.get("resources") or {}
    requests, limits = res.get("requests") or {}, res.get("limits") or {}
    cpu_request, cpu_limit = _quantity(requests, "cpu"), _quantity(limits, "cpu")
    memory_limit = _quantity(limits, "memory")
    basis = cpu_limit if cpu_request is None and cpu_limit is not None else cpu_request
    out = ri.LinuxResources(cpu_shares=milli_cpu_to_shares(basis.milli_value() if basis else 0))
    if memory_limit is not None:
        out.memory_limit_in_bytes = memory_limit.int_value()
    if cpu_limit is not None and cfs_quota:
        out.cpu_period = period_us
        out.cpu_quota = milli_cpu_to_quota(cpu_limit.milli_value(), period_us)
    out.oom_score_adj = oom_score_adj(pod, container, memory_capacity or host_memory_capacity())
    return out


@dataclass(frozen=True)
class PodCgroupConfig:
    """The pod cgroup's limits (upstream ``ResourceConfigForPod``); None leaves a setting unlimited."""

    cpu_shares: int
    cpu_quota: int | None = None  # -1: no quota (cfs quota off), with the period
    cpu_period: int | None = None
    memory_limit: int | None = None


def _every_container_limits(spec: Obj, resource: str) -> bool:
    containers = [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
    for c in containers:
        limit = _quantity((c.get("resources") or {}).get("limits") or {}, resource)
        if limit is None or limit.milli_value() == 0:
            return False
    return True


def pod_cgroup_config(pod: Obj, *, cfs_quota: bool = True, period_us: int = 100_000) -> PodCgroupConfig:
    """Guaranteed: shares, quota and memory from the pod's requests and limits; Burstable: shares, and a quota
    or memory limit only when every container (init containers too) limits that resource; BestEffort: the
    minimum shares."""
    spec = pod.get("spec") or {}
    qos = pod_api.qos_class(spec)
    if qos == "BestEffort":
        return PodCgroupConfig(cpu_shares=MIN_SHARES)
    requests = core_resources.pod_requests(pod)
    limits = core_resources.pod_quantities(pod, "limits")
    shares = milli_cpu_to_shares(requests.get("cpu", 0))
    cpu_limit, memory_limit = limits.get("cpu"), limits.get("memory")
    quota = milli_cpu_to_quota(cpu_limit.milli_value() if cpu_limit else 0, period_us) if cfs_quota else -1
    memory = memory_limit.int_value() if memory_limit else 0
    if qos == "Guaranteed":
        return PodCgroupConfig(shares, quota, period_us, memory)
    return PodCgroupConfig(
        shares,
        quota if _every_container_limits(spec, "cpu") else None,
        period_us if _every_container_limits(spec, "cpu") else None,
        memory if _every_container_limits(spec, "memory") else None,
    )
