"""End-to-end in-memory cycles: nodes and pods in, a chosen node (or upstream's message) out."""

from __future__ import annotations

from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.schedule_one import FitError, num_feasible_nodes_to_find

from .builders import RecordingBinder, node, pod
from .helpers import scheduler

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


async def test_pods_spread_and_bind_through_the_binder() -> None:
    binder = RecordingBinder()
    sched = scheduler([node("a", cpu="2"), node("b", cpu="2")], binder=binder)
    outcomes = [await sched.schedule_one(pod(f"p{i}", cpu="1")) for i in range(4)]
    assert all(o.scheduled for o in outcomes)
    placed = [o.node_name for o in outcomes]
    assert sorted(placed) == ["a", "a", "b", "b"]
    assert binder.bound == [(f"p{i}", placed[i]) for i in range(4)]
    # Assumed pods count immediately: the fifth pod does not fit anywhere.
    fifth = await sched.schedule_one(pod("p4", cpu="1"))
    assert not fifth.scheduled and fifth.status is not None and fifth.status.code == fw.Code.UNSCHEDULABLE


async def test_failure_message_matches_upstream_format() -> None:
    nodes = [node("cp", taints=[CP_TAINT]), node("w1", cpu="1"), node("w2", cpu="1")]
    sched = scheduler(nodes)
    out = await sched.schedule_one(pod("big", cpu="2"))
    assert out.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.."
    )
    assert out.unschedulable_plugins == {"TaintToleration", "NodeResourcesFit"}


async def test_message_when_every_node_is_unresolvable() -> None:
    sched = scheduler([node("a"), node("b")])
    out = await sched.schedule_one(pod("p", nodeSelector={"disk": "ssd"}))
    assert out.message == (
        "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."
    )


async def test_preemption_policy_never_message() -> None:
    sched = scheduler([node("a", cpu="1")])
    out = await sched.schedule_one(pod("p", cpu="2", preemptionPolicy="Never"))
    assert out.message == "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.."


async def test_prefilter_rejection_message() -> None:
    class Lister:
        def get_pvc(self, ns: str, name: str) -> None:
            return None

        def get_pv(self, name: str) -> None:
            return None

        def get_storage_class(self, name: str) -> None:
            return None

    sched = scheduler([node("a"), node("b"), node("c")], volume_lister=Lister())
    out = await sched.schedule_one(pod("p", volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "data"}}]))
    assert out.message == (
        '0/3 nodes are available: persistentvolumeclaim "data" not found. '
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.."
    )


def test_reasons_sort_as_strings_like_upstream() -> None:
    statuses = {f"n{i}": fw.Status(fw.Code.UNSCHEDULABLE, ["Insufficient cpu"]) for i in range(10)}
    statuses["x"] = fw.Status(fw.Code.UNSCHEDULABLE, ["Insufficient memory", "Too many pods"])
    statuses.update({f"m{i}": fw.Status(fw.Code.UNSCHEDULABLE, ["Too many pods"]) for i in range(2)})
    msg = FitError(13, statuses).message()
    # "10 ..." sorts before "1 ..." only by string order, exactly as Go's sort.Strings.
    assert msg == "0/13 nodes are available: 1 Insufficient memory, 10 Insufficient cpu, 3 Too many pods."


async def test_no_nodes() -> None:
    out = await scheduler([]).schedule_one(pod("p"))
    assert out.message == "0/0 nodes are available: no nodes available to schedule pods."


async def test_bind_failure_forgets_the_assumed_pod() -> None:
    sched = scheduler([node("a", cpu="1")], binder=RecordingBinder(fail=True))
    out = await sched.schedule_one(pod("p", cpu="1"))
    assert not out.scheduled and out.status is not None and out.status.code == fw.Code.ERROR
    assert out.message == "binding rejected"
    info = sched.cache.node_info("a")
    assert info is not None and info.pods == [] and info.requested.get("cpu", 0) == 0


async def test_scores_prefer_least_allocated_and_tolerable_nodes() -> None:
    soft = [{"key": "spot", "effect": "PreferNoSchedule"}]
    nodes = [node("busy", cpu="4"), node("idle", cpu="4"), node("spot", cpu="4", taints=soft)]
    existing = [pod("e", cpu="3", memory="4Gi", node_name="busy")]
    sched = scheduler(nodes, existing)
    out = await sched.schedule_one(pod("p", cpu="100m"))
    assert out.node_name == "idle"


async def test_preferred_node_affinity_wins() -> None:
    pref = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}}
    sched = scheduler([node("hdd"), node("ssd", labels={"disk": "ssd"}), node("other")])
    for i in range(3):
        assert (await sched.schedule_one(pod(f"p{i}", affinity=pref))).node_name == "ssd"


async def test_required_anti_affinity_places_one_per_node() -> None:
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    sched = scheduler([node(f"n{i}") for i in range(3)])
    placed = [(await sched.schedule_one(pod(f"w{i}", labels={"app": "web"}, affinity=anti))).node_name for i in range(4)]
    assert sorted(placed[:3]) == ["n0", "n1", "n2"] and placed[3] is None


async def test_topology_spread_balances_zones() -> None:
    spread = [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}]
    nodes = [node("a1", labels={"zone": "a"}), node("a2", labels={"zone": "a"}), node("b1", labels={"zone": "b"})]
    sched = scheduler(nodes)
    zones = []
    for i in range(4):
        out = await sched.schedule_one(pod(f"w{i}", labels={"app": "web"}, topologySpreadConstraints=spread))
        zones.append({"a1": "a", "a2": "a", "b1": "b"}[out.node_name or ""])
    assert zones.count("a") == 2 and zones.count("b") == 2


def test_adaptive_sampling_numbers() -> None:
    assert num_feasible_nodes_to_find(50) == 50
    assert num_feasible_nodes_to_find(100) == 100
    assert num_feasible_nodes_to_find(1000) == 420
    assert num_feasible_nodes_to_find(5000) == 500
    assert num_feasible_nodes_to_find(6000) == 300  # 50-48 = 2% -> floored at 5%
    assert num_feasible_nodes_to_find(1000, 10) == 100


async def test_sampling_stops_early_and_rotates_start() -> None:
    sched = scheduler([node(f"n{i:04d}") for i in range(1000)])
    first = sched.schedule_pod(fw.CycleState(), pod("a"))
    assert not isinstance(first, FitError)
    assert first.feasible_nodes == 420 and first.evaluated_nodes == 420
    second = sched.schedule_pod(fw.CycleState(), pod("b"))
    assert not isinstance(second, FitError) and second.evaluated_nodes == 420
    assert sched._next_start == 840


async def test_message_names_the_plugin_that_narrowed_the_nodes() -> None:
    pinned = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a"]}]}]}}}
    sched = scheduler([node("a", cpu="1"), node("b"), node("c")])
    out = await sched.schedule_one(pod("p", cpu="2", affinity=pinned))
    assert out.message == (
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. "
        "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, "
        "2 Preemption is not helpful for scheduling.."
    )
