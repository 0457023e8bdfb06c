"""EndpointSlice mirroring: hand-written Endpoints of selector-less Services become slices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import pyk8s.api  # noqa: F401
from pyk8s.controllers.endpoints import ENDPOINTS, SERVICES
from pyk8s.controllers.endpointslicemirroring import (
    MANAGED_BY,
    EndpointSliceMirroringController,
    desired_slices,
    should_mirror,
)
from pyk8s.controllers.managedslices import MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SLICES
from tests.unit.controllers.controller_env import Env, eventually, service, start_env, stop_env


def endpoints(name: str = "ext", *, labels: dict | None = None, **extra) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"{name}-uid", "labels": labels or {},
                         "annotations": {"team": "a", "endpoints.kubernetes.io/last-change-trigger-time": "x"}},
            "subsets": [{"addresses": [{"ip": "192.0.2.1", "nodeName": "n1"}, {"ip": "2001:db8::1"}],
                         "notReadyAddresses": [{"ip": "192.0.2.2", "hostname": "h2"}],
                         "ports": [{"name": "db", "port": 5432, "protocol": "TCP"}]}], **extra}


def test_subsets_become_slices_per_family() -> None:
    [(v4, ports, eps4), (v6, _, eps6)] = desired_slices(endpoints())
    assert (v4, v6) == ("IPv4", "IPv6")
    assert ports == [{"name": "db", "port": 5432, "protocol": "TCP"}]
    assert eps4 == [{"addresses": ["192.0.2.1"], "conditions": {"ready": True}, "nodeName": "n1"},
                    {"addresses": ["192.0.2.2"], "conditions": {"ready": False}, "hostname": "h2"}]
    assert eps6 == [{"addresses": ["2001:db8::1"], "conditions": {"ready": True}}]
    many = endpoints()
    many["subsets"][0]["addresses"] = [{"ip": f"10.0.{i // 250}.{i % 250}"} for i in range(1200)]
    many["subsets"][0]["notReadyAddresses"] = []
    out = desired_slices(many)
    assert sum(len(eps) for _, _, eps in out) == 1000 and all(len(eps) <= 100 for _, _, eps in out)


def test_what_is_mirrored() -> None:
    selectorless = service(selector=None)
    assert should_mirror(endpoints(), selectorless)
    assert not should_mirror(endpoints(), service())  # the EndpointSlice controller owns those
    assert not should_mirror(endpoints(), None)
    assert not should_mirror(endpoints(labels={"endpointslice.kubernetes.io/skip-mirror": "true"}), selectorless)
    leader = endpoints()
    leader["metadata"]["annotations"]["control-plane.alpha.kubernetes.io/leader"] = "{}"
    assert not should_mirror(leader, selectorless)


def slices(env: Env) -> list[dict]:
    return [o for (r, _, _), o in env.srv.objects.items() if r == "discovery.k8s.io/v1/endpointslices"]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e, tasks = await start_env(EndpointSliceMirroringController)
    try:
        yield e
    finally:
        await stop_env(e, tasks)


async def test_mirror_lifecycle(env: Env) -> None:
    await env.client.create(SERVICES, service("ext", selector=None), namespace="ns")
    ep = await env.client.create(ENDPOINTS, endpoints(labels={"app": "db"}), namespace="ns")
    await eventually(lambda: len(slices(env)) == 2)
    v4 = next(s for s in slices(env) if s["addressType"] == "IPv4")
    assert v4["metadata"]["name"].startswith("ext-")
    assert v4["metadata"]["labels"] == {"app": "db", SERVICE_NAME_LABEL: "ext", MANAGED_BY_LABEL: MANAGED_BY}
    assert v4["metadata"]["annotations"] == {"team": "a"}
    assert v4["metadata"]["ownerReferences"][0]["kind"] == "Endpoints"
    assert v4["metadata"]["ownerReferences"][0]["uid"] == ep["metadata"]["uid"]
    ep["subsets"][0]["addresses"] = [{"ip": "192.0.2.9"}]
    await env.client.update(ENDPOINTS, ep, namespace="ns")
    await eventually(lambda: len(slices(env)) == 1 and slices(env)[0]["endpoints"][0]["addresses"] == ["192.0.2.9"])
    await asyncio.sleep(0.1)
    assert len(slices(env)) == 1
    await env.client.delete(ENDPOINTS, "ext", namespace="ns")
    await eventually(lambda: not slices(env))


async def test_others_slices_and_selector_services_are_left_alone(env: Env) -> None:
    # The cluster DNS writes its own slice for its selector-less Service, and no Endpoints.
    await env.client.create(SERVICES, service("kube-dns", selector=None), namespace="ns")
    dns_slice = {"metadata": {"name": "kube-dns-x", "namespace": "ns",
                              "labels": {SERVICE_NAME_LABEL: "kube-dns", MANAGED_BY_LABEL: "dns.pyk8s.io"}},
                 "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.10"]}], "ports": []}
    await env.client.create(SLICES, dns_slice, namespace="ns")
    # A Service with a selector: its Endpoints belong to the Endpoints controller, not mirrored.
    await env.client.create(SERVICES, service("web"), namespace="ns")
    await env.client.create(ENDPOINTS, endpoints("web"), namespace="ns")
    await asyncio.sleep(0.3)
    assert [s["metadata"]["name"] for s in slices(env)] == ["kube-dns-x"]
    # The Service loses its selector: now its Endpoints are mirrored.
    svc = await env.client.get(SERVICES, "web", namespace="ns")
    svc["spec"].pop("selector")
    await env.client.update(SERVICES, svc, namespace="ns")
    await eventually(lambda: len(slices(env)) == 3)
    assert {s["metadata"]["labels"][MANAGED_BY_LABEL] for s in slices(env)} == {"dns.pyk8s.io", MANAGED_BY}
