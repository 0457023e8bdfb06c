"""pods/proxy, services/proxy and nodes/proxy through an in-process API server over the real registry.

Pods get addresses from 10.200.0.0/24 that the test egress (``pyk8s.testing.egress``) maps to backends
on loopback, so no packet goes to a pod address; the node's kubelet is a TLS server on 127.0.0.1 that
demands the API server's kubelet-client certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pyk8s.apiserver.authorization.union import build_authorizer
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo
from pyk8s.apiserver.kubeletclient import KubeletClient
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.apiserver.server import build_app
from pyk8s.machinery.errors import StatusError
from pyk8s.testing.egress import TranslatingEgress
from pyk8s.util import pki
from tests.integration.apiserver.realserver import AUTH, registry  # noqa: F401  (fixture)

POD_IP = "10.200.0.5"
PODS = "/api/v1/namespaces/default/pods"


@dataclass
class Backend:
    url: str
    port: int
    seen: list[dict[str, Any]]
    release: asyncio.Event


async def _serve(app: web.Application, ctx: ssl.SSLContext | None = None) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx).start()
    return runner, runner.addresses[0][1]


def backend_app(seen: list[dict[str, Any]], release: asyncio.Event) -> web.Application:
    async def echo(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        seen.append({"method": request.method, "path": request.raw_path, "headers": dict(request.headers),
                     "body": body})
        if request.path == "/moved":
            return web.Response(status=302, headers={"Location": "/elsewhere?x=1"})
        if request.path == "/stream":
            resp = web.StreamResponse()
            await resp.prepare(request)
            await resp.write(b"first\n")
            await release.wait()
            await resp.write(b"second\n")
            return resp
        if request.path == "/page.html":
            return web.Response(text='<a href="/next">next</a> <a href="rel">rel</a>', content_type="text/html")
        if request.path == "/ws":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for msg in ws:
                await ws.send_str("echo:" + msg.data)
            return ws
        return web.Response(text=f"{request.method} {request.raw_path} {len(body)}", headers={"X-Backend": "yes"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    seen: list[dict[str, Any]] = []
    release = asyncio.Event()
    runner, port = await _serve(backend_app(seen, release))
    yield Backend(f"http://127.0.0.1:{port}", port, seen, release)
    release.set()
    await runner.cleanup()


@pytest.fixture
async def kubelet(tmp_path) -> AsyncIterator[tuple[int, pki.KeyPair]]:
    """A kubelet stand-in over TLS that only answers the API server's kubelet-client certificate."""
    ca = pki.create_ca(tmp_path / "ca.crt", tmp_path / "ca.key")
    serving = pki.issue_cert(ca, tmp_path / "k.crt", tmp_path / "k.key", common_name="kubelet",
                             ip_addresses=("127.0.0.1",), server=True)
    client = pki.issue_cert(ca, tmp_path / "c.crt", tmp_path / "c.key", common_name="kube-apiserver-kubelet-client")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca.cert_path))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(str(serving.cert_path), str(serving.key_path))

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner, port = await _serve(app, ctx)
    yield port, client
    await runner.cleanup()


@pytest.fixture
async def api(tmp_path, registry, backend, kubelet) -> AsyncIterator[tuple[TestClient, Any, TranslatingEgress]]:  # noqa: F811
    kubelet_port, client_cert = kubelet
    kubelets = KubeletClient(client_cert)
    egress = TranslatingEgress({(POD_IP, 80): ("127.0.0.1", backend.port), (POD_IP, 8443): ("127.0.0.1", 9)})
    kubelets.cluster = egress
    signer = TokenSigner(b"k" * 32)
    auth = Authenticator(tokens={"t": UserInfo("admin", ("system:masters", "system:authenticated")),
                                 "alice": UserInfo("alice", ("system:authenticated",))}, signer=signer)
    app = build_app(config=ServerConfig(data_dir=tmp_path), registry=registry, authenticator=auth,
                    readiness=Readiness(()), token_signer=signer, kubelets=kubelets,
                    authorizer=build_authorizer(("RBAC",), registry))
    c = TestClient(TestServer(app))
    await c.start_server()
    await _seed(registry, kubelet_port)
    try:
        yield c, registry, egress
    finally:
        await c.close()
        await kubelets.close()


async def _put(store: Any, ns: str, obj: dict[str, Any], status: dict[str, Any] | None = None) -> None:
    created = await store.create(ns, obj, WriteOptions())
    if status is not None:
        created["status"] = status
        await store.update(ns, created["metadata"]["name"], created, WriteOptions(), subresource="status")


async def _seed(reg: Any, kubelet_port: int) -> None:
    pods, services = reg.store("", "pods"), reg.store("", "services")
    endpoints, nodes = reg.store("", "endpoints"), reg.store("", "nodes")
    container = {"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}
    with contextlib.suppress(StatusError):  # the ServiceAccount admission needs it, if nothing made it yet
        await _put(reg.store("", "serviceaccounts"), "default", {"metadata": {"name": "default"}})
    await _put(nodes, "", {"metadata": {"name": "n1"}},
               {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}}})
    await _put(pods, "default", {"metadata": {"name": "web"}, "spec": {"containers": [container], "nodeName": "n1"}},
               {"phase": "Running", "podIP": POD_IP, "podIPs": [{"ip": POD_IP}]})
    await _put(pods, "default", {"metadata": {"name": "pending"}, "spec": {"containers": [container]}})
    await _put(pods, "default", {"metadata": {"name": "local"}, "spec": {"containers": [container]}},
               {"phase": "Running", "podIP": "169.254.1.2", "podIPs": [{"ip": "169.254.1.2"}]})
    ports = [{"name": "http", "port": 8080, "targetPort": 80}]
    for name in ("web", "empty", "stray"):
        await _put(services, "default", {"metadata": {"name": name}, "spec": {"ports": ports}})
    ref = {"kind": "Pod", "namespace": "default", "name": "web"}
    await _put(endpoints, "default", {"metadata": {"name": "web"}, "subsets": [
        {"addresses": [{"ip": POD_IP, "targetRef": ref}], "ports": [{"name": "http", "port": 80}]}]})
    await _put(endpoints, "default", {"metadata": {"name": "stray"}, "subsets": [
        {"addresses": [{"ip": "10.200.0.9"}], "ports": [{"name": "http", "port": 80}]}]})


H = {"Authorization": "Bearer t"}


async def test_pod_proxy_passes_method_path_query_and_body(api, backend: Backend) -> None:
    c, _, egress = api
    resp = await c.get(f"{PODS}/web:80/proxy/some/page?a=1&b=two", headers={**H, "X-Custom": "kept"})
    assert resp.status == 200, await resp.text()
    assert await resp.text() == "GET /some/page?a=1&b=two 0"
    assert resp.headers["X-Backend"] == "yes"
    seen = backend.seen[-1]["headers"]
    assert seen["X-Custom"] == "kept" and "Authorization" not in seen and "X-Forwarded-For" in seen
    assert egress.dialled[-1] == (POD_IP, 80)
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        resp = await c.request(method, f"{PODS}/web/proxy/x", headers=H, data=b"payload")
        assert (resp.status, await resp.text()) == (200, f"{method} /x 7"), method
    resp = await c.head(f"{PODS}/http:web:80/proxy/x", headers=H)
    assert resp.status == 200 and backend.seen[-1]["method"] == "HEAD"


async def test_bare_proxy_redirects_to_the_slash_form(api) -> None:
    c, _, _ = api
    resp = await c.get(f"{PODS}/web/proxy?q=1", headers=H, allow_redirects=False)
    assert resp.status == 301 and resp.headers["Location"] == f"{PODS}/web/proxy/?q=1"
    resp = await c.get(f"{PODS}/web/proxy/", headers=H)
    assert await resp.text() == "GET / 0"


async def test_redirects_of_the_backend_stay_behind_the_proxy(api) -> None:
    c, _, _ = api
    resp = await c.get(f"{PODS}/web/proxy/moved", headers=H, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == f"{PODS}/web/proxy/elsewhere?x=1"


async def test_html_links_stay_behind_the_proxy(api) -> None:
    c, _, _ = api
    resp = await c.get(f"{PODS}/web:80/proxy/page.html", headers=H)
    assert await resp.text() == f'<a href="{PODS}/web:80/proxy/next">next</a> <a href="rel">rel</a>'


async def test_a_streamed_answer_arrives_as_it_is_written(api, backend: Backend) -> None:
    c, _, _ = api
    resp = await c.get(f"{PODS}/web/proxy/stream", headers=H)
    assert await asyncio.wait_for(resp.content.readline(), 30) == b"first\n"  # the backend still holds the rest
    backend.release.set()
    assert await asyncio.wait_for(resp.content.read(), 30) == b"second\n"


async def test_websocket_upgrade_is_passed_through(api) -> None:
    c, _, _ = api
    ws = await c.ws_connect(f"{PODS}/web/proxy/ws", headers=H)
    await ws.send_str("hi")
    msg = await asyncio.wait_for(ws.receive(), 30)
    assert msg.type == aiohttp.WSMsgType.TEXT and msg.data == "echo:hi"
    await ws.close()


@pytest.mark.parametrize(("path", "code", "message"), [
    (f"{PODS}/missing/proxy/", 404, 'pods "missing" not found'),
    (f"{PODS}/pending/proxy/", 400, "address not allowed"),
    (f"{PODS}/local/proxy/", 400, "address not allowed"),
    (f"{PODS}/web:http/proxy/", 400, 'invalid port "http"'),
    (f"{PODS}/ftp:web:80/proxy/", 400, 'invalid pod request "ftp:web:80"'),
    (f"{PODS}/https:web:8443/proxy/", 503,
     f"error trying to reach service: dial tcp {POD_IP}:8443: connect: connection refused"),
    ("/api/v1/namespaces/default/services/empty/proxy/", 404, 'endpoints "empty" not found'),
    ("/api/v1/namespaces/default/services/web:9999/proxy/", 503, 'no service port 9999 found for service "web"'),
    ("/api/v1/namespaces/default/services/stray/proxy/", 503, 'no endpoints available for service "stray"'),
    ("/api/v1/namespaces/default/services/nope:80/proxy/", 404, 'services "nope" not found'),
    ("/api/v1/nodes/missing/proxy/healthz", 404, 'nodes "missing" not found'),
])
async def test_refusals_are_upstreams(api, path: str, code: int, message: str) -> None:
    c, _, _ = api
    resp = await c.get(path, headers=H)
    body = await resp.json()
    assert (resp.status, body.get("message")) == (code, message), body


async def test_service_proxy_picks_a_pod_endpoint_by_port_name_or_number(api) -> None:
    c, _, egress = api
    for ident in ("web:http", "web:8080", "http:web:http"):
        resp = await c.get(f"/api/v1/namespaces/default/services/{ident}/proxy/p?x=y", headers=H)
        assert (resp.status, await resp.text()) == (200, "GET /p?x=y 0"), ident
    assert egress.dialled[-1] == (POD_IP, 80)
    assert ("10.200.0.9", 80) not in egress.dialled  # not a pod's address: never a target


async def test_node_proxy_reaches_the_kubelet_with_the_client_certificate(api) -> None:
    c, _, egress = api
    resp = await c.get("/api/v1/nodes/n1/proxy/healthz", headers=H)
    assert (resp.status, await resp.text()) == (200, "ok")
    resp = await c.get("/api/v1/nodes/n1:7777/proxy/healthz", headers=H)  # another port of a loopback node
    assert (resp.status, (await resp.json())["message"]) == (400, "address not allowed")
    assert not egress.dialled


async def test_rbac_decides_on_the_proxy_subresource_with_the_name_as_written(api) -> None:
    c, reg, _ = api
    alice = {"Authorization": "Bearer alice"}
    refused = await c.get(f"{PODS}/web:80/proxy/", headers=alice)
    assert (refused.status, (await refused.json())["message"]) == (403, (
        'pods "web:80" is forbidden: User "alice" cannot get resource "pods/proxy" in API group "" in the '
        'namespace "default"'))
    await _put(reg.store("rbac.authorization.k8s.io", "roles"), "default", {
        "metadata": {"name": "proxy"},
        "rules": [{"apiGroups": [""], "resources": ["pods/proxy"], "verbs": ["get"], "resourceNames": ["web:80"]}]})
    await _put(reg.store("rbac.authorization.k8s.io", "rolebindings"), "default", {
        "metadata": {"name": "proxy"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                   "name": "proxy"},
        "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]})

    async def allowed() -> int:
        return (await c.get(f"{PODS}/web:80/proxy/", headers=alice)).status

    for _ in range(300):  # the authorizer reads its watch caches: the binding shows there a moment later
        if await allowed() == 200:
            break
        await asyncio.sleep(0.1)
    assert await allowed() == 200
    posted = await c.post(f"{PODS}/web:80/proxy/", headers=alice, data=b"x")  # create is not granted
    assert posted.status == 403
    other = await c.get(f"{PODS}/web/proxy/", headers=alice)  # another name than the one granted
    assert other.status == 403
