"""Request labels as upstream's RequestInfo names them, and storage calls timed."""

from __future__ import annotations

import pytest
from prometheus_client.exposition import generate_latest

from pyk8s.apiserver.metrics import APIServerMetrics, InstrumentedStorage, request_labels, resource_of_key
from pyk8s.storage import open_storage


@pytest.mark.parametrize(("method", "path", "query", "ctype", "verb", "scope", "resource", "sub", "long"), [
    ("GET", "/api/v1/pods", {}, "", "LIST", "cluster", "pods", "", False),
    ("GET", "/api/v1/namespaces/a/pods", {"watch": "1"}, "", "WATCH", "namespace", "pods", "", True),
    ("GET", "/api/v1/watch/namespaces/a/pods", {}, "", "WATCH", "namespace", "pods", "", True),
    ("GET", "/api/v1/namespaces/a/pods/p/log", {}, "", "GET", "resource", "pods", "log", True),
    ("POST", "/api/v1/namespaces/a/pods/p/exec", {}, "", "CONNECT", "resource", "pods", "exec", True),
    ("DELETE", "/apis/apps/v1/namespaces/a/deployments", {}, "", "DELETECOLLECTION", "namespace", "deployments", "",
     False),
    ("PATCH", "/apis/apps/v1/namespaces/a/deployments/d/scale", {}, "application/apply-patch+yaml", "APPLY",
     "resource", "deployments", "scale", False),
    ("PUT", "/api/v1/namespaces/a/finalize", {}, "", "PUT", "resource", "namespaces", "finalize", False),
    ("GET", "/healthz", {}, "", "GET", "", "", "", False),
])
def test_request_labels(method, path, query, ctype, verb, scope, resource, sub, long):
    labels, long_running = request_labels(method, path, query, ctype)
    assert labels[0] == verb and labels[6] == scope and labels[4] == resource and labels[5] == sub
    assert long_running is long


def test_dry_run_label():
    labels, _ = request_labels("POST", "/api/v1/namespaces/a/pods", {"dryRun": "All"})
    assert labels[1] == "All"


def test_resource_of_key():
    assert resource_of_key("/registry/core/pods/a/b") == "pods"
    assert resource_of_key("/registry/apps/deployments/") == "deployments.apps"
    assert resource_of_key("/registry/core/events.v1/") == "events"


async def test_storage_calls_are_timed():
    metrics = APIServerMetrics()
    inner = open_storage("memory://")
    await inner.start()
    storage = InstrumentedStorage(inner, metrics)
    try:
        await storage.create("/registry/core/configmaps/a/x", b"{}")
        await storage.get("/registry/core/configmaps/a/x")
        await storage.list("/registry/core/configmaps/")
        assert await storage.current_revision() > 0  # passed through
    finally:
        await storage.close()
    text = generate_latest(metrics.registry).decode()
    assert 'etcd_request_duration_seconds_count{operation="create",type="configmaps"} 1.0' in text
    assert 'etcd_requests_total{operation="list",type="configmaps"} 1.0' in text


async def test_storage_metrics_count_each_operation_and_type_apart_on_repeated_calls():
    """The children kept per (operation, type) count every call into the right series."""
    metrics = APIServerMetrics()
    inner = open_storage("memory://")
    await inner.start()
    storage = InstrumentedStorage(inner, metrics)
    try:
        await storage.create("/registry/core/configmaps/a/x", b"{}")
        for _ in range(3):
            await storage.get("/registry/core/configmaps/a/x")
        await storage.get("/registry/core/pods/a/p")
        await storage.get("/registry/apps/deployments/a/d")
    finally:
        await storage.close()
    text = generate_latest(metrics.registry).decode()
    assert 'etcd_request_duration_seconds_count{operation="get",type="configmaps"} 3.0' in text
    assert 'etcd_requests_total{operation="get",type="configmaps"} 3.0' in text
    assert 'etcd_requests_total{operation="get",type="pods"} 1.0' in text
    assert 'etcd_requests_total{operation="get",type="deployments.apps"} 1.0' in text
    assert 'etcd_requests_total{operation="create",type="configmaps"} 1.0' in text
