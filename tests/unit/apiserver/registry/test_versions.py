"""Resources served at two versions over one stored form (HPA v1/v2, core and events.k8s.io Events)."""

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import ListOptions, WriteOptions
from pyk8s.machinery.scheme import SCHEME


def _hpa_v1(name: str) -> dict:
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 60}}


async def test_hpa_v1_and_v2_share_storage(registry: Registry) -> None:
    v1 = registry.storage_for(SCHEME.get("autoscaling", "v1", "horizontalpodautoscalers"))
    v2 = registry.storage_for(SCHEME.get("autoscaling", "v2", "horizontalpodautoscalers"))
    await v1.create("default", _hpa_v1("h"), WriteOptions())
    as_v2 = await v2.get("default", "h")
    assert as_v2["apiVersion"] == "autoscaling/v2"
    metric = as_v2["spec"]["metrics"][0]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["averageUtilization"] == 60
    as_v1 = await v1.get("default", "h")
    assert as_v1["spec"]["targetCPUUtilizationPercentage"] == 60
    assert as_v1["metadata"]["resourceVersion"] == as_v2["metadata"]["resourceVersion"]


async def test_events_share_storage(registry: Registry) -> None:
    core = registry.storage_for(SCHEME.get("", "v1", "events"))
    new = registry.storage_for(SCHEME.get("events.k8s.io", "v1", "events"))
    ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"},
          "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
          "reason": "Started", "message": "hello", "type": "Normal", "source": {"component": "kubelet"},
          "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:00:00Z", "count": 1}
    await core.create("default", ev, WriteOptions())
    items = (await new.list("default", ListOptions()))["items"]
    assert [i["metadata"]["name"] for i in items] == ["e1"]
    assert items[0]["apiVersion"] == "events.k8s.io/v1" and items[0]["regarding"]["name"] == "p"
    assert items[0]["note"] == "hello"
