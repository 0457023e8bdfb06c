"""Admission chain cost: pod creates through the registry with the full default chain, against the
same creates with no admission plugins, in the same run (issue 13 section 4).

The namespace holds what makes every plugin work: a LimitRange (defaults and bounds), a ResourceQuota
on pods and compute (the controller's status filled in, so the quota charges on every create) and
the Pod Security labels (enforce baseline, warn restricted).  Storage is the memory driver, so the
numbers are the API server's own CPU per create, without HTTP or disk.

    .venv/bin/python benchmarks/admission_bench.py            # 2,000 pods per variant
    .venv/bin/python benchmarks/admission_bench.py --pods 500

Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import pyk8s.api  # noqa: F401 - fills SCHEME
from pyk8s.apiserver.admission.chain import Chain
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.registry import Registry, build_registry
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage

NS = "bench"


async def prepare(registry: Registry, pods: int) -> None:
    await registry.store("", "namespaces").create("", {"metadata": {"name": NS, "labels": {  # type: ignore[union-attr]
        "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"}}},
        WriteOptions())
    # The ServiceAccount admission refuses pods whose account is missing (no controller runs here).
    await registry.store("", "serviceaccounts").create(NS, {"metadata": {"name": "default"}}, WriteOptions())  # type: ignore[union-attr]
    await registry.store("", "limitranges").create(NS, {"metadata": {"name": "lr"}, "spec": {"limits": [  # type: ignore[union-attr]
        {"type": "Container", "default": {"cpu": "10m", "memory": "16Mi"}, "max": {"cpu": "1"}}]}}, WriteOptions())
    quotas = registry.store("", "resourcequotas")
    assert quotas is not None
    hard = {"pods": str(pods * 2), "requests.cpu": "1000", "limits.memory": "1000Gi"}
    quota = await quotas.create(NS, {"metadata": {"name": "q"}, "spec": {"hard": hard}}, WriteOptions())
    quota["status"] = {"hard": hard, "used": {k: "0" for k in hard}}
    await quotas.update(NS, "q", quota, WriteOptions(), subresource="status")


async def run(pods: int, full: bool) -> tuple[list[float], list[float]]:
    storage = open_storage("memory://")
    await storage.start()
    registry = build_registry(SCHEME, storage)
    if not full:
        registry.admission = Chain([])
    await bootstrap(registry, api_address="127.0.0.1", api_port=6443)
    await prepare(registry, pods)
    store = registry.store("", "pods")
    assert store is not None
    times: list[float] = []
    cpu: list[float] = []
    try:
        for i in range(pods):
            body = {"metadata": {"name": f"p{i}"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
            start, start_cpu = time.perf_counter(), time.thread_time()
            await store.create(NS, body, WriteOptions())
            times.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
    finally:
        await registry.close()
        await storage.close()
    return times, cpu


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.fmean(times) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=2000)
    args = parser.parse_args()
    print(f"pods per variant: {args.pods}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    bare_times, bare_cpu = await run(args.pods, full=False)
    full_times, full_cpu = await run(args.pods, full=True)
    bare, full = summary(bare_times), summary(full_times)
    # The loop thread's CPU time per create: what a busy machine changes least (wall time waits for a CPU).
    bare_c, full_c = statistics.median(bare_cpu) * 1000, statistics.median(full_cpu) * 1000
    print(f"no admission:   mean {bare[0]:.3f} ms, p99 {bare[1]:.3f} ms per create; CPU median {bare_c:.3f} ms")
    print(f"full chain:     mean {full[0]:.3f} ms, p99 {full[1]:.3f} ms per create; CPU median {full_c:.3f} ms")
    print(f"ratio full/none: mean {full[0] / bare[0]:.2f}x, p99 {full[1] / bare[1]:.2f}x, CPU {full_c / bare_c:.2f}x "
          f"(+{full_c - bare_c:.3f} ms per create)")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
