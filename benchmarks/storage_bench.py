"""Storage benchmark: our drivers against the raw backend, in the same run.

For each driver (sqlite, etcd):
  - creates at fixed offered loads (50, 200, 500 writes/s), open loop: each
    write is launched on schedule and its latency counts from the scheduled
    time, so a stall shows up in p99 instead of silently lowering the load;
  - create and get throughput, closed loop with 64 concurrent callers;
  - listing 10,000 objects (one call, and paged by 500 at a pinned revision).
The raw reference is measured on the same machine in the same run:
  - sqlite: one INSERT per transaction with the same pragmas (WAL,
    synchronous=FULL), sequential, and point SELECTs;
  - etcd: plain puts and gets through the same HTTP gateway (aiohttp,
    keep-alive, 64 concurrent), no txn guard.
It prints our/raw ratios.  Not a test.  ``--quick`` finishes in under a minute.

    .venv/bin/python benchmarks/storage_bench.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import aiohttp  # noqa: E402
import orjson  # noqa: E402

from pyk8s.storage import open_storage  # noqa: E402
from pyk8s.storage.interface import Storage  # noqa: E402
from pyk8s.testing.etcd import EtcdServer, etcd_binary  # noqa: E402

VALUE = b"x" * 1500  # about the size of a pod's JSON
LOADS = (50, 200, 500)
CONCURRENCY = 64


def pct(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    s = sorted(samples)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] * 1000


def fmt_lat(samples: list[float]) -> str:
    return f"p50 {pct(samples, 50):6.2f} ms  p99 {pct(samples, 99):6.2f} ms"


async def offered_load(op: Callable[[int], Awaitable[Any]], rate: int, seconds: float) -> tuple[float, list[float]]:
    """Launch ``op(i)`` ``rate`` times a second for ``seconds``; latency from the scheduled time."""
    n = int(rate * seconds)
    lat: list[float] = []
    start = time.perf_counter()

    async def one(i: int, due: float) -> None:
        await op(i)
        lat.append(time.perf_counter() - due)

    tasks = []
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(i, due)))
    await asyncio.gather(*tasks)
    return n / (time.perf_counter() - start), lat


async def closed_loop(op: Callable[[int], Awaitable[Any]], total: int, concurrency: int) -> tuple[float, list[float]]:
    lat: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            t0 = time.perf_counter()
            await op(i)
            lat.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - start), lat


async def bench_driver(name: str, store: Storage, seconds: float, list_size: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for rate in LOADS:
        tag = f"/bench/load{rate}/"
        achieved, lat = await offered_load(lambda i, tag=tag: store.create(f"{tag}{i:07d}", VALUE), rate, seconds)
        print(f"  {name:6} create @ {rate:3}/s offered: {achieved:7.1f}/s achieved  {fmt_lat(lat)}")
        out[f"create{rate}_p99"] = pct(lat, 99)
    n = max(500, int(seconds * 1000))
    tput, lat = await closed_loop(lambda i: store.create(f"/bench/tput/{i:07d}", VALUE), n, CONCURRENCY)
    print(f"  {name:6} create throughput ({CONCURRENCY} callers): {tput:8.0f}/s  {fmt_lat(lat)}")
    out["create_tput"] = tput
    tput, lat = await closed_loop(lambda i: store.get(f"/bench/tput/{i % n:07d}"), n * 2, CONCURRENCY)
    print(f"  {name:6} get throughput ({CONCURRENCY} callers):    {tput:8.0f}/s  {fmt_lat(lat)}")
    out["get_tput"] = tput
    await closed_loop(lambda i: store.create(f"/bench/list/{i:07d}", VALUE), list_size, CONCURRENCY)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        res = await store.list("/bench/list/")
        times.append(time.perf_counter() - t0)
        assert len(res.items) == list_size
    print(f"  {name:6} list {list_size} objects: best {min(times) * 1000:7.1f} ms  worst {max(times) * 1000:7.1f} ms")
    out["list_ms"] = min(times) * 1000
    t0 = time.perf_counter()
    page = await store.list("/bench/list/", limit=500)
    await store.create("/bench/list/zzz-late", VALUE)  # pages stay pinned; this forces the history path
    got = len(page.items)
    while page.more:
        page = await store.list("/bench/list/", limit=500, revision=page.revision, start_after=page.items[-1].key)
        got += len(page.items)
    paged = (time.perf_counter() - t0) * 1000
    print(f"  {name:6} list {got} objects in pages of 500 (pinned, after a write): {paged:7.1f} ms")
    out["list_paged_ms"] = paged
    return out


def raw_sqlite(path: str, seconds: float) -> dict[str, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)")
    lat = []
    deadline = time.perf_counter() + seconds
    i = 0
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?)", (f"/raw/{i:07d}", VALUE))
        conn.execute("COMMIT")
        lat.append(time.perf_counter() - t0)
        i += 1
    txn = i / (time.perf_counter() - start)
    start = time.perf_counter()
    for j in range(i * 2):
        conn.execute("SELECT v FROM t WHERE k = ?", (f"/raw/{j % i:07d}",)).fetchone()
    gets = i * 2 / (time.perf_counter() - start)
    conn.close()
    print(f"  raw sqlite: {txn:8.0f} transactions/s (1 insert each, sequential)  {fmt_lat(lat)}")
    print(f"  raw sqlite: {gets:8.0f} point selects/s (one thread, no asyncio)")
    return {"create_tput": txn, "get_tput": gets}


async def raw_etcd(endpoint: str, seconds: float) -> dict[str, float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:

        async def call(path: str, body: dict[str, Any]) -> None:
            async with session.post(endpoint + path, data=orjson.dumps(body)) as resp:
                await resp.read()

        def key(i: int) -> str:
            return base64.b64encode(f"/raw/{i:07d}".encode()).decode()

        value = base64.b64encode(VALUE).decode()
        n = max(500, int(seconds * 1000))
        put_tput, lat = await closed_loop(lambda i: call("/v3/kv/put", {"key": key(i), "value": value}), n, CONCURRENCY)
        print(f"  raw etcd: {put_tput:8.0f} puts/s ({CONCURRENCY} callers)  {fmt_lat(lat)}")
        get_tput, lat = await closed_loop(lambda i: call("/v3/kv/range", {"key": key(i % n)}), n * 2, CONCURRENCY)
        print(f"  raw etcd: {get_tput:8.0f} gets/s ({CONCURRENCY} callers)  {fmt_lat(lat)}")
        _, seq = await closed_loop(lambda i: call("/v3/kv/put", {"key": key(i), "value": value}), 200, 1)
        print(f"  raw etcd: sequential put latency {fmt_lat(seq)}")
    return {"create_tput": put_tput, "get_tput": get_tput}


def ratios(name: str, ours: dict[str, float], raw: dict[str, float]) -> None:
    for k in ("create_tput", "get_tput"):
        print(f"  {name:6} {k:12} ours/raw = {ours[k] / raw[k]:5.2f}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs (under a minute in total)")
    ap.add_argument("--drivers", default="sqlite,etcd")
    args = ap.parse_args()
    seconds = 1.5 if args.quick else 10.0
    list_size = 10_000
    tmp = tempfile.mkdtemp(prefix="pyk8s-bench-")
    try:
        for name in args.drivers.split(","):
            print(f"== {name}")
            if name == "sqlite":
                store = open_storage(f"sqlite://{tmp}/bench.db")
                await store.start()
                try:
                    ours = await bench_driver(name, store, seconds, list_size)
                finally:
                    await store.close()
                raw = await asyncio.to_thread(raw_sqlite, f"{tmp}/raw.db", seconds)
            elif name == "etcd":
                if etcd_binary() is None:
                    print("  etcd binary not found: skipped")
                    continue
                server = await EtcdServer().astart()
                try:
                    store = open_storage(server.url)
                    await store.start()
                    try:
                        ours = await bench_driver(name, store, seconds, list_size)
                    finally:
                        await store.close()
                    raw = await raw_etcd(server.endpoint, seconds)
                finally:
                    server.stop()
            else:
                raise SystemExit(f"unknown driver {name}")
            ratios(name, ours, raw)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    _ = statistics  # keep the import for ad-hoc analysis
    asyncio.run(main())
