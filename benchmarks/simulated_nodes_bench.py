"""Scale measurement (not a test): N simulated nodes against a real ``pyk8s server``.

    .venv/bin/python benchmarks/simulated_nodes_bench.py [N] [SECONDS] [PODS]

Starts a server (ServerProcess) and ``pyk8s agent --simulate N`` as separate
processes, times registration (all N nodes Ready in a list), then samples the
agent's and server's CPU (from /proc/<pid>/stat) and RSS over SECONDS of
steady state, and checks every lease is fresher than 40 s.  With PODS, it
then creates that many pods spread over the nodes (spec.nodeName set, as if
scheduled) and times until all are Running, then deletes them.  Everything
started is stopped by PID.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import subprocess
import sys
import time

import orjson

from pyk8s.client.rest import PODS, Client
from pyk8s.testing.cluster import REPO_ROOT, ServerProcess

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def items(srv: ServerProcess, path: str) -> list[dict]:
    code, body = srv.request("GET", path)
    return orjson.loads(body).get("items") or [] if code == 200 else []


async def pod_round(srv: ServerProcess, nodes: int, count: int) -> None:
    client = Client.from_kubeconfig(srv.kubeconfig)
    limit = asyncio.Semaphore(32)

    async def create(i: int) -> None:
        async with limit:
            await client.create(PODS, {"apiVersion": "v1", "kind": "Pod",
                                       "metadata": {"name": f"bench-{i}", "namespace": "default"},
                                       "spec": {"nodeName": f"sim-{i % nodes}",
                                                "containers": [{"name": "c", "image": "busybox"}]}})

    try:
        t0 = time.monotonic()
        await asyncio.gather(*(create(i) for i in range(count)))
        created = time.monotonic() - t0
        while True:
            page = await client.list(PODS, namespace="default")
            running = sum(1 for p in page["items"] if (p.get("status") or {}).get("phase") == "Running")
            if running >= count or time.monotonic() - t0 > 600:
                break
            await asyncio.sleep(0.5)
        print(f"{count} pods created in {created:.1f}s, {running} Running after {time.monotonic() - t0:.1f}s")
        t1 = time.monotonic()
        await client.delete_collection(PODS, namespace="default")
        while time.monotonic() - t1 < 600:
            if not (await client.list(PODS, namespace="default"))["items"]:
                break
            await asyncio.sleep(0.5)
        print(f"deleted (graceful, confirmed by the agent) in {time.monotonic() - t1:.1f}s")
    finally:
        await client.close()


def main(n: int, window: float, pods: int = 0) -> None:
    srv = ServerProcess().start()
    log = open("/tmp/sim-bench-agent.log", "w")
    agent = subprocess.Popen([str(REPO_ROOT / ".venv/bin/pyk8s"), "agent", "--kubeconfig", srv.kubeconfig,
                              "--simulate", str(n)], stdout=log, stderr=log, start_new_session=True)
    try:
        t0 = time.monotonic()
        while True:
            ready = [x for x in items(srv, "/api/v1/nodes")
                     if any(c["type"] == "Ready" and c["status"] == "True" for c in x["status"].get("conditions", []))]
            if len(ready) >= n:
                break
            if agent.poll() is not None or time.monotonic() - t0 > 600:
                raise SystemExit(f"agent failed; {len(ready)} ready")
            time.sleep(1)
        reg = time.monotonic() - t0
        print(f"{n} nodes Ready after {reg:.1f}s; agent RSS {rss_mib(agent.pid):.0f} MiB")
        time.sleep(15)  # let the first spread round of renewals settle
        a0, s0, w0 = cpu_seconds(agent.pid), cpu_seconds(srv.pid or 0), time.monotonic()
        time.sleep(window)
        a1, s1, w1 = cpu_seconds(agent.pid), cpu_seconds(srv.pid or 0), time.monotonic()
        wall = w1 - w0
        now = datetime.datetime.now(datetime.UTC)
        ages = [(now - datetime.datetime.strptime(x["spec"]["renewTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.UTC)).total_seconds() for x in items(srv, "/apis/coordination.k8s.io/v1/namespaces/"
                                                                    "kube-node-lease/leases")]
        print(f"steady state over {wall:.0f}s: agent CPU {100 * (a1 - a0) / wall:.1f}% "
              f"RSS {rss_mib(agent.pid):.0f} MiB; server CPU {100 * (s1 - s0) / wall:.1f}% "
              f"RSS {rss_mib(srv.pid or 0):.0f} MiB")
        print(f"leases: {len(ages)}, oldest renewTime {max(ages):.1f}s ago, mean {sum(ages) / len(ages):.1f}s")
        if pods:
            a0 = cpu_seconds(agent.pid)
            asyncio.run(pod_round(srv, n, pods))
            print(f"agent CPU during the pod round: {cpu_seconds(agent.pid) - a0:.1f}s; RSS {rss_mib(agent.pid):.0f} MiB")
    finally:
        os.killpg(agent.pid, signal.SIGTERM)
        agent.wait(30)
        srv.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, float(sys.argv[2]) if len(sys.argv) > 2 else 60,
         int(sys.argv[3]) if len(sys.argv) > 3 else 0)
