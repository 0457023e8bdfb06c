"""EndpointSlice controller: slices with conditions for a Service's pods."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import pyk8s.api  # noqa: E402,F401
from pyk8s.controllers.endpoints import PODS, SERVICES  # noqa: E402
from pyk8s.controllers.endpointslice import (  # noqa: E402
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    EndpointSliceController,
    desired_slices,
)
from tests.unit.controllers.controller_env import Env, eventually, pod, service, start_env, stop_env  # noqa: E402


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
