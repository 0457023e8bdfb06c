"""The API server's /metrics: kube-apiserver's families in Prometheus' text format."""

from __future__ import annotations

import asyncio

import orjson
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from pyk8s.apiserver.authorization.union import build_authorizer
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo
from pyk8s.apiserver.metrics import LATENCY_BUCKETS
from pyk8s.apiserver.server import build_app
from tests.integration.apiserver.realserver import AUTH, JSON, client, registry  # noqa: F401

CM = "/api/v1/namespaces/default/configmaps"


def _samples(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


async def _scrape(client) -> dict[str, list]:  # noqa: F811
    resp = await client.get("/metrics", headers=AUTH)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return _samples(await resp.text())


async def test_requests_are_counted_and_timed_with_upstream_labels(client):  # noqa: F811
    body = orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m1"}})
    assert (await client.post(CM, data=body, headers=JSON)).status == 201
    assert (await client.post(CM, data=body, headers=JSON)).status == 409
    assert (await client.get(CM, headers=AUTH)).status == 200
    assert (await client.get(f"{CM}/m1", headers=AUTH)).status == 200
    assert (await client.get("/api/v1/nodes", headers=AUTH)).status == 200
    samples = await _scrape(client)
    totals = {(s.labels["verb"], s.labels["resource"], s.labels["scope"], s.labels["code"]): s.value
              for s in samples["apiserver_request_total"]}
    assert totals[("POST", "configmaps", "namespace", "201")] == 1
    assert totals[("POST", "configmaps", "namespace", "409")] == 1
    assert totals[("LIST", "configmaps", "namespace", "200")] == 1
    assert totals[("GET", "configmaps", "resource", "200")] == 1
    assert totals[("LIST", "nodes", "cluster", "200")] == 1
    one = next(s for s in samples["apiserver_request_total"] if s.labels["verb"] == "POST")
    assert set(one.labels) == {"verb", "dry_run", "group", "version", "resource", "subresource", "scope",
                               "component", "code"}
    assert one.labels["component"] == "apiserver" and one.labels["version"] == "v1"
    buckets = sorted({float(s.labels["le"]) for s in samples["apiserver_request_duration_seconds_bucket"]})
    assert buckets == sorted([*LATENCY_BUCKETS, float("inf")])
    counts = {s.labels["verb"]: s.value for s in samples["apiserver_request_duration_seconds_count"]
              if s.labels["resource"] == "configmaps"}
    assert counts["POST"] == 2


async def test_storage_objects_and_storage_latency(client):  # noqa: F811
    for i in range(3):
        body = orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}})
        assert (await client.post(CM, data=body, headers=JSON)).status == 201
    samples = await _scrape(client)
    objects = {s.labels["resource"]: s.value for s in samples["apiserver_storage_objects"]}
    assert objects["configmaps"] >= 3
    assert objects["namespaces"] >= 4  # default, kube-system, kube-public, kube-node-lease
    assert "clusterroles.rbac.authorization.k8s.io" in objects
    assert "bindings" not in objects and "componentstatuses" not in objects  # nothing stored there


async def test_watch_is_longrunning_while_open(client):  # noqa: F811
    resp = await client.get(f"{CM}?watch=true&timeoutSeconds=5", headers=AUTH)
    try:
        samples = await _scrape(client)
        open_watches = [s for s in samples["apiserver_longrunning_requests"]
                        if s.labels["verb"] == "WATCH" and s.labels["resource"] == "configmaps"]
        assert open_watches and open_watches[0].value == 1
    finally:
        resp.close()


async def test_refusals_are_counted_with_their_code(client):  # noqa: F811
    assert (await client.get(CM)).status == 403  # anonymous, refused by the interim policy
    samples = await _scrape(client)
    assert any(s.labels["code"] == "403" and s.labels["verb"] == "LIST" for s in samples["apiserver_request_total"])


async def test_rbac_lets_system_monitoring_read_metrics(tmp_path, registry):  # noqa: F811
    signer = TokenSigner(b"k" * 32)
    auth = Authenticator(tokens={"mon": UserInfo("prometheus", ("system:monitoring", "system:authenticated")),
                                 "bob": UserInfo("bob", ("system:authenticated",))}, signer=signer)
    authorizer = build_authorizer(("Node", "RBAC"), registry)
    app = build_app(config=ServerConfig(data_dir=tmp_path), registry=registry, authenticator=auth,
                    readiness=Readiness(()), token_signer=signer, authorizer=authorizer)
    c = TestClient(TestServer(app))
    await c.start_server()
    try:
        for _ in range(50):  # the RBAC caches fill from the watch caches
            resp = await c.get("/metrics", headers={"Authorization": "Bearer mon"})
            if resp.status == 200:
                break
            await asyncio.sleep(0.1)
        assert resp.status == 200 and "apiserver_request_total" in await resp.text()
        resp = await c.get("/metrics", headers={"Authorization": "Bearer bob"})
        body = await resp.json()
        assert resp.status == 403
        assert body["message"] == 'forbidden: User "bob" cannot get path "/metrics"'
    finally:
        await c.close()
