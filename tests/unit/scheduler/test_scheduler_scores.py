"""Score plugins: values and normalisation."""

from __future__ import annotations

from pyk8s.scheduler.plugins import (
    balancedallocation,
    imagelocality,
    interpodaffinity,
    noderesourcesfit,
    podtopologyspread,
    tainttoleration,
)

from .builders import node, pod
from .helpers import scores


def test_least_and_most_allocated() -> None:
    nodes = [node("a", cpu="4", memory="4Gi")]
    p = pod("p", cpu="1", memory="1Gi")
    # cpu (4000-1000)*100/4000 = 75, memory 75 -> 75
    assert scores(noderesourcesfit.NodeResourcesFit(), p, nodes) == {"a": 75}
    assert scores(noderesourcesfit.NodeResourcesFit("MostAllocated"), p, nodes) == {"a": 25}


def test_balanced_allocation() -> None:
    nodes = [node("a", cpu="4", memory="4Gi")]
    assert scores(balancedallocation.BalancedAllocation(), pod("p", cpu="2", memory="2Gi"), nodes) == {"a": 100}
    # cpu 1.0, memory 0.0 -> std 0.5 -> 50
    assert scores(balancedallocation.BalancedAllocation(), pod("p", cpu="4"), nodes) == {"a": 50}


def test_prefer_no_schedule_taints_reverse_normalised() -> None:
    soft = {"effect": "PreferNoSchedule"}
    nodes = [node("clean"), node("one", taints=[{"key": "a", **soft}]), node("two", taints=[{"key": "a", **soft}, {"key": "b", **soft}])]
    assert scores(tainttoleration.TaintToleration(), pod("p"), nodes) == {"clean": 100, "one": 50, "two": 0}
    tol = [{"key": "a", "operator": "Exists", "effect": "PreferNoSchedule"}]
    assert scores(tainttoleration.TaintToleration(), pod("p", tolerations=tol), nodes) == {"clean": 100, "one": 100, "two": 0}


def test_image_locality_prefers_nodes_with_the_image() -> None:
    image = {"names": ["registry.local/app:1"], "sizeBytes": 500 * 1024 * 1024}
    nodes = [node("has", images=[image]), node("lacks")]
    got = scores(imagelocality.ImageLocality(), pod("p"), nodes)
    assert got["has"] > got["lacks"] == 0


def test_preferred_pod_anti_affinity_scores_lower() -> None:
    pref = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}}]}}
    existing = [pod("w1", labels={"app": "web"}, node_name="a")]
    got = scores(interpodaffinity.InterPodAffinity(), pod("w2", labels={"app": "web"}, affinity=pref), [node("a"), node("b")], existing)
    assert got == {"a": 0, "b": 100}


def test_schedule_anyway_spread_scores_emptier_domain_higher() -> None:
    spread = [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "web"}}}]
    nodes = [node("a", labels={"zone": "z1"}), node("b", labels={"zone": "z2"})]
    existing = [pod(f"w{i}", labels={"app": "web"}, node_name="a") for i in range(3)]
    got = scores(podtopologyspread.PodTopologySpread(), pod("n", labels={"app": "web"}, topologySpreadConstraints=spread), nodes, existing)
    assert got["b"] > got["a"]
