"""TLS, client-certificate auth and error mapping against the real server (no storage needed)."""

from __future__ import annotations

import aiohttp
import pytest

from pyk8s.client import errors
from pyk8s.client.kubeconfig import load_kubeconfig
from pyk8s.client.rest import Client
from pyk8s.testing.cluster import ServerProcess


async def test_tls_and_discovery(server_process: ServerProcess) -> None:
    cfg = load_kubeconfig(server_process.kubeconfig)
    assert cfg.server.startswith("https://127.0.0.1:") and cfg.ca_pem
    async with Client(cfg) as client:
        version = await client.request("GET", "/version")
        assert version["major"] == "1" and version["minor"] == "32"
        api = await client.request("GET", "/api")
        assert api["kind"] == "APIVersions" and "v1" in api["versions"]
        with pytest.raises(errors.ApiError) as info:
            await client.request("GET", "/api/v1/no-such-resource-here")
        assert info.value.code == 404 and errors.is_not_found(info.value)


async def test_wrong_ca_is_rejected(server_process: ServerProcess) -> None:
    cfg = load_kubeconfig(server_process.kubeconfig)
    cfg.ca_pem = b""  # system trust store only: the server's self-made CA is unknown
    async with Client(cfg) as client:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await client.request("GET", "/version")


async def test_anonymous_is_refused(server_process: ServerProcess) -> None:
    cfg = load_kubeconfig(server_process.kubeconfig)
    cfg.cert_pem = cfg.key_pem = b""
    cfg.token = "not-a-valid-token"
    async with Client(cfg) as client:
        with pytest.raises(errors.ApiError) as info:
            await client.request("GET", "/api/v1/namespaces")
        assert info.value.code in (401, 403)
