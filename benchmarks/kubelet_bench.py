"""Pod startup latency through the real kubelet, against the runtime's own floor measured in the same run.

Runs as root, like the kubelet e2e tests: a node network namespace
(``pyk8s.testing.nodenet``), ``pyk8s server`` with its controller manager and
scheduler bound to the machine's end of the link, and ``pyk8s kubelet`` with
its managed containerd inside the namespace.  Everything is removed at the end.

1. **Runtime floor**: straight over CRI on the kubelet's own containerd, a
   sandbox (with CNI) plus one busybox container created and started — what
   a pod start cannot do without.  Median and p99 of ``--floor-runs`` runs,
   then ``--burst`` of them at once (the runtime's own burst floor).
2. **One pod at a time**: ``--single`` pods, each created and timed until a
   watch sees it Running (image present, imagePullPolicy IfNotPresent).
3. **A burst**: ``--burst`` pods created at once, timed until the last is Running,
   with the CPU-seconds the kubelet, the server and containerd (with the CNI
   plugins it waits for) spent meanwhile — figures that depend little on the
   machine's load.  ``--py-spy PATH`` records the kubelet's stacks during the
   burst (collapsed stacks in ``--py-spy-out``).
4. **Steady state**: ``--steady`` pods, each with an exec readiness probe
   every 10 s, held for ``--hold`` seconds: the kubelet's CPU (share of one
   core) and RSS over that window, read from /proc.

The load average is printed at the start and the end: the machine is shared.
A count of 0 (``--single 0``, ``--burst 0``, ``--steady 0``) skips that part.

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
import signal
import statistics
import subprocess
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


async def runtime_burst_floor(endpoint: str, count: int) -> float:
    """Seconds for ``count`` sandbox+create+start sequences run at once straight over CRI."""
    cri = CRIClient(endpoint, timeout=120)

    async def one(i: int) -> str:
        meta = ri.PodSandboxMetadata(f"floorb-{i}", "bench", f"floorb-uid-{i}", 0)
        config = ri.PodSandboxConfig(metadata=meta, hostname=f"floorb-{i}", log_directory=f"/tmp/floorb-{i}")
        sandbox = await cri.run_pod_sandbox(config)
        ctr = await cri.create_container(sandbox, ri.ContainerConfig(
            metadata=ri.ContainerMetadata("app"), image=build.BUSYBOX_REF, command=["sleep", "3600"]), config)
        await cri.start_container(ctr)
        return sandbox

    try:
        start = time.perf_counter()
        sandboxes = await asyncio.gather(*(one(i) for i in range(count)))
        elapsed = time.perf_counter() - start
        for sandbox in sandboxes:
            await cri.stop_pod_sandbox(sandbox)
            await cri.remove_pod_sandbox(sandbox)
    finally:
        await cri.close()
    return elapsed


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
    """Deletes the pods and waits until they are gone from the API (the kubelet stopped their containers), so
    that their teardown does not overlap the next measurement."""
    for name in names:
        await client.delete(PODS, name, namespace=NAMESPACE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        listed = await client.list(PODS, namespace=NAMESPACE)
        if not {p["metadata"]["name"] for p in listed["items"]} & set(names):
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)  # the sandboxes' removal (CNI DEL, unmounts) after the API deletion


def proc_cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User+system CPU of ``pid`` (with ``children``: also of the children it waited for, e.g. CNI plugins)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU-seconds all cores spent busy since boot (everything but idle and iowait)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


class CPUMeter:
    """CPU-seconds spent by the kubelet, the server, containerd (with its waited children) and the machine."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = self._read()
        self.started = time.perf_counter()

    def _read(self) -> dict[str, float]:
        out = {name: proc_cpu_seconds(pid, children=name == "containerd") for name, pid in self.pids.items() if pid}
        out["machine"] = machine_busy_seconds()
        return out

    def report(self) -> str:
        now, elapsed = self._read(), time.perf_counter() - self.started
        used = {name: now[name] - self.start[name] for name in now}
        return ", ".join(f"{name} {secs:.2f} s" for name, secs in used.items()) + \
            f" CPU over {elapsed:.2f} s wall ({os.cpu_count()} cores)"


def proc_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def containerd_pid(kubelet: KubeletProcess) -> int:
    try:
        return int((kubelet.root_dir / "containerd" / "containerd.pid").read_text().strip())
    except (OSError, ValueError):
        return 0


def start_py_spy(args: argparse.Namespace, pid: int) -> subprocess.Popen[bytes] | None:
    if not args.py_spy:
        return None
    return subprocess.Popen([args.py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
                             "--output", args.py_spy_out, "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_py_spy(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


async def bench(args: argparse.Namespace, server: ServerProcess, kubelet: KubeletProcess) -> None:
    endpoint = f"unix://{kubelet.root_dir / 'containerd' / 'containerd.sock'}"
    floor = await runtime_floor(endpoint, args.floor_runs)
    floor_med = statistics.median(floor)
    print(f"runtime floor (CRI sandbox+create+start): median {floor_med * 1000:.0f} ms, "
          f"p99 {pct(floor, 0.99) * 1000:.0f} ms over {len(floor)} runs")
    burst_floor = await runtime_burst_floor(endpoint, args.burst) if args.burst else 0.0
    if args.burst:
        print(f"runtime burst floor: {args.burst} sandbox+create+start at once over CRI in {burst_floor:.2f} s")
    client = Client(load_kubeconfig(server.kubeconfig))
    pid = kubelet.proc.pid if kubelet.proc else 0
    pids = {"kubelet": pid, "server": server.pid or 0, "containerd": containerd_pid(kubelet)}
    try:
        if args.single:
            singles: list[float] = []
            for i in range(args.single):
                singles += (await create_and_time(client, [pod(f"single-{i}")])).values()
            await delete_all(client, [f"single-{i}" for i in range(args.single)])
            print(f"one pod at a time ({args.single}): p50 {pct(singles, 0.5) * 1000:.0f} ms "
                  f"(x{pct(singles, 0.5) / floor_med:.1f} floor), p99 {pct(singles, 0.99) * 1000:.0f} ms "
                  f"(x{pct(singles, 0.99) / floor_med:.1f} floor)   target p99 <= 1000 ms")
        if args.burst:
            spy = start_py_spy(args, pid)
            meter = CPUMeter(pids)
            burst = await create_and_time(client, [pod(f"burst-{i}") for i in range(args.burst)])
            cpu = meter.report()
            stop_py_spy(spy)
            last = max(burst.values())
            print(f"{args.burst} pods at once: all Running in {last:.2f} s (x{last / burst_floor:.2f} of the runtime "
                  f"burst floor, x{last / (floor_med * args.burst):.2f} of {args.burst} floors back to back), "
                  f"p50 {pct(list(burst.values()), 0.5):.2f} s   target <= 5 s for 30")
            print(f"  CPU during the burst: {cpu}")
            await delete_all(client, list(burst))
        if args.steady:
            steady = await create_and_time(client, [pod(f"steady-{i}", probe=True) for i in range(args.steady)])
            print(f"{args.steady} probed pods Running in {max(steady.values()):.1f} s; holding {args.hold} s ...")
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
    parser.add_argument("--py-spy", default="", help="py-spy binary: record the kubelet's stacks during the burst")
    parser.add_argument("--py-spy-out", default="kubelet-burst.txt", help="collapsed stacks from --py-spy")
    args = parser.parse_args()
    print(f"load average at start: {load_average()}")
    if args.quick:
        args.single, args.burst, args.steady, args.hold, args.floor_runs = 5, 10, 20, 20, 5
    build.build(build.DEFAULT_OUT)
    with NodeNetns() as netns:
        server = ServerProcess(control_plane=True, bind_address=netns.host_ip).start()
        kubelet = KubeletProcess(server, netns, node_name="bench-node").start()
        try:
            kubelet.wait_ready()
            asyncio.run(bench(args, server, kubelet))
            print(f"load average at the end: {load_average()}")
        finally:
            try:
                kubelet.close()
            finally:
                server.close()


if __name__ == "__main__":
    main()
