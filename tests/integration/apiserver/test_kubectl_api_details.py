"""Issue 12 §4 (part B) with the real kubectl against a ``pyk8s server`` process running its control
plane: /metrics, the identity Lease, componentstatuses, the new built-in kinds."""

from __future__ import annotations

import shutil
import time

import pytest

from pyk8s.testing.cluster import ServerProcess

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


@pytest.fixture(scope="module")
def srv():
    with ServerProcess(control_plane=True) as server:
        yield server


def _eventually(check, within: float = 30.0):  # type: ignore[no-untyped-def]
    end = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.3)


def test_kubectl_get_raw_metrics(srv):
    srv.kubectl("get", "ns")
    text = srv.kubectl("get", "--raw", "/metrics").stdout
    assert "# TYPE apiserver_request_duration_seconds histogram" in text
    assert 'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="namespaces",' \
           'scope="cluster",subresource="",verb="LIST",version="v1"}' in text
    assert 'apiserver_storage_objects{resource="namespaces"}' in text
    assert 'etcd_request_duration_seconds_count{operation="get"' in text


def test_identity_lease(srv):
    def lease():
        out = srv.kubectl("get", "lease", "-n", "kube-system", "-l", "apiserver.kubernetes.io/identity=kube-apiserver",
                          "-o", "jsonpath={range .items[*]}{.metadata.name} {.spec.holderIdentity} "
                          "{.spec.leaseDurationSeconds}{\"\\n\"}{end}").stdout.split()
        return out
    name, holder, duration = _eventually(lease)
    assert name.startswith("apiserver-") and holder.startswith(name + "_") and duration == "3600"


def test_componentstatuses(srv):
    def healthy():
        result = srv.kubectl("get", "componentstatuses")
        rows = [line.split() for line in result.stdout.splitlines()[1:]]
        return result if rows and all(r[1] == "Healthy" for r in rows) else None
    result = _eventually(healthy, 60)
    assert "Warning: v1 ComponentStatus is deprecated in v1.19+" in result.stderr
    assert [line.split()[:3] for line in result.stdout.splitlines()] == [
        ["NAME", "STATUS", "MESSAGE"], ["scheduler", "Healthy", "ok"], ["controller-manager", "Healthy", "ok"],
        ["etcd-0", "Healthy", "ok"]]


def test_new_kinds_with_kubectl(srv):
    resources = srv.kubectl("api-resources", "-o", "name").stdout.split()
    for name in ("flowschemas.flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations.flowcontrol.apiserver.k8s.io",
                 "runtimeclasses.node.k8s.io", "csidrivers.storage.k8s.io", "csinodes.storage.k8s.io",
                 "volumeattachments.storage.k8s.io", "csistoragecapacities.storage.k8s.io", "componentstatuses"):
        assert name in resources
    out = srv.kubectl("get", "flowschemas").stdout
    assert out.splitlines()[0].split() == ["NAME", "PRIORITYLEVEL", "MATCHINGPRECEDENCE", "DISTINGUISHERMETHOD",
                                           "AGE", "MISSINGPL"]
    assert "catch-all" in out and "global-default" in out

    def missing_pl():
        rows = [line.split() for line in srv.kubectl("get", "flowschemas").stdout.splitlines()[1:]]
        return rows if rows and all(r[-1] == "False" for r in rows) else None
    _eventually(missing_pl)  # the Dangling condition, as upstream's APF controller keeps it
    srv.kubectl("apply", "-f", "-", input="apiVersion: node.k8s.io/v1\nkind: RuntimeClass\n"
                                          "metadata: {name: plain}\nhandler: runc\n")
    assert srv.kubectl("get", "runtimeclass", "plain").stdout.splitlines()[1].split()[:2] == ["plain", "runc"]
    explained = srv.kubectl("explain", "csidriver.spec.attachRequired").stdout
    assert "attach" in explained.lower()
