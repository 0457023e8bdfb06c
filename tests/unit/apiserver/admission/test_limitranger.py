"""LimitRanger: defaults on created pods (with upstream's annotation), min/max/ratio for containers,
pods and claims, worded as upstream."""

from typing import Any

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions

from .conftest import pod, refused, store


async def limit_range(registry: Registry, *items: dict[str, Any]) -> None:
    await store(registry, "", "limitranges").create("default", {
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr"}, "spec": {"limits": list(items)}},
        WriteOptions())


def resources(requests: dict[str, str] | None = None, limits: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


async def test_defaults_and_annotation(registry: Registry) -> None:
    await limit_range(registry, {"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
                                 "defaultRequest": {"cpu": "100m"}})
    body = pod("p", containers=[{"name": "app", "image": "nginx"},
                                {"name": "side", "image": "nginx", "resources": resources(limits={"cpu": "1"})}])
    created = await store(registry, "", "pods").create("default", body, WriteOptions())
    app, side = created["spec"]["containers"]
    assert app["resources"] == {"limits": {"cpu": "500m", "memory": "256Mi"},
                                "requests": {"cpu": "100m", "memory": "256Mi"}}
    # side states a cpu limit: defaulting made its request 1, LimitRanger adds only memory.
    assert side["resources"] == {"limits": {"cpu": "1", "memory": "256Mi"}, "requests": {"cpu": "1", "memory": "256Mi"}}
    assert created["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app; "
        "memory request for container side; memory limit for container side")


async def test_no_annotation_when_nothing_is_set(registry: Registry) -> None:
    await limit_range(registry, {"type": "Container", "max": {"cpu": "2"}})
    body = pod("p", containers=[{"name": "c", "image": "nginx", "resources": resources(limits={"cpu": "1"})}])
    created = await store(registry, "", "pods").create("default", body, WriteOptions())
    assert "kubernetes.io/limit-ranger" not in (created["metadata"].get("annotations") or {})


async def test_container_max_and_min(registry: Registry) -> None:
    await limit_range(registry, {"type": "Container", "max": {"cpu": "800m"}, "min": {"cpu": "200m"}})
    pods = store(registry, "", "pods")
    err = await refused(pods.create("default", pod("big", containers=[
        {"name": "c", "image": "nginx", "resources": resources({"cpu": "500m"}, {"cpu": "1500m"})}]), WriteOptions()))
    assert err.code == 403
    assert err.message == ('pods "big" is forbidden: maximum cpu usage per Container is 800m, but limit is 1500m')
    err = await refused(pods.create("default", pod("small", containers=[
        {"name": "c", "image": "nginx", "resources": resources({"cpu": "100m"}, {"cpu": "800m"})}]), WriteOptions()))
    assert err.message == 'pods "small" is forbidden: minimum cpu usage per Container is 200m, but request is 100m'


async def test_ratio_and_several_errors(registry: Registry) -> None:
    await limit_range(registry, {"type": "Container", "maxLimitRequestRatio": {"memory": "2"}},
                      )
    pods = store(registry, "", "pods")
    err = await refused(pods.create("default", pod("r", containers=[
        {"name": "c", "image": "nginx", "resources": resources({"memory": "100Mi"}, {"memory": "300Mi"})}]),
        WriteOptions()))
    assert err.message == ('pods "r" is forbidden: memory max limit to request ratio per Container is 2, '
                           'but provided ratio is 3.000000')


async def test_pod_type_sums_containers(registry: Registry) -> None:
    await limit_range(registry, {"type": "Pod", "max": {"memory": "1Gi"}})
    two = [{"name": n, "image": "nginx", "resources": resources(limits={"memory": "600Mi"})} for n in ("a", "b")]
    err = await refused(store(registry, "", "pods").create("default", pod("p", containers=two), WriteOptions()))
    assert err.message == 'pods "p" is forbidden: maximum memory usage per Pod is 1Gi, but limit is 1200Mi'


async def test_claim_bounds(registry: Registry) -> None:
    await limit_range(registry, {"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"},
                                 "min": {"storage": "1Gi"}})
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}}
    err = await refused(store(registry, "", "persistentvolumeclaims").create("default", claim, WriteOptions()))
    assert err.message == ('persistentvolumeclaims "c" is forbidden: maximum storage usage per '
                           'PersistentVolumeClaim is 2Gi, but request is 5Gi')


def test_limit_range_validation_as_upstream() -> None:
    from pyk8s.api.core_v1.limitrange import LimitRangeStrategy

    strategy = LimitRangeStrategy()
    lr = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr", "namespace": "default"},
          "spec": {"limits": [{"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"},
                               "maxLimitRequestRatio": {"cpu": "500m"}},
                              {"type": "Pod", "default": {"cpu": "1"}},
                              {"type": "Container"},
                              {"type": "Container", "default": {"example.com/gpu": "2"},
                               "defaultRequest": {"example.com/gpu": "1"}}]}}
    strategy.default(lr)
    got = [f"{e.field}: {e.detail}" for e in strategy.validate(lr)]
    assert got == [
        "spec.limits[0].min[cpu]: min value 2 is greater than max value 1",
        "spec.limits[0].defaultRequest[cpu]: min value 2 is greater than default request value 1",
        "spec.limits[0].default[cpu]: min value 2 is greater than default value 1",
        "spec.limits[0].maxLimitRequestRatio[cpu]: ratio 500m is less than 1",
        "spec.limits[1].default: may not be specified when `type` is 'Pod'",
        "spec.limits[2].type: ",
        "spec.limits[3].type: ",
        "spec.limits[3].defaultRequest[example.com/gpu]: default value 2 must equal to defaultRequest value 1 in "
        "example.com/gpu",
    ]
