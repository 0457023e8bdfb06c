"""EndpointSlice controller: slices with conditions for a Service's pods."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "client"))
from client_fake_apiserver import FakeApiServer  # noqa: E402

import pyk8s.api  # noqa: E402,F401
from pyk8s.client.kubeconfig import ClientConfig  # noqa: E402
from pyk8s.client.rest import Client  # noqa: E402
from pyk8s.client.tools.informer import SharedInformerFactory  # noqa: E402
from pyk8s.controllers.manager import ControllerContext  # noqa: E402
from pyk8s.testing.fake_clock import FakeClock  # noqa: E402


async def eventually(pred: Callable[[], bool], within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not pred():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.01)


class Env:
    """A fake API server, a client and one controller running against them."""

    def __init__(self, srv: FakeApiServer, client: Client, ctl: Any, clock: FakeClock) -> None:
        self.srv, self.client, self.ctl, self.clock = srv, client, ctl, clock

    def obj(self, resource: str, ns: str, name: str) -> dict | None:
        return self.srv.objects.get((resource, ns, name))


async def start_env(make: Callable[[ControllerContext], Any], options: dict | None = None) -> tuple[Env, list]:
    srv = await FakeApiServer().start()
    client = Client(ClientConfig(server=srv.url))
    clock = FakeClock()
    factory = SharedInformerFactory(client, clock=clock)
    ctl = make(ControllerContext(client, factory, clock, options or {}))
    tasks = [asyncio.create_task(factory.run()), asyncio.create_task(ctl.run())]
    await ctl.ready.wait()
    return Env(srv, client, ctl, clock), tasks


async def stop_env(env: Env, tasks: list) -> None:
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await env.client.close()
    await env.srv.stop()
from pyk8s.controllers.endpoints import PODS, SERVICES  # noqa: E402
from pyk8s.controllers.endpointslice import (  # noqa: E402
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    EndpointSliceController,
    desired_slices,
)


def pod(name: str, ip: str, *, ready: bool = True, labels: dict | None = None, node: str = "n1",
        ports: list | None = None, **extra: Any) -> dict:
    spec: dict = {"nodeName": node, "containers": [{"name": "c", "ports": ports or [{"name": "http", "containerPort": 8080}]}]}
    spec.update(extra.pop("spec", {}))
    meta: dict = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "labels": labels or {"app": "web"}}
    meta.update(extra.pop("meta", {}))
    return {"metadata": meta, "spec": spec,
            "status": {"phase": extra.pop("phase", "Running"), "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def service(name: str = "web", **spec: Any) -> dict:
    base = {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
    base.update(spec)
    return {"metadata": {"name": name, "namespace": "ns", "uid": "svc-uid"}, "spec": base}


def test_conditions_for_ready_unready_and_terminating() -> None:
    pods = [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ready=False),
            pod("c", "10.0.0.3", meta={"deletionTimestamp": "2026-01-01T00:00:00Z"})]
    [(ports, eps)] = desired_slices(service(), pods)
    assert ports == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    conds = {e["addresses"][0]: e["conditions"] for e in eps}
    assert conds == {"10.0.0.1": {"ready": True, "serving": True, "terminating": False},
                     "10.0.0.2": {"ready": False, "serving": False, "terminating": False},
                     "10.0.0.3": {"ready": False, "serving": True, "terminating": True}}
    assert desired_slices(service(), []) == [([], [])]


def slices(env: Env) -> list[dict]:
    return [o for (r, _, _), o in env.srv.objects.items() if r == "discovery.k8s.io/v1/endpointslices"]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e, tasks = await start_env(EndpointSliceController)
    try:
        yield e
    finally:
        await stop_env(e, tasks)


async def test_slice_lifecycle(env: Env) -> None:
    svc = await env.client.create(SERVICES, service(), namespace="ns")
    await env.client.create(PODS, pod("a", "10.1.0.1"), namespace="ns")
    await eventually(lambda: len(slices(env)) == 1 and len(slices(env)[0]["endpoints"]) == 1)
    s = slices(env)[0]
    assert s["addressType"] == "IPv4" and s["metadata"]["name"].startswith("web-")
    assert s["metadata"]["labels"][SERVICE_NAME_LABEL] == "web"
    assert s["metadata"]["labels"][MANAGED_BY_LABEL] == "endpointslice-controller.k8s.io"
    assert s["metadata"]["ownerReferences"][0]["uid"] == svc["metadata"]["uid"]
    await env.client.create(PODS, pod("b", "10.1.0.2"), namespace="ns")
    await eventually(lambda: len(slices(env)) == 1 and len(slices(env)[0]["endpoints"]) == 2)
    await asyncio.sleep(0.1)
    assert len(slices(env)) == 1  # updated in place, no duplicates
    await env.client.delete(SERVICES, "web", namespace="ns")
    await eventually(lambda: not slices(env))
