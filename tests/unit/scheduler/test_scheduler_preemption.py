"""Preemption: victim selection, node choice, eligibility, the API calls, and the cycle after them."""

from __future__ import annotations

import random
from typing import Any

from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.framework.runtime import Framework
from pyk8s.scheduler.plugins import default_plugins
from pyk8s.scheduler.plugins.defaultpreemption import Candidate, DefaultPreemption, pick_one_node_for_preemption
from pyk8s.scheduler.podinfo import PodInfo
from pyk8s.scheduler.schedule_one import FitError, Scheduler
from pyk8s.scheduler.scheduler import KubeScheduler
from pyk8s.testing.fake_clock import FakeClock

from .builders import RecordingBinder, node, pod
from .helpers import cache_with


class RecordingEvictor:
    def __init__(self) -> None:
        self.preempted: list[tuple[str, str, str]] = []  # (preemptor, victim, node)
        self.cleared: list[str] = []

    async def preempt(self, preemptor: dict[str, Any], victim: dict[str, Any], node_name: str) -> None:
        self.preempted.append((preemptor["metadata"]["name"], victim["metadata"]["name"], node_name))

    async def clear_nominated_node_name(self, p: dict[str, Any]) -> None:
        self.cleared.append(p["metadata"]["name"])


def make(nodes: list[dict[str, Any]], existing: list[dict[str, Any]] = ()) -> tuple[Scheduler, RecordingEvictor]:  # type: ignore[assignment]
    evictor = RecordingEvictor()
    plugins = default_plugins(RecordingBinder(), evictor=evictor)
    for i, p in enumerate(plugins):
        if isinstance(p, DefaultPreemption):
            plugins[i] = DefaultPreemption(evictor, rng=random.Random(3))
    return Scheduler(Framework(plugins), cache_with(nodes, existing), rng=random.Random(7)), evictor


def low(name: str, node_name: str, *, cpu: str = "1", priority: int = 0, **kw: Any) -> dict[str, Any]:
    return pod(name, cpu=cpu, node_name=node_name, priority=priority, **kw)


async def test_minimal_victims_reprieve_highest_priority_first() -> None:
    existing = [low(f"p{prio}", "a", priority=prio) for prio in (1, 2, 3, 4)]
    sched, evictor = make([node("a", cpu="4")], existing)
    out = await sched.schedule_one(pod("big", cpu="2", priority=10))
    assert not out.scheduled
    # p4 and p3 are reprieved (2 cpu stay used, 2 free for the preemptor); p2 and p1 go.
    assert evictor.preempted == [("big", "p2", "a"), ("big", "p1", "a")]
    assert out.nominated_node_name == "a"
    # Success of preemption adds nothing to the fit message (upstream's PostFilter status has no message).
    assert out.message == "0/1 nodes are available: 1 Insufficient cpu."
    assert [p.key for p in sched.framework.nominator.pods_for_node("a")] == ["uid-default-big"]


async def test_node_choice_lowest_highest_priority_victim() -> None:
    existing = [low("a1", "a", cpu="4", priority=5), low("b1", "b", cpu="4", priority=1)]
    sched, evictor = make([node("a"), node("b")], existing)
    out = await sched.schedule_one(pod("big", cpu="3", priority=10))
    assert out.nominated_node_name == "b" and evictor.preempted == [("big", "b1", "b")]


async def test_node_choice_fewest_victims_then_sum() -> None:
    # a: two 2-cpu pods (both must go); b: one 4-cpu pod; same priorities.
    existing = [low("a1", "a", cpu="2", priority=1), low("a2", "a", cpu="2", priority=1), low("b1", "b", cpu="4", priority=1)]
    sched, evictor = make([node("a"), node("b")], existing)
    out = await sched.schedule_one(pod("big", cpu="4", priority=10))
    assert out.nominated_node_name == "b" and evictor.preempted == [("big", "b1", "b")]


def test_pick_one_node_tie_breaks() -> None:
    def v(name: str, prio: int, start: str | None = None) -> PodInfo:
        p = pod(name, priority=prio)
        if start:
            p["status"]["startTime"] = start
        return PodInfo.of(p)

    # Sum of priorities decides before the count.
    c1 = Candidate("n1", [v("x", 3), v("y", 1)])
    c2 = Candidate("n2", [v("z", 3), v("w", 2)])
    assert pick_one_node_for_preemption([c2, c1]) is c1
    # Equal everything but start time: the later-started highest-priority victim wins.
    early = Candidate("n3", [v("e", 3, "2024-01-01T00:00:00Z")])
    late = Candidate("n4", [v("l", 3, "2024-06-01T00:00:00Z")])
    assert pick_one_node_for_preemption([early, late]) is late
    # A full tie: the first one.
    assert pick_one_node_for_preemption([late, Candidate("n5", [v("m", 3, "2024-06-01T00:00:00Z")])]) is late
    # PDB violations come first.
    assert pick_one_node_for_preemption([Candidate("n6", [v("a", 0)], 1), Candidate("n7", [v("b", 9)])]).node_name == "n7"  # type: ignore[union-attr]


async def test_preemption_policy_never_evicts_nothing() -> None:
    sched, evictor = make([node("a", cpu="1")], [low("victim", "a")])
    out = await sched.schedule_one(pod("p", cpu="1", priority=10, preemptionPolicy="Never"))
    assert out.message == "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.."
    assert evictor.preempted == [] and out.nominated_node_name is None


async def test_no_candidate_with_only_equal_or_higher_priority_pods() -> None:
    existing = [low("same", "a", priority=5), low("higher", "b", priority=9)]
    sched, evictor = make([node("a", cpu="1"), node("b", cpu="1")], existing)
    out = await sched.schedule_one(pod("p", cpu="1", priority=5))
    assert out.message == (
        "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
        "2 No preemption victims found for incoming pod.."
    )
    assert evictor.preempted == [] and out.nominated_node_name == ""


async def test_no_candidate_when_the_pod_cannot_fit_even_on_an_empty_node() -> None:
    cp = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    existing = [low("small", "a", priority=0)]
    sched, evictor = make([node("a", cpu="2"), node("cp", taints=cp)], existing)
    out = await sched.schedule_one(pod("huge", cpu="3", priority=10))
    assert out.message == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: "
        "1 Insufficient cpu, 1 Preemption is not helpful for scheduling.."
    )
    assert evictor.preempted == []


async def test_anti_affinity_victim_is_removed_through_prefilter_extensions() -> None:
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    existing = [low("web", "a", cpu="100m", labels={"app": "web"}), low("other", "a", cpu="100m")]
    sched, evictor = make([node("a")], existing)
    out = await sched.schedule_one(pod("p", cpu="100m", priority=10, affinity=anti))
    assert out.message.startswith("0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules.")
    # Only the matching pod goes; the other is reprieved.
    assert evictor.preempted == [("p", "web", "a")]


async def test_topology_spread_counts_follow_the_dry_run() -> None:
    spread = [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "db"}}}]
    nodes = [node("a", labels={"zone": "a"}), node("b", cpu="1", labels={"zone": "b"})]
    # Zone a already has 2 "db" pods, zone b has none but is full of a low-priority pod.
    existing = [low("db1", "a", cpu="100m", labels={"app": "db"}, priority=100),
                low("db2", "a", cpu="100m", labels={"app": "db"}, priority=100),
                low("filler", "b", cpu="1")]
    sched, evictor = make(nodes, existing)
    out = await sched.schedule_one(pod("db3", cpu="500m", priority=10, labels={"app": "db"}, topologySpreadConstraints=spread))
    assert evictor.preempted == [("db3", "filler", "b")] and out.nominated_node_name == "b"


async def test_nominated_pod_keeps_its_room_from_lower_priority_pods() -> None:
    sched, evictor = make([node("a", cpu="2")])
    high = PodInfo.of(pod("high", cpu="2", priority=10))
    sched.framework.nominator.add(high, "a")
    out = await sched.schedule_one(pod("lower", cpu="1", priority=1))
    assert not out.scheduled and "Insufficient cpu" in out.message
    # An equal-or-higher priority pod is not held back by it... only by the room it takes:
    out = await sched.schedule_one(pod("higher", cpu="1", priority=20))
    assert out.scheduled and out.node_name == "a"


async def test_terminating_victim_on_nominated_node_makes_pod_wait() -> None:
    victim = low("victim", "a", cpu="2")
    victim["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    victim["status"]["conditions"] = [{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]
    sched, evictor = make([node("a", cpu="2")], [victim, low("other", "a", cpu="0")])
    preemptor = pod("p", cpu="2", priority=10)
    preemptor["status"]["nominatedNodeName"] = "a"
    out = await sched.schedule_one(preemptor)
    assert out.message == (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node.."
    )
    assert evictor.preempted == []


async def test_lower_priority_nominations_on_the_node_are_cleared() -> None:
    sched, evictor = make([node("a", cpu="2")], [low("victim", "a", cpu="2")])
    waiting = pod("waiting", cpu="1", priority=5)
    waiting["status"]["nominatedNodeName"] = "a"
    sched.framework.nominator.add(PodInfo.of(waiting))
    out = await sched.schedule_one(pod("p", cpu="2", priority=10))
    assert out.nominated_node_name == "a"
    assert evictor.preempted == [("p", "victim", "a")] and evictor.cleared == ["waiting"]
    assert [p.key for p in sched.framework.nominator.pods_for_node("a")] == ["uid-default-p"]


def test_dry_run_leaves_the_snapshot_untouched() -> None:
    sched, _ = make([node("a", cpu="2")], [low("v1", "a"), low("v2", "a")])
    state = fw.CycleState(PodInfo.of(pod("p", cpu="2", priority=1)))
    result = sched.schedule_pod(state, pod("p", cpu="2", priority=1))
    assert isinstance(result, FitError) and result.post_filter_result is not None
    info = sched.snapshot.get("a")
    assert info is not None and [p.key for p in info.pods] == ["uid-default-v1", "uid-default-v2"]
    assert info.requested["cpu"] == 2000


# -- through the process wiring: API calls and the cycle after the evictions ------------------


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def bind(self, namespace: str, name: str, node_name: str) -> dict[str, Any]:
        self.calls.append(("bind", name, node_name))
        return {}

    async def patch(self, rt: Any, name: str, patch: dict[str, Any], *, namespace: str = "", subresource: str = "", **kw: Any) -> dict[str, Any]:
        self.calls.append(("patch", name, subresource, patch))
        return {}

    async def delete(self, rt: Any, name: str, *, namespace: str = "", **kw: Any) -> dict[str, Any]:
        self.calls.append(("delete", name))
        return {}


class FakeRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []

    def event(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        self.events.append((obj["metadata"]["name"], type_, reason, message))


async def test_api_calls_and_the_preemptor_binds_once_victims_are_gone() -> None:
    client, recorder, clock = FakeClient(), FakeRecorder(), FakeClock()
    sched = KubeScheduler(client, recorder=recorder, clock=clock)  # type: ignore[arg-type]
    sched.on_node_add(node("a", cpu="2"))
    victims = [low("v1", "a", priority=1), low("v2", "a", priority=2)]
    for v in victims:
        sched.on_pod_add(v)
    sched.on_pod_add(pod("high", cpu="2", priority=100))
    qp = sched.queue.pop_nowait()
    assert qp is not None
    follow_up = sched.schedule_next(qp)
    assert follow_up is not None
    # Nominated at once, before any API call.
    assert sched.nominator.node_of("uid-default-high") == "a"
    await follow_up

    message = "0/1 nodes are available: 1 Insufficient cpu."
    condition = {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
                 "message": "default-scheduler: preempting to accommodate a higher priority pod"}
    kinds = [(c[0], c[1]) for c in client.calls]
    assert kinds == [("patch", "v2"), ("delete", "v2"), ("patch", "v1"), ("delete", "v1"), ("patch", "high")]
    for call in client.calls[:4:2]:
        cond = call[3]["status"]["conditions"][0]
        assert call[2] == "status" and {k: cond[k] for k in condition} == condition
    status_patch = client.calls[4][3]["status"]
    assert status_patch["nominatedNodeName"] == "a" and status_patch["conditions"][0]["message"] == message
    assert recorder.events == [
        ("v2", "Normal", "Preempted", "Preempted by pod uid-default-high on node a"),
        ("v1", "Normal", "Preempted", "Preempted by pod uid-default-high on node a"),
        ("high", "Warning", "FailedScheduling", message),
    ]
    assert sched.queue.counts()["unschedulable"] == 1

    # The informer reports the nomination, then the victims terminating and gone.
    nominated = pod("high", cpu="2", priority=100)
    nominated["status"]["nominatedNodeName"] = "a"
    sched.on_pod_update(pod("high", cpu="2", priority=100), nominated)
    # A lower-priority newcomer must not take the room while the victims leave.
    for v in victims:
        sched.on_pod_delete(v)
    assert sched.queue.counts()["unschedulable"] == 0
    sched.on_pod_add(pod("sneaky", cpu="1", priority=50))
    sneaky = sched.queue.pop_nowait()  # the preemptor is still backing off
    assert sneaky is not None and sneaky.pod["metadata"]["name"] == "sneaky"
    follow_up = sched.schedule_next(sneaky)
    assert follow_up is not None
    await follow_up
    assert recorder.events[-1] == ("sneaky", "Warning", "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu. "
                                   "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..")
    assert not any(c[0] == "bind" for c in client.calls)
    clock.step(2.0)
    sched.queue.flush()
    qp = sched.queue.pop_nowait()
    assert qp is not None and qp.pod["metadata"]["name"] == "high"
    follow_up = sched.schedule_next(qp)
    assert follow_up is not None
    await follow_up
    assert client.calls[-1] == ("bind", "high", "a")
    assert sched.nominator.node_of("uid-default-high") == ""
    assert recorder.events[-1] == ("high", "Normal", "Scheduled", "Successfully assigned default/high to a")


async def test_nomination_blocks_lower_priority_pods_through_the_wiring() -> None:
    client, recorder = FakeClient(), FakeRecorder()
    sched = KubeScheduler(client, recorder=recorder, clock=FakeClock())  # type: ignore[arg-type]
    sched.on_node_add(node("a", cpu="2"))
    waiting = pod("high", cpu="2", priority=100)
    waiting["status"]["nominatedNodeName"] = "a"  # e.g. nominated by a previous leader
    sched.on_pod_add(waiting)
    sched.on_pod_add(pod("low", cpu="1", priority=1))
    first = sched.queue.pop_nowait()
    assert first is not None and first.pod["metadata"]["name"] == "high"
    second = sched.queue.pop_nowait()
    assert second is not None
    follow_up = sched.schedule_next(second)
    assert follow_up is not None
    await follow_up
    assert not any(c[0] == "bind" for c in client.calls)
    assert recorder.events[-1][2] == "FailedScheduling"
