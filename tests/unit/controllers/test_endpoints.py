"""Endpoints controller: addresses and ports from the pods a Service selects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import pyk8s.api  # noqa: E402,F401
from pyk8s.controllers.endpoints import (  # noqa: E402
    ENDPOINTS,
    PODS,
    SERVICES,
    EndpointsController,
    desired_subsets,
)
from tests.unit.controllers.controller_env import Env, eventually, pod, service, start_env, stop_env  # noqa: E402


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
