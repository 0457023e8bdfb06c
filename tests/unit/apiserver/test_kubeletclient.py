"""The API server's kubelet client verifies kubelets' serving certificates against the cluster CA."""

from __future__ import annotations

import pathlib

import aiohttp
import pytest
from aiohttp import web

from pyk8s.apiserver.kubeletclient import KubeletClient, request_error
from pyk8s.util import pki


async def _kubelet(tmp_path: pathlib.Path, ca: pki.KeyPair) -> tuple[web.AppRunner, int]:
    import ssl

    serving = pki.issue_cert(ca, tmp_path / "k.crt", tmp_path / "k.key", common_name="system:node:n1",
                             ip_addresses=("127.0.0.1",), server=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(serving.cert_path), str(serving.key_path))
    app = web.Application()
    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


@pytest.mark.parametrize("same_ca", [True, False])
async def test_kubelets_are_verified_against_the_cluster_ca(tmp_path: pathlib.Path, same_ca: bool) -> None:
    cluster_ca = pki.create_ca(tmp_path / "ca.crt", tmp_path / "ca.key")
    other_ca = pki.create_ca(tmp_path / "o.crt", tmp_path / "o.key", "another-ca")
    client_cert = pki.issue_cert(cluster_ca, tmp_path / "c.crt", tmp_path / "c.key", common_name="apiserver",
                                 organizations=("system:masters",))
    runner, port = await _kubelet(tmp_path, cluster_ca if same_ca else other_ca)
    kubelets = KubeletClient(client_cert, cluster_ca.cert_pem)
    url = f"https://127.0.0.1:{port}/containerLogs/default/p/c"
    try:
        if same_ca:
            async with kubelets.session().get(f"https://127.0.0.1:{port}/healthz") as resp:
                assert await resp.text() == "ok"
            return
        with pytest.raises(aiohttp.ClientError) as caught:
            async with kubelets.session().get(url):
                pass
        err = request_error("GET", url, caught.value)
        assert err.code == 500
        assert err.message == (f'Get "{url}": tls: failed to verify certificate: '
                               "x509: certificate signed by unknown authority")
        with pytest.raises(ConnectionError, match="^tls: failed to verify certificate: x509: certificate signed by "
                                                  "unknown authority$"):
            await kubelets.open_connection(url)  # exec, attach, port-forward: "error dialing backend: ..."
    finally:
        await kubelets.close()
        await runner.cleanup()


async def test_without_a_ca_any_kubelet_is_trusted(tmp_path: pathlib.Path) -> None:
    cluster_ca = pki.create_ca(tmp_path / "ca.crt", tmp_path / "ca.key")
    other_ca = pki.create_ca(tmp_path / "o.crt", tmp_path / "o.key", "another-ca")
    client_cert = pki.issue_cert(cluster_ca, tmp_path / "c.crt", tmp_path / "c.key", common_name="apiserver")
    runner, port = await _kubelet(tmp_path, other_ca)
    kubelets = KubeletClient(client_cert)
    try:
        async with kubelets.session().get(f"https://127.0.0.1:{port}/healthz") as resp:
            assert await resp.text() == "ok"
    finally:
        await kubelets.close()
        await runner.cleanup()
