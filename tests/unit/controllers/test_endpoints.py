"""Endpoints controller: addresses and ports from the pods a Service selects."""

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
from pyk8s.controllers.endpoints import (  # noqa: E402
    ENDPOINTS,
    PODS,
    SERVICES,
    EndpointsController,
    desired_subsets,
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


def test_ready_not_ready_named_ports_and_exclusions() -> None:
    pods = [pod("a", "10.0.0.2"), pod("b", "10.0.0.1", ready=False),
            pod("c", "10.0.0.3", meta={"deletionTimestamp": "2026-01-01T00:00:00Z"}),
            pod("d", "10.0.0.4", phase="Succeeded"), pod("e", "10.0.0.5", labels={"app": "other"}),
            pod("f", "10.0.0.6", ports=[{"name": "web", "containerPort": 9090}])]
    subsets = desired_subsets(service(), pods)
    assert len(subsets) == 1
    s = subsets[0]
    assert [a["ip"] for a in s["addresses"]] == ["10.0.0.2"]
    assert [a["ip"] for a in s["notReadyAddresses"]] == ["10.0.0.1"]
    assert s["ports"] == [{"port": 8080, "protocol": "TCP", "name": "http"}]
    assert s["addresses"][0]["targetRef"] == {"kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"}
    assert s["addresses"][0]["nodeName"] == "n1"


def test_numeric_target_ports_group_by_port_set_and_publish_not_ready() -> None:
    svc = service(ports=[{"port": 80, "targetPort": 8000}], publishNotReadyAddresses=True)
    subsets = desired_subsets(svc, [pod("a", "10.0.0.1", ready=False), pod("b", "10.0.0.2")])
    assert subsets == [{"addresses": [
        {"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"}, "nodeName": "n1"},
        {"ip": "10.0.0.2", "targetRef": {"kind": "Pod", "namespace": "ns", "name": "b", "uid": "uid-b"}, "nodeName": "n1"},
    ], "ports": [{"port": 8000, "protocol": "TCP"}]}]
    two = desired_subsets(service(), [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ports=[{"name": "http", "containerPort": 81}])])
    assert sorted(s["ports"][0]["port"] for s in two) == [81, 8080]


def test_hostname_only_for_matching_subdomain() -> None:
    svc = service(clusterIP="None")
    pods = [pod("a", "10.0.0.1", spec={"hostname": "a-host", "subdomain": "web"}),
            pod("b", "10.0.0.2", spec={"hostname": "b-host", "subdomain": "other"})]
    addrs = {a["ip"]: a for a in desired_subsets(svc, pods)[0]["addresses"]}
    assert addrs["10.0.0.1"]["hostname"] == "a-host" and "hostname" not in addrs["10.0.0.2"]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e, tasks = await start_env(EndpointsController)
    try:
        yield e
    finally:
        await stop_env(e, tasks)


async def test_controller_tracks_pods_and_ignores_selectorless(env: Env) -> None:
    await env.client.create(SERVICES, {"metadata": {"name": "kubernetes"}, "spec": {"ports": [{"port": 443}]}},
                            namespace="ns")
    await env.client.create(SERVICES, service(), namespace="ns")
    await eventually(lambda: env.obj("v1/endpoints", "ns", "web") is not None)
    assert not env.obj("v1/endpoints", "ns", "web").get("subsets")
    await env.client.create(PODS, pod("a", "10.1.0.1"), namespace="ns")
    await eventually(lambda: bool(env.obj("v1/endpoints", "ns", "web").get("subsets")))
    assert env.obj("v1/endpoints", "ns", "web")["subsets"][0]["addresses"][0]["ip"] == "10.1.0.1"
    p = await env.client.get(PODS, "a", namespace="ns")
    p["status"]["conditions"][0]["status"] = "False"
    await env.client.update(PODS, p, namespace="ns")
    await eventually(lambda: "notReadyAddresses" in env.obj("v1/endpoints", "ns", "web")["subsets"][0])
    await env.client.delete(PODS, "a", namespace="ns")
    await eventually(lambda: not env.obj("v1/endpoints", "ns", "web").get("subsets"))
    assert env.obj("v1/endpoints", "ns", "kubernetes") is None
    await env.client.delete(SERVICES, "web", namespace="ns")
    await eventually(lambda: env.obj("v1/endpoints", "ns", "web") is None)
    assert ENDPOINTS.plural == "endpoints"
