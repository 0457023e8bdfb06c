"""Cost of the request-metrics filter (apiserver_request_total / _duration_seconds) per request, against
the whole request it rides on, in the same run (issue 12 section 4).

Two measures:
1. the filter alone: ``request_metrics_middleware`` around a handler that answers at once, against a
   pass-through middleware around the same handler (so the difference is the filter's own work: a
   path parse, three label look-ups, a counter and a histogram update);
2. a real request: GET of one ConfigMap through the whole app (authentication, the filters, the
   registry over memory storage, JSON encoding) over loopback HTTP, with aiohttp's client.

    .venv/bin/python benchmarks/metrics_bench.py              # 50,000 filter calls, 3,000 GETs
    .venv/bin/python benchmarks/metrics_bench.py --calls 20000 --gets 1000

Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

import pyk8s.api  # noqa: F401 - fills SCHEME
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo
from pyk8s.apiserver.filters.requestmetrics import request_metrics_middleware
from pyk8s.apiserver.metrics import APIServerMetrics
from pyk8s.apiserver.registry import build_registry
from pyk8s.apiserver.server import build_app
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage

PATH = "/api/v1/namespaces/default/configmaps/bench"
TOKEN = "bench-token"


async def _answer(request: web.Request) -> web.StreamResponse:
    return web.Response(status=200)


@web.middleware
async def _passthrough(request: web.Request, handler):  # type: ignore[no-untyped-def]
    return await handler(request)


async def per_call(middleware, calls: int) -> float:  # type: ignore[no-untyped-def]
    request = make_mocked_request("GET", PATH)
    start = time.perf_counter()
    for _ in range(calls):
        await middleware(request, _answer)
    return (time.perf_counter() - start) / calls


async def per_get(gets: int) -> float:
    storage = open_storage("memory://")
    await storage.start()
    registry = build_registry(SCHEME, storage)
    await bootstrap(registry, api_address="127.0.0.1", api_port=6443)
    signer = TokenSigner(b"k" * 32)
    auth = Authenticator(tokens={TOKEN: UserInfo("admin", ("system:masters",))}, signer=signer)
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(config=ServerConfig(data_dir=Path(tmp)), registry=registry, authenticator=auth,
                        readiness=Readiness(()), token_signer=signer)
        client = TestClient(TestServer(app))
        await client.start_server()
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bench"}, "data": {"k": "v"}}
        await client.post("/api/v1/namespaces/default/configmaps", data=orjson.dumps(body), headers=headers)
        try:
            for _ in range(200):  # warm-up
                await (await client.get(PATH, headers=headers)).read()
            start = time.perf_counter()
            for _ in range(gets):
                await (await client.get(PATH, headers=headers)).read()
            return (time.perf_counter() - start) / gets
        finally:
            await client.close()
            await registry.close()
            await storage.close()


async def main(calls: int, gets: int) -> None:
    metrics = APIServerMetrics()
    with_filter = request_metrics_middleware(metrics)
    await per_call(with_filter, 2000)
    await per_call(_passthrough, 2000)
    base = min([await per_call(_passthrough, calls) for _ in range(3)])
    filtered = min([await per_call(with_filter, calls) for _ in range(3)])
    cost = filtered - base
    request = await per_get(gets)
    print(f"pass-through middleware     {base * 1e6:8.2f} us/call")
    print(f"request-metrics middleware  {filtered * 1e6:8.2f} us/call  (filter's own cost {cost * 1e6:.2f} us)")
    print(f"GET one ConfigMap, whole app over loopback HTTP {request * 1e6:8.1f} us/request")
    print(f"ratio filter cost / request: {cost / request:.3f}  ({100 * cost / request:.1f} %)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--gets", type=int, default=3_000)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.gets))
