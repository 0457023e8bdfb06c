"""ResourceQuota admission: upstream's refusals (exceeded, must specify, status unknown), charging
status.used on admission, scopes, updates counting only the increase, dry runs charging nothing."""

from typing import Any

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions

from .conftest import pod, refused, store


async def quota(registry: Registry, name: str, hard: dict[str, str], used: dict[str, str] | None = None,
                **spec: Any) -> None:
    """A quota whose status the controller would have written."""
    quotas = store(registry, "", "resourcequotas")
    body = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name}, "spec": {"hard": hard, **spec}}
    created = await quotas.create("default", body, WriteOptions())
    created["status"] = {"hard": hard, "used": used if used is not None else {k: "0" for k in hard}}
    await quotas.update("default", name, created, WriteOptions(), subresource="status")


async def used(registry: Registry, name: str) -> dict[str, str]:
    return (await store(registry, "", "resourcequotas").get("default", name))["status"]["used"]


def sized(name: str, cpu: str = "100m", memory: str = "64Mi", **spec: Any) -> dict[str, Any]:
    res = {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}}
    return pod(name, containers=[{"name": "app", "image": "nginx", "resources": res}], **spec)


async def test_pod_count_exceeded_with_upstreams_message(registry: Registry) -> None:
    await quota(registry, "compute-resources", {"pods": "2"})
    pods = store(registry, "", "pods")
    for i in range(2):
        await pods.create("default", pod(f"p{i}"), WriteOptions())
    assert (await used(registry, "compute-resources")) == {"pods": "2"}
    err = await refused(pods.create("default", pod("p2"), WriteOptions()))
    assert err.code == 403 and err.reason == "Forbidden"
    assert err.message == ('pods "p2" is forbidden: exceeded quota: compute-resources, requested: pods=1, '
                           'used: pods=2, limited: pods=2')


async def test_compute_quota_requires_containers_to_state_them(registry: Registry) -> None:
    await quota(registry, "compute", {"limits.cpu": "1", "requests.memory": "1Gi"})
    body = pod("bare", containers=[{"name": "app", "image": "nginx"},
                                   {"name": "b", "image": "nginx", "resources": {"limits": {"cpu": "100m"}}}])
    err = await refused(store(registry, "", "pods").create("default", body, WriteOptions()))
    assert err.message == ('pods "bare" is forbidden: failed quota: compute: must specify limits.cpu for: app; '
                           'requests.memory for: app,b')


async def test_compute_sums_and_limits(registry: Registry) -> None:
    await quota(registry, "compute", {"requests.cpu": "250m", "limits.memory": "1Gi"})
    pods = store(registry, "", "pods")
    await pods.create("default", sized("a"), WriteOptions())
    await pods.create("default", sized("b"), WriteOptions())
    assert await used(registry, "compute") == {"requests.cpu": "200m", "limits.memory": "128Mi"}
    err = await refused(pods.create("default", sized("c"), WriteOptions()))
    assert err.message == ('pods "c" is forbidden: exceeded quota: compute, requested: requests.cpu=100m, '
                           'used: requests.cpu=200m, limited: requests.cpu=250m')


async def test_status_unknown(registry: Registry) -> None:
    await quota(registry, "q", {"pods": "2"}, used={})
    err = await refused(store(registry, "", "pods").create("default", pod("p"), WriteOptions()))
    assert err.message == 'pods "p" is forbidden: status unknown for quota: q, resources: pods'


async def test_object_counts_and_dry_run(registry: Registry) -> None:
    await quota(registry, "objects", {"configmaps": "1", "count/deployments.apps": "0"})
    cms = store(registry, "", "configmaps")
    await cms.create("default", {"metadata": {"name": "a"}, "data": {}}, WriteOptions(dry_run=True))
    assert await used(registry, "objects") == {"configmaps": "0", "count/deployments.apps": "0"}
    await cms.create("default", {"metadata": {"name": "a"}, "data": {}}, WriteOptions())
    err = await refused(cms.create("default", {"metadata": {"name": "b"}, "data": {}}, WriteOptions()))
    assert err.message == ('configmaps "b" is forbidden: exceeded quota: objects, requested: configmaps=1, '
                           'used: configmaps=1, limited: configmaps=1')
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
              "spec": {"selector": {"matchLabels": {"a": "b"}},
                       "template": {"metadata": {"labels": {"a": "b"}},
                                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    err = await refused(store(registry, "apps", "deployments").create("default", deploy, WriteOptions()))
    assert err.message == ('deployments.apps "d" is forbidden: exceeded quota: objects, requested: '
                           'count/deployments.apps=1, used: count/deployments.apps=0, limited: count/deployments.apps=0')


async def test_scopes_select_pods(registry: Registry) -> None:
    await quota(registry, "best-effort", {"pods": "0"}, scopes=["BestEffort"])
    pods = store(registry, "", "pods")
    await pods.create("default", sized("sized"), WriteOptions())  # NotBestEffort: not counted
    err = await refused(pods.create("default", pod("be"), WriteOptions()))
    assert "exceeded quota: best-effort" in err.message
    await quota(registry, "high", {"pods": "0"},
                scopeSelector={"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In",
                                                     "values": ["system-cluster-critical"]}]})
    err = await refused(pods.create("default", sized("crit", priorityClassName="system-cluster-critical"),
                                    WriteOptions()))
    assert "exceeded quota: high" in err.message


async def test_service_nodeports_and_update_counts_the_increase(registry: Registry) -> None:
    await quota(registry, "svc", {"services.nodeports": "1", "services": "5"})
    services = store(registry, "", "services")
    body = {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}, {"port": 81, "name": "b"}]}}
    body["spec"]["ports"][0]["name"] = "a"
    await services.create("default", body, WriteOptions())
    svc = await services.get("default", "s")
    svc["spec"]["type"] = "NodePort"
    err = await refused(services.update("default", "s", svc, WriteOptions()))
    assert err.message == ('services "s" is forbidden: exceeded quota: svc, requested: services.nodeports=2, '
                           'used: services.nodeports=0, limited: services.nodeports=1')
