"""Node-pressure eviction (upstream's eviction manager ``synchronize`` and its admit handler).

Every monitoring interval (10 s) the manager observes the signals
(``observe``), finds the thresholds met (a threshold met in the previous
round stays met until its minimum reclaim is available again), and derives
the node conditions: MemoryPressure, DiskPressure, PIDPressure stay True for
``--eviction-pressure-transition-period`` after their last threshold cleared.
Thresholds whose grace period passed (hard: at once) act: the one with the
highest eviction priority (memory, then nodefs, imagefs, pids) picks the
resource to reclaim.  Disk first reclaims on the node (dead containers and
unused images, ``reclaim``) and stops if that resolved the thresholds;
otherwise the active pods are ranked as upstream does and the first
non-critical one is evicted: one pod per round.

Ranking: pods without stats first; memory -> pods using more than they
request first, then lower priority, then usage above requests (larger
first); disk -> the same with ephemeral storage; pids -> lower priority
first.  Before reclaiming the node gets a Warning ``EvictionThresholdMet``
event ("Attempting to reclaim memory"); the evicted pod gets the
``DisruptionTarget`` condition (reason ``TerminationByKubelet``) besides
Failed/Evicted.

Admission (``admit``): under MemoryPressure alone only BestEffort pods that
do not tolerate the ``node.kubernetes.io/memory-pressure`` taint are
refused; under any other pressure every pod is; critical pods never.  The
refusal is upstream's: reason ``Evicted``, "The node had condition: [MemoryPressure]. ".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pyk8s.api.core_v1 import pod as pod_api
from pyk8s.api.core_v1.helpers import resources, tolerations
from pyk8s.kubelet.eviction import thresholds as th
from pyk8s.kubelet.eviction.localstorage import REASON, is_critical
from pyk8s.kubelet.sysctl import Rejection
from pyk8s.machinery import quantity
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]

NODE_LOW = "The node was low on resource: {}. "
THRESHOLD_MET = "Threshold quantity: {}, available: {}. "
CONTAINER_USAGE = "Container {} was using {}, request is {}, has larger consumption of {}. "
NODE_CONDITION = "The node had condition: [{}]. "
MEMORY_PRESSURE_TAINT = {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"}


@dataclass
class ContainerUsage:
    memory: int = 0  # working set bytes
    disk: int = 0  # writable layer bytes


PodStats = dict[str, dict[str, ContainerUsage]]  # pod UID -> container name -> usage
Evict = Callable[[Obj, str, Obj | None], Awaitable[None]]  # pod, message, pod condition to add


def _binary(n: int) -> str:
    return str(quantity.Quantity(Fraction(n), quantity.BINARY_SI))


def _uid(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("uid", ""))


def _requests(pod: Mapping[str, Any], resource: str) -> dict[str, int]:
    return {c.get("name", ""): resources.amount(resource, ((c.get("resources") or {}).get("requests") or {})
                                                .get(resource, 0))
            for c in (pod.get("spec") or {}).get("containers") or ()}


def _usage(stats: PodStats, pod: Mapping[str, Any], resource: str) -> dict[str, int]:
    pick = (lambda u: u.memory) if resource == "memory" else (lambda u: u.disk)
    return {name: pick(u) for name, u in stats.get(_uid(pod), {}).items()}


def _priority(pod: Mapping[str, Any]) -> int:
    return int((pod.get("spec") or {}).get("priority") or 0)


def rank(pods: list[Obj], stats: PodStats, resource: str) -> list[Obj]:
    """Pods in the order upstream evicts them for ``resource``."""
    if resource not in ("memory", "ephemeral-storage"):
        return sorted(pods, key=_priority)

    def key(pod: Obj) -> tuple[int, int, int, int]:
        if _uid(pod) not in stats:
            return (0, 0, 0, 0)  # upstream evicts the pods it has no stats for first
        used = sum(_usage(stats, pod, resource).values())
        requested = sum(_requests(pod, resource).values())
        return (1, 0 if used > requested else 1, _priority(pod), -(used - requested))
    return sorted(pods, key=key)


def message(pod: Mapping[str, Any], resource: str, threshold: th.Threshold, seen: th.Observation | None,
            stats: PodStats) -> str:
    """Upstream's ``evictionMessage``."""
    text = NODE_LOW.format(resource)
    if seen is not None:
        text += THRESHOLD_MET.format(threshold.describe(seen.capacity), _binary(seen.available))
    if resource in ("memory", "ephemeral-storage"):
        usage, requests = _usage(stats, pod, resource), _requests(pod, resource)
        for c in (pod.get("spec") or {}).get("containers") or ():
            name = c.get("name", "")
            if name in usage and usage[name] > requests.get(name, 0):
                text += CONTAINER_USAGE.format(name, _binary(usage[name]), _binary(requests.get(name, 0)), resource)
    return text


def _active(pod: Mapping[str, Any]) -> bool:
    return ((pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not (pod.get("metadata") or {}).get("deletionTimestamp"))


class EvictionManager:
    def __init__(self, config: th.EvictionConfig, observe: Callable[[], Awaitable[th.Observations]],
                 pods: Callable[[], list[Obj]], stats: Callable[[], Awaitable[PodStats]], evict: Evict,
                 reclaim: Callable[[], Awaitable[None]] | None = None,
                 node_event: Callable[[str, str, str], None] = lambda _type, _reason, _message: None,
                 *, clock: Clock = REAL_CLOCK) -> None:
        self.config, self.observe, self.pods, self.stats, self.evict = config, observe, pods, stats, evict
        self.reclaim, self.node_event, self.clock = reclaim, node_event, clock
        self.tracker = th.Tracker()
        self.conditions: list[str] = []  # node conditions now True
        self.evicted: set[str] = set()

    def pressure(self) -> dict[str, bool]:
        """For the node status: ``NodeHealth`` fields."""
        return {"memory_pressure": "MemoryPressure" in self.conditions,
                "disk_pressure": "DiskPressure" in self.conditions,
                "pid_pressure": "PIDPressure" in self.conditions}

    def admit(self, pod: Mapping[str, Any]) -> Rejection | None:
        """Upstream admits a pod once, when it arrives: a pod this node started (startTime set) stays."""
        if not self.conditions or is_critical(pod) or (pod.get("status") or {}).get("startTime"):
            return None
        if self.conditions == ["MemoryPressure"]:
            spec = pod.get("spec") or {}
            if pod_api.qos_class(dict(spec)) != "BestEffort" or tolerations.tolerated(
                    spec.get("tolerations") or (), MEMORY_PRESSURE_TAINT):
                return None
        return Rejection(REASON, NODE_CONDITION.format(" ".join(self.conditions)))

    async def run(self) -> None:
        while True:
            try:
                await self.synchronize()
            except Exception:  # a failed round must not end eviction: log it and try next interval
                log.exception("node-pressure eviction round failed")
            await self.clock.sleep(self.config.monitoring_interval)

    async def synchronize(self) -> str | None:
        """One monitoring round; the UID evicted, if any."""
        if not self.config.thresholds:
            return None
        observations = await self.observe()
        acting = self._update(observations)
        if not acting:
            return None
        acting.sort(key=lambda t: th.PRIORITY[t.signal])
        threshold = acting[0]
        resource = th.RESOURCE[threshold.signal]
        self.node_event("Warning", "EvictionThresholdMet", f"Attempting to reclaim {resource}")
        if th.CONDITION[threshold.signal] == "DiskPressure" and self.reclaim is not None:
            await self.reclaim()
            if not th.met(self.config.thresholds, await self.observe(), True):
                log.info("eviction: node-level reclaim resolved %s", threshold.signal)
                return None
        stats = await self.stats()
        candidates = [p for p in self.pods() if _active(p) and _uid(p) not in self.evicted]
        for pod in rank(candidates, stats, resource):
            if is_critical(pod):
                continue
            text = message(pod, resource, threshold, observations.get(threshold.signal), stats)
            meta = pod.get("metadata") or {}
            log.info("evicting pod %s/%s: %s", meta.get("namespace", ""), meta.get("name", ""), text)
            self.evicted.add(_uid(pod))
            await self.evict(pod, text, {"type": "DisruptionTarget", "status": "True",
                                         "reason": "TerminationByKubelet", "message": text})
            return _uid(pod)
        return None

    def _update(self, observations: th.Observations) -> list[th.Threshold]:
        """Track thresholds and conditions; the thresholds whose grace period passed."""
        t, now = self.tracker, self.clock.monotonic()
        current = th.met(self.config.thresholds, observations, False)
        for kept in th.met(t.met, observations, True):
            if kept not in current:
                current.append(kept)
        t.first_observed = {x: t.first_observed.get(x, now) for x in current}
        for condition in th.conditions_of(tuple(current)):
            t.condition_seen[condition] = now
        period = self.config.pressure_transition_period
        conditions: list[str] = [c for c in ("MemoryPressure", "DiskPressure", "PIDPressure")
                                 if c in t.condition_seen and now - t.condition_seen[c] <= period]
        if conditions != self.conditions:
            log.info("eviction: node conditions now %s", conditions or "without pressure")
            self.conditions = conditions
        acting = [x for x in current if now - t.first_observed[x] >= x.grace_period]
        t.met = acting  # upstream keeps only these for the minimum-reclaim check next round
        return list(acting)

