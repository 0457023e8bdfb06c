"""Scheduler benchmark: in-process throughput of the scheduling cycle on synthetic nodes.

For 100, 1,000 and 5,000 nodes (32 CPU, 128Gi, 110 pods each, spread over
3 zones, one daemon-like pod already on every node) it schedules a batch of
pods through ``Scheduler.schedule_one`` (snapshot, PreFilter, Filter with
adaptive sampling, Score, Reserve, Bind to a no-op binder) and reports
pods/s for:

* ``plain``: pods with cpu/memory requests only;
* ``anti-affinity``: pods with a required hostname anti-affinity to their
  own group (10 groups), so every cycle evaluates inter-pod terms.

Reference in the same run: a bare least-allocated loop (free cpu over every
node, pick the max, account the pod) - the least work any scheduler must
do - so ``ratio`` shows what the framework costs on top.  No sockets, no
API server: ``scheduler_e2e_bench.py`` measures the same workloads end to
end against a real server.  Not a test.

    .venv/bin/python benchmarks/scheduler_bench.py            # full
    .venv/bin/python benchmarks/scheduler_bench.py --quick    # 100 and 1,000 nodes, fewer pods
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pyk8s.scheduler.cache import Cache  # noqa: E402
from pyk8s.scheduler.framework.runtime import Framework  # noqa: E402
from pyk8s.scheduler.plugins import default_plugins  # noqa: E402
from pyk8s.scheduler.schedule_one import Scheduler  # noqa: E402


class NullBinder:
    async def bind(self, pod: dict[str, Any], node_name: str) -> None:
        return None


def make_node(i: int) -> dict[str, Any]:
    name = f"node-{i:05d}"
    alloc = {"cpu": "32", "memory": "128Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": f"zone-{i % 3}"}},
        "spec": {},
        "status": {"allocatable": alloc, "capacity": alloc},
    }


def make_pod(name: str, *, node: str | None = None, group: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": "app", "image": "registry.local/app:1",
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}],
        "schedulerName": "default-scheduler",
    }
    labels = {"app": f"web-{group}" if group is not None else "plain"}
    if node:
        spec["nodeName"] = node
    if group is not None:
        spec["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": f"web-{group}"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    return {"metadata": {"name": name, "namespace": "bench", "uid": f"uid-{name}", "labels": labels}, "spec": spec}


def build(nodes: int) -> Scheduler:
    cache = Cache()
    for i in range(nodes):
        cache.add_node(make_node(i))
        cache.add_pod(make_pod(f"daemon-{i}", node=f"node-{i:05d}"))
    return Scheduler(Framework(default_plugins(NullBinder())), cache, rng=random.Random(1))


async def run_framework(nodes: int, pods: int, anti: bool) -> float:
    sched = build(nodes)
    batch = [make_pod(f"p-{j}", group=(j % 10) if anti else None) for j in range(pods)]
    start = time.perf_counter()
    for p in batch:
        out = await sched.schedule_one(p)
        if not out.scheduled:
            raise SystemExit(f"unexpectedly unschedulable: {out.message}")
    return pods / (time.perf_counter() - start)


def run_reference(nodes: int, pods: int) -> float:
    free = [32000 - 100] * nodes
    start = time.perf_counter()
    for _ in range(pods):
        best = max(range(nodes), key=free.__getitem__)
        free[best] -= 100
    return pods / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    sizes = [(100, 300), (1000, 300)] if args.quick else [(100, 1000), (1000, 1000), (5000, 500)]
    print(f"{'nodes':>6} {'pods':>5} {'plain pods/s':>13} {'anti-aff pods/s':>16} {'reference pods/s':>17} {'plain/ref':>10}")
    for nodes, pods in sizes:
        plain = asyncio.run(run_framework(nodes, pods, anti=False))
        anti = asyncio.run(run_framework(nodes, pods, anti=True))
        ref = run_reference(nodes, pods)
        print(f"{nodes:>6} {pods:>5} {plain:>13.0f} {anti:>16.0f} {ref:>17.0f} {plain / ref:>10.3f}")


if __name__ == "__main__":
    main()
