"""Cost of audit logging per request, against the same requests with auditing off, in the same run
(issue 13: "writing must not block the event loop per request").

Three apps over memory storage, each answering the same requests through the whole filter chain
(authentication, RBAC with the admin in system:masters, registry, JSON) over loopback HTTP with
aiohttp's client in this process: auditing off; every request at ``Metadata``; every request at
``RequestResponse``.  Each round does GETs of one ConfigMap and creates of ConfigMaps.  Printed: process
CPU per request (client, server and the audit writer thread together, so load-independent) and wall
time per request, and each audited figure as a ratio of the unaudited one.  Rounds alternate between
the apps so drift in machine load hits all three alike.

    flock /tmp/team/bench.lock .venv/bin/python benchmarks/audit_bench.py            # 3 rounds of 600+300
    flock /tmp/team/bench.lock .venv/bin/python benchmarks/audit_bench.py --gets 300 --creates 150 --rounds 2

Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

import pyk8s.api  # noqa: F401 - fills SCHEME
from pyk8s.apiserver import audit
from pyk8s.apiserver.audit.policy import parse
from pyk8s.apiserver.authorization.union import build_authorizer
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo
from pyk8s.apiserver.registry import build_registry
from pyk8s.apiserver.server import build_app
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage

CM = "/api/v1/namespaces/default/configmaps"
HEADERS = {"Authorization": "Bearer bench-token"}


async def make_app(tmp: Path, level: str | None) -> tuple[TestClient, audit.Auditor | None, object, object]:
    storage = open_storage("memory://")
    await storage.start()
    registry = build_registry(SCHEME, storage)
    await bootstrap(registry, api_address="127.0.0.1", api_port=6443)
    signer = TokenSigner(b"k" * 32)
    auth = Authenticator(tokens={"bench-token": UserInfo("admin", ("system:masters", "system:authenticated"))},
                         signer=signer)
    config = ServerConfig(data_dir=tmp, audit_policy_file=tmp / "p.yaml" if level else None,
                          audit_log_path=str(tmp / f"audit-{level}.log") if level else "")
    policy = parse({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": level}]}) if level else None
    auditor = audit.build(config, policy) if level else None
    app = build_app(config=config, registry=registry, authenticator=auth, readiness=Readiness(()),
                    token_signer=signer, authorizer=build_authorizer(("Node", "RBAC"), registry), auditor=auditor)
    client = TestClient(TestServer(app))
    await client.start_server()
    made = await client.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bench"},
                                       "data": {"k": "v" * 200}}, headers=HEADERS)
    assert made.status == 201
    return client, auditor, registry, storage


async def one_round(client: TestClient, gets: int, creates: int, tag: str) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(gets):
        resp = await client.get(CM + "/bench", headers=HEADERS)
        await resp.read()
    for i in range(creates):
        resp = await client.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": f"{tag}-{i}"}, "data": {"k": "v"}}, headers=HEADERS)
        await resp.read()
    return time.process_time() - cpu, time.perf_counter() - wall


async def main(gets: int, creates: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        levels = [None, "Metadata", "RequestResponse"]
        apps = {lv: await make_app(Path(tmp), lv) for lv in levels}
        totals = {lv: [0.0, 0.0] for lv in levels}
        for r in range(rounds):
            for lv in levels:
                client, auditor, _, _ = apps[lv]
                cpu, wall = await one_round(client, gets, creates, f"r{r}")
                if auditor is not None:  # the writer's CPU counts: wait until it has written this round
                    start = time.process_time()
                    while not auditor.backend.queue.empty():  # noqa: ASYNC110 - a thread's queue, no event
                        await asyncio.sleep(0.001)
                    cpu += time.process_time() - start
                totals[lv][0] += cpu
                totals[lv][1] += wall
        n = rounds * (gets + creates)
        base_cpu, base_wall = totals[None][0] / n, totals[None][1] / n
        print(f"audit bench: {rounds} rounds of {gets} GETs + {creates} creates per app "
              f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
        for lv in levels:
            cpu, wall = totals[lv][0] / n, totals[lv][1] / n
            print(f"  {lv or 'off':16s} CPU/request {cpu * 1e6:7.0f} us ({cpu / base_cpu:.2f}x)   "
                  f"wall/request {wall * 1e6:7.0f} us ({wall / base_wall:.2f}x)")
        for lv in levels:
            client, auditor, registry, storage = apps[lv]
            await client.close()
            if auditor is not None:
                lines = (Path(tmp) / f"audit-{lv}.log").read_bytes().count(b"\n")  # noqa: ASYNC230
                auditor.close()
                print(f"  {lv}: {lines} lines written")
            await registry.close()  # type: ignore[attr-defined]
            await storage.close()  # type: ignore[attr-defined]


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--gets", type=int, default=600)
    ap.add_argument("--creates", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    asyncio.run(main(a.gets, a.creates, a.rounds))
