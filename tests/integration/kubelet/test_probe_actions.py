"""Probe handlers against real loopback servers: verdicts and upstream's wording."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import grpc.aio
import pytest
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from pyk8s.kubelet.prober import actions
from pyk8s.kubelet.prober.actions import Result
from pyk8s.kubelet.runtime import interface as ri


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def http_port() -> AsyncIterator[int]:
    seen: dict[str, Any] = {}

    async def ok(request: web.Request) -> web.Response:
        seen.update(request.headers)
        return web.Response(text="fine")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="no")

    app = web.Application()
    app.router.add_get("/healthz", ok)
    app.router.add_get("/broken", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield port
    finally:
        await runner.cleanup()


def target(port: int | None = None) -> actions.Target:
    ports = [{"name": "http", "containerPort": port}] if port else []
    return actions.Target("c1", {"name": "app", "ports": ports}, "127.0.0.1")


async def test_http_probe_named_port_passes(http_port: int) -> None:
    out = await actions.run({"httpGet": {"path": "/healthz", "port": "http"}}, target(http_port), None, 1)  # type: ignore[arg-type]
    assert out == actions.Outcome(Result.SUCCESS, "fine")


async def test_http_probe_error_code_fails_with_upstream_words(http_port: int) -> None:
    out = await actions.run({"httpGet": {"path": "/broken", "port": http_port}}, target(), None, 1)  # type: ignore[arg-type]
    assert out == actions.Outcome(Result.FAILURE, "HTTP probe failed with statuscode: 500")


async def test_http_probe_refused_reads_like_go() -> None:
    port = free_port()
    out = await actions.run({"httpGet": {"path": "/", "port": port}}, target(), None, 1)  # type: ignore[arg-type]
    assert out.result == Result.FAILURE
    assert out.output == f'Get "http://127.0.0.1:{port}/": dial tcp 127.0.0.1:{port}: connect: connection refused'


async def test_unknown_named_port_fails() -> None:
    out = await actions.run({"tcpSocket": {"port": "web"}}, target(), None, 1)  # type: ignore[arg-type]
    assert out == actions.Outcome(Result.FAILURE, "couldn't find port: web in app")


async def test_tcp_probe(http_port: int) -> None:
    assert (await actions.run({"tcpSocket": {"port": http_port}}, target(), None, 1)).result == Result.SUCCESS  # type: ignore[arg-type]
    port = free_port()
    out = await actions.run({"tcpSocket": {"port": port}}, target(), None, 1)  # type: ignore[arg-type]
    assert out == actions.Outcome(Result.FAILURE, f"dial tcp 127.0.0.1:{port}: connect: connection refused")


async def test_grpc_probe_serving_and_not_serving() -> None:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        await servicer.set("db", health_pb2.HealthCheckResponse.NOT_SERVING)
        ok = await actions.run({"grpc": {"port": port}}, target(), None, 1)  # type: ignore[arg-type]
        bad = await actions.run({"grpc": {"port": port, "service": "db"}}, target(), None, 1)  # type: ignore[arg-type]
    finally:
        await server.stop(None)
    assert ok.result == Result.SUCCESS
    assert bad == actions.Outcome(Result.FAILURE, 'service unhealthy (responded with "NOT_SERVING")')


class Exec:
    def __init__(self, result: ri.ExecResult | Exception) -> None:
        self.result = result

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int = 0) -> ri.ExecResult:  # noqa: ASYNC109
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


async def test_exec_probe_output_and_timeout() -> None:
    probe = {"exec": {"command": ["cat", "/tmp/healthy"]}}
    failed = await actions.run(probe, target(), Exec(ri.ExecResult(1, b"", b"cat: /tmp/healthy: No such file")), 1)  # type: ignore[arg-type]
    assert failed == actions.Outcome(Result.FAILURE, "cat: /tmp/healthy: No such file")
    timed_out = await actions.run(probe, target(), Exec(ri.ExecTimeoutError("slow")), 1)  # type: ignore[arg-type]
    assert timed_out == actions.Outcome(Result.FAILURE, 'command "cat /tmp/healthy" timed out')
