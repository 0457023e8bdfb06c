"""Pod startup latency through the real kubelet, against the runtime's own floor measured in the same run.

Runs as root, like the kubelet e2e tests: a node network namespace
(``pyk8s.testing.nodenet``), ``pyk8s server`` with its controller manager and
scheduler bound to the machine's end of the link, and ``pyk8s kubelet`` with
its managed containerd inside the namespace.  Everything is removed at the end.

1. **Runtime floor**: straight over CRI on the kubelet's own containerd, a
   sandbox (with CNI, and the RuntimeDefault seccomp profile the kubelet always
   asks for the sandbox) plus one busybox container created and started — what
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
import shutil
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
Stamps = dict[str, dict[str, float]]  # pod name -> stage -> wall-clock seconds (time.time())
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


def floor_sandbox(name: str) -> ri.PodSandboxConfig:
    """A floor sandbox: what every pod's sandbox needs, including the RuntimeDefault seccomp profile that the
    kubelet (as upstream's, whatever the pod asks) puts on the sandbox's own process: runc loads it into every
    pause process (~19 ms of CPU a sandbox here), a cost no pod start can skip."""
    return ri.PodSandboxConfig(metadata=ri.PodSandboxMetadata(name, "bench", f"{name}-uid", 0), hostname=name,
                               log_directory=f"/tmp/{name}", seccomp=ri.SecurityProfile("RuntimeDefault"))


async def runtime_floor(endpoint: str, runs: int) -> list[float]:
    cri = CRIClient(endpoint, timeout=60)
    times = []
    try:
        for i in range(runs):
            config = floor_sandbox(f"floor-{i}")
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


async def runtime_burst_floor(endpoint: str, count: int, stamps: Stamps, meter: CPUMeter) -> tuple[float, str, str]:
    """Seconds for ``count`` sandbox+create+start sequences run at once straight over CRI, the CPU ``meter``
    counted meanwhile and the CPU by command (``stamps``: each one's runtime times, as for the pods)."""
    cri = CRIClient(endpoint, timeout=120)
    start = time.time()
    meter.restart()
    procs = cpu_by_command()

    async def one(i: int) -> str:
        config = floor_sandbox(f"floorb-{i}")
        sandbox = await cri.run_pod_sandbox(config)
        ctr = await cri.create_container(sandbox, ri.ContainerConfig(
            metadata=ri.ContainerMetadata("app"), image=build.BUSYBOX_REF, command=["sleep", "3600"]), config)
        await cri.start_container(ctr)
        stamps[f"floorb-{i}"] = {"start": start, "running": time.time()}
        return sandbox

    try:
        sandboxes = await asyncio.gather(*(one(i) for i in range(count)))
        elapsed, cpu, by_command = time.time() - start, meter.report(), top_commands(procs, cpu_by_command())
        await runtime_stamps(endpoint, stamps)
        for sandbox in sandboxes:
            await cri.stop_pod_sandbox(sandbox)
            await cri.remove_pod_sandbox(sandbox)
    finally:
        await cri.close()
    return elapsed, cpu, by_command




def _stage_stamps(obj: Obj, stamps: dict[str, float], now: float) -> None:
    """The stages a watch event shows: bound to the node, first status from the kubelet, Running."""
    status = obj.get("status") or {}
    if (obj.get("spec") or {}).get("nodeName"):
        stamps.setdefault("bound", now)
    if status.get("hostIP"):
        stamps.setdefault("kubelet status", now)
    if status.get("phase") == "Running":
        stamps.setdefault("running", now)


async def until_running(client: Client, names: set[str], stamps: Stamps) -> None:
    """Watches until each named pod is Running; ``stamps`` gets when the watch saw each stage."""
    listed = await client.list(PODS, namespace=NAMESPACE)
    running = 0
    async for _, obj in client.watch(PODS, namespace=NAMESPACE,
                                     resource_version=listed["metadata"]["resourceVersion"]):
        name = obj["metadata"]["name"]
        if name not in names:
            continue
        pod_stamps = stamps.setdefault(name, {})
        was_running = "running" in pod_stamps
        _stage_stamps(obj, pod_stamps, time.time())
        if not was_running and "running" in pod_stamps:
            running += 1
            if running == len(names):
                return


async def create_and_time(client: Client, pods: list[Obj], stamps: Stamps | None = None) -> dict[str, float]:
    """Seconds from the creates until a watch saw each pod Running (``stamps``: every stage's wall time)."""
    stamps = {} if stamps is None else stamps
    watcher = asyncio.create_task(until_running(client, {p["metadata"]["name"] for p in pods}, stamps))
    await asyncio.sleep(0.2)  # the watch is open before the first create
    started = time.time()

    async def create(body: Obj) -> None:
        await client.create(PODS, body, namespace=NAMESPACE)
        stamps.setdefault(body["metadata"]["name"], {})["created"] = time.time()

    await asyncio.gather(*(create(p) for p in pods))
    await asyncio.wait_for(watcher, 120)
    for pod_stamps in stamps.values():
        pod_stamps["start"] = started
    return {name: s["running"] - started for name, s in stamps.items()}


async def runtime_stamps(endpoint: str, stamps: Stamps) -> None:
    """Adds the runtime's own times to ``stamps``: sandbox created, container created and started (CRI)."""
    cri = CRIClient(endpoint, timeout=60)
    try:
        by_sandbox: dict[str, str] = {}
        for sandbox in await cri.list_pod_sandbox():
            if sandbox.metadata.name in stamps:
                by_sandbox[sandbox.id] = sandbox.metadata.name
                stamps[sandbox.metadata.name]["sandbox created"] = sandbox.created_at / 1e9
        for ctr in await cri.list_containers():
            name = by_sandbox.get(ctr.pod_sandbox_id)
            if name is None:
                continue
            status = await cri.container_status(ctr.id)
            stamps[name]["container created"] = status.created_at / 1e9
            stamps[name]["container started"] = status.started_at / 1e9
    finally:
        await cri.close()


STAGES = ("created", "bound", "sandbox created", "container created", "container started", "kubelet status",
          "running")


def print_timeline(stamps: Stamps) -> None:
    """Per stage: when the median pod and the last pod reached it, and the median step from the stage before."""
    print("  timeline (s after the first create; median pod / last pod; median step from the previous stage):")
    previous = "start"
    for stage in STAGES:
        have = [s for s in stamps.values() if stage in s and previous in s]
        if not have:
            continue
        at = [s[stage] - s["start"] for s in have]
        steps = [s[stage] - s[previous] for s in have]
        print(f"    {stage:18s} {statistics.median(at):6.2f} / {max(at):6.2f}   step {statistics.median(steps):6.2f}")
        previous = stage


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


async def settle(limit: float = 20.0) -> float:
    """Waits (at most ``limit`` seconds) until the machine was under half a core busy for a second: the kernel's
    cleanup of the previous part (network namespaces freed by RCU, ext4 writeback) otherwise runs during the
    next measurement, which the runtime floor, measured first on a fresh node, never pays.  Returns the wait."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        before = machine_busy_seconds()
        await asyncio.sleep(1.0)
        if machine_busy_seconds() - before < 0.5:
            break
    return time.perf_counter() - start


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


class CPUMeter:
    """CPU-seconds spent by the kubelet, the server, containerd (with its waited children) and the machine."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.restart()

    def restart(self) -> None:
        self.start = self._read()
        self.started = time.perf_counter()

    def _read(self) -> dict[str, float]:
        out = {name: proc_cpu_seconds(pid, children=name == "containerd") for name, pid in self.pids.items() if pid}
        for name in ("kubelet", "server"):  # their children (mount, nft, ...): waited for, so counted
            if self.pids.get(name):
                out[f"{name}'s children"] = proc_cpu_seconds(self.pids[name], children=True) - out[name]
        out["machine"] = machine_busy_seconds()
        return out

    def report(self) -> str:
        now, elapsed = self._read(), time.perf_counter() - self.started
        used = {name: now[name] - self.start[name] for name in now}
        return ", ".join(f"{name} {secs:.2f} s" for name, secs in used.items()) + \
            f" CPU over {elapsed:.2f} s wall ({os.cpu_count()} cores)"


def cpu_by_command() -> dict[int, tuple[str, float]]:
    """Every process's CPU-seconds (its own plus the children it waited for), by pid, with its command name."""
    out: dict[int, tuple[str, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw.rsplit(")", 1)[1].split()
        out[int(entry)] = (comm, sum(int(v) for v in fields[11:15]) / tick)
    return out


def top_commands(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], top: int = 8) -> str:
    """The commands that used the most CPU between two ``cpu_by_command`` snapshots (the machine is shared)."""
    used: dict[str, float] = {}
    for pid, (comm, secs) in after.items():
        old = before.get(pid)
        spent = secs - old[1] if old is not None and old[0] == comm else secs
        used[comm] = used.get(comm, 0.0) + spent
    ranked = sorted(used.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{comm} {secs:.2f}" for comm, secs in ranked)


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
    floor_stamps: Stamps = {}
    burst_floor = 0.0
    if args.burst:
        burst_floor, floor_cpu, floor_by_command = await runtime_burst_floor(
            endpoint, args.burst, floor_stamps, CPUMeter({"containerd": containerd_pid(kubelet)}))
        print(f"runtime burst floor: {args.burst} sandbox+create+start at once over CRI in {burst_floor:.2f} s")
        print(f"  CPU during the runtime burst floor: {floor_cpu}")
        print(f"  CPU-seconds by command (whole machine, children included): {floor_by_command}")
        print_timeline(floor_stamps)
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
            print(f"  (waited {await settle():.0f} s for the machine to settle)")
            spy = start_py_spy(args, pid)
            meter, procs = CPUMeter(pids), cpu_by_command()
            stamps: Stamps = {}
            burst = await create_and_time(client, [pod(f"burst-{i}") for i in range(args.burst)], stamps)
            cpu, by_command = meter.report(), top_commands(procs, cpu_by_command())
            stop_py_spy(spy)
            await runtime_stamps(endpoint, stamps)
            last = max(burst.values())
            print(f"{args.burst} pods at once: all Running in {last:.2f} s (x{last / burst_floor:.2f} of the runtime "
                  f"burst floor, x{last / (floor_med * args.burst):.2f} of {args.burst} floors back to back), "
                  f"p50 {pct(list(burst.values()), 0.5):.2f} s   target <= 5 s for 30")
            print(f"  CPU during the burst: {cpu}")
            print(f"  CPU-seconds by command (whole machine, children included): {by_command}")
            print_timeline(stamps)
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
    if args.py_spy and shutil.which(args.py_spy) is None:
        parser.error(f"--py-spy {args.py_spy}: no such program")  # before the cluster starts, not at the burst
    print(f"load average at start: {load_average()}")
    if args.quick:
        args.single, args.burst, args.steady, args.hold, args.floor_runs = 5, 10, 20, 20, 5
    build.build(build.DEFAULT_OUT)
    with NodeNetns() as netns:
        server = ServerProcess(control_plane=True, bind_address=netns.host_ip).start()
        # Upstream's periods, not the test suite's shorter ones: the steady state is the kubelet as deployed
        # (a resync of every pod each 10 s instead of each minute costs ~4 % of a core with 110 pods).
        kubelet = KubeletProcess(server, netns, node_name="bench-node", test_periods=False).start()
        try:
            kubelet.wait_ready()
            try:
                asyncio.run(bench(args, server, kubelet))
            except BaseException:
                print(f"the kubelet's log, last lines:\n{kubelet.log_tail(8000)}")
                raise
            print(f"load average at the end: {load_average()}")
        finally:
            try:
                kubelet.close()
            finally:
                server.close()


if __name__ == "__main__":
    main()
