"""Authorization and admission cost: pod creates at 200/s and list latency, ``Node,RBAC`` + the full admission
chain against ``AlwaysAllow`` with no admission, in the same run, with 1,000 RoleBindings present.

Three ``pyk8s server`` subprocesses (no controllers, scheduler or kubelet), one after the other:

* ``rbac``: the defaults (``--authorization-mode Node,RBAC``, every default admission plugin);
* ``authz``: ``Node,RBAC`` without admission (what authorization alone costs);
* ``open``: ``--authorization-mode AlwaysAllow --disable-admission-plugins <all>``.

On each, the admin makes namespace ``bench`` (and its ``default`` ServiceAccount) and 1,000 RoleBindings
(999 to other users, one granting ``bench-user`` a ClusterRole to read and create pods); then ``bench-user`` (a client certificate,
so every request goes through RBAC, not the ``system:masters`` shortcut) creates pods open-loop at 200/s
(latency counted from each create's scheduled send time) and lists the namespace's pods.  The result is
printed as the ``rbac`` figure, the ``open`` figure and their ratio (target: within 10 %), with the server's
CPU time per create and per list (utime+stime from /proc: on a shared machine it moves far less than latency).

    .venv/bin/python benchmarks/authz_bench.py              # 10 s at 200/s (2,000 pods), 10 lists
    .venv/bin/python benchmarks/authz_bench.py --seconds 5 --rate 100   # below saturation on a busy machine

Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import ssl
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import aiohttp  # noqa: E402
import orjson  # noqa: E402

from pyk8s.apiserver.admission.chain import NAMES  # noqa: E402
from pyk8s.testing.cluster import ServerProcess  # noqa: E402
from pyk8s.util import pki  # noqa: E402

RATE = 200
BINDINGS = 1000
NS = "bench"


def ssl_context(data_dir: Path, cert: pki.KeyPair) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(data_dir / "pki" / "ca.crt"))
    ctx.load_cert_chain(str(cert.cert_path), str(cert.key_path))
    return ctx


def pod(i: int) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p-{i}", "namespace": NS},
                         "spec": {"containers": [{"name": "c", "image": "busybox"}]}})


async def post(session: aiohttp.ClientSession, url: str, body: Any) -> None:
    async with session.post(url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}) as r:
        if r.status not in (200, 201, 409):
            raise RuntimeError(f"{url}: {r.status} {await r.text()}")


async def setup(srv: ServerProcess, admin: ssl.SSLContext) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=admin, limit=16)) as s:
        await post(s, f"{srv.url}/api/v1/namespaces", {"metadata": {"name": NS}})
        await post(s, f"{srv.url}/api/v1/namespaces/{NS}/serviceaccounts", {"metadata": {"name": "default"}})
        # Its own role: edit's rules come from the aggregation controller, which these servers do not run.
        await post(s, f"{srv.url}/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "metadata": {"name": "bench-pods"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "create"]}]})
        rb = f"{srv.url}/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/rolebindings"

        def binding(i: int) -> dict[str, Any]:
            user = "bench-user" if i == 0 else f"user-{i}"
            return {"metadata": {"name": f"rb-{i}"}, "subjects": [{"kind": "User", "name": user,
                                                                  "apiGroup": "rbac.authorization.k8s.io"}],
                    "roleRef": {"kind": "ClusterRole", "name": "bench-pods", "apiGroup": "rbac.authorization.k8s.io"}}

        for start in range(0, BINDINGS, 50):
            await asyncio.gather(*(post(s, rb, binding(i)) for i in range(start, min(start + 50, BINDINGS))))


async def creates(srv: ServerProcess, ctx: ssl.SSLContext, seconds: float) -> list[float]:
    url = f"{srv.url}/api/v1/namespaces/{NS}/pods"
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=256)) as s:
        async def one(i: int, due: float) -> None:
            async with s.post(url, data=pod(i), headers={"Content-Type": "application/json"}) as r:
                await r.read()
                if r.status != 201:
                    raise RuntimeError(f"create: {r.status} {await r.text()}")
            latencies.append(time.monotonic() - due)

        start = time.monotonic() + 0.2
        tasks = []
        for i in range(int(RATE * seconds)):
            due = start + i / RATE
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
    return latencies


async def lists(srv: ServerProcess, ctx: ssl.SSLContext, count: int) -> list[float]:
    out = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s:
        for _ in range(count):
            t = time.monotonic()
            async with s.get(f"{srv.url}/api/v1/namespaces/{NS}/pods") as r:
                await r.read()
                assert r.status == 200, r.status
            out.append(time.monotonic() - t)
    return out


def cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of the server process (all threads)."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p99(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.99) - 1)] * 1000


async def measure(args: list[str], seconds: float, list_count: int) -> dict[str, float]:
    # No in-flight cap: a slow server shows as latency here, not as 429s.
    srv = ServerProcess(extra_args=[*args, "--max-requests-inflight", "0", "--max-mutating-requests-inflight",
                                    "0"]).start()
    try:
        data = Path(srv.data_dir)
        ca = pki.KeyPair((data / "pki/ca.crt").read_bytes(), (data / "pki/ca.key").read_bytes(),
                         data / "pki/ca.crt", data / "pki/ca.key")
        user = pki.issue_cert(ca, data / "bench.crt", data / "bench.key", common_name="bench-user")
        admin = pki.KeyPair(b"", b"", data / "pki/admin.crt", data / "pki/admin.key")
        await setup(srv, ssl_context(data, admin))
        ctx = ssl_context(data, user)
        await lists(srv, ctx, 2)  # warm the watch caches and connections
        cpu0 = cpu_s(srv.pid)
        lat = await creates(srv, ctx, seconds)
        cpu_create = (cpu_s(srv.pid) - cpu0) / len(lat) * 1000
        cpu0 = cpu_s(srv.pid)
        listed = await lists(srv, ctx, list_count)
        cpu_list = (cpu_s(srv.pid) - cpu0) / len(listed) * 1000
        print(f"  {' '.join(args)[:60]}: done (load average {os.getloadavg()[0]:.1f})")
        return {"create_p99_ms": p99(lat), "create_p50_ms": statistics.median(lat) * 1000,
                "list_median_ms": statistics.median(listed) * 1000, "list_max_ms": max(listed) * 1000,
                "cpu_per_create_ms": cpu_create, "cpu_per_list_ms": cpu_list}
    finally:
        srv.close()
        shutil.rmtree(srv.root, ignore_errors=True)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--lists", type=int, default=10)
    ap.add_argument("--rate", type=int, default=200, help="creates per second (default 200, the issue's)")
    a = ap.parse_args()
    global RATE
    RATE = a.rate
    no_admission = ["--disable-admission-plugins", ",".join(NAMES)]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the start")
    results = {
        "rbac": await measure(["--authorization-mode", "Node,RBAC"], a.seconds, a.lists),
        "authz": await measure(["--authorization-mode", "Node,RBAC", *no_admission], a.seconds, a.lists),
        "open": await measure(["--authorization-mode", "AlwaysAllow", *no_admission], a.seconds, a.lists),
    }
    print(f"pods: {int(RATE * a.seconds)} created at {RATE}/s by a user bound among {BINDINGS} RoleBindings")
    print("columns: Node,RBAC + the default admission chain | Node,RBAC, no admission | AlwaysAllow, no admission")
    print(f"{'':16}{'RBAC+adm':>10}{'RBAC':>10}{'open':>10}{'RBAC+adm/open':>15}{'RBAC/open':>11}")
    for key in results["rbac"]:
        r, z, o = results["rbac"][key], results["authz"][key], results["open"][key]
        print(f"{key:16}{r:10.1f}{z:10.1f}{o:10.1f}{r / o:15.2f}{z / o:11.2f}")


if __name__ == "__main__":
    asyncio.run(main())
