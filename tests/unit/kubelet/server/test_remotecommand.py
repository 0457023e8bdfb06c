"""The kubelet's exec/attach relay: WebSocket v5/v4 clients onto a SPDY streaming server, and its refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from pyk8s.kubelet.kuberuntime.podstatus import ContainerStatus, PodStatus
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri import streaming_spdy as spdy
from pyk8s.kubelet.server import remotecommand
from pyk8s.kubelet.server.streamsource import PodStreams, StreamRefused

EXIT_3 = {"metadata": {}, "status": "Failure", "message": "command terminated with non-zero exit code: 3",
          "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}


async def fake_streaming_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A runtime's streaming server: upper-cases stdin onto stdout until stdin's FIN, then exits with 3."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                 b"X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")

    async def send(frame: bytes) -> None:
        writer.write(frame)

    session = spdy.Session(send, client=False)

    async def pump() -> None:
        while data := await reader.read(65536):
            session.feed(data)
        session.feed_eof()

    pumping = asyncio.create_task(pump())
    streams = {}
    while len(streams) < 3:
        stream = await session.incoming.get()
        assert stream is not None
        streams[stream.headers["streamtype"]] = stream
    while chunk := await streams["stdin"].read():
        streams["stdout"].write(chunk.upper())
    streams["error"].write(json.dumps(EXIT_3).encode())
    streams["error"].close()
    await asyncio.sleep(0.05)
    await session.close()
    pumping.cancel()
    writer.close()


@pytest.fixture
async def kubelet() -> AsyncIterator[str]:
    server = await asyncio.start_server(fake_streaming_server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    opts = remotecommand.Options(stdin=True, stdout=True, stderr=False, tty=False)

    async def handler(request: web.Request) -> web.StreamResponse:
        return await remotecommand.serve(request, f"http://127.0.0.1:{port}/exec/token", opts)

    app = web.Application()
    app.router.add_route("*", "/exec", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/exec"
    await runner.cleanup()
    server.close()


async def session_frames(url: str, protocol: str, *, close_stdin: bool) -> list[bytes]:
    frames: list[bytes] = []
    async with aiohttp.ClientSession() as client, client.ws_connect(url, protocols=(protocol,)) as ws:
        assert ws.protocol == protocol
        await ws.send_bytes(b"\x00hello ")
        await ws.send_bytes(b"\x00world")
        if close_stdin:
            await ws.send_bytes(b"\xff\x00")
        try:
            async with asyncio.timeout(3):
                async for msg in ws:
                    frames.append(msg.data)
        except TimeoutError:
            frames.append(b"<timeout>")
    return frames


async def test_v5_stdin_close_reaches_the_runtime_and_the_status_comes_last(kubelet: str) -> None:
    frames = await session_frames(kubelet, "v5.channel.k8s.io", close_stdin=True)
    assert b"".join(f[1:] for f in frames if f[:1] == b"\x01") == b"HELLO WORLD"
    assert frames[-1][:1] == b"\x03" and json.loads(frames[-1][1:]) == EXIT_3


async def test_v4_has_no_close_signal(kubelet: str) -> None:
    # v4 cannot end stdin: the command keeps waiting, as with upstream's v4 clients.
    frames = await session_frames(kubelet, "v4.channel.k8s.io", close_stdin=True)
    assert frames[-1] == b"<timeout>"
    assert b"".join(f[1:] for f in frames if f[:1] == b"\x01") == b"HELLO WORLD"


async def test_a_request_without_websocket_is_refused(kubelet: str) -> None:
    async with aiohttp.ClientSession() as client, client.get(kubelet) as resp:
        assert resp.status == 400
        assert await resp.text() == "Upgrade request required"


def test_options_as_upstream_kubelet_reads_them() -> None:
    opts = remotecommand.parse_options({"input": "1", "output": "1", "error": "1", "tty": "1"})
    assert (opts.stdin, opts.stdout, opts.stderr, opts.tty) == (True, True, False, True)
    with pytest.raises(ValueError, match="you must specify at least 1 of stdin, stdout, stderr"):
        remotecommand.parse_options({"tty": "1"})


class FakeLister:
    def __init__(self, pods: list[dict[str, Any]]) -> None:
        self.pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in pods}

    def get(self, name: str, namespace: str = "") -> dict[str, Any] | None:
        return self.pods.get((namespace, name))


class FakeManager:
    def __init__(self, status: PodStatus) -> None:
        self.status = status

    async def get_pod_status(self, uid: str, name: str = "", namespace: str = "") -> PodStatus:
        return self.status


class FakeRuntime:
    async def exec(self, request: ri.ExecRequest) -> str:
        return f"http://runtime/exec/{request.container_id}"


async def test_refusals_are_worded_as_upstream_kubelet() -> None:
    pod = {"metadata": {"namespace": "ns", "name": "p", "uid": "u"}, "spec": {"containers": [{"name": "app"}]}}
    exited = ContainerStatus(id="c1", name="app", state=ri.ContainerState.EXITED, created_at=1)
    streams = PodStreams(FakeLister([pod]), FakeManager(PodStatus(uid="u", containers=[exited])),  # type: ignore[arg-type]
                         FakeRuntime())  # type: ignore[arg-type]
    kwargs: dict[str, bool] = {"stdin": False, "stdout": True, "stderr": True, "tty": False}
    with pytest.raises(StreamRefused) as gone:
        await streams.exec_url("ns", "nope", "app", ["ls"], **kwargs)
    assert (gone.value.code, gone.value.message) == (404, "pod does not exist")
    with pytest.raises(StreamRefused) as stopped:
        await streams.exec_url("ns", "p", "app", ["ls"], **kwargs)
    assert (stopped.value.code, stopped.value.message) == (500, 'container not found ("app")')
    with pytest.raises(StreamRefused) as no_sandbox:
        await streams.port_forward_url("ns", "p", 80)
    assert no_sandbox.value.message == 'pod not found ("p_ns")'
    running = ContainerStatus(id="c2", name="app", state=ri.ContainerState.RUNNING, created_at=2)
    streams.manager = FakeManager(PodStatus(uid="u", containers=[running, exited]))  # type: ignore[assignment]
    assert await streams.exec_url("ns", "p", "app", ["ls"], **kwargs) == "http://runtime/exec/c2"


async def test_the_raw_spdy_fallback_joins_the_clients_streams(kubelet: str) -> None:
    # kubectl's fallback: POST with Upgrade: SPDY/3.1; its own streams are joined to the runtime's.
    client, reader = await spdy.connect(kubelet, "v4.channel.k8s.io")
    try:
        error = client.open_stream({"streamType": "error"})
        stdin = client.open_stream({"streamType": "stdin"})
        stdout = client.open_stream({"streamType": "stdout"})
        stdin.write(b"over spdy")
        stdin.close()
        assert await asyncio.wait_for(stdout.read_all(), 3) == b"OVER SPDY"
        assert json.loads(await asyncio.wait_for(error.read_all(), 3)) == EXIT_3
    finally:
        await client.close()
        reader.cancel()


async def test_spdy_without_a_known_protocol_is_refused(kubelet: str) -> None:
    with pytest.raises(spdy.UpgradeError) as refused:
        await spdy.connect(kubelet, "v9.channel.k8s.io")
    assert refused.value.status == 400
    assert "unable to negotiate protocol" in refused.value.body
