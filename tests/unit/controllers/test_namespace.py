"""Namespace controller: empty a terminating namespace, then finalize it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "client"))
from client_fake_apiserver import FakeApiServer  # noqa: E402

import pyk8s.api  # noqa: E402,F401
from pyk8s.controllers.manager import ControllerContext  # noqa: E402


class NamespaceFakeServer(FakeApiServer):
    """The fake reads ``/api/v1/namespaces/x/status`` as a namespaced list; route namespace subresources."""

    async def handle(self, request: Any) -> Any:
        parts = request.path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 5 and request.method == "PUT":
            self.requests.append((request.method, request.path, dict(request.query), ""))
            body = orjson.loads(await request.read())
            ctx = ("v1/namespaces", "v1", "namespaces", "", parts[3], parts[4])
            return await self.do_put(ctx, dict(request.query), body, request)
        return await super().handle(request)


async def start_env(make: Callable[[ControllerContext], Any], options: dict | None = None) -> tuple[Env, list]:
    return await shared_start_env(make, options, server=NamespaceFakeServer)
from pyk8s.controllers.namespace import NAMESPACES, NamespaceController, namespaced_resources  # noqa: E402
from pyk8s.machinery.scheme import SCHEME  # noqa: E402
from tests.unit.controllers.controller_env import Env, eventually, stop_env  # noqa: E402
from tests.unit.controllers.controller_env import start_env as shared_start_env  # noqa: E402

PODS = SCHEME.get("", "v1", "pods")
CM = SCHEME.get("", "v1", "configmaps")
DEPLOY = SCHEME.get("apps", "v1", "deployments")


@pytest.fixture
async def env() -> AsyncIterator[tuple[Env, list]]:
    e, tasks = await start_env(NamespaceController, {"namespace_recheck_seconds": 1.0})
    try:
        yield e, tasks
    finally:
        await stop_env(e, tasks)


def test_namespaced_resources_cover_workloads_and_skip_cluster_scoped() -> None:
    names = {rt.qualified for rt in namespaced_resources()}
    assert {"pods", "configmaps", "deployments.apps", "endpointslices.discovery.k8s.io"} <= names
    assert "nodes" not in names and "namespaces" not in names and "bindings" not in names


async def test_terminating_namespace_is_emptied_then_finalized(env: tuple[Env, list]) -> None:
    e, _ = env
    await e.client.create(NAMESPACES, {"metadata": {"name": "gone"}, "spec": {"finalizers": ["kubernetes"]}})
    await e.client.create(NAMESPACES, {"metadata": {"name": "keep"}, "spec": {"finalizers": ["kubernetes"]}})
    for ns in ("gone", "keep"):
        await e.client.create(CM, {"metadata": {"name": "c"}}, namespace=ns)
        await e.client.create(DEPLOY, {"metadata": {"name": "d"}, "spec": {}}, namespace=ns)
    live = await e.client.get(NAMESPACES, "gone")
    live["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    live["status"] = {"phase": "Terminating"}
    await e.client.update(NAMESPACES, live)
    await eventually(lambda: e.obj("v1/namespaces", "", "gone")["spec"]["finalizers"] == [])
    assert e.obj("v1/configmaps", "gone", "c") is None and e.obj("apps/v1/deployments", "gone", "d") is None
    assert e.obj("v1/configmaps", "keep", "c") is not None
    finalize = [p for m, p, _, _ in e.srv.requests if m == "PUT" and p.endswith("/finalize")]
    assert finalize == ["/api/v1/namespaces/gone/finalize"]


async def test_waits_for_terminating_content(env: tuple[Env, list]) -> None:
    e, _ = env
    await e.client.create(NAMESPACES, {"metadata": {"name": "ns"}, "spec": {"finalizers": ["kubernetes"]}})
    # A pod already being deleted (its kubelet has not finished): the namespace must wait.
    await e.client.create(PODS, {"metadata": {"name": "p", "deletionTimestamp": "2026-01-01T00:00:00Z"}},
                          namespace="ns")
    live = await e.client.get(NAMESPACES, "ns")
    live["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    await e.client.update(NAMESPACES, live)
    await eventually(lambda: any(c["type"] == "NamespaceContentRemaining" and c["status"] == "True"
                                 for c in (e.obj("v1/namespaces", "", "ns").get("status") or {}).get("conditions", [])))
    assert e.obj("v1/namespaces", "", "ns")["spec"]["finalizers"] == ["kubernetes"]
    await e.srv.remove("v1/pods", "ns", "p")
    await e.clock.advance(1.0)
    await eventually(lambda: e.obj("v1/namespaces", "", "ns")["spec"]["finalizers"] == [])
