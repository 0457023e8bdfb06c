"""Pods, Services, Namespaces and the bootstrap objects."""


import pytest

from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WriteOptions
from pyk8s.machinery.errors import StatusError

from .helpers import configmap, pod, store


def service(name: str, **spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}], "selector": {"app": name}, **spec}}


async def test_bootstrap_objects(registry: Registry) -> None:
    nss = store(registry, "", "namespaces")
    names = {o["metadata"]["name"] for o in (await nss.list("", ListOptions()))["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    svc = await store(registry, "", "services").get("default", "kubernetes")
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    assert svc["spec"]["ports"][0]["targetPort"] == 6443
    assert svc["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    ep = await store(registry, "", "endpoints").get("default", "kubernetes")
    assert ep["subsets"][0]["addresses"] == [{"ip": "127.0.0.1"}]
    before = svc["metadata"]["resourceVersion"]
    await bootstrap(registry, api_address="127.0.0.1", api_port=6443)  # idempotent
    assert (await store(registry, "", "services").get("default", "kubernetes"))["metadata"]["resourceVersion"] == before


async def test_graceful_pod_delete(registry: Registry) -> None:
    pods = store(registry, "", "pods")
    await pods.create("default", pod("bound", node="n1"), WriteOptions())
    out = await pods.delete("default", "bound", DeleteOptions())
    assert out["metadata"]["deletionGracePeriodSeconds"] == 30 and out["metadata"]["deletionTimestamp"]
    assert (await pods.get("default", "bound"))["metadata"]["deletionTimestamp"]
    await pods.delete("default", "bound", DeleteOptions(grace_period_seconds=0))
    with pytest.raises(StatusError):
        await pods.get("default", "bound")
    await pods.create("default", pod("free"), WriteOptions())
    await pods.delete("default", "free", DeleteOptions())
    with pytest.raises(StatusError):
        await pods.get("default", "free")


async def test_binding(registry: Registry) -> None:
    pods = store(registry, "", "pods")
    rt = pods.resource
    await pods.create("default", pod("p"), WriteOptions())
    binding = registry.subresource(rt, "binding")
    body = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"name": "n1"}}
    await binding.create("default", "p", body, WriteOptions())
    got = await pods.get("default", "p")
    assert got["spec"]["nodeName"] == "n1"
    assert any(c["type"] == "PodScheduled" for c in got["status"]["conditions"])
    with pytest.raises(StatusError) as exc:
        await binding.create("default", "p", body, WriteOptions())
    assert exc.value.code == 409


async def test_service_allocation(registry: Registry) -> None:
    svcs = store(registry, "", "services")
    ips = set()
    for i in range(5):
        out = await svcs.create("default", service(f"s{i}"), WriteOptions())
        ip = out["spec"]["clusterIP"]
        assert ip.startswith("10.") and ip != "10.96.0.1" and out["spec"]["clusterIPs"] == [ip]
        ips.add(ip)
    assert len(ips) == 5
    with pytest.raises(StatusError) as exc:
        await svcs.create("default", service("dup", clusterIP=next(iter(ips))), WriteOptions())
    assert exc.value.code == 422 and "provided IP is already allocated" in exc.value.message
    headless = await svcs.create("default", service("h", clusterIP="None"), WriteOptions())
    assert headless["spec"]["clusterIP"] == "None"
    np = await svcs.create("default", service("np", type="NodePort"), WriteOptions())
    port = np["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    clash = service("np2", type="NodePort")
    clash["spec"]["ports"][0]["nodePort"] = port
    with pytest.raises(StatusError) as exc:
        await svcs.create("default", clash, WriteOptions())
    assert "provided port is already allocated" in exc.value.message
    await svcs.delete("default", "np", DeleteOptions())
    again = await svcs.create("default", clash, WriteOptions())
    assert again["spec"]["ports"][0]["nodePort"] == port


async def test_namespace_termination(registry: Registry) -> None:
    nss = store(registry, "", "namespaces")
    cms = store(registry, "", "configmaps")
    await nss.create("", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}}, WriteOptions())
    out = await nss.delete("", "t", DeleteOptions())
    assert out["status"]["phase"] == "Terminating" and out["metadata"]["deletionTimestamp"]
    with pytest.raises(StatusError) as exc:
        await cms.create("t", configmap("x"), WriteOptions())
    assert exc.value.code == 403
    assert exc.value.message == ('configmaps "x" is forbidden: unable to create new content in namespace t '
                                 'because it is being terminated')
    ns = await nss.get("", "t")
    ns["spec"]["finalizers"] = []
    await nss.update("", "t", ns, WriteOptions(), subresource="finalize")
    with pytest.raises(StatusError) as exc:
        await nss.get("", "t")
    assert exc.value.code == 404


async def test_list_ten_thousand_by_label(registry: Registry) -> None:
    # How fast is benchmarks/apiserver_bench.py's business (timed assertions flake on a busy machine).
    cms = store(registry, "", "configmaps")
    for i in range(10_000):
        await registry.storage.create(cms.key("default", f"c{i:05d}"),
                                      b'{"metadata":{"name":"c%05d","namespace":"default","labels":{"a":"b"}},'
                                      b'"data":{"k":"v"}}' % i)
    lst = await cms.list("default", ListOptions(label_selector="a=b"))
    assert len(lst["items"]) == 10_000
    assert [i["metadata"]["name"] for i in lst["items"][:2]] == ["c00000", "c00001"]


async def test_service_type_change_releases_node_ports(registry: Registry) -> None:
    svcs = store(registry, "", "services")
    np = await svcs.create("default", service("np", type="NodePort"), WriteOptions())
    port = np["spec"]["ports"][0]["nodePort"]
    np["spec"]["type"] = "ClusterIP"
    np["spec"]["ports"][0].pop("nodePort")
    out, _ = await svcs.update("default", "np", np, WriteOptions())
    assert "nodePort" not in out["spec"]["ports"][0]
    assert out["spec"]["clusterIP"] == np["spec"]["clusterIP"]
    clash = service("np2", type="NodePort")
    clash["spec"]["ports"][0]["nodePort"] = port
    again = await svcs.create("default", clash, WriteOptions())
    assert again["spec"]["ports"][0]["nodePort"] == port
