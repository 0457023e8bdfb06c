"""Deployment rollout end to end: a 1,000-replica Deployment to all pods Running on 100 simulated nodes.

Starts, as separate processes: ``pyk8s server`` (SQLite, temp data dir,
``--disable controller-manager,scheduler`` so the in-process control plane
does not double up), ``pyk8s controller-manager`` (default controllers),
the scheduler (``KubeScheduler`` in its own process, as in
``scheduler_e2e_bench.py``) and ``pyk8s agent --simulate 100`` (32 CPU /
128Gi / 110 pods per node).  Everything is stopped by PID.

1. **Reference, same run** (the pod/agent ceiling): 1,000 pods created
   directly with ``spec.nodeName`` preset round-robin over the nodes (64
   creates in flight), timed from the first create to all ``Running``: no
   controller and no scheduler in the path.
2. **Deployment**: one ``apps/v1`` Deployment with ``replicas`` pods (same
   pod template, no nodeName), timed from its POST to all pods ``Running``,
   with the milestones: all pods created (ReplicaSet controller, slow-start
   batches), all bound (scheduler), all Running (agent).

``ratio`` = reference time / Deployment time (1.0 would mean the controllers
and the scheduler add nothing on top of creating and starting the pods).

    .venv/bin/python benchmarks/deployment_bench.py                  # 1,000 replicas, 100 nodes
    .venv/bin/python benchmarks/deployment_bench.py --quick          # 200 replicas, 20 nodes
    .venv/bin/python benchmarks/deployment_bench.py --replicas 1000 --nodes 100 --keep-logs

Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pyk8s.client.errors import ApiError  # noqa: E402
from pyk8s.client.rest import PODS, Client  # noqa: E402
from pyk8s.testing.cluster import REPO_ROOT, ServerProcess  # noqa: E402

Obj = dict[str, Any]
NODES = Client.resource("", "v1", "nodes", namespaced=False)
NAMESPACES = Client.resource("", "v1", "namespaces", namespaced=False)
SERVICEACCOUNTS = Client.resource("", "v1", "serviceaccounts", namespaced=True)
DEPLOYMENTS = Client.resource("apps", "v1", "deployments", namespaced=True)
PYTHON = str(REPO_ROOT / ".venv" / "bin" / "python")
PYK8S = str(REPO_ROOT / ".venv" / "bin" / "pyk8s")
SCHEDULER_BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scheduler_e2e_bench.py")


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of ``pid`` so far (its threads included), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


class CpuMeter:
    """CPU use of named processes between ``start()`` and ``shares(seconds)``."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self.before: dict[str, float] = {}

    def start(self) -> None:
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def shares(self, wall: float) -> str:
        return ", ".join(f"{name} {(cpu_seconds(pid) - self.before[name]) / wall:.0%}"
                         for name, pid in self.pids.items())


def template(app: str) -> Obj:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}


class Milestones:
    """Watches one namespace's pods and records when the n-th was created, bound and Running."""

    def __init__(self, client: Client, namespace: str, count: int) -> None:
        self.client, self.namespace, self.count = client, namespace, count
        self.created: set[str] = set()
        self.bound: set[str] = set()
        self.running: set[str] = set()
        self.at: dict[str, float] = {}
        self.done = asyncio.Event()

    def _mark(self, what: str, seen: set[str], name: str) -> None:
        seen.add(name)
        if len(seen) >= self.count and what not in self.at:
            self.at[what] = time.monotonic()
            if what == "running":
                self.done.set()

    async def run(self, rv: str) -> None:
        while not self.done.is_set():
            async for kind, pod in self.client.watch(PODS, namespace=self.namespace, resource_version=rv,
                                                     timeout_seconds=600):
                rv = pod["metadata"]["resourceVersion"]
                if kind == "DELETED":
                    continue
                name = pod["metadata"]["name"]
                self._mark("created", self.created, name)
                if pod["spec"].get("nodeName"):
                    self._mark("bound", self.bound, name)
                if (pod.get("status") or {}).get("phase") == "Running":
                    self._mark("running", self.running, name)
                if self.done.is_set():
                    return


async def ensure_namespace(client: Client, name: str, within: float = 60) -> None:
    """Create it and wait for its default ServiceAccount (proves the controller manager is working)."""
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    deadline = time.monotonic() + within
    while True:
        try:
            await client.get(SERVICEACCOUNTS, "default", namespace=name)
            return
        except ApiError as exc:
            if exc.code != 404 or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)


async def watched(client: Client, namespace: str, count: int) -> tuple[Milestones, asyncio.Task[None]]:
    rv = (await client.list(PODS, namespace=namespace, limit=1))["metadata"]["resourceVersion"]
    ms = Milestones(client, namespace, count)
    return ms, asyncio.create_task(ms.run(rv))


async def reference(client: Client, count: int, nodes: int, within: float) -> dict[str, float]:
    await ensure_namespace(client, "reference")
    ms, task = await watched(client, "reference", count)
    limit = asyncio.Semaphore(64)

    async def one(i: int) -> None:
        tpl = template("ref")
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": dict(tpl["metadata"], name=f"ref-{i:05d}"),
                "spec": dict(tpl["spec"], nodeName=f"sim-{i % nodes}")}
        async with limit:
            await client.create(PODS, body, namespace="reference")

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(count)))
    await asyncio.wait_for(ms.done.wait(), within)
    task.cancel()
    return {k: v - t0 for k, v in ms.at.items()}


async def deployment(client: Client, replicas: int, within: float) -> dict[str, float]:
    await ensure_namespace(client, "rollout")
    ms, task = await watched(client, "rollout", replicas)
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": template("web")}}
    t0 = time.monotonic()
    await client.create(DEPLOYMENTS, body, namespace="rollout")
    try:
        await asyncio.wait_for(ms.done.wait(), within)
    except TimeoutError:
        print(f"  timed out: {len(ms.created)} created, {len(ms.bound)} bound, {len(ms.running)} Running")
        raise
    finally:
        task.cancel()
    return {k: v - t0 for k, v in ms.at.items()}


_started: list[subprocess.Popen[bytes]] = []


def start(argv: list[str], log_path: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stderr=log, start_new_session=True, cwd=str(REPO_ROOT), **kwargs)
    _started.append(proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


async def wait_nodes(client: Client, nodes: int, within: float = 300) -> None:
    deadline = time.monotonic() + within
    while len((await client.list_all(NODES))["items"]) < nodes:
        if time.monotonic() > deadline:
            raise SystemExit("nodes did not register")
        await asyncio.sleep(0.5)


async def bench(args: argparse.Namespace) -> None:
    srv = ServerProcess(extra_args=["--disable", "controller-manager,scheduler"]).start()
    procs: list[subprocess.Popen[bytes]] = []
    client = Client.from_kubeconfig(srv.kubeconfig)
    try:
        logs = srv.root
        procs.append(start([PYK8S, "controller-manager", "--kubeconfig", srv.kubeconfig],
                           os.path.join(logs, "controller-manager.log"), stdout=subprocess.DEVNULL))
        sched = start([PYTHON, SCHEDULER_BENCH, "--role", "scheduler", "--kubeconfig", srv.kubeconfig,
                       "--loop", args.loop], os.path.join(logs, "scheduler.log"), stdout=subprocess.PIPE)
        procs.append(sched)
        procs.append(start([PYK8S, "agent", "--kubeconfig", srv.kubeconfig, "--simulate", str(args.nodes),
                            "--cpu", "32", "--memory", "128Gi", "--pods", "110"],
                           os.path.join(logs, "agent.log"), stdout=subprocess.DEVNULL))
        await wait_nodes(client, args.nodes)
        assert sched.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(sched.stdout.readline), 120)
        if not line.startswith(b"READY"):
            raise SystemExit("scheduler failed to start")
        print(f"control plane up: {args.nodes} nodes registered; scheduler ready (pids: server {srv.pid}, "
              f"controller-manager {procs[0].pid}, scheduler {sched.pid}, agent {procs[2].pid})", flush=True)
        meter = CpuMeter({"server": srv.pid, "controller-manager": procs[0].pid, "scheduler": sched.pid,
                          "agent": procs[2].pid})
        meter.start()
        ref = await reference(client, args.replicas, args.nodes, args.timeout)
        print(f"  reference ({args.replicas} pods with nodeName preset): all Running after {ref['running']:.2f}s "
              f"(created by {ref['created']:.2f}s); CPU: {meter.shares(ref['running'])}", flush=True)
        await asyncio.sleep(2)  # let the agent and informers settle
        meter.start()
        dep = await deployment(client, args.replicas, args.timeout)
        print(f"  Deployment ({args.replicas} replicas): all created {dep['created']:.2f}s, all bound "
              f"{dep['bound']:.2f}s, all Running {dep['running']:.2f}s; CPU: {meter.shares(dep['running'])}",
              flush=True)
        print()
        print(f"{'replicas':>8} {'nodes':>5} {'deployment s':>13} {'reference s':>12} {'ratio ref/dep':>14} "
              f"{'pods/s':>7}")
        print(f"{args.replicas:>8} {args.nodes:>5} {dep['running']:>13.2f} {ref['running']:>12.2f} "
              f"{ref['running'] / dep['running']:>14.2f} {args.replicas / dep['running']:>7.0f}")
    finally:
        await client.close()
        for proc in reversed(procs):
            stop(proc)
        if args.keep_logs:
            print(f"logs kept in {srv.root}")
            srv.stop()
        else:
            srv.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="200 replicas on 20 nodes")
    ap.add_argument("--replicas", type=int, default=1000)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop", help="the scheduler's event loop")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--keep-logs", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.replicas, args.nodes = 200, 20
    try:
        asyncio.run(bench(args))
    finally:
        for proc in _started:  # whatever happened, leave nothing running
            stop(proc)


if __name__ == "__main__":
    main()
