"""pods/exec, attach, portforward: upstream's checks, the kubelet URL, and the upgraded connection passed through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from multidict import MultiDict

from pyk8s.apiserver.endpoints import podstreams, upgradeproxy
from pyk8s.machinery.errors import StatusError

POD = {"metadata": {"namespace": "ns", "name": "web"},
       "spec": {"nodeName": "n1", "containers": [{"name": "app"}, {"name": "side"}],
                "ephemeralContainers": [{"name": "dbg"}]}}


def path(sub: str, **query: object) -> str:
    items = [(k, v) for k, vs in query.items() for v in (vs if isinstance(vs, list) else [vs])]
    return podstreams.kubelet_path(POD, sub, MultiDict(items))


def test_kubelet_urls_carry_upstream_kubelet_parameters() -> None:
    assert path("exec", container="app", command=["ls", "-l /"], stdin="true", stdout="true", tty="true") == \
        "/exec/ns/web/app?command=ls&command=-l+%2F&input=1&output=1&tty=1"
    assert path("attach", container="dbg", stdout="true", stderr="true") == "/attach/ns/web/dbg?output=1&error=1"
    assert path("portforward") == "/portForward/ns/web"
    assert path("portforward", ports=["80", "443"]) == "/portForward/ns/web?port=80&port=443"


@pytest.mark.parametrize(("query", "message"), [
    ({"container": "app", "command": "ls"}, "you must specify at least 1 of stdin, stdout, stderr"),
    ({"stdout": "true", "command": "ls"}, "a container name must be specified for pod web, choose one of: [app side]"),
    ({"stdout": "true", "container": "zz"}, "container zz is not valid for pod web"),
])
def test_refusals(query: dict[str, str], message: str) -> None:
    with pytest.raises(StatusError) as err:
        podstreams.kubelet_path(POD, "exec", MultiDict(query))
    assert (err.value.code, err.value.message) == (400, message)


class PlainKubelets:
    """A KubeletClient stand-in that dials plain TCP."""

    async def open_connection(self, url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, port = url.split("//")[1].split("/")[0].split(":")
        return await asyncio.open_connection(host, int(port))


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def api() -> AsyncIterator[str]:
    async def echo(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(protocols=("v5.channel.k8s.io",))
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_bytes(b"\x01" + msg.data[1:] * 2)
        return ws

    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=500, text='container not found ("app")')

    kubelet_app = web.Application()
    kubelet_app.router.add_get("/exec", echo)
    kubelet_app.router.add_route("*", "/gone", refuse)
    kubelet_runner, kubelet_url = await serve(kubelet_app)

    async def proxy(request: web.Request) -> web.StreamResponse:
        return await upgradeproxy.proxy(request, PlainKubelets(), kubelet_url + request.match_info["tail"])  # type: ignore[arg-type]

    api_app = web.Application()
    api_app.router.add_route("*", "/pods{tail:.*}", proxy)
    api_runner, api_url = await serve(api_app)
    yield api_url
    await api_runner.cleanup()
    await kubelet_runner.cleanup()


async def test_an_upgraded_websocket_is_spliced_through(api: str) -> None:
    async with aiohttp.ClientSession() as client, \
            client.ws_connect(api + "/pods/exec", protocols=("v5.channel.k8s.io",)) as ws:
        assert ws.protocol == "v5.channel.k8s.io"
        big = b"y" * 200_000
        for data in (b"ab", big):
            await ws.send_bytes(b"\x00" + data)
            reply = await asyncio.wait_for(ws.receive(), 5)
            assert reply.data == b"\x01" + data * 2


async def test_a_refusal_keeps_the_kubelets_status_and_words(api: str) -> None:
    headers = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "v4.channel.k8s.io"}
    async with aiohttp.ClientSession() as client, client.post(api + "/pods/gone", headers=headers) as resp:
        assert resp.status == 500
        assert await resp.text() == 'container not found ("app")'


def test_upgrade_requests_are_recognised() -> None:
    from aiohttp.test_utils import make_mocked_request

    assert upgradeproxy.is_upgrade(make_mocked_request("GET", "/", headers={"Connection": "keep-alive, Upgrade",
                                                                            "Upgrade": "websocket"}))
    assert not upgradeproxy.is_upgrade(make_mocked_request("GET", "/", headers={"Connection": "keep-alive"}))
