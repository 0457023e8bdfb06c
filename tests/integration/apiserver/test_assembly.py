"""The server assembly in-process over memory storage: readiness, extra components, shutdown."""

from __future__ import annotations

import asyncio
import socket

import aiohttp

from pyk8s.apiserver.config import ServerConfig
from pyk8s.daemons.server import ServerAssembly, ServerOptions


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Probe:
    def __init__(self, name: str) -> None:
        self.name = name
        self.ready = asyncio.Event()
        self.cancelled = False

    async def run(self) -> None:
        self.ready.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


async def test_assembly_becomes_ready_runs_components_and_stops(tmp_path):
    config = ServerConfig(data_dir=tmp_path, secure_port=free_port(), insecure_port=free_port())
    probes: list[Probe] = []

    def make(name: str):
        def build(assembly: ServerAssembly) -> Probe:
            probes.append(Probe(name))
            return probes[-1]
        return build

    opts = ServerOptions(config=config, storage_url="memory://", disable=frozenset({"off"}),
                         extra=[make("on"), make("off")])
    assembly = ServerAssembly(opts)
    task = asyncio.create_task(assembly.run())
    await asyncio.wait_for(assembly.ready.wait(), 20)
    async with aiohttp.ClientSession() as s:
        async with s.get(f"http://127.0.0.1:{config.insecure_port}/readyz") as resp:
            assert resp.status == 200
    await asyncio.wait_for(probes[0].ready.wait(), 5)
    assert not probes[1].ready.is_set()  # disabled: built but never run
    assert (tmp_path / "admin.kubeconfig").exists()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    assert probes[0].cancelled
    with socket.socket() as s:  # the port is free again
        s.bind(("127.0.0.1", config.secure_port))


class Farewell:
    """On shutdown, talks to the API server once more, as a leader releasing its Lease does."""

    name = "farewell"

    def __init__(self, port: int) -> None:
        self.port = port
        self.ready = asyncio.Event()
        self.status = 0

    async def run(self) -> None:
        self.ready.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            async with aiohttp.ClientSession() as s:
                async with s.get(f"http://127.0.0.1:{self.port}/api/v1/namespaces/kube-system") as resp:
                    self.status = resp.status
            raise


async def test_components_stop_before_the_api_server(tmp_path):
    config = ServerConfig(data_dir=tmp_path, secure_port=free_port(), insecure_port=free_port())
    farewell = Farewell(config.insecure_port)
    assembly = ServerAssembly(ServerOptions(config=config, storage_url="memory://", extra=[lambda _a: farewell]))
    task = asyncio.create_task(assembly.run())
    await asyncio.wait_for(assembly.ready.wait(), 20)
    assert assembly.components == [farewell]
    await asyncio.wait_for(farewell.ready.wait(), 5)
    task.cancel()
    try:
        await asyncio.wait_for(task, 20)
    except asyncio.CancelledError:
        pass
    assert farewell.status == 200


async def test_a_failing_component_stops_the_assembly(tmp_path):
    config = ServerConfig(data_dir=tmp_path, secure_port=free_port())

    class Broken:
        name = "broken"
        ready = asyncio.Event()

        async def run(self) -> None:
            raise RuntimeError("broken component")

    assembly = ServerAssembly(ServerOptions(config=config, storage_url="memory://", extra=[lambda _a: Broken()]))
    try:
        await asyncio.wait_for(assembly.run(), 20)
    except BaseExceptionGroup as group:
        assert group.subgroup(RuntimeError) is not None
    else:
        raise AssertionError("the assembly kept running")
    with socket.socket() as s:  # the listener is closed
        s.bind(("127.0.0.1", config.secure_port))
