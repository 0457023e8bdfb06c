"""Event-loop CPU per watch delivery, split into the watch cache's own work and the write.

``apiserver_bench.py --watch-only`` measures the whole server (create included) and a p99 that
also holds the client and the machine's other load.  This one measures, with the loop thread's
CPU clock (``time.thread_time``, which moves little with load), the two parts of one delivery:

1. **fan-out**: the watch cache's pass over N parked watchers of one namespace (``WatchCache``
   applying an event, each ``Watcher`` offering it to its ``DirectWriter``, the pass's one flush
   per connection) into counting transports, i.e. everything but the send.  Reference in the same
   run: the least Python a fan-out can do, one pre-encoded chunk written to each of N transports.
2. **write**: one chunk of the same size written to each of N real loopback connections under
   uvloop, plain TCP and TLS (the cluster's kind of certificates, ECDSA P-256), a child process
   reading and discarding.  On loopback the sender's CPU also pays the kernel's receive path.

Usage::

    flock /tmp/team/bench.lock .venv/bin/python benchmarks/watch_fanout_cpu.py [--watchers 100] [--events 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyk8s.apiserver import watchcache as wc  # noqa: E402
from pyk8s.apiserver.endpoints import watch as endpoint  # noqa: E402
from pyk8s.storage.interface import Event, EventType, KeyValue  # noqa: E402
from pyk8s.util import gcpolicy, pki  # noqa: E402

PREFIX = "/registry/pods/watch/"


def pod(i: int) -> dict[str, Any]:
    """A pod about the size pyk8s returns for the benchmark's create (its JSON line ~1.6 kB)."""
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": f"w-{i}", "namespace": "watch", "uid": "0" * 36, "resourceVersion": str(i + 1),
                         "creationTimestamp": "2026-12-07T20:00:00Z",
                         "managedFields": [{"manager": "bench", "operation": "Update", "apiVersion": "v1",
                                            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:x": {}}}}]},
            "spec": {"containers": [{"name": "c", "image": "registry.example/app:1", "resources": {},
                                     "terminationMessagePath": "/dev/termination-log",
                                     "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}],
                     "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                     "serviceAccountName": "default", "schedulerName": "default-scheduler",
                     "tolerations": [{"key": f"node.kubernetes.io/{k}", "operator": "Exists",
                                      "effect": "NoExecute", "tolerationSeconds": 300}
                                     for k in ("not-ready", "unreachable")],
                     "priority": 0, "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
                     "volumes": [{"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [
                         {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                         {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                     ]}}]},
            "status": {"phase": "Pending", "qosClass": "BestEffort"}}


class CountingTransport:
    """What ``DirectWriter`` needs of a transport; counts writes instead of sending."""

    __slots__ = ("writes",)

    def __init__(self) -> None:
        self.writes = 0

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.writes += 1


async def fanout_part(watchers: int, events: int) -> tuple[float, float]:
    """(us of loop CPU per delivery through the cache, the same for the bare reference loop)."""
    cache = wc.WatchCache(None, "/registry/pods/", lambda kv: orjson.loads(kv.value))  # type: ignore[arg-type]
    cache.ready.set()  # nothing to list: the cache starts empty at revision 0
    batch = endpoint._Batch(asyncio.get_running_loop())
    batch.scheduled = True  # this harness runs the pass's flush itself, right after each event
    flt = wc.Filter(PREFIX, lambda _obj: True)  # what the registry passes for a watch without selectors
    transports = [CountingTransport() for _ in range(watchers)]

    async def consume(transport: CountingTransport) -> None:
        writer = endpoint.DirectWriter(transport, batch)  # type: ignore[arg-type]
        writer.open = True
        wc.direct_sink.set(writer)
        async for _ in cache.watch(flt, after=0):
            pass  # every event goes to the writer: the consumer stays parked

    tasks = [asyncio.create_task(consume(t)) for t in transports]
    await asyncio.sleep(0.1)
    stored = [Event(EventType.CREATE, KeyValue(f"{PREFIX}w-{i}", orjson.dumps(pod(i)), i + 1, i + 1), None)
              for i in range(events)]
    gcpolicy.settle_after_startup()  # the server's collector policy
    cpu = 0.0
    for ev in stored:
        t0 = time.thread_time()
        cache._apply(ev)
        batch.run()  # the pass's flush, as the loop's callback would
        batch.scheduled = True
        cpu += time.thread_time() - t0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert all(t.writes == events for t in transports), "a watcher missed the direct path"
    ours = cpu / (watchers * events) * 1e6

    chunks = [b"%x\r\n%b\r\n" % (len(line), line) for line in
              (orjson.dumps({"type": "ADDED", "object": pod(i)}) + b"\n" for i in range(events))]
    t0 = time.thread_time()
    for chunk in chunks:
        for transport in transports:
            transport.write(chunk)
    reference = (time.thread_time() - t0) / (watchers * events) * 1e6
    return ours, reference


def reader(port: int, count: int, cafile: str) -> None:
    """Child process: ``count`` connections, each read and discarded until the server closes it."""
    import uvloop

    async def one(ctx: ssl.SSLContext | None) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                             server_hostname="localhost" if ctx else None)
        while await r.read(65536):
            pass
        w.close()

    async def run() -> None:
        ctx = ssl.create_default_context(cafile=cafile) if cafile else None
        await asyncio.gather(*(one(ctx) for _ in range(count)))

    uvloop.run(run())


async def write_part(watchers: int, events: int, ctx: ssl.SSLContext | None, cafile: str) -> float:
    """us of loop-thread CPU per chunk written to each of ``watchers`` loopback connections."""
    writers: list[asyncio.StreamWriter] = []
    connected = asyncio.Event()

    async def accept(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        writers.append(w)
        if len(writers) == watchers:
            connected.set()

    server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=ctx)
    port = server.sockets[0].getsockname()[1]
    child = await asyncio.create_subprocess_exec(sys.executable, __file__, "--read", str(port), str(watchers),
                                                 cafile if ctx else "")
    try:
        await asyncio.wait_for(connected.wait(), 60)
        chunk = b"%x\r\n%b\r\n" % (n := len(line := orjson.dumps({"type": "ADDED", "object": pod(0)}) + b"\n"), line)
        assert n > 1000
        cpu = 0.0
        for _ in range(events):
            t0 = time.thread_time()
            for w in writers:
                w.transport.write(chunk)
            cpu += time.thread_time() - t0
            await asyncio.sleep(0.002)  # paced, so the reader keeps up and every write is a send
        for w in writers:
            w.close()
        server.close()
        await asyncio.wait_for(child.wait(), 60)
        return cpu / (watchers * events) * 1e6
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


def tls_contexts(directory: Path) -> tuple[ssl.SSLContext, str]:
    ca = pki.create_ca(directory / "ca.crt", directory / "ca.key")
    pki.issue_cert(ca, directory / "s.crt", directory / "s.key", common_name="localhost",
                   dns_names=("localhost",), server=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(directory / "s.crt", directory / "s.key")
    return ctx, str(directory / "ca.crt")


async def main(args: argparse.Namespace) -> None:
    print(f"{args.watchers} watchers, {args.events} events (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs); loop-thread CPU per delivery:")
    ours, reference = await fanout_part(args.watchers, args.events)
    print(f"  fan-out, watch cache to the write call:  {ours:6.2f} us  (bare loop {reference:.2f} us: "
          f"{ours / reference:.1f}x)")
    with tempfile.TemporaryDirectory() as tmp:
        ctx, cafile = tls_contexts(Path(tmp))
        writes = max(args.events // 5, 50)
        tcp = await write_part(args.watchers, writes, None, "")
        tls = await write_part(args.watchers, writes, ctx, cafile)
    print(f"  the write, plain TCP:                   {tcp:6.2f} us")
    print(f"  the write, TLS (what pyk8s serves):     {tls:6.2f} us  ({tls / tcp:.1f}x TCP)")
    print(f"  fan-out share of fan-out + TLS write:   {ours / (ours + tls):.0%} "
          f"(load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--read":
        reader(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--events", type=int, default=2000)
    import uvloop

    uvloop.run(main(parser.parse_args()))
