"""Node-pressure eviction: conditions, transition period, grace periods, ranking, messages, admission, reclaim."""

from __future__ import annotations

from typing import Any

from pyk8s.kubelet.eviction import manager as em
from pyk8s.kubelet.eviction import thresholds as th
from pyk8s.testing.fake_clock import FakeClock

MI = 1024 * 1024
KI = 1024


def _pod(name: str, *, requests: dict[str, str] | None = None, priority: int | None = None,
         tolerations: list[dict[str, str]] | None = None, **meta: Any) -> dict:
    container: dict[str, Any] = {"name": "c", "resources": {"requests": requests} if requests else {}}
    spec: dict[str, Any] = {"containers": [container]}
    if priority is not None:
        spec["priority"] = priority
    if tolerations:
        spec["tolerations"] = tolerations
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", **meta}, "spec": spec,
            "status": {"phase": "Running"}}


class Node:
    """A node whose signals and pods a test sets; records what the manager does."""

    def __init__(self, config: th.EvictionConfig, pods: list[dict], stats: em.PodStats) -> None:
        self.clock = FakeClock()
        self.observations: th.Observations = {"memory.available": th.Observation(10_000 * MI, 16_000 * MI)}
        self.pods, self.podstats = pods, stats
        self.evicted: list[tuple[str, str, dict | None]] = []
        self.events: list[tuple[str, str, str]] = []
        self.reclaimed = 0
        self.after_reclaim: th.Observations | None = None
        self.manager = em.EvictionManager(config, self.observe, lambda: self.pods, self.stats, self.evict,
                                          self.reclaim, lambda *e: self.events.append(e), clock=self.clock)

    async def observe(self) -> th.Observations:
        return dict(self.observations)

    async def stats(self) -> em.PodStats:
        return self.podstats

    async def evict(self, pod: dict, message: str, condition: dict | None) -> None:
        self.evicted.append((pod["metadata"]["name"], message, condition))

    async def reclaim(self) -> None:
        self.reclaimed += 1
        if self.after_reclaim is not None:
            self.observations = self.after_reclaim


def _config(hard: str = "memory.available<100Mi", **kw: Any) -> th.EvictionConfig:
    return th.EvictionConfig(thresholds=th.parse_config(hard, kw.pop("soft", ""), kw.pop("grace", "")), **kw)


async def test_no_pressure_no_condition_no_eviction() -> None:
    node = Node(_config(), [_pod("a")], {})
    assert await node.manager.synchronize() is None
    assert node.manager.conditions == [] and node.manager.pressure() == {
        "memory_pressure": False, "disk_pressure": False, "pid_pressure": False}
    assert node.manager.admit(_pod("new")) is None


async def test_memory_pressure_evicts_the_pod_above_its_request_with_upstreams_message() -> None:
    pods = [_pod("small", requests={"memory": "64Mi"}), _pod("hog", requests={"memory": "10Mi"})]
    stats = {"uid-small": {"c": em.ContainerUsage(memory=32 * MI)}, "uid-hog": {"c": em.ContainerUsage(memory=50 * MI)}}
    node = Node(_config(), pods, stats)
    node.observations["memory.available"] = th.Observation(available=90 * MI + 512 * KI, capacity=16_000 * MI)
    assert await node.manager.synchronize() == "uid-hog"
    assert node.manager.pressure()["memory_pressure"] is True
    name, message, condition = node.evicted[0]
    assert name == "hog"
    assert message == ("The node was low on resource: memory. Threshold quantity: 100Mi, available: 92672Ki. "
                       "Container c was using 50Mi, request is 10Mi, has larger consumption of memory. ")
    assert condition == {"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet",
                         "message": message}
    assert node.events == [("Warning", "EvictionThresholdMet", "Attempting to reclaim memory")]
    # One pod per round: the next round takes the next one, and never the same pod twice.
    assert await node.manager.synchronize() == "uid-small"
    assert "Container" not in node.evicted[1][1]  # it uses less than it requests
    assert await node.manager.synchronize() is None


def test_ranking_exceeding_requests_then_priority_then_usage_above_requests() -> None:
    pods = [_pod("within", requests={"memory": "100Mi"}, priority=0),
            _pod("over-high", priority=1000), _pod("over-low-small", priority=0),
            _pod("over-low-big", priority=0), _pod("nostats", requests={"memory": "1Gi"}, priority=10**6)]
    stats = {"uid-within": {"c": em.ContainerUsage(memory=90 * MI)},
             "uid-over-high": {"c": em.ContainerUsage(memory=500 * MI)},
             "uid-over-low-small": {"c": em.ContainerUsage(memory=5 * MI)},
             "uid-over-low-big": {"c": em.ContainerUsage(memory=50 * MI)}}
    ranked = [p["metadata"]["name"] for p in em.rank(pods, stats, "memory")]
    assert ranked == ["nostats", "over-low-big", "over-low-small", "over-high", "within"]
    assert [p["metadata"]["name"] for p in em.rank(pods, stats, "pids")][:1] == ["within"]  # lowest priority first


async def test_critical_and_static_pods_are_never_evicted() -> None:
    pods = [_pod("critical", priority=2_000_001_000),
            _pod("static", annotations={"kubernetes.io/config.source": "file"})]
    node = Node(_config(), pods, {})
    node.observations["memory.available"] = th.Observation(MI, 16_000 * MI)
    assert await node.manager.synchronize() is None and node.evicted == []
    assert node.manager.conditions == ["MemoryPressure"]


async def test_admission_under_memory_pressure_refuses_only_best_effort() -> None:
    node = Node(_config(), [], {})
    node.observations["memory.available"] = th.Observation(MI, 16_000 * MI)
    await node.manager.synchronize()
    refused = node.manager.admit(_pod("be"))
    assert refused is not None
    assert (refused.reason, refused.message) == ("Evicted", "The node had condition: [MemoryPressure]. ")
    assert node.manager.admit(_pod("burstable", requests={"memory": "1Mi"})) is None
    tolerating = _pod("tolerating", tolerations=[{"key": "node.kubernetes.io/memory-pressure", "operator": "Exists",
                                                  "effect": "NoSchedule"}])
    assert node.manager.admit(tolerating) is None
    assert node.manager.admit(_pod("critical", priority=2_000_000_000)) is None
    started = _pod("started")
    started["status"]["startTime"] = "2026-01-01T00:00:00Z"  # admitted before the pressure: not re-judged
    assert node.manager.admit(started) is None


async def test_disk_pressure_reclaims_on_the_node_first_and_refuses_every_pod() -> None:
    node = Node(_config("nodefs.available<10%"), [_pod("a")], {})
    node.observations["nodefs.available"] = th.Observation(5, 100)
    node.after_reclaim = {**node.observations, "nodefs.available": th.Observation(50, 100)}
    assert await node.manager.synchronize() is None  # GC freed enough: nobody evicted
    assert node.reclaimed == 1 and node.evicted == []
    assert node.manager.conditions == ["DiskPressure"]
    refused = node.manager.admit(_pod("burstable", requests={"memory": "1Mi"}))
    assert refused is not None and refused.message == "The node had condition: [DiskPressure]. "
    # When reclaim does not help, a pod goes.
    node.observations["nodefs.available"] = th.Observation(5, 100)
    node.after_reclaim = None
    assert await node.manager.synchronize() == "uid-a"
    assert node.evicted[0][1].startswith("The node was low on resource: ephemeral-storage. Threshold quantity: 10, "
                                         "available: 5. ")


async def test_pressure_stays_for_the_transition_period() -> None:
    node = Node(_config(pressure_transition_period=300.0), [], {})
    node.observations["memory.available"] = th.Observation(MI, 16_000 * MI)
    await node.manager.synchronize()
    node.observations["memory.available"] = th.Observation(10_000 * MI, 16_000 * MI)
    await node.clock.advance(299)
    await node.manager.synchronize()
    assert node.manager.conditions == ["MemoryPressure"]
    await node.clock.advance(2)
    await node.manager.synchronize()
    assert node.manager.conditions == []


async def test_soft_thresholds_act_after_their_grace_period_but_report_pressure_at_once() -> None:
    node = Node(_config("", soft="memory.available<1Gi", grace="memory.available=1m"), [_pod("a")], {})
    node.observations["memory.available"] = th.Observation(512 * MI, 16_000 * MI)
    assert await node.manager.synchronize() is None
    assert node.manager.conditions == ["MemoryPressure"]
    await node.clock.advance(61)
    assert await node.manager.synchronize() == "uid-a"
