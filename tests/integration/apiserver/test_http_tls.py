"""The real listener: TLS with our CA, client-certificate and token authentication, kubeconfig."""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from pathlib import Path

import aiohttp
import pytest
import yaml

import pyk8s.api  # noqa: F401
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.server import APIServer, prepare_credentials
from pyk8s.util import pki
from tests.integration.apiserver.fakes import FakeRegistry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server(tmp_path):
    config = ServerConfig(data_dir=tmp_path / "data", secure_port=free_port(), insecure_port=free_port())
    srv = APIServer(config, registry=FakeRegistry(), readiness=Readiness())
    task = asyncio.create_task(srv.run())
    await asyncio.wait_for(srv.started.wait(), 10)
    try:
        yield srv
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def kubeconfig(srv: APIServer) -> dict:
    return yaml.safe_load(srv.config.kubeconfig_path.read_text())


def client_context(srv: APIServer, tmp: Path, *, with_cert: bool) -> ssl.SSLContext:
    doc = kubeconfig(srv)
    ctx = ssl.create_default_context(cadata=base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]).decode())
    if with_cert:
        user = doc["users"][0]["user"]
        (tmp / "c.pem").write_bytes(base64.b64decode(user["client-certificate-data"]))
        (tmp / "k.pem").write_bytes(base64.b64decode(user["client-key-data"]))
        ctx.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


async def test_kubeconfig_and_client_certificate(server, tmp_path):
    doc = kubeconfig(server)
    assert doc["current-context"] == "default"
    assert doc["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{server.config.secure_port}"
    assert oct(server.config.kubeconfig_path.stat().st_mode & 0o777) == "0o600"
    ctx = client_context(server, tmp_path, with_cert=True)
    async with aiohttp.ClientSession() as s:
        url = doc["clusters"][0]["cluster"]["server"]
        body = b'{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}'
        async with s.post(url + "/apis/authentication.k8s.io/v1/selfsubjectreviews", data=body, ssl=ctx,
                          headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 201
            info = (await resp.json())["status"]["userInfo"]
            assert info["username"] == "kubernetes-admin" and "system:masters" in info["groups"]
        async with s.get(url + "/healthz", ssl=ctx) as resp:
            assert resp.status == 200


async def test_token_and_anonymous(server, tmp_path):
    url = f"https://127.0.0.1:{server.config.secure_port}"
    ctx = client_context(server, tmp_path, with_cert=False)
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/api/v1/namespaces", ssl=ctx) as resp:  # anonymous: authenticated, not allowed
            assert resp.status == 403 and (await resp.json())["reason"] == "Forbidden"
        async with s.get(url + "/api/v1/namespaces", ssl=ctx, headers={"Authorization": "Bearer nope"}) as resp:
            assert resp.status == 401 and (await resp.json())["reason"] == "Unauthorized"
        async with s.get(url + "/version", ssl=ctx) as resp:
            assert resp.status == 200
        token = server.credentials.admin_token
        async with s.get(url + "/api/v1/namespaces", ssl=ctx, headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 200 and (await resp.json())["kind"] == "NamespaceList"


async def test_tls_handshake_negotiates_http11(server, tmp_path):
    ctx = client_context(server, tmp_path, with_cert=False)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.config.secure_port, ssl=ctx,
                                                   server_hostname="localhost")
    assert writer.get_extra_info("ssl_object").selected_alpn_protocol() == "http/1.1"
    writer.close()
    await writer.wait_closed()
    # Certificates from another CA complete the handshake and get a 401: test_http_connections.py.


async def test_insecure_port_acts_as_admin(server):
    async with aiohttp.ClientSession() as s:
        async with s.get(f"http://127.0.0.1:{server.config.insecure_port}/api/v1/namespaces") as resp:
            assert resp.status == 200


def test_second_start_reuses_identity(tmp_path):
    config = ServerConfig(data_dir=tmp_path)
    first = prepare_credentials(config)
    second = prepare_credentials(config)
    assert first.pki.ca.cert_pem == second.pki.ca.cert_pem
    assert first.pki.serving.cert_pem == second.pki.serving.cert_pem
    assert first.admin_token == second.admin_token
    dns, ips = pki.cert_sans(first.pki.serving.cert_pem)
    assert {"localhost", "kubernetes", "kubernetes.default.svc.cluster.local"} <= dns
    assert {"127.0.0.1", "10.96.0.1"} <= ips
    moved = ServerConfig(data_dir=tmp_path, bind_address="127.0.0.2")
    third = prepare_credentials(moved)
    assert third.pki.ca.cert_pem == first.pki.ca.cert_pem
    assert "127.0.0.2" in pki.cert_sans(third.pki.serving.cert_pem)[1]
