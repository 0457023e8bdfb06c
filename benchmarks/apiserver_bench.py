"""API server benchmark: issue 9's load against ``pyk8s server`` on SQLite and on etcd 3.4.

One run measures, one after the other on this machine:

1. ``pyk8s server`` (a subprocess, ``pyk8s.testing.cluster.ServerProcess``) on
   SQLite, then on etcd 3.4 (``pyk8s.testing.etcd.EtcdServer``, passed with
   ``--etcd-servers``), each driven over HTTPS by one keep-alive aiohttp client:
   - open-loop pod creates at 100/s and 300/s (p99, latency counted from the
     scheduled send time, so stalls show) and at 600/s (what is achieved);
   - a fill to N pods in all (default 10,000), 32 creates in flight;
   - gets, 32 concurrent callers (gets/s);
   - a list of all pods (``/api/v1/pods``), unpaged and paged by 500;
   - 100 watchers of one namespace receiving 100 creates (sent at 100/s):
     delivery latency from each create's send to each watcher's ADDED line;
   - RSS of the server (and of etcd) after the run.
   Before each create phase and before the watch scenario's creates, the client
   fills its connection pool (``Api.warm``, every target alike), so a late
   create never opens a connection during the measurement (a full TLS handshake
   with a client certificate costs the server 2-3 ms of CPU with OpenSSL 3.0,
   as much as a create); each phase prints the connections it opened.
   Watchers find their pod's name in each line without decoding it.
2. Two references in the same run, printed as ratios:
   - ``raw``: the same operations straight against the store, bypassing the
     API server: for etcd, with the same client the driver uses (grpc.aio and
     etcd's protobuf stubs): txn creates at the same offered loads, 32
     concurrent range gets, a range over the server's own ``/registry/core/pods/``
     (unpaged, and by 500), 100 watch streams receiving 100 puts; for SQLite,
     one INSERT per transaction at the same loads (the driver's pragmas), point
     SELECTs, and the server's own ``state.db`` read with one query.
   - ``floor``: a minimal aiohttp HTTPS handler (same TLS set-up, same
     certificates, uvloop) serving the bytes pyk8s served (the captured list,
     pages, get and create bodies) and writing each created pod to every
     watcher: what Python, aiohttp and TLS cost on this machine alone.
3. The anchor: kube-apiserver 1.28.4 on etcd 3.4, as measured in issue 9
   section 5 on the same kind of machine (quoted, not re-run: no Go binaries
   here), and the pyk8s figures the issue measured before this work.

    .venv/bin/python benchmarks/apiserver_bench.py --quick     # 2,000 pods, 1.5 s per load (181 s at load average 13)
    .venv/bin/python benchmarks/apiserver_bench.py             # 10,000 pods, 4 s per load
    .venv/bin/python benchmarks/apiserver_bench.py --backends etcd --pods 5000
    .venv/bin/python benchmarks/apiserver_bench.py --watch-only  # the watch scenario alone, both backends + floor

Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import aiohttp  # noqa: E402
import orjson  # noqa: E402

from pyk8s.testing.cluster import ServerProcess, free_port  # noqa: E402
from pyk8s.testing.etcd import EtcdServer, etcd_binary  # noqa: E402

THIS = os.path.abspath(__file__)
CREATE_RATES = (100, 300, 600)
CONCURRENCY = 32
WATCHERS = 100
WATCH_EVENTS = 100
WATCH_RATE = 100  # creates/s while the watchers listen
PAGE = 500
POOL = WATCHERS + 2 * CONCURRENCY + 8  # the client's connection limit
POD_PREFIX, POD_END = "/registry/core/pods/", "/registry/core/pods0"  # where pyk8s stores pods (both backends)

# kube-apiserver 1.28.4 on etcd 3.4.23, and pyk8s before this work: issue 9, section 5 (same load, 2 cores).
ANCHOR = {
    "create_p99_100": 14.3, "create_p99_300": 171.0, "achieved_600": 338.0, "gets_per_s": 1400.0,
    "list_unpaged_s": 1.97, "list_paged_s": 2.58, "watch_p99": 33.0, "rss_mb": 1249.0,
}
ISSUE_PYK8S = {
    "sqlite": {"create_p99_100": 9.8, "create_p99_300": 16.8, "achieved_600": 596.0, "gets_per_s": 4024.0,
               "list_unpaged_s": 0.94, "list_paged_s": 0.75, "watch_p99": 191.0, "rss_mb": 430.0},
    "etcd": {"create_p99_100": 95.8, "create_p99_300": 226.0, "achieved_600": 309.0, "gets_per_s": 1714.0,
             "list_unpaged_s": 1.74, "list_paged_s": 1.24, "watch_p99": 701.0, "rss_mb": 580.0},
}
# (key, label, higher is better)
MEASURES = [
    ("create_p99_100", "create p99 @100/s (ms)", False),
    ("create_p99_300", "create p99 @300/s (ms)", False),
    ("achieved_600", "creates/s achieved, 600/s offered", True),
    ("gets_per_s", f"gets/s ({CONCURRENCY} concurrent)", True),
    ("list_unpaged_s", "list all pods, unpaged (s)", False),
    ("list_paged_s", f"list all pods, paged by {PAGE} (s)", False),
    ("watch_p99", f"watch delivery p99, {WATCHERS} watchers (ms)", False),
    ("rss_mb", "RSS after the run (MB, with etcd)", False),
]


def pct(samples: list[float], p: float) -> float:
    """The p-th percentile of ``samples`` (seconds) in milliseconds."""
    if not samples:
        return float("nan")
    s = sorted(samples)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] * 1000


def pod(name: str) -> bytes:
    return orjson.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "bench", "tier": "load"}},
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


# -- load shapes ---------------------------------------------------------------


async def open_loop(op: Callable[[int], Awaitable[Any]], rate: int, seconds: float) -> tuple[float, list[float], int]:
    """Launch ``op(i)`` ``rate`` times a second; returns (completed/s, latencies from the due time, errors)."""
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
    return len(latencies) / (time.perf_counter() - start), latencies, errors


async def closed_loop(op: Callable[[int], Awaitable[Any]], *, seconds: float = 0, count: int = 0) -> float:
    """``CONCURRENCY`` callers back to back, for ``seconds`` or ``count`` calls; returns calls/s."""
    done = 0
    end = time.perf_counter() + seconds
    counter = iter(range(count if not seconds else 10**9))

    async def worker() -> None:
        nonlocal done
        for i in counter:
            await op(i)
            done += 1
            if seconds and time.perf_counter() >= end:
                return

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - start)


# -- the HTTP client -------------------------------------------------------------


class Api:
    """A keep-alive HTTPS session with admin credentials; remembers one body of each kind it saw."""

    def __init__(self, base: str, ssl_ctx: ssl.SSLContext | None, headers: dict[str, str]) -> None:
        self.base = base.rstrip("/")
        # A bounded pool, as a real client has: an open loop that outruns the server queues here
        # (its latency still counts from the scheduled time) instead of opening a TLS connection
        # per late request.  The watchers hold WATCHERS of these connections for their streams.
        connector = aiohttp.TCPConnector(ssl=ssl_ctx, limit=POOL)
        self.connections = 0  # opened so far (each a TLS handshake on the server)
        trace = aiohttp.TraceConfig()
        trace.on_connection_create_end.append(self._opened)
        self.session = aiohttp.ClientSession(
            connector=connector, headers={"Content-Type": "application/json", **headers}, trace_configs=[trace]
        )
        self.samples: dict[str, bytes] = {}

    async def create_ns(self, name: str) -> None:
        body = orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        async with self.session.post(self.base + "/api/v1/namespaces", data=body) as r:
            await r.read()
            if r.status not in (200, 201, 409):
                raise RuntimeError(f"namespace {name}: {r.status}")
        # The service-account controller's part (the bench server runs without it): pod admission
        # requires the namespace's default account.  The floor has no such route and ignores it.
        sa = orjson.dumps({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})
        async with self.session.post(f"{self.base}/api/v1/namespaces/{name}/serviceaccounts", data=sa) as r:
            await r.read()

    async def create_pod(self, ns: str, name: str) -> None:
        async with self.session.post(f"{self.base}/api/v1/namespaces/{ns}/pods", data=pod(name)) as r:
            body = await r.read()
            if r.status not in (200, 201):
                raise RuntimeError(f"create {name}: {r.status} {body[:200]!r}")
            self.samples.setdefault("create", body)

    async def get_pod(self, ns: str, name: str) -> None:
        async with self.session.get(f"{self.base}/api/v1/namespaces/{ns}/pods/{name}") as r:
            body = await r.read()
            if r.status != 200:
                raise RuntimeError(f"get {name}: {r.status}")
            self.samples.setdefault("get", body)

    async def _opened(self, *_: Any) -> None:
        self.connections += 1

    async def warm(self, ns: str, connections: int) -> None:
        """Have ``connections`` keep-alive connections open before a clock starts (every target alike).

        Without it, an open loop that outruns the server opens new connections during the
        measurement (up to the pool's limit): each a TLS handshake with a client certificate
        (2-3 ms of the server's CPU with OpenSSL 3.0), on the server's loop, in the middle of the
        scenario, so a backlog feeds itself.  A client on HTTP/2 (client-go) opens one connection."""
        path = f"/api/v1/namespaces/{ns}/pods?limit=1"
        await asyncio.gather(*(self.get_raw(path) for _ in range(connections)))

    async def get_raw(self, path: str) -> bytes:
        async with self.session.get(self.base + path) as r:
            body = await r.read()
            if r.status != 200:
                raise RuntimeError(f"GET {path}: {r.status} {body[:200]!r}")
            return body

    async def close(self) -> None:
        await self.session.close()


async def list_all(api: Api) -> tuple[float, float, int, list[bytes]]:
    """(unpaged s, paged s, items, page bodies) for ``/api/v1/pods``."""
    t = time.perf_counter()
    full = await api.get_raw("/api/v1/pods")
    items = len(orjson.loads(full)["items"])
    unpaged = time.perf_counter() - t
    api.samples["list"] = full
    pages: list[bytes] = []
    token = ""
    t = time.perf_counter()
    while True:
        body = await api.get_raw(f"/api/v1/pods?limit={PAGE}" + (f"&continue={token}" if token else ""))
        pages.append(body)
        token = orjson.loads(body)["metadata"].get("continue") or ""
        if not token:
            break
    return unpaged, time.perf_counter() - t, items, pages


async def watch_fanout(api: Api, ns: str, pid: int | None) -> tuple[list[float], float, float, float]:
    """Latencies (s) from each create's send to each watcher's ADDED line for it, the server's
    CPU seconds from the first create on (the watchers' and the warm-up's handshakes left out),
    this client's CPU seconds over the same span, and the span (first create to last line)."""
    rv = orjson.loads(await api.get_raw(f"/api/v1/namespaces/{ns}/pods"))["metadata"].get("resourceVersion", "0")
    sent: dict[str, float] = {}
    latencies: list[float] = []
    last_line = [0.0]
    connected = 0
    ready = asyncio.Event()

    async def watcher() -> None:
        nonlocal connected
        url = f"{api.base}/api/v1/namespaces/{ns}/pods?watch=true&resourceVersion={rv}&timeoutSeconds=120"
        seen = 0
        async with api.session.get(url, timeout=aiohttp.ClientTimeout(total=None)) as r:
            connected += 1
            if connected == WATCHERS:
                ready.set()
            async for line in r.content:
                now = time.perf_counter()
                if b'"ADDED"' not in line:
                    continue
                # The pod's own name is the line's first "name":"w-...": found without decoding the
                # line (orjson: ~20 us a line here, a fifth of a core at 10,000 lines/s), so the one
                # client loop reading all 100 streams does not delay every later line.
                at = line.find(b'"name":"w-') + 8
                name = line[at:line.index(b'"', at)].decode()
                if name in sent:
                    latencies.append(now - sent[name])
                    last_line[0] = now
                    seen += 1
                    if seen == WATCH_EVENTS:
                        return

    async def create(i: int) -> None:
        name = f"w-{i}"
        sent[name] = time.perf_counter()
        await api.create_pod(ns, name)

    tasks = [asyncio.create_task(watcher()) for _ in range(WATCHERS)]
    await asyncio.wait_for(ready.wait(), 60)
    await api.warm(ns, POOL - WATCHERS)  # the watchers hold the rest
    await asyncio.sleep(0.5)
    opened, cpu0, mine0, t0 = api.connections, cpu_s(pid), time.process_time(), time.perf_counter()
    await open_loop(create, WATCH_RATE, WATCH_EVENTS / WATCH_RATE)
    print(f"    connections opened by the watch scenario's creates: {api.connections - opened}")
    done, pending = await asyncio.wait(tasks, timeout=60)
    for task in pending:
        task.cancel()
    if pending:
        print(f"    {len(pending)} watchers did not see every event within 60 s")
    return latencies, cpu_s(pid) - cpu0, time.process_time() - mine0, last_line[0] - t0


# -- one API server ----------------------------------------------------------------


async def drive(api: Api, *, pods: int, seconds: float, fill: bool, pid: int | None,
                watch_only: bool = False) -> dict[str, float]:
    """Issue 9's load against one server; returns the measures (RSS excepted).  The server's CPU
    time per operation (``pid``) is printed too: on a shared machine it moves less than latency."""
    out: dict[str, float] = {}
    for ns in ("load", "fill", "watch"):
        await api.create_ns(ns)
    if watch_only:
        return await drive_watch(api, pid)
    created = 0
    cpu0 = cpu_s(pid)
    for rate in CREATE_RATES:
        await api.warm("load", POOL)
        opened = api.connections
        achieved, lat, errors = await open_loop(lambda i, r=rate: api.create_pod("load", f"c{r}-{i}"), rate, seconds)
        created += len(lat)
        print(f"    create @{rate}/s: achieved {achieved:6.1f}/s  p50 {pct(lat, 50):7.1f} ms  "
              f"p99 {pct(lat, 99):7.1f} ms  errors {errors}  connections opened {api.connections - opened}")
        if rate == 600:
            out["achieved_600"] = achieved
        else:
            out[f"create_p99_{rate}"] = pct(lat, 99)
    print(f"    server CPU per create: {per_op(pid, cpu0, created)}")
    names = [f"c100-{i}" for i in range(int(100 * seconds))]
    get_ns = "load"
    if fill and pods > created:
        t = time.perf_counter()
        rate = await closed_loop(lambda i: api.create_pod("fill", f"f-{i}"), count=pods - created)
        print(f"    fill: {pods - created} pods in {time.perf_counter() - t:.1f} s ({rate:.0f}/s, {CONCURRENCY} in flight)")
        names, get_ns = [f"f-{i}" for i in range(pods - created)], "fill"
    cpu0 = cpu_s(pid)
    out["gets_per_s"] = await closed_loop(lambda i: api.get_pod(get_ns, random.choice(names)), seconds=seconds)
    gets = out["gets_per_s"] * seconds
    print(f"    gets ({CONCURRENCY} concurrent): {out['gets_per_s']:.0f}/s; server CPU per get: {per_op(pid, cpu0, gets)}")
    cpu0 = cpu_s(pid)
    unpaged, paged, items, _ = await list_all(api)
    out["list_unpaged_s"], out["list_paged_s"] = unpaged, paged
    print(f"    list {items} pods: {unpaged:.2f} s unpaged, {paged:.2f} s paged; "
          f"server CPU for both: {per_op(pid, cpu0, 1)}")
    return out | await drive_watch(api, pid)


async def drive_watch(api: Api, pid: int | None) -> dict[str, float]:
    lat, cpu, mine, span = await watch_fanout(api, "watch", pid)
    p99 = pct(lat, 99)
    per = f"{cpu / len(lat) * 1000:.3f} ms" if pid is not None and lat else "-"
    print(f"    watch: {len(lat)} deliveries  p50 {pct(lat, 50):.1f} ms  p99 {p99:.1f} ms; "
          f"server CPU per delivery: {per} (load average {os.getloadavg()[0]:.1f})")
    if lat:  # the one client loop reads every stream: when it is the busier side, p99 measures it
        print(f"    first create to last line {span:.2f} s; CPU in it: server {cpu / span:.0%} of a core "
              f"(to the end of the run), this client {mine / span:.0%}; client CPU per delivery "
              f"{mine / len(lat) * 1000:.3f} ms")
    return {"watch_p99": p99}


def cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process, all threads (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_op(pid: int | None, cpu0: float, ops: float) -> str:
    if pid is None or not ops:
        return "-"
    return f"{(cpu_s(pid) - cpu0) / ops * 1000:.2f} ms"


def rss_mb(pid: int | None) -> float:
    """Resident memory of a process and its children (MB)."""
    if pid is None:
        return 0.0
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
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except OSError:
            pass
    return total / 1024


async def bench_pyk8s(backend: str, args: argparse.Namespace, keep: Path) -> dict[str, float]:
    etcd = await EtcdServer().astart() if backend == "etcd" else None
    extra = ["--etcd-servers", etcd.endpoint] if etcd else []
    srv = ServerProcess(extra_args=extra, start_timeout=60)
    try:
        srv.start()
        kc = srv.client_config()
        api = Api(kc.server, kc.ssl_context(), kc.headers())
        try:
            out = await drive(api, pods=args.pods, seconds=args.seconds, fill=True, pid=srv.pid,
                              watch_only=args.watch_only)
        finally:
            await api.close()
        server_rss, etcd_rss = rss_mb(srv.pid), rss_mb(etcd.pid if etcd else None)
        out["rss_mb"] = server_rss + etcd_rss
        print(f"    RSS: server {server_rss:.0f} MB" + (f" + etcd {etcd_rss:.0f} MB" if etcd else ""))
        if not keep.joinpath("create").exists():
            keep_samples(srv, api, keep)
        srv.stop()
        if args.watch_only:
            return out
        if etcd is not None:
            return out | await raw_etcd(etcd, args.seconds)
        return out | await asyncio.to_thread(raw_sqlite, os.path.join(srv.data_dir, "state.db"), args.seconds)
    finally:
        srv.close()
        if etcd is not None:
            etcd.stop()


def keep_samples(srv: ServerProcess, api: Api, keep: Path) -> None:
    """What the floor server will serve: pyk8s's own bytes and PKI."""
    for kind, body in api.samples.items():
        keep.joinpath(kind).write_bytes(body)
    pki = Path(srv.data_dir) / "pki"
    for name in ("apiserver.crt", "apiserver.key", "ca.crt"):
        shutil.copy(pki / name, keep / name)
    keep.joinpath("kubeconfig").write_bytes(Path(srv.kubeconfig).read_bytes())


# -- raw store references -------------------------------------------------------------


async def raw_etcd(etcd: EtcdServer, seconds: float) -> dict[str, float]:
    """The same operations straight against etcd with the driver's client (grpc.aio + etcd's stubs)."""
    import grpc.aio

    from pyk8s.storage.drivers.etcd import CHANNEL_OPTIONS
    from pyk8s.storage.drivers.etcdpb.generated import rpc_pb2 as pb
    from pyk8s.storage.drivers.etcdpb.generated import rpc_pb2_grpc

    out: dict[str, float] = {}
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{etcd.client_port}", options=CHANNEL_OPTIONS)
    kv, watch = rpc_pb2_grpc.KVStub(channel), rpc_pb2_grpc.WatchStub(channel)
    value = pod("raw") * 2  # about a stored pod's size

    async def create(key: bytes) -> None:
        cmp = pb.Compare(key=key, target=pb.Compare.CREATE, result=pb.Compare.EQUAL, create_revision=0)
        await kv.Txn(pb.TxnRequest(compare=[cmp], success=[pb.RequestOp(request_put=pb.PutRequest(key=key, value=value))]))

    try:
        print("  raw etcd (grpc.aio, same etcd, after the server stopped):")
        for rate in CREATE_RATES:
            achieved, lat, _ = await open_loop(lambda i, r=rate: create(b"/raw/%d/%d" % (r, i)), rate, seconds)
            out["raw:" + ("achieved_600" if rate == 600 else f"create_p99_{rate}")] = (
                achieved if rate == 600 else pct(lat, 99))
            print(f"    txn create @{rate}/s: achieved {achieved:6.1f}/s  p99 {pct(lat, 99):6.1f} ms")
        n = int(100 * seconds)
        out["raw:gets_per_s"] = await closed_loop(
            lambda i: kv.Range(pb.RangeRequest(key=b"/raw/100/%d" % random.randrange(n))), seconds=seconds)
        t = time.perf_counter()
        resp = await kv.Range(pb.RangeRequest(key=POD_PREFIX.encode(), range_end=POD_END.encode()))
        out["raw:list_unpaged_s"] = time.perf_counter() - t
        count = len(resp.kvs)
        t = time.perf_counter()
        start, rev = POD_PREFIX.encode(), resp.header.revision
        while True:
            page = await kv.Range(pb.RangeRequest(key=start, range_end=POD_END.encode(), limit=PAGE, revision=rev))
            if not page.more:
                break
            start = page.kvs[-1].key + b"\x00"
        out["raw:list_paged_s"] = time.perf_counter() - t
        print(f"    range gets {out['raw:gets_per_s']:.0f}/s; range {count} pods: {out['raw:list_unpaged_s']:.2f} s"
              f" unpaged, {out['raw:list_paged_s']:.2f} s paged")
        out["raw:watch_p99"] = await raw_etcd_watch(kv, watch, pb, value)
        await gateway_list(etcd, count)
    finally:
        await channel.close()
    return out


async def gateway_list(etcd: EtcdServer, count: int) -> None:
    """The same range through etcd's HTTP/JSON gateway, decoded as the driver did before it moved to gRPC."""
    import base64

    body = orjson.dumps({"key": base64.b64encode(POD_PREFIX.encode()).decode(),
                         "range_end": base64.b64encode(POD_END.encode()).decode()})
    async with aiohttp.ClientSession() as session:
        t = time.perf_counter()
        async with session.post(etcd.endpoint + "/v3/kv/range", data=body) as r:
            data = orjson.loads(await r.read())
        kvs = [(base64.b64decode(d["key"]).decode(), base64.b64decode(d["value"]), int(d["create_revision"]),
                int(d["mod_revision"])) for d in data.get("kvs", ())]
        took = time.perf_counter() - t
    print(f"    the same range through the JSON gateway (the driver's old path): {took:.2f} s for {len(kvs)} pods")


async def raw_etcd_watch(kv: Any, watch: Any, pb: Any, value: bytes) -> float:
    sent: dict[bytes, float] = {}
    latencies: list[float] = []
    calls = []
    start_rev = (await kv.Range(pb.RangeRequest(key=b"x", count_only=True))).header.revision + 1

    async def watcher() -> None:
        call = watch.Watch()
        calls.append(call)
        await call.write(pb.WatchRequest(create_request=pb.WatchCreateRequest(
            key=b"/rawwatch/", range_end=b"/rawwatch0", start_revision=start_rev, prev_kv=True)))
        seen = 0
        while seen < WATCH_EVENTS:
            msg = await call.read()
            now = time.perf_counter()
            for ev in msg.events:
                latencies.append(now - sent[ev.kv.key])
                seen += 1

    async def put(i: int) -> None:
        key = b"/rawwatch/%d" % i
        sent[key] = time.perf_counter()
        await kv.Put(pb.PutRequest(key=key, value=value))

    tasks = [asyncio.create_task(watcher()) for _ in range(WATCHERS)]
    await asyncio.sleep(1)
    await open_loop(put, WATCH_RATE, WATCH_EVENTS / WATCH_RATE)
    await asyncio.wait(tasks, timeout=60)
    for call in calls:
        call.cancel()
    print(f"    {WATCHERS} watch streams: {len(latencies)} deliveries  p99 {pct(latencies, 99):.1f} ms")
    return pct(latencies, 99)


def raw_sqlite(state_db: str, seconds: float) -> dict[str, float]:
    """One INSERT per transaction (driver's pragmas) at the same loads; point SELECTs; the server's own list."""
    out: dict[str, float] = {}
    print("  raw sqlite (sqlite3, one thread):")
    tmp = tempfile.mkdtemp(prefix="bench-raw-sqlite-")
    try:
        conn = sqlite3.connect(os.path.join(tmp, "raw.db"), isolation_level=None)
        for pragma in ("journal_mode = WAL", "synchronous = FULL", "busy_timeout = 10000", "cache_size = -32000"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB)")
        value = pod("raw") * 2
        for rate in CREATE_RATES:
            lat: list[float] = []
            start = time.perf_counter()
            for i in range(int(rate * seconds)):
                due = start + i / rate
                if (delay := due - time.perf_counter()) > 0:
                    time.sleep(delay)
                conn.execute("BEGIN")
                conn.execute("INSERT INTO kv VALUES (?, ?)", (f"/raw/{rate}/{i}", value))
                conn.execute("COMMIT")
                lat.append(time.perf_counter() - due)
            achieved = len(lat) / (time.perf_counter() - start)
            out["raw:" + ("achieved_600" if rate == 600 else f"create_p99_{rate}")] = (
                achieved if rate == 600 else pct(lat, 99))
            print(f"    insert @{rate}/s: achieved {achieved:6.1f}/s  p99 {pct(lat, 99):6.1f} ms")
        conn.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    db = sqlite3.connect(state_db)
    live = "SELECT c.key, h.value FROM cur c JOIN kv h ON h.rev = c.rev WHERE c.key > ? AND c.key < ? ORDER BY c.key"
    keys = [k for (k,) in db.execute("SELECT key FROM cur WHERE key > ? AND key < ?", (POD_PREFIX, POD_END))]
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        db.execute("SELECT h.value FROM cur c JOIN kv h ON h.rev = c.rev WHERE c.key = ?",
                   (random.choice(keys),)).fetchone()
        n += 1
    out["raw:gets_per_s"] = n / seconds
    t = time.perf_counter()
    rows = db.execute(live, (POD_PREFIX, POD_END)).fetchall()
    out["raw:list_unpaged_s"] = time.perf_counter() - t
    t = time.perf_counter()
    last = POD_PREFIX
    while page := db.execute(live + " LIMIT ?", (last, POD_END, PAGE)).fetchall():
        last = page[-1][0]
    out["raw:list_paged_s"] = time.perf_counter() - t
    db.close()
    print(f"    point selects {out['raw:gets_per_s']:.0f}/s; {len(rows)} pods from state.db: "
          f"{out['raw:list_unpaged_s']:.2f} s unpaged, {out['raw:list_paged_s']:.2f} s paged")
    return out


# -- the floor: a minimal aiohttp HTTPS server serving the same bytes ------------------


def serve_floor(port: int, keep: Path) -> None:
    """Runs in its own process (``--serve-floor``)."""
    from aiohttp import web

    from pyk8s.apiserver.tls import serving_context

    def sample(kind: str) -> bytes:  # --watch-only captures only the create body
        return keep.joinpath(kind).read_bytes() if keep.joinpath(kind).exists() else b'{"metadata":{},"items":[]}'

    created, got, full = sample("create"), sample("get"), sample("list")
    pages = [keep.joinpath(f"page-{i}").read_bytes() for i in range(len(list(keep.glob("page-*"))))]
    tokens = {orjson.loads(p)["metadata"].get("continue", ""): i + 1 for i, p in enumerate(pages)}
    streams: dict[str, set[web.StreamResponse]] = {}

    async def pods(request: web.Request) -> web.StreamResponse:
        ns = request.match_info.get("ns", "")
        if request.method == "POST":
            body = await request.read()
            line = b'{"type":"ADDED","object":' + body + b"}\n"
            for stream in list(streams.get(ns, ())):
                await stream.write(line)
            return web.Response(body=created, status=201, content_type="application/json")
        if request.query.get("watch") == "true":
            resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            await resp.prepare(request)
            streams.setdefault(ns, set()).add(resp)
            try:
                await asyncio.sleep(float(request.query.get("timeoutSeconds", "60")))
            finally:
                streams[ns].discard(resp)
            return resp
        if not ns and "limit" in request.query:
            body = pages[tokens.get(request.query.get("continue", ""), 0) if request.query.get("continue") else 0]
            return web.Response(body=body, content_type="application/json")
        if ns:
            return web.Response(body=b'{"metadata":{"resourceVersion":"1"},"items":[]}', content_type="application/json")
        return web.Response(body=full, content_type="application/json")

    async def one(request: web.Request) -> web.Response:
        return web.Response(body=got, content_type="application/json")

    async def namespaces(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=b"{}", status=201, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/api/v1/namespaces/{ns}/pods", pods)
    app.router.add_route("*", "/api/v1/pods", pods)
    app.router.add_get("/api/v1/namespaces/{ns}/pods/{name}", one)
    app.router.add_post("/api/v1/namespaces", namespaces)
    ctx = serving_context(str(keep / "apiserver.crt"), str(keep / "apiserver.key"), keep.joinpath("ca.crt").read_bytes())

    async def run() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ctx).start()
        await asyncio.Event().wait()  # until terminated

    import uvloop

    uvloop.run(run())


def start_floor(port: int, keep: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, THIS, "--serve-floor", str(port), str(keep)], start_new_session=True)


async def bench_floor(args: argparse.Namespace, keep: Path, pages: list[bytes]) -> dict[str, float]:
    from pyk8s.client.kubeconfig import load_kubeconfig

    for i, body in enumerate(pages):
        keep.joinpath(f"page-{i}").write_bytes(body)
    port = free_port()
    proc = start_floor(port, keep)
    kc = load_kubeconfig(str(keep / "kubeconfig"))
    api = Api(f"https://127.0.0.1:{port}", kc.ssl_context(), kc.headers())
    try:
        for _ in range(100):
            try:
                await api.create_ns("probe")
                break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        out = await drive(api, pods=args.pods, seconds=args.seconds, fill=False, pid=proc.pid,
                          watch_only=args.watch_only)
        out["rss_mb"] = rss_mb(proc.pid)
        return {"floor:" + k: v for k, v in out.items()}
    finally:
        await api.close()
        proc.terminate()
        proc.wait(10)


# -- report -----------------------------------------------------------------------


def fmt(v: float | None) -> str:
    if v is None or v != v:
        return "-"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 0.1 else f"{v:.3f}"


def ratio(ours: float | None, ref: float | None, higher_better: bool) -> str:
    """How many times worse than the reference (1.00 = as good; < 1 = better)."""
    if not ours or not ref or ours != ours or ref != ref:
        return "-"
    return f"{(ref / ours if higher_better else ours / ref):.2f}x"


def report(results: dict[str, dict[str, float]], floor: dict[str, float]) -> None:
    print("\nRatios are 'times worse than' the column named (ours/ref for times, ref/ours for rates; < 1 is better).")
    for backend, res in results.items():
        print(f"\n== pyk8s server on {backend} ==")
        head = (f"{'measure':44} {'pyk8s':>8} {'raw':>8} {'/raw':>7} {'floor':>8} {'/floor':>7} "
                f"{'kube-apiserver':>15} {'/kube':>7} {'issue':>8}")
        print(head)
        print("-" * len(head))
        for key, label, higher in MEASURES:
            ours, raw, flo = res.get(key), res.get("raw:" + key), floor.get("floor:" + key)
            kube, before = ANCHOR[key], ISSUE_PYK8S[backend][key]
            print(f"{label:44} {fmt(ours):>8} {fmt(raw):>8} {ratio(ours, raw, higher):>7} {fmt(flo):>8} "
                  f"{ratio(ours, flo, higher):>7} {fmt(kube):>15} {ratio(ours, kube, higher):>7} {fmt(before):>8}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 pods and 1.5 s per load")
    parser.add_argument("--pods", type=int, default=0, help="pods stored before the gets and lists (default 10,000)")
    parser.add_argument("--seconds", type=float, default=0, help="seconds per offered create load (default 4)")
    parser.add_argument("--backends", default="sqlite,etcd")
    parser.add_argument("--no-floor", action="store_true", help="skip the aiohttp floor reference")
    parser.add_argument("--watch-only", action="store_true", help="only the watch scenario (and its floor)")
    args = parser.parse_args()
    args.pods = args.pods or (2000 if args.quick else 10_000)
    args.seconds = args.seconds or (1.5 if args.quick else 4.0)
    backends = [b for b in args.backends.split(",") if b]
    if "etcd" in backends and etcd_binary() is None:
        print("etcd binary missing: skipping the etcd backend")
        backends.remove("etcd")
    keep = Path(tempfile.mkdtemp(prefix="bench-apiserver-"))
    results: dict[str, dict[str, float]] = {}
    floor: dict[str, float] = {}
    started = time.perf_counter()
    try:
        for backend in backends:
            print(f"\n== pyk8s server, {backend} backend ({args.pods} pods, {args.seconds:g} s per load; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs) ==")
            results[backend] = await bench_pyk8s(backend, args, keep)
        if not args.no_floor and keep.joinpath("create").exists():
            print(f"\n== floor: minimal aiohttp HTTPS handler serving pyk8s's bytes (load average {os.getloadavg()[0]:.1f}) ==")
            kc_pages = await pages_of(keep)
            floor = await bench_floor(args, keep, kc_pages)
    finally:
        shutil.rmtree(keep, ignore_errors=True)
    report(results, floor)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


async def pages_of(keep: Path) -> list[bytes]:
    """The paged list pyk8s served, re-cut from the captured unpaged list (same items, same continue shape)."""
    if not keep.joinpath("list").exists():
        return []
    full = orjson.loads(keep.joinpath("list").read_bytes())
    items = full["items"]
    pages = []
    for i in range(0, len(items), PAGE):
        meta = dict(full["metadata"])
        if i + PAGE < len(items):
            meta["continue"] = f"page-{i // PAGE + 1}"
        pages.append(orjson.dumps({**full, "metadata": meta, "items": items[i:i + PAGE]}))
    return pages


async def main_cleaning_up() -> None:
    """SIGTERM (``timeout``, a shell's kill) cancels the run so every server it started is stopped."""
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]  # progress shows in a log file
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    await main()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-floor":
        serve_floor(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        import uvloop

        with contextlib.suppress(asyncio.CancelledError):
            uvloop.run(main_cleaning_up())
