"""API server benchmark: a real ``pyk8s server`` over HTTPS, per storage backend.

For each backend (sqlite, etcd) it starts the server as a subprocess
(``pyk8s.testing.cluster.ServerProcess``) and drives it with one keep-alive
aiohttp client:
  - pod creates at offered loads of 50, 200 and 500 per second, open loop
    (latency counts from the scheduled send time, so stalls show in p99);
  - pod get throughput, closed loop with 64 concurrent callers;
  - listing 10,000 pods (one unpaged call, and paged by 500);
  - 100 concurrent watchers: latency from a create's send to each watcher
    receiving its ADDED event (p50/p99 over all watchers);
  - idle server RSS after start-up.
The raw storage reference is measured in the same run on the same machine:
raw sqlite3 inserts (one per transaction, WAL, synchronous=FULL, the driver's
pragmas) and raw etcd puts through its HTTP gateway at the same offered loads.

    .venv/bin/python benchmarks/apiserver_bench.py --quick     # < 2 minutes
    .venv/bin/python benchmarks/apiserver_bench.py             # longer runs
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import aiohttp  # noqa: E402
import orjson  # noqa: E402

from pyk8s.testing.cluster import ServerProcess  # noqa: E402
from pyk8s.testing.etcd import EtcdServer, etcd_binary  # noqa: E402

LOADS = (50, 200, 500)
CONCURRENCY = 64
WATCHERS = 100
LIST_SIZE = 10_000


def pct(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    s = sorted(samples)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] * 1000


def lat(samples: list[float]) -> str:
    return f"p50 {pct(samples, 50):7.2f} ms  p99 {pct(samples, 99):7.2f} ms"


def pod(name: str, labels: dict[str, str] | None = None) -> bytes:
    return orjson.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": "bench", "tier": "load"}},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "nginx:1.24",
                        "ports": [{"containerPort": 80}],
                        "env": [{"name": f"VAR_{i}", "value": "x" * 20} for i in range(10)],
                        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                    }
                ]
            },
        }
    )


async def offered_load(
    op: Callable[[int], Awaitable[Any]], rate: int, seconds: float
) -> tuple[float, list[float], int]:
    """Launch ``op(i)`` ``rate`` times a second; returns (achieved/s, latencies, errors)."""
    total = int(rate * seconds)
    start = time.perf_counter()
    latencies: list[float] = []
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            await op(i)
        except Exception:  # noqa: BLE001 - counted, the run goes on
            errors += 1
            return
        latencies.append(time.perf_counter() - due)

    await asyncio.gather(*(one(i) for i in range(total)))
    elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, latencies, errors


async def closed_loop(op: Callable[[int], Awaitable[Any]], seconds: float) -> tuple[float, list[float]]:
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker() -> None:
        while time.perf_counter() < end:
            t = time.perf_counter()
            await op(next(counter))
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return len(latencies) / (time.perf_counter() - start), latencies


class Api:
    """A keep-alive HTTPS session with the server's admin credentials."""

    def __init__(self, srv: ServerProcess) -> None:
        kc = srv.client_config()
        self.base = kc.server.rstrip("/")
        self.headers = {"Content-Type": "application/json", **kc.headers()}
        connector = aiohttp.TCPConnector(ssl=kc.ssl_context(), limit=CONCURRENCY * 2 + WATCHERS + 8)
        self.session = aiohttp.ClientSession(connector=connector, headers=self.headers)

    async def create_ns(self, name: str) -> None:
        body = orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        async with self.session.post(self.base + "/api/v1/namespaces", data=body) as r:
            await r.read()
            if r.status not in (200, 201, 409):
                raise RuntimeError(f"namespace {name}: {r.status}")

    async def create_pod(self, ns: str, name: str, labels: dict[str, str] | None = None) -> None:
        async with self.session.post(f"{self.base}/api/v1/namespaces/{ns}/pods", data=pod(name, labels)) as r:
            await r.read()
            if r.status not in (200, 201):
                raise RuntimeError(f"create {name}: {r.status}")

    async def get_pod(self, ns: str, name: str) -> None:
        async with self.session.get(f"{self.base}/api/v1/namespaces/{ns}/pods/{name}") as r:
            await r.read()
            if r.status != 200:
                raise RuntimeError(f"get {name}: {r.status}")

    async def list_pods(self, ns: str, query: str = "") -> dict[str, Any]:
        async with self.session.get(f"{self.base}/api/v1/namespaces/{ns}/pods{query}") as r:
            return orjson.loads(await r.read())

    async def close(self) -> None:
        await self.session.close()


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (MB)."""
    total = 0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


async def bench_creates(api: Api, seconds: float) -> dict[int, tuple[float, list[float], int]]:
    results = {}
    for rate in LOADS:
        ns = f"load-{rate}"
        await api.create_ns(ns)
        results[rate] = await offered_load(lambda i, ns=ns: api.create_pod(ns, f"p-{i}"), rate, seconds)
        rate_, samples, errors = results[rate]
        print(f"  create @{rate:3d}/s: achieved {rate_:7.1f}/s  {lat(samples)}  errors {errors}")
    return results


async def bench_gets(api: Api, seconds: float) -> None:
    count = int(LOADS[0] * seconds)
    rate, samples = await closed_loop(lambda i: api.get_pod("load-50", f"p-{i % count}"), seconds)
    print(f"  get (x{CONCURRENCY}):   {rate:8.1f}/s  {lat(samples)}")


async def bench_list(api: Api) -> None:
    ns = "list10k"
    await api.create_ns(ns)
    sem = asyncio.Semaphore(CONCURRENCY)

    async def make(i: int) -> None:
        async with sem:
            await api.create_pod(ns, f"l-{i}")

    t = time.perf_counter()
    await asyncio.gather(*(make(i) for i in range(LIST_SIZE)))
    fill = time.perf_counter() - t
    print(f"  fill {LIST_SIZE} pods (x{CONCURRENCY}): {LIST_SIZE / fill:7.1f}/s")
    t = time.perf_counter()
    body = await api.list_pods(ns)
    one = time.perf_counter() - t
    got = len(body.get("items") or [])
    t = time.perf_counter()
    paged, token = 0, ""
    while True:
        query = "?limit=500" + (f"&continue={token}" if token else "")
        page = await api.list_pods(ns, query)
        paged += len(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue") or ""
        if not token:
            break
    pages = time.perf_counter() - t
    print(f"  list {got} pods: {one * 1000:7.1f} ms unpaged, {pages * 1000:7.1f} ms paged by 500 ({paged} items)")


async def bench_watch(api: Api, events: int) -> None:
    ns = "watch"
    await api.create_ns(ns)
    rv = (await api.list_pods(ns)).get("metadata", {}).get("resourceVersion", "0")
    sent: dict[str, float] = {}
    latencies: list[float] = []
    ready = asyncio.Event()
    connected = 0

    async def watcher() -> None:
        nonlocal connected
        url = f"{api.base}/api/v1/namespaces/{ns}/pods?watch=true&resourceVersion={rv}&timeoutSeconds=120"
        seen = 0
        async with api.session.get(url, timeout=aiohttp.ClientTimeout(total=None)) as r:
            connected += 1
            if connected == WATCHERS:
                ready.set()
            async for line in r.content:
                if not line.strip():
                    continue
                now = time.perf_counter()
                ev = orjson.loads(line)
                name = ev["object"]["metadata"]["name"]
                if ev["type"] == "ADDED" and name in sent:
                    latencies.append(now - sent[name])
                    seen += 1
                    if seen == events:
                        return

    tasks = [asyncio.create_task(watcher()) for _ in range(WATCHERS)]
    await asyncio.wait_for(ready.wait(), 30)
    await asyncio.sleep(0.5)
    for i in range(events):
        name = f"w-{i}"
        sent[name] = time.perf_counter()
        await api.create_pod(ns, name)
        await asyncio.sleep(0.02)
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    except TimeoutError:
        for task in tasks:
            task.cancel()
    print(f"  watch x{WATCHERS} ({len(latencies)} deliveries): {lat(latencies)}")


async def bench_server(name: str, seconds: float, watch_events: int) -> None:
    print(f"\n== pyk8s server, {name} backend ==")
    srv = ServerProcess(etcd=(name == "etcd"), start_timeout=60)
    srv.start()
    try:
        await asyncio.sleep(2)
        assert srv.pid is not None
        print(f"  idle RSS: {rss_mb(srv.pid):.1f} MB")
        api = Api(srv)
        try:
            await bench_creates(api, seconds)
            await bench_gets(api, seconds)
            await bench_watch(api, watch_events)
            await bench_list(api)
            print(f"  RSS after load: {rss_mb(srv.pid):.1f} MB")
        finally:
            await api.close()
    finally:
        srv.close()


def raw_sqlite(seconds: float) -> None:
    """One INSERT per transaction with the driver's pragmas, at each offered load."""
    tmp = tempfile.mkdtemp(prefix="bench-raw-sqlite-")
    try:
        conn = sqlite3.connect(os.path.join(tmp, "raw.db"), isolation_level=None)
        for pragma in ("journal_mode = WAL", "synchronous = FULL", "busy_timeout = 10000", "cache_size = -32000"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT, value BLOB)")
        value = pod("raw")
        for rate in LOADS:
            latencies = []
            start = time.perf_counter()
            for i in range(int(rate * seconds)):
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                conn.execute("BEGIN")
                conn.execute("INSERT INTO kv (name, value) VALUES (?, ?)", (f"{rate}-{i}", value))
                conn.execute("COMMIT")
                latencies.append(time.perf_counter() - due)
            print(f"  raw sqlite insert @{rate:3d}/s: {lat(latencies)}")
        conn.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def raw_etcd(seconds: float) -> None:
    """Plain puts through etcd's HTTP gateway at each offered load."""
    with EtcdServer() as etcd:
        async with aiohttp.ClientSession() as session:
            value = base64.b64encode(pod("raw")).decode()

            async def put(i: int) -> None:
                key = base64.b64encode(f"/raw/{i}".encode()).decode()
                async with session.post(etcd.endpoint + "/v3/kv/put", json={"key": key, "value": value}) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(r.status)

            for rate in LOADS:
                achieved, samples, errors = await offered_load(put, rate, seconds)
                print(f"  raw etcd put @{rate:3d}/s: achieved {achieved:7.1f}/s  {lat(samples)}  errors {errors}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs (< 2 minutes in all)")
    parser.add_argument("--backends", default="sqlite,etcd")
    args = parser.parse_args()
    seconds = 2.0 if args.quick else 10.0
    watch_events = 20 if args.quick else 100
    backends = [b for b in args.backends.split(",") if b]
    if "etcd" in backends and etcd_binary() is None:
        print("etcd binary missing: skipping the etcd backend")
        backends.remove("etcd")
    print("== raw storage reference ==")
    if "sqlite" in backends:
        raw_sqlite(seconds)
    if "etcd" in backends:
        await raw_etcd(seconds)
    for name in backends:
        await bench_server(name, seconds, watch_events)


if __name__ == "__main__":
    asyncio.run(main())
