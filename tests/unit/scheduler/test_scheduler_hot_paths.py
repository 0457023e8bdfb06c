"""The performance shortcuts keep the scheduler's answers: pod groups, shared affinity terms, tie-breaking, loop fairness."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

from pyk8s.scheduler.cache import Cache, Snapshot
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.plugins import interpodaffinity
from pyk8s.scheduler.plugins.balancedallocation import BalancedAllocation
from pyk8s.scheduler.plugins.noderesourcesfit import NodeResourcesFit
from pyk8s.scheduler.podinfo import PodInfo
from pyk8s.scheduler.scheduler import KubeScheduler
from pyk8s.testing.fake_clock import FakeClock

from .builders import node, pod
from .helpers import filter_all, scheduler, scores, state_for


def anti(group: str) -> dict[str, Any]:
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": group}}, "topologyKey": "kubernetes.io/hostname"}]}}


def groups_view(snap: Snapshot) -> tuple[dict[Any, dict[str, int]], dict[Any, dict[str, int]]]:
    return ({k: dict(g.nodes) for k, g in snap.by_labels.items()},
            {k: dict(g.nodes) for k, g in snap.by_affinity.items()})


def test_incremental_pod_groups_match_a_fresh_snapshot() -> None:
    rng = random.Random(3)
    cache = Cache()
    for i in range(6):
        cache.add_node(node(f"n{i}"))
    snap = cache.update_snapshot(Snapshot())
    live: list[dict[str, Any]] = []
    for step in range(300):
        if live and rng.random() < 0.35:
            victim = live.pop(rng.randrange(len(live)))
            cache.remove_pod(victim)
        else:
            app = rng.choice(["a", "b", "c"])
            extra = {"affinity": anti(app)} if rng.random() < 0.5 else {}
            p = pod(f"p{step}", namespace=rng.choice(["x", "y"]), labels={"app": app},
                    node_name=f"n{rng.randrange(6)}", **extra)
            p["metadata"]["uid"] = f"uid-{step}"
            cache.add_pod(p)
            live.append(p)
        if step % 7 == 0:
            snap = cache.update_snapshot(snap)
            fresh = Cache()
            for i in range(6):
                fresh.add_node(node(f"n{i}"))
            for p in live:
                fresh.add_pod(p)
            assert groups_view(snap) == groups_view(fresh.update_snapshot(Snapshot()))
    snap = cache.update_snapshot(snap)
    total = sum(sum(g.nodes.values()) for g in snap.by_labels.values())
    assert total == len(live)


def test_pods_with_the_same_affinity_share_parsed_terms_per_namespace() -> None:
    a1 = PodInfo.of(pod("a1", labels={"app": "w"}, affinity=anti("w")))
    a2 = PodInfo.of(pod("a2", labels={"app": "w"}, affinity=anti("w")))
    other_ns = PodInfo.of(pod("a3", namespace="other", labels={"app": "w"}, affinity=anti("w")))
    plain = PodInfo.of(pod("p"))
    assert interpodaffinity.parsed(a1) is interpodaffinity.parsed(a2)
    assert interpodaffinity.parsed(a1) is not interpodaffinity.parsed(other_ns)
    assert interpodaffinity.parsed(other_ns).anti_affinity[0].namespaces == frozenset({"other"})
    assert plain.affinity_key is None and interpodaffinity.parsed(plain).anti_affinity == []


def test_anti_affinity_counts_follow_removals_through_the_incremental_snapshot() -> None:
    cache = Cache()
    for name in ("a", "b"):
        cache.add_node(node(name))
    first = pod("w1", labels={"app": "w"}, node_name="a", affinity=anti("w"))
    second = pod("w2", labels={"app": "w"}, node_name="a", affinity=anti("w"))
    cache.add_pod(first)
    cache.add_pod(second)
    plugin = interpodaffinity.InterPodAffinity()
    incoming = pod("w3", labels={"app": "w"}, affinity=anti("w"))
    snap = cache.update_snapshot(Snapshot())

    def verdicts() -> dict[str, str | None]:
        state = fw.CycleState(PodInfo.of(incoming), snap)
        plugin.pre_filter(state, incoming, snap.node_infos)
        out = {}
        for n in snap.node_infos:
            s = plugin.filter(state, incoming, n)
            out[n.name] = None if s is None else s.message()
        return out

    assert verdicts() == {"a": interpodaffinity.REASON_ANTI_AFFINITY, "b": None}
    cache.remove_pod(first)
    snap = cache.update_snapshot(snap)
    assert verdicts()["a"] == interpodaffinity.REASON_ANTI_AFFINITY  # w2 still there
    cache.remove_pod(second)
    snap = cache.update_snapshot(snap)
    assert verdicts() == {"a": None, "b": None}


def test_preferred_terms_weigh_every_matching_pod() -> None:
    nodes = [node("a", labels={"zone": "z1"}), node("b", labels={"zone": "z2"})]
    existing = [pod(f"e{i}", labels={"app": "db"}, node_name="a") for i in range(3)]
    existing.append(pod("f", labels={"app": "db"}, node_name="b"))
    pref = {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone"}}]}}
    got = scores(interpodaffinity.InterPodAffinity(), pod("p", affinity=pref), nodes, existing)
    assert got == {"a": 100, "b": 0}  # raw 30 vs 10, normalized over the span


def test_required_affinity_of_existing_pods_scores_the_incoming_pod() -> None:
    nodes = [node("a"), node("b")]
    needs_web = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    existing = [pod("c1", labels={"app": "cache"}, node_name="b", affinity=needs_web),
                pod("c2", labels={"app": "cache"}, node_name="b", affinity=needs_web)]
    assert scores(interpodaffinity.InterPodAffinity(), pod("w", labels={"app": "web"}), nodes, existing) == {"a": 0, "b": 100}


def test_resources_fit_fast_path_agrees_with_reasons() -> None:
    nodes = [node("small", cpu="1", pods="2"), node("big", cpu="8")]
    existing = [pod("x", cpu="900m", node_name="small"), pod("y", node_name="small")]
    got = filter_all(NodeResourcesFit(), pod("p", cpu="200m"), nodes, existing)
    assert got == {"small": "Too many pods, Insufficient cpu", "big": None}


def test_balanced_allocation_two_resource_shortcut_matches_the_general_formula() -> None:
    nodes = [node("a", cpu="4", memory="8Gi"), node("b", cpu="4", memory="8Gi")]
    existing = [pod("x", cpu="2", memory="1Gi", node_name="a")]
    incoming = pod("p", cpu="1", memory="1Gi")
    fast = scores(BalancedAllocation(), incoming, nodes, existing)
    general = BalancedAllocation(("memory", "cpu"))  # same resources, general path
    cache_state = state_for(incoming, _cache(nodes, existing))
    slow = {n.name: general.score(cache_state, incoming, n) for n in cache_state.snapshot.node_infos}  # type: ignore[union-attr]
    assert fast == slow
    assert fast["a"] < fast["b"]


def _cache(nodes: list[dict[str, Any]], existing: list[dict[str, Any]]) -> Cache:
    cache = Cache()
    for n in nodes:
        cache.add_node(n)
    for p in existing:
        cache.add_pod(p)
    return cache


def test_ties_are_broken_uniformly_and_the_best_wins() -> None:
    sched = scheduler([node("a")])
    counts = Counter(sched._select_host({"a": 5, "b": 7, "c": 7, "d": 7}) for _ in range(3000))
    assert set(counts) == {"b", "c", "d"}
    assert all(800 < n < 1200 for n in counts.values())
    assert sched._select_host({"a": 1, "b": 0}) == "a"


class _SlowBinder:
    """Counts bindings started; each one needs the event loop to finish."""

    def __init__(self) -> None:
        self.started: list[str] = []

    async def bind(self, namespace: str, name: str, node_name: str) -> dict[str, Any]:
        self.started.append(name)
        await asyncio.sleep(0)
        return {}

    async def patch(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {}


class _Recorder:
    def event(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        pass


async def test_loop_lets_bindings_run_while_pods_are_queued() -> None:
    client = _SlowBinder()
    sched = KubeScheduler(client, recorder=_Recorder(), clock=FakeClock())  # type: ignore[arg-type]
    sched.on_node_add(node("a", cpu="64"))
    for i in range(50):
        sched.on_pod_add(pod(f"p{i}", cpu="100m"))
    seen_backlog: list[int] = []

    async def fake_factory_run() -> None:
        await asyncio.Event().wait()

    async def synced() -> None:
        return None

    sched.factory.run = fake_factory_run  # type: ignore[method-assign]
    sched.factory.wait_for_cache_sync = synced  # type: ignore[method-assign]
    original = client.bind

    async def watching_bind(namespace: str, name: str, node_name: str) -> dict[str, Any]:
        seen_backlog.append(sched.queue.counts()["active"])
        return await original(namespace, name, node_name)

    client.bind = watching_bind  # type: ignore[method-assign]
    task = asyncio.create_task(sched.run())
    for _ in range(500):
        await asyncio.sleep(0)
        if len(client.started) == 50:
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert len(client.started) == 50
    # The first binding started while most pods were still waiting in the queue.
    assert seen_backlog[0] > 40


def test_zone_domain_counts_follow_pods_and_node_relabels() -> None:
    cache = Cache()
    cache.add_node(node("a", labels={"zone": "z1"}))
    cache.add_node(node("b", labels={"zone": "z1"}))
    cache.add_node(node("c", labels={"zone": "z2"}))
    cache.add_node(node("d", labels={"zone": "z4"}))
    zone_anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "w"}}, "topologyKey": "zone"}]}}
    cache.add_pod(pod("w1", labels={"app": "w"}, node_name="a"))
    cache.add_pod(pod("w0", labels={"app": "w"}, node_name="d"))  # keeps the group alive below
    plugin = interpodaffinity.InterPodAffinity()
    incoming = pod("new", affinity=zone_anti)
    snap = cache.update_snapshot(Snapshot())

    def feasible() -> set[str]:
        state = fw.CycleState(PodInfo.of(incoming), snap)
        plugin.pre_filter(state, incoming, snap.node_infos)
        return {n.name for n in snap.node_infos if plugin.filter(state, incoming, n) is None}

    assert feasible() == {"c"}
    cache.update_node(node("a", labels={"zone": "z3"}))  # the pod's node moves to another zone
    snap = cache.update_snapshot(snap)
    group = snap.by_labels[PodInfo.of(pod("x", labels={"app": "w"})).label_key]
    assert group.domains["zone"] == {"z3": 1, "z4": 1}  # updated in place, not recomputed
    assert feasible() == {"b", "c"}
    cache.add_pod(pod("w2", labels={"app": "w"}, node_name="c"))
    snap = cache.update_snapshot(snap)
    assert feasible() == {"b"}


def test_status_only_updates_keep_the_node_generation_but_label_changes_do_not() -> None:
    cache = Cache()
    cache.add_node(node("a"))
    assumed = pod("p", cpu="100m", labels={"app": "w"}, node_name="a")
    cache.assume_pod(assumed)
    snap = cache.update_snapshot(Snapshot())
    generation = snap.by_name["a"].generation
    confirmed = pod("p", cpu="100m", labels={"app": "w"}, node_name="a")
    confirmed["status"] = {"phase": "Running"}
    cache.add_pod(confirmed)
    assert not cache.is_assumed(confirmed)
    snap = cache.update_snapshot(snap)
    assert snap.by_name["a"].generation == generation
    assert snap.by_name["a"].pods[0].pod is confirmed  # the newest dict is visible
    relabelled = pod("p", cpu="100m", labels={"app": "v"}, node_name="a")
    cache.update_pod(relabelled)
    snap = cache.update_snapshot(snap)
    assert snap.by_name["a"].generation != generation
    assert [dict(g.rep.labels) for g in snap.by_labels.values()] == [{"app": "v"}]
    assert snap.by_name["a"].requested["cpu"] == 100
    terminating = pod("p", cpu="100m", labels={"app": "v"}, node_name="a")
    terminating["metadata"]["deletionTimestamp"] = "2026-11-23T00:00:00Z"
    cache.update_pod(terminating)
    assert cache.update_snapshot(snap).by_name["a"].pods[0].terminating


def test_resources_fit_score_shortcut_matches_the_weighted_loop() -> None:
    from pyk8s.scheduler.plugins.noderesourcesfit import LEAST_ALLOCATED, MOST_ALLOCATED

    nodes = [node("a", cpu="4", memory="8Gi"), node("b", cpu="2", memory="16Gi"), node("c", cpu="1", memory="1Gi")]
    existing = [pod("x", cpu="1500m", memory="3Gi", node_name="a"), pod("y", cpu="900m", node_name="c")]
    incoming = pod("p", cpu="250m", memory="700Mi")
    for strategy in (LEAST_ALLOCATED, MOST_ALLOCATED):
        fast = scores(NodeResourcesFit(strategy), incoming, nodes, existing)
        loop = scores(NodeResourcesFit(strategy, {"cpu": 2, "memory": 2}), incoming, nodes, existing)
        assert fast == loop
        assert len(set(fast.values())) > 1


def test_cordoned_node_is_read_from_the_digest() -> None:
    from pyk8s.scheduler.plugins.nodeunschedulable import NodeUnschedulable

    got = filter_all(NodeUnschedulable(), pod("p"), [node("a", unschedulable=True), node("b")])
    assert got["b"] is None and got["a"] is not None


def test_image_locality_skips_only_when_no_node_has_the_images() -> None:
    from pyk8s.scheduler.plugins.imagelocality import ImageLocality

    image = {"names": ["registry.local/app:1"], "sizeBytes": 500 * 1024 * 1024}
    assert scores(ImageLocality(), pod("p"), [node("a"), node("b")]) == {}  # skipped: all would be 0
    got = scores(ImageLocality(), pod("p"), [node("a", images=[image]), node("b")])
    assert got["a"] > 0 and got["b"] == 0
