"""Pod startup latency through the real kubelet, against the runtime's own floor measured in the same run.

Runs as root, like the kubelet e2e tests: a node network namespace
(``pyk8s.testing.nodenet``), ``pyk8s server`` with its controller manager and
scheduler bound to the machine's end of the link, and ``pyk8s kubelet`` with
its managed containerd inside the namespace.  Everything is removed at the end.

1. **Runtime floor**: straight over CRI on the kubelet's own containerd, a
   sandbox (with CNI) plus one busybox container created and started — what
   a pod start cannot do without.  Median and p99 of ``--floor-runs`` runs.
2. **One pod at a time**: ``--single`` pods, each created and timed until a
   watch sees it Running (image present, imagePullPolicy IfNotPresent).
3. **A burst**: ``--burst`` pods created at once, timed until the last is Running.
4. **Steady state**: ``--steady`` pods, each with an exec readiness probe
   every 10 s, held for ``--hold`` seconds: the kubelet's CPU (share of one
   core) and RSS over that window, read from /proc.

Each latency is printed with its ratio to the floor's median.  Targets from
the issue (2-core machine): one pod p99 <= 1 s, 30 pods <= 5 s, 110 probed
pods with the kubelet under 10 % of a core and 80 MB RSS.

    sudo .venv/bin/python benchmarks/kubelet_bench.py            # 20 single, 30 burst, 110 steady, 60 s hold
    sudo .venv/bin/python benchmarks/kubelet_bench.py --quick    # 5 single, 10 burst, 20 steady, 20 s hold

Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pyk8s.client.kubeconfig import load_kubeconfig  # noqa: E402
from pyk8s.client.rest import PODS, Client  # noqa: E402
from pyk8s.kubelet.images import build  # noqa: E402
from pyk8s.kubelet.runtime import interface as ri  # noqa: E402
from pyk8s.kubelet.runtime.cri.client import CRIClient  # noqa: E402
from pyk8s.testing.cluster import ServerProcess  # noqa: E402
from pyk8s.testing.kubelet import KubeletProcess  # noqa: E402
from pyk8s.testing.nodenet import NodeNetns  # noqa: E402

Obj = dict[str, Any]
NAMESPACE = "default"


def pod(name: str, *, probe: bool = False) -> Obj:
    container: Obj = {"name": "app", "image": build.BUSYBOX_REF, "imagePullPolicy": "IfNotPresent",
                      "command": ["sleep", "3600"]}
    if probe:
        container["readinessProbe"] = {"exec": {"command": ["true"]}, "periodSeconds": 10}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [container]}}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def runtime_floor(endpoint: str, runs: int) -> list[float]:
    cri = CRIClient(endpoint, timeout=60)
    times = []
    try:
        for i in range(runs):
            meta = ri.PodSandboxMetadata(f"floor-{i}", "bench", f"floor-uid-{i}", 0)
            config = ri.PodSandboxConfig(metadata=meta, hostname=f"floor-{i}", log_directory=f"/tmp/floor-{i}")
            start = time.perf_counter()
            sandbox = await cri.run_pod_sandbox(config)
            ctr = await cri.create_container(sandbox, ri.ContainerConfig(
                metadata=ri.ContainerMetadata("app"), image=build.BUSYBOX_REF, command=["sleep", "3600"]), config)
            await cri.start_container(ctr)
            times.append(time.perf_counter() - start)
            await cri.stop_pod_sandbox(sandbox)
            await cri.remove_pod_sandbox(sandbox)
    finally:
        await cri.close()
    return times


async def until_running(client: Client, names: set[str], started: float) -> dict[str, float]:
    """Seconds from ``started`` until each named pod is seen Running by a watch."""
    seen: dict[str, float] = {}
    listed = await client.list(PODS, namespace=NAMESPACE)
    async for _, obj in client.watch(PODS, namespace=NAMESPACE,
                                     resource_version=listed["metadata"]["resourceVersion"]):
        name = obj["metadata"]["name"]
        if name in names and name not in seen and (obj.get("status") or {}).get("phase") == "Running":
            seen[name] = time.perf_counter() - started
            if len(seen) == len(names):
                return seen
    return seen


async def create_and_time(client: Client, pods: list[Obj]) -> dict[str, float]:
    started = time.perf_counter()
    watcher = asyncio.create_task(until_running(client, {p["metadata"]["name"] for p in pods}, started))
    await asyncio.sleep(0.2)  # the watch is open before the first create
    started_creates = time.perf_counter()
    await asyncio.gather(*(client.create(PODS, p, namespace=NAMESPACE) for p in pods))
    seen = await asyncio.wait_for(watcher, 300)
    shift = started_creates - started
    return {k: v - shift for k, v in seen.items()}


async def delete_all(client: Client, names: list[str]) -> None:
    for name in names:
        await client.delete(PODS, name, namespace=NAMESPACE)


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def bench(args: argparse.Namespace, server: ServerProcess, kubelet: KubeletProcess) -> None:
    endpoint = f"unix://{kubelet.root_dir / 'containerd' / 'containerd.sock'}"
    floor = await runtime_floor(endpoint, args.floor_runs)
    floor_med = statistics.median(floor)
    print(f"runtime floor (CRI sandbox+create+start): median {floor_med * 1000:.0f} ms, "
          f"p99 {pct(floor, 0.99) * 1000:.0f} ms over {len(floor)} runs")
    client = Client(load_kubeconfig(server.kubeconfig))
    try:
        singles = []
        for i in range(args.single):
            singles += (await create_and_time(client, [pod(f"single-{i}")])).values()
        await delete_all(client, [f"single-{i}" for i in range(args.single)])
        print(f"one pod at a time ({args.single}): p50 {pct(singles, 0.5) * 1000:.0f} ms "
              f"(x{pct(singles, 0.5) / floor_med:.1f} floor), p99 {pct(singles, 0.99) * 1000:.0f} ms "
              f"(x{pct(singles, 0.99) / floor_med:.1f} floor)   target p99 <= 1000 ms")
        burst = await create_and_time(client, [pod(f"burst-{i}") for i in range(args.burst)])
        last = max(burst.values())
        print(f"{args.burst} pods at once: all Running in {last:.2f} s (x{last / (floor_med * args.burst):.2f} of "
              f"{args.burst} floors back to back), p50 {pct(list(burst.values()), 0.5):.2f} s   target <= 5 s for 30")
        await delete_all(client, list(burst))
        await asyncio.sleep(5)
        steady = await create_and_time(client, [pod(f"steady-{i}", probe=True) for i in range(args.steady)])
        print(f"{args.steady} probed pods Running in {max(steady.values()):.1f} s; holding {args.hold} s ...")
        pid = kubelet.proc.pid if kubelet.proc else 0
        await asyncio.sleep(10)
        cpu0, t0 = proc_cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(args.hold)
        share = (proc_cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
        print(f"steady state, {args.steady} pods with readiness probes: kubelet {share * 100:.1f} % of a core, "
              f"RSS {proc_rss_mb(pid):.0f} MB   target < 10 %, < 80 MB")
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--single", type=int, default=20)
    parser.add_argument("--burst", type=int, default=30)
    parser.add_argument("--steady", type=int, default=110)
    parser.add_argument("--hold", type=float, default=60)
    parser.add_argument("--floor-runs", type=int, default=10)
    args = parser.parse_args()
    if args.quick:
        args.single, args.burst, args.steady, args.hold, args.floor_runs = 5, 10, 20, 20, 5
    build.build(build.DEFAULT_OUT)
    with NodeNetns() as netns:
        server = ServerProcess(control_plane=True, bind_address=netns.host_ip).start()
        kubelet = KubeletProcess(server, netns, node_name="bench-node").start()
        try:
            kubelet.wait_ready()
            asyncio.run(bench(args, server, kubelet))
        finally:
            try:
                kubelet.close()
            finally:
                server.close()


if __name__ == "__main__":
    main()
