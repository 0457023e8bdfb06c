"""Built-in groups discovery lacked: flowcontrol.apiserver.k8s.io/v1 (with upstream's default
objects), node.k8s.io/v1 RuntimeClass, storage.k8s.io/v1's CSI kinds and core/v1 componentstatuses."""

from __future__ import annotations

import datetime

import orjson

from tests.integration.apiserver.realserver import AUTH, JSON, client, registry  # noqa: F401

TABLE = {**AUTH, "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}


async def _json(resp, status=200):
    body = await resp.json()
    assert resp.status == status, body
    return body


async def test_discovery_lists_the_new_resources(client):  # noqa: F811
    expected = {
        "/apis/flowcontrol.apiserver.k8s.io/v1": {"flowschemas", "flowschemas/status", "prioritylevelconfigurations",
                                                  "prioritylevelconfigurations/status"},
        "/apis/node.k8s.io/v1": {"runtimeclasses"},
        "/apis/storage.k8s.io/v1": {"csidrivers", "csinodes", "volumeattachments", "volumeattachments/status",
                                    "csistoragecapacities", "storageclasses"},
    }
    for path, names in expected.items():
        doc = await _json(await client.get(path, headers=AUTH))
        assert names <= {r["name"] for r in doc["resources"]}, path
    core = await _json(await client.get("/api/v1", headers=AUTH))
    cs = next(r for r in core["resources"] if r["name"] == "componentstatuses")
    assert sorted(cs["verbs"]) == ["get", "list"] and cs["shortNames"] == ["cs"] and not cs["namespaced"]
    groups = {g["name"] for g in (await _json(await client.get("/apis", headers=AUTH)))["groups"]}
    assert {"flowcontrol.apiserver.k8s.io", "node.k8s.io"} <= groups
    v3 = await _json(await client.get("/openapi/v3/apis/flowcontrol.apiserver.k8s.io/v1", headers=AUTH))
    assert "io.k8s.api.flowcontrol.v1.FlowSchema" in v3["components"]["schemas"]


async def test_apf_defaults_are_stored_with_upstream_columns(client):  # noqa: F811
    fs = await _json(await client.get("/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas", headers=AUTH))
    names = {i["metadata"]["name"]: i for i in fs["items"]}
    assert {"exempt", "probes", "system-leader-election", "endpoint-controller", "workload-leader-election",
            "system-node-high", "system-nodes", "kube-controller-manager", "kube-scheduler",
            "kube-system-service-accounts", "service-accounts", "global-default", "catch-all"} == set(names)
    assert names["catch-all"]["spec"]["matchingPrecedence"] == 10000
    assert names["exempt"]["metadata"]["annotations"]["apf.kubernetes.io/autoupdate-spec"] == "true"
    pls = await _json(await client.get("/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations",
                                       headers=AUTH))
    assert {i["metadata"]["name"] for i in pls["items"]} == {"exempt", "catch-all", "system", "node-high",
                                                             "leader-election", "workload-high", "workload-low",
                                                             "global-default"}
    table = await _json(await client.get("/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/catch-all",
                                         headers=TABLE))
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "PriorityLevel", "MatchingPrecedence",
                                                               "DistinguisherMethod", "Age", "MissingPL"]
    assert table["rows"][0]["cells"][:4] == ["catch-all", "catch-all", "10000", "ByUser"]
    table = await _json(await client.get(
        "/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations/exempt", headers=TABLE))
    assert table["rows"][0]["cells"][:6] == ["exempt", "Exempt", "<none>", "<none>", "<none>", "<none>"]


async def test_apf_objects_are_validated_and_warn_they_are_not_enforced(client):  # noqa: F811
    body = {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
            "metadata": {"name": "mine"},
            "spec": {"type": "Limited", "limited": {"limitResponse": {"type": "Queue"}}}}
    resp = await client.post("/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations",
                             data=orjson.dumps(body), headers=JSON)
    created = await _json(resp, 201)
    assert created["spec"]["limited"]["nominalConcurrencyShares"] == 30
    assert created["spec"]["limited"]["limitResponse"]["queuing"] == {"queues": 64, "handSize": 8,
                                                                      "queueLengthLimit": 50}
    assert "not enforced" in resp.headers["Warning"]
    bad = {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": "bad"},
           "spec": {"priorityLevelConfiguration": {"name": "mine"}, "matchingPrecedence": 20000}}
    status = await _json(await client.post("/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas",
                                           data=orjson.dumps(bad), headers=JSON), 422)
    assert "spec.matchingPrecedence: Invalid value: 20000: must be between 1 and 10000, inclusive" in status["message"]


async def test_runtimeclass_serves_the_admission(client):  # noqa: F811
    rc = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "sandboxed"},
          "handler": "runc", "overhead": {"podFixed": {"cpu": "250m"}},
          "scheduling": {"nodeSelector": {"sandbox": "yes"}}}
    await _json(await client.post("/apis/node.k8s.io/v1/runtimeclasses", data=orjson.dumps(rc), headers=JSON), 201)
    table = await _json(await client.get("/apis/node.k8s.io/v1/runtimeclasses/sandboxed", headers=TABLE))
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Handler", "Age"]
    patch = {"handler": "kata"}
    status = await _json(await client.patch("/apis/node.k8s.io/v1/runtimeclasses/sandboxed",
                                            data=orjson.dumps(patch),
                                            headers={**AUTH, "Content-Type": "application/merge-patch+json"}), 422)
    assert "handler: Invalid value: \"kata\": field is immutable" in status["message"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"runtimeClassName": "sandboxed", "containers": [{"name": "c", "image": "nginx"}]}}
    created = await _json(await client.post("/api/v1/namespaces/default/pods", data=orjson.dumps(pod), headers=JSON),
                          201)
    assert created["spec"]["overhead"] == {"cpu": "250m"} and created["spec"]["nodeSelector"] == {"sandbox": "yes"}
    other = {**rc, "metadata": {"name": "gvisor"}, "handler": "runsc"}
    resp = await client.post("/apis/node.k8s.io/v1/runtimeclasses", data=orjson.dumps(other), headers=JSON)
    assert resp.status == 201 and "runsc" in resp.headers["Warning"]


async def test_csi_kinds(client):  # noqa: F811
    driver = {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": "hostpath.csi.k8s.io"},
              "spec": {}}
    created = await _json(await client.post("/apis/storage.k8s.io/v1/csidrivers", data=orjson.dumps(driver),
                                            headers=JSON), 201)
    assert created["spec"] == {"attachRequired": True, "podInfoOnMount": False, "storageCapacity": False,
                               "requiresRepublish": False, "seLinuxMount": False,
                               "fsGroupPolicy": "ReadWriteOnceWithFSType", "volumeLifecycleModes": ["Persistent"]}
    status = await _json(await client.patch("/apis/storage.k8s.io/v1/csidrivers/hostpath.csi.k8s.io",
                                            data=orjson.dumps({"spec": {"attachRequired": False}}),
                                            headers={**AUTH, "Content-Type": "application/merge-patch+json"}), 422)
    assert "spec.attachRequired: Invalid value: false: field is immutable" in status["message"]
    table = await _json(await client.get("/apis/storage.k8s.io/v1/csidrivers", headers=TABLE))
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "AttachRequired", "PodInfoOnMount", "StorageCapacity", "TokenRequests", "RequiresRepublish",
        "Modes", "Age"]
    assert table["rows"][0]["cells"][:7] == ["hostpath.csi.k8s.io", True, False, False, "<unset>", False,
                                             "Persistent"]
    va = {"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttachment", "metadata": {"name": "va1"},
          "spec": {"attacher": "hostpath.csi.k8s.io", "nodeName": "n1", "source": {"persistentVolumeName": "pv1"}}}
    await _json(await client.post("/apis/storage.k8s.io/v1/volumeattachments", data=orjson.dumps(va), headers=JSON),
                201)
    table = await _json(await client.get("/apis/storage.k8s.io/v1/volumeattachments/va1", headers=TABLE))
    assert table["rows"][0]["cells"][:5] == ["va1", "hostpath.csi.k8s.io", "pv1", "n1", False]
    bad = {**va, "metadata": {"name": "va2"}, "spec": {"attacher": "x", "nodeName": "n1", "source": {}}}
    status = await _json(await client.post("/apis/storage.k8s.io/v1/volumeattachments", data=orjson.dumps(bad),
                                           headers=JSON), 422)
    assert "must specify exactly one of inlineVolumeSpec and persistentVolumeName" in status["message"]
    node = {"apiVersion": "storage.k8s.io/v1", "kind": "CSINode", "metadata": {"name": "n1"},
            "spec": {"drivers": [{"name": "hostpath.csi.k8s.io", "nodeID": "n1"}]}}
    await _json(await client.post("/apis/storage.k8s.io/v1/csinodes", data=orjson.dumps(node), headers=JSON), 201)
    cap = {"apiVersion": "storage.k8s.io/v1", "kind": "CSIStorageCapacity", "metadata": {"name": "c1"},
           "storageClassName": "local-path", "capacity": "10Gi"}
    await _json(await client.post("/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities",
                                  data=orjson.dumps(cap), headers=JSON), 201)
    table = await _json(await client.get("/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities",
                                         headers=TABLE))
    assert table["rows"][0]["cells"][:3] == ["c1", "local-path", "10Gi"]


async def test_componentstatuses(client, registry):  # noqa: F811
    resp = await client.get("/api/v1/componentstatuses", headers=AUTH)
    listed = await _json(resp)
    assert resp.headers["Warning"] == '299 - "v1 ComponentStatus is deprecated in v1.19+"'
    by_name = {i["metadata"]["name"]: i["conditions"][0] for i in listed["items"]}
    assert list(by_name) == ["scheduler", "controller-manager", "etcd-0"]
    assert by_name["etcd-0"] == {"type": "Healthy", "status": "True", "message": "ok"}
    assert by_name["scheduler"]["status"] == "False" and "kube-system/kube-scheduler" in by_name["scheduler"]["error"]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "kube-scheduler", "namespace": "kube-system"},
             "spec": {"holderIdentity": "host_1", "leaseDurationSeconds": 15, "renewTime": now}}
    await _json(await client.post("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
                                  data=orjson.dumps(lease), headers=JSON), 201)
    one = await _json(await client.get("/api/v1/componentstatuses/scheduler", headers=AUTH))
    assert one["conditions"] == [{"type": "Healthy", "status": "True", "message": "ok"}]
    table = await _json(await client.get("/api/v1/componentstatuses", headers=TABLE))
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Message", "Error"]
    assert table["rows"][0]["cells"] == ["scheduler", "Healthy", "ok", ""]
    assert table["rows"][1]["cells"][1] == "Unhealthy"
    assert (await client.get("/api/v1/componentstatuses/nope", headers=AUTH)).status == 404
    resp = await client.post("/api/v1/componentstatuses", data=b"{}", headers=JSON)
    assert resp.status == 405
