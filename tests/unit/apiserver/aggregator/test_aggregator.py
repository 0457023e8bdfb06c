"""The aggregator against a real TLS extension server on loopback: local APIServices, the authentication
ConfigMap, Available with upstream's reasons, the proxy passing the user, and merged discovery."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import pyk8s.api  # noqa: F401 - fills SCHEME
from pyk8s.apiserver.aggregator.aggregator import Aggregator
from pyk8s.apiserver.authentication.user import USER_KEY, UserInfo
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.endpoints import discovery as local_discovery
from pyk8s.apiserver.registry import Registry, build_registry
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage
from pyk8s.testing.aggregatedserver import GROUP, VERSION, AggregatedServer

NAME = f"{VERSION}.{GROUP}"


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    storage = open_storage("memory://")
    await storage.start()
    reg = build_registry(SCHEME, storage)
    await bootstrap(reg, api_address="127.0.0.1", api_port=6443)
    try:
        yield reg
    finally:
        await reg.close()
        await storage.close()


@pytest.fixture
async def aggregator(registry: Registry, tmp_path: Path) -> AsyncIterator[Aggregator]:
    agg = Aggregator(registry, SCHEME, tmp_path, b"CLUSTER CA PEM")
    try:
        yield agg
    finally:
        await agg.close()


@pytest.fixture
async def backend(aggregator: Aggregator) -> AsyncIterator[AggregatedServer]:
    server = AggregatedServer(aggregator.front_ca.cert_pem)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def store(reg: Registry, group: str, plural: str) -> GenericStore:
    s = reg.store(group, plural)
    assert s is not None
    return s


async def register_backend(reg: Registry, server: AggregatedServer, *, endpoints: bool = True,
                           service: bool = True) -> None:
    if service:
        await store(reg, "", "services").create("default", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "widgets", "namespace": "default"},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": server.port}]}}, WriteOptions())
    if endpoints:
        await store(reg, "discovery.k8s.io", "endpointslices").create("default", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "widgets-1", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "widgets"}},
            "addressType": "IPv4", "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": server.port, "protocol": "TCP"}]}, WriteOptions())
    await store(reg, "apiregistration.k8s.io", "apiservices").create("", {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": NAME},
        "spec": {"group": GROUP, "version": VERSION, "groupPriorityMinimum": 1000, "versionPriority": 15,
                 "service": {"namespace": "default", "name": "widgets"}, "caBundle": server.ca_bundle}},
        WriteOptions())


async def available(reg: Registry) -> dict[str, Any]:
    svc = await store(reg, "apiregistration.k8s.io", "apiservices").get("", NAME)
    return next(c for c in svc["status"]["conditions"] if c["type"] == "Available")


async def test_local_apiservices_and_authentication_configmap(registry: Registry, aggregator: Aggregator) -> None:
    await aggregator.sync()
    await aggregator.sync()  # statuses are written on the round after creation
    apiservices = store(registry, "apiregistration.k8s.io", "apiservices")
    core = await apiservices.get("", "v1.")
    assert core["spec"] == {"group": "", "version": "v1", "groupPriorityMinimum": 18000, "versionPriority": 1}
    apps = await apiservices.get("", "v1.apps")
    assert apps["status"]["conditions"][0]["reason"] == "Local"
    assert apps["status"]["conditions"][0]["message"] == "Local APIServices are always available"
    cm = await store(registry, "", "configmaps").get("kube-system", "extension-apiserver-authentication")
    assert cm["data"]["requestheader-username-headers"] == '["X-Remote-User"]'
    assert cm["data"]["requestheader-allowed-names"] == '["front-proxy-client"]'
    assert cm["data"]["requestheader-client-ca-file"] == aggregator.front_ca.cert_pem.decode()
    assert cm["data"]["client-ca-file"] == "CLUSTER CA PEM"


async def test_availability_reasons(registry: Registry, aggregator: Aggregator, backend: AggregatedServer) -> None:
    await store(registry, "apiregistration.k8s.io", "apiservices").create("", {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": NAME},
        "spec": {"group": GROUP, "version": VERSION, "groupPriorityMinimum": 1000, "versionPriority": 15,
                 "service": {"namespace": "default", "name": "widgets"}, "caBundle": backend.ca_bundle}},
        WriteOptions())
    await aggregator.sync()
    cond = await available(registry)
    assert (cond["status"], cond["reason"]) == ("False", "ServiceNotFound")
    assert cond["message"] == 'service/widgets in "default" is not present'
    await store(registry, "", "services").create("default", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "widgets", "namespace": "default"},
        "spec": {"ports": [{"name": "https", "port": 443, "targetPort": backend.port}]}}, WriteOptions())
    await aggregator.sync()
    cond = await available(registry)
    assert (cond["status"], cond["reason"]) == ("False", "MissingEndpoints")
    assert cond["message"] == 'endpoints for service/widgets in "default" have no addresses with port name "https"'
    await store(registry, "discovery.k8s.io", "endpointslices").create("default", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "widgets-1", "namespace": "default", "labels": {"kubernetes.io/service-name": "widgets"}},
        "addressType": "IPv4", "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": backend.port, "protocol": "TCP"}]}, WriteOptions())
    await aggregator.sync()
    cond = await available(registry)
    assert (cond["status"], cond["reason"], cond["message"]) == ("True", "Passed", "all checks passed")
    await backend.stop()
    await aggregator.sync()
    cond = await available(registry)
    assert (cond["status"], cond["reason"]) == ("False", "FailedDiscoveryCheck")
    assert cond["message"].startswith(f"failing or missing response from https://127.0.0.1:{backend.port}/apis/{GROUP}/"
                                      f"{VERSION}: ")


async def _client(aggregator: Aggregator, user: UserInfo) -> TestClient:
    async def handler(request: web.Request) -> web.StreamResponse:
        request[USER_KEY] = user
        answer = await aggregator.route(request)
        return answer if answer is not None else web.Response(status=418)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_proxy_passes_the_user_and_discovery_is_merged(registry: Registry, aggregator: Aggregator,
                                                             backend: AggregatedServer) -> None:
    await register_backend(registry, backend)
    await aggregator.sync()
    user = UserInfo("jane", ("devs", "system:authenticated"), extra={"scopes.example/x": ["a"]})
    client = await _client(aggregator, user)
    try:
        resp = await client.get(f"/apis/{GROUP}/{VERSION}/namespaces/default/widgets",
                                headers={"Authorization": "Bearer secret", "X-Remote-User": "mallory"})
        assert resp.status == 200
        body = await resp.json()
        assert [w["metadata"]["name"] for w in body["items"]] == ["alpha", "beta"]
        assert body["items"][0]["metadata"]["annotations"][f"{GROUP}/requested-by"] == "jane"
        assert body["items"][0]["metadata"]["annotations"][f"{GROUP}/groups"] == "devs,system:authenticated"
        seen = backend.seen_headers[-1]
        assert "Authorization" not in seen and seen["X-Remote-Extra-scopes.example%2Fx"] == "a"
        watch = await client.get(f"/apis/{GROUP}/{VERSION}/namespaces/default/widgets?watch=true")
        lines = (await watch.read()).decode().strip().splitlines()
        assert len(lines) == 2 and '"ADDED"' in lines[0]
        assert (await client.get("/apis")).status == 418  # the server's own discovery, merging ours in:
        legacy = aggregator.merge_group_list(local_discovery.api_group_list(SCHEME))
        assert {"name": GROUP, "versions": [{"groupVersion": f"{GROUP}/{VERSION}", "version": VERSION}],
                "preferredVersion": {"groupVersion": f"{GROUP}/{VERSION}", "version": VERSION}} in legacy["groups"]
        assert legacy["groups"][0]["name"] == "apiregistration.k8s.io"
        agg = aggregator.merge_aggregated(local_discovery.aggregated(SCHEME, legacy=False, version="v2"))
        item = next(i for i in agg["items"] if i["metadata"]["name"] == GROUP)
        res = item["versions"][0]["resources"][0]
        assert res["resource"] == "widgets" and res["scope"] == "Namespaced" and res["shortNames"] == ["wd"]
        group_doc = await (await client.get(f"/apis/{GROUP}")).json()
        assert group_doc["kind"] == "APIGroup" and group_doc["preferredVersion"]["version"] == VERSION
        await backend.stop()
        await aggregator.sync()
        down = await client.get(f"/apis/{GROUP}/{VERSION}/namespaces/default/widgets")
        assert down.status == 503 and (await down.text()).strip() == "service unavailable"
    finally:
        await client.close()


async def test_apiservice_validation(registry: Registry) -> None:
    from pyk8s.machinery.errors import StatusError

    with pytest.raises(StatusError) as exc:
        await store(registry, "apiregistration.k8s.io", "apiservices").create("", {
            "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "wrong"},
            "spec": {"group": GROUP, "version": VERSION, "groupPriorityMinimum": 30000, "versionPriority": 15,
                     "service": {"namespace": "default", "name": "w"}, "insecureSkipTLSVerify": True,
                     "caBundle": "eA=="}}, WriteOptions())
    message = exc.value.message
    assert f'metadata.name: Invalid value: "wrong": must be `spec.version+"."+spec.group`: "{NAME}"' in message
    assert "spec.groupPriorityMinimum: Invalid value: 30000: must be positive and less than 20000" in message
    assert "spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is present" in message


async def test_upgrade_requests_stream_through(registry: Registry, aggregator: Aggregator,
                                               backend: AggregatedServer) -> None:
    await register_backend(registry, backend)
    await aggregator.sync()
    client = await _client(aggregator, UserInfo("jane", ("devs",)))
    try:
        async with client.ws_connect(f"/apis/{GROUP}/{VERSION}/namespaces/default/widgets/alpha/echo") as ws:
            assert (await ws.receive_str()) == "hello jane"
            await ws.send_str("ping")
            assert (await ws.receive_str()) == "ping"
    finally:
        await client.close()
