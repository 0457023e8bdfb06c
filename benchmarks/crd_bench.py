"""Custom objects against Pods in the same run: create p99 at a fixed rate, and a list of N objects.

Usage: ``.venv/bin/python benchmarks/crd_bench.py [--rate 200] [--seconds 10] [--count 10000]``

One ``pyk8s server`` (SQLite, no kubelet) serves a CRD (``widgets.bench.example.com``, a
structural schema with defaults, a pattern and one CEL rule, so the custom path does its real
work); the same open-loop create load and the same unpaged list run for Pods and for Widgets.
Printed: each figure and the ratio custom / Pod (target: within 20 %).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import aiohttp  # noqa: E402
import orjson  # noqa: E402

from benchmarks.apiserver_bench import open_loop, pct, pod  # noqa: E402
from pyk8s.testing.cluster import ServerProcess  # noqa: E402

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.bench.example.com"},
    "spec": {"group": "bench.example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {"spec": {
                     "type": "object", "x-kubernetes-validations": [{"rule": "self.replicas <= 100"}],
                     "properties": {"image": {"type": "string", "pattern": "^[a-z0-9.:/-]+$"},
                                    "replicas": {"type": "integer", "default": 1},
                                    "env": {"type": "array", "items": {"type": "object", "properties": {
                                        "name": {"type": "string"}, "value": {"type": "string"}}}}}}}}}}]},
}


def widget(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "bench.example.com/v1", "kind": "Widget",
                         "metadata": {"name": name, "labels": {"app": "bench", "tier": "load"}},
                         "spec": {"image": "nginx:1.24",
                                  "env": [{"name": f"VAR_{i}", "value": "x" * 20} for i in range(10)]}})


async def fill(session: aiohttp.ClientSession, url: str, make: Any, count: int, prefix: str) -> None:
    sem = asyncio.Semaphore(32)

    async def one(i: int) -> None:
        async with sem, session.post(url, data=make(f"{prefix}{i}")) as r:
            await r.read()
            if r.status not in (200, 201):
                raise RuntimeError(f"fill {i}: {r.status}")

    await asyncio.gather(*(one(i) for i in range(count)))


async def measure(session: aiohttp.ClientSession, base: str, label: str, path: str, make: Any,
                  args: argparse.Namespace) -> dict[str, float]:
    url = f"{base}/{path}"

    async def create(i: int) -> None:
        async with session.post(url, data=make(f"load-{i}")) as r:
            await r.read()
            if r.status not in (200, 201):
                raise RuntimeError(str(r.status))

    achieved, lat, errors = await open_loop(create, args.rate, args.seconds)
    await fill(session, url, make, max(0, args.count - int(args.rate * args.seconds)), "fill-")
    start = time.perf_counter()
    async with session.get(url) as r:
        body = await r.read()
    list_s = time.perf_counter() - start
    items = len(orjson.loads(body)["items"])
    print(f"  {label:8} create p99 @{args.rate}/s {pct(lat, 99):8.1f} ms (p50 {pct(lat, 50):.1f}, achieved "
          f"{achieved:.0f}/s, errors {errors});  list {items} {list_s:6.2f} s", flush=True)
    return {"p99": pct(lat, 99), "list": list_s}


async def main(args: argparse.Namespace) -> None:
    srv = ServerProcess(start_timeout=60)
    try:
        srv.start()
        srv.kubectl("apply", "-f", "-", input=orjson.dumps(CRD).decode())
        srv.kubectl("wait", "--for=condition=Established", "crd/widgets.bench.example.com", "--timeout=30s")
        for ns in ("podbench", "crbench"):
            srv.kubectl("create", "namespace", ns)
        kc = srv.client_config()
        connector = aiohttp.TCPConnector(ssl=kc.ssl_context(), limit=64)
        async with aiohttp.ClientSession(connector=connector, headers={"Content-Type": "application/json",
                                                                       **kc.headers()}) as session:
            pods = await measure(session, kc.server.rstrip("/"), "Pods", "api/v1/namespaces/podbench/pods", pod, args)
            crs = await measure(session, kc.server.rstrip("/"), "Widgets",
                                "apis/bench.example.com/v1/namespaces/crbench/widgets", widget, args)
        print(f"  ratio custom/Pod: create p99 {crs['p99'] / pods['p99']:.2f}, list {crs['list'] / pods['list']:.2f}")
    finally:
        srv.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=10000)
    asyncio.run(main(parser.parse_args()))
