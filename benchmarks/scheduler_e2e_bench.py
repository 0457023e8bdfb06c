"""Scheduler end to end, scheduler_perf style: a real API server, N nodes, M pending pods.

For each cluster size (100, 1,000 and 5,000 nodes; ``--quick``: 100 and
1,000 with fewer pods) it starts a fresh ``pyk8s server`` (SQLite in a temp
data dir, ``--disable controller-manager,scheduler``) and registers N nodes
with ``pyk8s agent --simulate N`` (32 CPU / 128Gi / 110 pods each).  The agent
is then stopped by default, as in upstream's scheduler_perf where nodes are
plain API objects with no kubelet (``--keep-agent`` keeps it heartbeating
and running the bound pods, which loads the server more).

Then, per workload (as scheduler_perf's ``createPods`` step, pods created up
front and the scheduler started afterwards):

* ``plain``: pods requesting 100m / 500Mi;
* ``anti-affinity``: the same pods with a required ``kubernetes.io/hostname``
  pod anti-affinity to their own group (scheduler_perf's
  SchedulingPodAntiAffinity shape).  A group never holds more than N/2 pods,
  so groups = ceil(2M/N): 20 at 100 nodes, 2 at 1,000, 1 at 5,000.

1. **Reference (API ceiling), same run**: M identical pending pods in
   another namespace are bound by a trivial process that lists them and POSTs
   ``pods/<name>/binding`` round-robin over the nodes, all in flight at once
   over the same client (100 connections).  That is the fastest any
   scheduler using this client and server can bind.
2. **Scheduler**: ``KubeScheduler`` in its own process (as in production;
   uvloop, as ``pyk8s server`` uses) over M pending pods.

Both are timed from the moment the process reports ready (informer caches
synced; for the reference, pods listed) until this process has seen the
last pod's ``spec.nodeName`` on its watch.  ``ratio`` = scheduler / ceiling.
Pods from earlier workloads stay bound (like scheduler_perf's init pods).

    .venv/bin/python benchmarks/scheduler_e2e_bench.py             # 100, 1,000, 5,000 nodes
    .venv/bin/python benchmarks/scheduler_e2e_bench.py --quick     # 100 and 1,000 nodes, 300 pods
    .venv/bin/python benchmarks/scheduler_e2e_bench.py --sizes 1000:1000 --profile /tmp/prof

``--profile DIR`` writes a cProfile of each scheduler process to DIR.  Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pyk8s.client.rest import PODS, Client  # noqa: E402
from pyk8s.testing.cluster import REPO_ROOT, ServerProcess  # noqa: E402
from pyk8s.testing.processes import stop_logged  # noqa: E402

Obj = dict[str, Any]
NODES = Client.resource("", "v1", "nodes", namespaced=False)
EVENTS = Client.resource("", "v1", "events", namespaced=True)
NAMESPACES = Client.resource("", "v1", "namespaces", namespaced=False)
NODE_PREFIX = "sim-"
PYTHON = str(REPO_ROOT / ".venv" / "bin" / "python")


# --- the roles run as child processes -------------------------------------------------------

def _loop_runner(use_uvloop: bool) -> asyncio.Runner:
    if use_uvloop:
        import uvloop

        return asyncio.Runner(loop_factory=uvloop.new_event_loop)
    return asyncio.Runner()


async def _until_term(coro: Any) -> None:
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def role_scheduler(kubeconfig: str) -> None:
    from pyk8s.scheduler.scheduler import KubeScheduler

    client = Client.from_kubeconfig(kubeconfig, user_agent="kube-scheduler")
    sched = KubeScheduler(client)

    async def announce() -> None:
        await sched.ready.wait()
        print(f"READY {time.time():.6f}", flush=True)

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(announce())
            await sched.run()
    finally:
        await client.close()


async def role_ceiling(kubeconfig: str, namespace: str, nodes: int, in_flight: int) -> None:
    client = Client.from_kubeconfig(kubeconfig, user_agent="bind-ceiling")
    limit = asyncio.Semaphore(in_flight)

    async def bind(i: int, name: str) -> None:
        async with limit:
            await client.bind(namespace, name, f"{NODE_PREFIX}{i % nodes}")

    try:
        pods = [p["metadata"]["name"] for p in (await client.list_all(PODS, namespace=namespace))["items"]
                if not p["spec"].get("nodeName")]
        print(f"READY {time.time():.6f}", flush=True)
        await asyncio.gather(*(bind(i, name) for i, name in enumerate(pods)))
        await asyncio.Event().wait()  # stay until stopped, like the scheduler
    finally:
        await client.close()


def run_role(args: argparse.Namespace) -> None:
    profiler = None
    if args.profile_out:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with _loop_runner(args.loop == "uvloop") as runner:
        if args.role == "scheduler":
            runner.run(_until_term(role_scheduler(args.kubeconfig)))
        else:
            runner.run(_until_term(role_ceiling(args.kubeconfig, args.namespace, args.nodes, args.in_flight)))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile_out)


# --- the driver --------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of ``pid`` so far (its threads included), from /proc."""
    if not pid:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def pod_body(name: str, group: int | None) -> Obj:
    spec: Obj = {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                                 "resources": {"requests": {"cpu": "100m", "memory": "500Mi"},
                                               "limits": {"cpu": "100m", "memory": "500Mi"}}}]}
    labels = {"app": "bench"}
    if group is not None:
        labels["color"] = f"group-{group}"
        spec["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"color": f"group-{group}"}},
            "topologyKey": "kubernetes.io/hostname"}]}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels}, "spec": spec}


async def create_pods(client: Client, namespace: str, count: int, groups: int) -> float:
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    limit = asyncio.Semaphore(64)

    async def one(i: int) -> None:
        async with limit:
            await client.create(PODS, pod_body(f"pod-{i:05d}", (i % groups) if groups else None), namespace=namespace)

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.monotonic() - t0)


_started: list[subprocess.Popen[bytes]] = []  # every child, so main() can make sure none survives


def kill_group(proc: subprocess.Popen[bytes], grace: float = 30) -> None:
    """SIGTERM the child's process group, SIGKILL it after ``grace`` seconds."""
    stop_logged(proc, None, grace)


class Child:
    """A role process (own session, stopped by its process group); ``ready_at`` is when it printed READY."""

    def __init__(self, argv: list[str], log_path: str) -> None:
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, cwd=str(REPO_ROOT),
                                     start_new_session=True)
        _started.append(self.proc)
        self.ready_at = 0.0

    async def wait_ready(self, within: float = 300) -> float:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), within)
        if not line.startswith(b"READY "):
            raise SystemExit(f"child failed before ready (see {self.log.name})")
        self.ready_at = float(line.split()[1])
        return self.ready_at

    def stop(self) -> None:
        kill_group(self.proc)
        self.log.close()


async def watch_bound(client: Client, namespace: str, count: int, rv: str, done: asyncio.Future[float]) -> None:
    """Resolve ``done`` with the wall time the last of ``count`` pods showed a nodeName."""
    bound: set[str] = set()
    while True:
        async for kind, pod in client.watch(PODS, namespace=namespace, resource_version=rv, timeout_seconds=600):
            rv = pod["metadata"]["resourceVersion"]
            if kind in ("ADDED", "MODIFIED") and pod["spec"].get("nodeName"):
                bound.add(pod["metadata"]["name"])
                if len(bound) >= count and not done.done():
                    done.set_result(time.time())
                    return


@dataclass
class Timing:
    rate: float  # pods/s from READY to the last pod bound
    seconds: float
    child_cpu: float  # share of one core used by the binding process over that time
    server_cpu: float  # same for the API server


async def timed_binding(client: Client, namespace: str, count: int, *, argv: list[str], log_path: str,
                        within: float, server_pid: int | None) -> Timing:
    """Start the role in ``argv`` and time it from its READY to the last pod bound."""
    rv = (await client.list(PODS, namespace=namespace, limit=1))["metadata"]["resourceVersion"]
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    watcher = asyncio.create_task(watch_bound(client, namespace, count, rv, done))
    child = Child(argv, log_path)
    try:
        ready = await child.wait_ready()
        c0, s0 = cpu_seconds(child.proc.pid), cpu_seconds(server_pid)
        last = await asyncio.wait_for(done, within)
        c1, s1 = cpu_seconds(child.proc.pid), cpu_seconds(server_pid)
    finally:
        child.stop()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
    wall = max(last - ready, 1e-6)
    return Timing(count / wall, wall, (c1 - c0) / wall, (s1 - s0) / wall)


async def count_events(client: Client, namespace: str, reason: str) -> int:
    await asyncio.sleep(1.5)  # the recorder sends events in the background
    items = (await client.list_all(EVENTS, namespace=namespace))["items"]
    return sum(int(e.get("count") or 1) for e in items if e.get("reason") == reason)


def role_argv(role: str, srv: ServerProcess, args: argparse.Namespace, **extra: Any) -> list[str]:
    argv = [PYTHON, os.path.abspath(__file__), "--role", role, "--kubeconfig", srv.kubeconfig, "--loop", args.loop,
            "--in-flight", str(getattr(args, "in_flight", 100))]
    for key, value in extra.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    return argv


def register_nodes(srv: ServerProcess, nodes: int, log_path: str) -> subprocess.Popen[bytes]:
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
    agent = subprocess.Popen([str(REPO_ROOT / ".venv/bin/pyk8s"), "agent", "--kubeconfig", srv.kubeconfig,
                              "--simulate", str(nodes), "--cpu", "32", "--memory", "128Gi", "--pods", "110"],
                             stdout=log, stderr=log, start_new_session=True)
    _started.append(agent)
    log.close()
    return agent


async def wait_nodes(client: Client, nodes: int, agent: subprocess.Popen[bytes]) -> float:
    t0 = time.monotonic()
    while True:
        items = (await client.list_all(NODES))["items"]
        if len(items) >= nodes:
            return time.monotonic() - t0
        if agent.poll() is not None or time.monotonic() - t0 > 600:
            raise SystemExit(f"agent failed: {len(items)} of {nodes} nodes registered")
        await asyncio.sleep(1)


def stop_agent(agent: subprocess.Popen[bytes]) -> None:
    kill_group(agent)


async def bench_size(nodes: int, pods: int, args: argparse.Namespace) -> list[tuple[str, Timing, Timing]]:
    srv = ServerProcess(extra_args=["--disable", "controller-manager,scheduler"]).start()
    agent = register_nodes(srv, nodes, os.path.join(srv.root, "agent.log"))
    client = Client.from_kubeconfig(srv.kubeconfig)
    rows: list[tuple[str, Timing, Timing]] = []
    try:
        took = await wait_nodes(client, nodes, agent)
        print(f"  {nodes} nodes registered in {took:.1f}s", flush=True)
        if not args.keep_agent:
            stop_agent(agent)
        for workload in ("plain", "anti-affinity"):
            groups = 0 if workload == "plain" else math.ceil(2 * pods / nodes)
            ref_ns, ns = f"ref-{workload}", f"bench-{workload}"
            rate = await create_pods(client, ref_ns, pods, groups)
            await create_pods(client, ns, pods, groups)
            ceiling = await timed_binding(
                client, ref_ns, pods, argv=role_argv("ceiling", srv, args, namespace=ref_ns, nodes=nodes),
                log_path=os.path.join(srv.root, f"ceiling-{workload}.log"), within=args.timeout, server_pid=srv.pid)
            extra = {}
            if args.profile:
                os.makedirs(args.profile, exist_ok=True)
                extra["profile_out"] = os.path.join(args.profile, f"scheduler-{nodes}-{workload}.prof")
            sched = await timed_binding(
                client, ns, pods, argv=role_argv("scheduler", srv, args, **extra),
                log_path=os.path.join(srv.root, f"scheduler-{workload}.log"), within=args.timeout, server_pid=srv.pid)
            failed = await count_events(client, ns, "FailedScheduling")
            print(f"  {workload}: {pods} pods created at {rate:.0f}/s; ceiling {ceiling.rate:.0f} pods/s "
                  f"(CPU: binder {ceiling.child_cpu:.0%}, server {ceiling.server_cpu:.0%}); scheduler "
                  f"{sched.rate:.0f} pods/s in {sched.seconds:.1f}s (CPU: scheduler {sched.child_cpu:.0%}, "
                  f"server {sched.server_cpu:.0%}); {failed} FailedScheduling", flush=True)
            rows.append((workload, sched, ceiling))
    finally:
        await client.close()
        stop_agent(agent)
        if args.keep_logs:
            print(f"  logs kept in {srv.root}")
            srv.stop()
        else:
            srv.close()
    return rows


def parse_sizes(text: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in (part.split(":") for part in text.split(","))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="100 and 1,000 nodes, 300 pods each")
    ap.add_argument("--sizes", default="", help="NODES:PODS,... (default 100:1000,1000:1000,5000:1000)")
    ap.add_argument("--keep-agent", action="store_true", help="keep the simulated nodes' agent running")
    ap.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop", help="event loop of the children")
    ap.add_argument("--profile", default="", help="directory for cProfile output of the scheduler")
    ap.add_argument("--in-flight", type=int, default=100, help="binding POSTs the reference keeps in flight")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--keep-logs", action="store_true")
    # Internal: the child roles.
    ap.add_argument("--role", choices=("scheduler", "ceiling"), help=argparse.SUPPRESS)
    ap.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    ap.add_argument("--namespace", help=argparse.SUPPRESS)
    ap.add_argument("--nodes", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--profile-out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role:
        run_role(args)
        return
    sizes = parse_sizes(args.sizes) if args.sizes else (
        [(100, 300), (1000, 300)] if args.quick else [(100, 1000), (1000, 1000), (5000, 1000)])
    results: list[tuple[int, int, str, Timing, Timing]] = []
    try:
        for nodes, pods in sizes:
            print(f"{nodes} nodes, {pods} pods per workload", flush=True)
            for workload, sched, ceiling in asyncio.run(bench_size(nodes, pods, args)):
                results.append((nodes, pods, workload, sched, ceiling))
    finally:
        for proc in _started:  # whatever happened, leave nothing running
            kill_group(proc, grace=5)
    print()
    print(f"{'nodes':>6} {'pods':>5} {'workload':>14} {'scheduler pods/s':>17} {'ceiling pods/s':>15} {'ratio':>6} "
          f"{'sched CPU':>10} {'server CPU':>11}")
    for nodes, pods, workload, sched, ceiling in results:
        print(f"{nodes:>6} {pods:>5} {workload:>14} {sched.rate:>17.0f} {ceiling.rate:>15.0f} "
              f"{sched.rate / ceiling.rate:>6.2f} {sched.child_cpu:>10.0%} {sched.server_cpu:>11.0%}")


if __name__ == "__main__":
    main()
