"""API aggregation end to end: an extension API server run by a test process behind an APIService, through
the real kubectl: raw and typed reads, discovery, the user passed on, and Available following the backend."""

from __future__ import annotations

import base64
import json

import pytest

from pyk8s.testing.aggregatedserver import GROUP, VERSION
from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import row_for, wait_until

from .conftest import HelperProcess

pytestmark = pytest.mark.e2e
NAME = f"{VERSION}.{GROUP}"


def _apply(srv: ServerProcess, doc: dict) -> None:
    srv.kubectl("apply", "-f", "-", input=json.dumps(doc))


def _available(srv: ServerProcess) -> tuple[str, str]:
    svc = json.loads(srv.kubectl("get", "apiservice", NAME, "-o", "json").stdout)
    cond = next((c for c in (svc.get("status") or {}).get("conditions") or [] if c["type"] == "Available"), {})
    return cond.get("status", ""), cond.get("reason", "")


@pytest.fixture(scope="module")
def aggregated(webhook_cluster: ServerProcess, aggregated_process: HelperProcess) -> ServerProcess:
    srv = webhook_cluster
    port = aggregated_process.port
    _apply(srv, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "widgets", "namespace": "kube-system"},
                 "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port}]}})
    _apply(srv, {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                 "metadata": {"name": "widgets-1", "namespace": "kube-system",
                              "labels": {"kubernetes.io/service-name": "widgets"}},
                 "addressType": "IPv4", "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
                 "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})
    _apply(srv, {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": NAME},
                 "spec": {"group": GROUP, "version": VERSION, "groupPriorityMinimum": 1000, "versionPriority": 15,
                          "service": {"namespace": "kube-system", "name": "widgets"},
                          "caBundle": base64.b64encode(aggregated_process.ca_pem).decode()}})
    wait_until(lambda: _available(srv) == ("True", "Passed"), timeout=30, what="the APIService Available")
    return srv


def test_raw_get_and_discovery(aggregated: ServerProcess) -> None:
    raw = json.loads(aggregated.kubectl("get", "--raw", f"/apis/{GROUP}/{VERSION}").stdout)
    assert raw["kind"] == "APIResourceList" and raw["resources"][0]["name"] == "widgets"
    groups = json.loads(aggregated.kubectl("get", "--raw", "/apis").stdout)["groups"]
    assert GROUP in [g["name"] for g in groups]
    resources = aggregated.kubectl("api-resources", f"--api-group={GROUP}").stdout
    assert "widgets" in resources and "wd" in resources


def test_kubectl_get_of_the_aggregated_resource_passes_the_user(aggregated: ServerProcess) -> None:
    out = aggregated.kubectl("get", "widgets", "-n", "default").stdout
    assert row_for(out, "alpha") and row_for(out, "beta")
    user = aggregated.kubectl("get", "wd", "alpha", "-n", "default", "-o",
                              "jsonpath={.metadata.annotations.widgets\\.pyk8s\\.test/requested-by}").stdout
    assert user == "kubernetes-admin"


def test_apiservices_listed_as_upstream(aggregated: ServerProcess) -> None:
    out = aggregated.kubectl("get", "apiservices").stdout
    assert out.splitlines()[0].split() == ["NAME", "SERVICE", "AVAILABLE", "AGE"]
    assert row_for(out, NAME)[1:3] == ["kube-system/widgets", "True"]
    assert row_for(out, "v1.apps")[1:3] == ["Local", "True"]
    assert row_for(out, "v1.")[1:3] == ["Local", "True"]
    cm = json.loads(aggregated.kubectl("get", "configmap", "-n", "kube-system", "extension-apiserver-authentication",
                                       "-o", "json").stdout)
    assert cm["data"]["requestheader-group-headers"] == '["X-Remote-Group"]'


def test_available_flips_when_the_backend_stops(aggregated: ServerProcess, aggregated_process: HelperProcess) -> None:
    aggregated_process.stop()
    wait_until(lambda: _available(aggregated) == ("False", "FailedDiscoveryCheck"), timeout=30,
               what="the APIService unavailable")
    row = row_for(aggregated.kubectl("get", "apiservices").stdout, NAME)
    assert row[2:4] == ["False", "(FailedDiscoveryCheck)"]
    out = aggregated.kubectl("get", "widgets", "-n", "default", check=False)
    assert out.returncode != 0
