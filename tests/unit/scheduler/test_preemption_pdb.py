"""Preemption with PodDisruptionBudgets: victims whose budget allows it are preferred, on a node and
between nodes (upstream's filterPodsWithPDBViolation and the fewest-violations tie-break)."""

from __future__ import annotations

import random
from typing import Any

from pyk8s.scheduler.framework.runtime import Framework
from pyk8s.scheduler.plugins import default_plugins
from pyk8s.scheduler.plugins.defaultpreemption import DefaultPreemption, split_by_pdb_violation
from pyk8s.scheduler.podinfo import PodInfo
from pyk8s.scheduler.schedule_one import Scheduler

from .builders import RecordingBinder, node, pod
from .helpers import cache_with
from .test_scheduler_preemption import RecordingEvictor


def budget(app: str, allowed: int, disrupted: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": f"pdb-{app}", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": app}}},
            "status": {"disruptionsAllowed": allowed, "disruptedPods": disrupted or {}}}


def make(nodes: list[dict[str, Any]], existing: list[dict[str, Any]],
         pdbs: list[dict[str, Any]]) -> tuple[Scheduler, RecordingEvictor]:
    evictor = RecordingEvictor()
    plugins = default_plugins(RecordingBinder(), evictor=evictor)
    for i, p in enumerate(plugins):
        if isinstance(p, DefaultPreemption):
            plugins[i] = DefaultPreemption(evictor, rng=random.Random(3), pdb_lister=lambda: pdbs)
    return Scheduler(Framework(plugins), cache_with(nodes, existing), rng=random.Random(7)), evictor


def test_split_counts_the_budget_down() -> None:
    pods = [PodInfo.of(pod(n, labels={"app": "db"})) for n in ("a", "b", "c")]
    violating, fine = split_by_pdb_violation(pods, [budget("db", 1, {"c": "2026-01-01T00:00:00Z"})])
    assert [p.pod["metadata"]["name"] for p in fine] == ["a", "c"]
    assert [p.pod["metadata"]["name"] for p in violating] == ["b"]
    empty = {"metadata": {"namespace": "default"}, "spec": {"selector": {}}, "status": {"disruptionsAllowed": 0}}
    assert split_by_pdb_violation(pods, [empty])[0] == []  # an empty selector selects nothing here


async def test_victim_whose_budget_allows_is_chosen_on_the_node() -> None:
    existing = [pod("guarded", cpu="2", node_name="a", priority=1, labels={"app": "db"}),
                pod("free", cpu="2", node_name="a", priority=2, labels={"app": "web"})]
    # Without budgets the higher-priority pod ("free") would be reprieved; the budget turns it around.
    sched, evictor = make([node("a", cpu="4")], existing, [budget("db", 0)])
    out = await sched.schedule_one(pod("big", cpu="2", priority=10))
    assert out.nominated_node_name == "a" and evictor.preempted == [("big", "free", "a")]


async def test_node_without_violations_wins() -> None:
    existing = [pod("a1", cpu="4", node_name="a", priority=0, labels={"app": "db"}),
                pod("b1", cpu="4", node_name="b", priority=1, labels={"app": "web"})]
    # a's victim has the lower priority but its budget allows nothing: b is chosen.
    sched, evictor = make([node("a"), node("b")], existing, [budget("db", 0)])
    out = await sched.schedule_one(pod("big", cpu="3", priority=10))
    assert out.nominated_node_name == "b" and evictor.preempted == [("big", "b1", "b")]
