"""The kubelet API ends a streaming handler when its client goes: a followed log of a quiet container is not
tailed on for nobody (which also held the kubelet's stop for aiohttp's 60 s shutdown wait)."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import socket
import ssl
import time

import aiohttp

from pyk8s.kubelet.server.app import KubeletServer
from pyk8s.util import pki


class _QuietLog:
    """One container whose log exists, stays empty and keeps running: a follow never ends on its own."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self.polls = 0
        self.following = asyncio.Event()

    async def log_path(self, namespace: str, pod: str, container: str, previous: bool) -> str:
        return str(self.path)

    async def running(self, namespace: str, pod: str, container: str) -> bool:
        self.polls += 1
        self.following.set()
        return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_follow_ends_when_its_client_goes_and_the_kubelet_api_stops_at_once(tmp_path: pathlib.Path) -> None:
    ca = pki.create_ca(tmp_path / "ca.crt", tmp_path / "ca.key")
    apiserver = pki.issue_cert(ca, tmp_path / "a.crt", tmp_path / "a.key", common_name="apiserver",
                               organizations=("system:masters",))
    log_file = tmp_path / "c.log"
    log_file.write_bytes(b"")
    logs = _QuietLog(log_file)
    port = _free_port()
    server = KubeletServer("node-a", ["127.0.0.1"], tmp_path / "root", ca.cert_pem, pods=list, logs=logs,
                           port=port, bind="127.0.0.1")
    task = asyncio.create_task(server.run())
    url = f"https://127.0.0.1:{port}/containerLogs/ns/p/c?follow=true"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(1200):  # until the server has its certificate and listens (slow machines)
                try:
                    ctx = ssl.create_default_context(cafile=str(tmp_path / "root" / "pki" / "kubelet-ca.crt"))
                    ctx.load_cert_chain(str(apiserver.cert_path), str(apiserver.key_path))
                    resp = await session.get(url, ssl=ctx, server_hostname="node-a")
                    break
                except (aiohttp.ClientConnectorError, OSError):
                    assert not task.done(), task
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the kubelet API never listened")
            assert resp.status == 200
            await asyncio.wait_for(logs.following.wait(), 30)  # the handler is following
            resp.close()  # the client goes (as `kubectl logs -f` interrupted)
        await asyncio.sleep(1.0)
        polls = logs.polls
        await asyncio.sleep(1.5)
        assert logs.polls == polls, "the follow kept polling the log after its client had gone"
    finally:
        started = time.monotonic()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert time.monotonic() - started < 10, "stopping the kubelet API waited for a handler"
