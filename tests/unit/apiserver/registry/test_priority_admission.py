"""PriorityClasses in the registry: the built-in classes, Priority admission on pods,
one globalDefault, and system classes that cannot be deleted."""

import pytest

from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.registry import Registry, build_registry
from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WriteOptions
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage

from .helpers import deployment, pod, store

GROUP = "scheduling.k8s.io"


def pc(name: str, value: int, **fields: object) -> dict:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, **fields}


def pod_with(name: str, **spec: object) -> dict:
    body = pod(name)
    body["spec"].update(spec)
    return body


async def refused(coro) -> StatusError:
    with pytest.raises(StatusError) as exc:
        await coro
    return exc.value


async def test_system_classes_bootstrapped(registry: Registry) -> None:
    items = (await store(registry, GROUP, "priorityclasses").list("", ListOptions()))["items"]
    got = {i["metadata"]["name"]: (i["value"], i["preemptionPolicy"], bool(i.get("globalDefault"))) for i in items}
    assert got == {"system-cluster-critical": (2000000000, "PreemptLowerPriority", False),
                   "system-node-critical": (2000001000, "PreemptLowerPriority", False)}
    assert all(i["description"] and i["metadata"]["generation"] == 1 for i in items)


async def test_pod_priority_resolved_from_class(registry: Registry) -> None:
    await store(registry, GROUP, "priorityclasses").create("", pc("high", 1000, preemptionPolicy="Never"),
                                                           WriteOptions())
    pods = store(registry, "", "pods")
    spec = (await pods.create("default", pod_with("a", priorityClassName="high"), WriteOptions()))["spec"]
    assert (spec["priority"], spec["preemptionPolicy"], spec["priorityClassName"]) == (1000, "Never", "high")
    spec = (await pods.create("default", pod_with("b", priorityClassName="system-node-critical"),
                              WriteOptions()))["spec"]
    assert spec["priority"] == 2000001000 and spec["preemptionPolicy"] == "PreemptLowerPriority"
    # A pod that states the values the class gives is accepted.
    spec = (await pods.create("default", pod_with("c", priorityClassName="high", priority=1000,
                                                  preemptionPolicy="Never"), WriteOptions()))["spec"]
    assert spec["priority"] == 1000


async def test_pod_without_class_gets_zero_or_the_global_default(registry: Registry) -> None:
    pods = store(registry, "", "pods")
    spec = (await pods.create("default", pod("plain"), WriteOptions()))["spec"]
    assert spec["priority"] == 0 and spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert "priorityClassName" not in spec
    await store(registry, GROUP, "priorityclasses").create("", pc("everyone", 50, globalDefault=True),
                                                           WriteOptions())
    spec = (await pods.create("default", pod("defaulted"), WriteOptions()))["spec"]
    assert (spec["priority"], spec["priorityClassName"]) == (50, "everyone")


async def test_pod_refusals(registry: Registry) -> None:
    await store(registry, GROUP, "priorityclasses").create("", pc("high", 1000, preemptionPolicy="Never"),
                                                           WriteOptions())
    pods = store(registry, "", "pods")
    err = await refused(pods.create("default", pod_with("x", priorityClassName="nope"), WriteOptions()))
    assert (err.code, err.reason) == (403, "Forbidden")
    assert str(err) == 'pods "x" is forbidden: no PriorityClass with name nope was found'
    body = pod_with("", priorityClassName="nope")
    body["metadata"] = {"generateName": "gen-"}
    err = await refused(pods.create("default", body, WriteOptions()))
    assert str(err) == 'pods "gen-" is forbidden: no PriorityClass with name nope was found'
    err = await refused(pods.create("default", pod_with("y", priority=7), WriteOptions()))
    assert str(err) == ('pods "y" is forbidden: the integer value of priority (7) must not be provided in pod spec; '
                        'priority admission controller computed 0 from the given PriorityClass name')
    err = await refused(pods.create("default", pod_with("z", priorityClassName="high",
                                                        preemptionPolicy="PreemptLowerPriority"), WriteOptions()))
    assert str(err) == ('pods "z" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must '
                        'not be provided in pod spec; priority admission controller computed Never from the given '
                        'PriorityClass name')
    assert (await pods.list("default", ListOptions()))["items"] == []


async def test_pod_update_keeps_priority(registry: Registry) -> None:
    pods = store(registry, "", "pods")
    created = await pods.create("default", pod_with("p", priorityClassName="system-cluster-critical"),
                                WriteOptions())
    body = dict(created, spec={k: v for k, v in created["spec"].items() if k not in ("priority", "preemptionPolicy")})
    body["metadata"] = dict(created["metadata"], labels={"new": "label"})
    updated, _ = await pods.update("default", "p", body, WriteOptions())
    assert updated["spec"]["priority"] == 2000000000 and updated["metadata"]["labels"] == {"new": "label"}


async def test_pod_templates_are_not_resolved(registry: Registry) -> None:
    body = deployment("web")
    body["spec"]["template"]["spec"]["priorityClassName"] = "does-not-exist"
    out = await store(registry, "apps", "deployments").create("default", body, WriteOptions())
    assert "priority" not in out["spec"]["template"]["spec"]


async def test_only_one_global_default(registry: Registry) -> None:
    pcs = store(registry, GROUP, "priorityclasses")
    await pcs.create("", pc("first", 10, globalDefault=True), WriteOptions())
    err = await refused(pcs.create("", pc("second", 20, globalDefault=True), WriteOptions()))
    assert (err.code, str(err)) == (403, 'priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass '
                                         'first is already marked as default. Only one default can exist')
    await pcs.create("", pc("third", 30), WriteOptions())
    err = await refused(pcs.patch("", "third", "application/merge-patch+json", {"globalDefault": True},
                                  WriteOptions()))
    assert err.code == 403 and "PriorityClass first is already marked as default" in str(err)
    # The default itself may be updated.
    out, _ = await pcs.patch("", "first", "application/merge-patch+json", {"description": "d"}, WriteOptions())
    assert out["description"] == "d" and out["globalDefault"] is True


async def test_value_is_immutable_and_system_classes_stay(registry: Registry) -> None:
    pcs = store(registry, GROUP, "priorityclasses")
    await pcs.create("", pc("high", 1000), WriteOptions())
    err = await refused(pcs.patch("", "high", "application/merge-patch+json", {"value": 1}, WriteOptions()))
    assert err.code == 422 and "value: Forbidden: may not be changed in an update." in str(err)
    err = await refused(pcs.delete("", "system-node-critical", DeleteOptions()))
    assert (err.code, str(err)) == (403, 'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: '
                                         'this is a system priority class and cannot be deleted')
    await pcs.delete("", "high", DeleteOptions())
    assert {i["metadata"]["name"] for i in (await pcs.list("", ListOptions()))["items"]} == {
        "system-cluster-critical", "system-node-critical"}


async def test_default_toleration_seconds_come_from_the_server_settings() -> None:
    """DefaultTolerationSeconds: each of the two node-health taints gets its own configured seconds,
    and a pod that already tolerates one keeps its own toleration for it."""
    storage = open_storage("memory://")
    await storage.start()
    reg = build_registry(SCHEME, storage, not_ready_toleration_seconds=7, unreachable_toleration_seconds=11)
    await bootstrap(reg, api_address="127.0.0.1", api_port=6443)
    try:
        pods = store(reg, "", "pods")
        out = await pods.create("default", pod("plain"), WriteOptions())
        got = {t["key"]: (t["operator"], t["effect"], t["tolerationSeconds"]) for t in out["spec"]["tolerations"]}
        assert got == {"node.kubernetes.io/not-ready": ("Exists", "NoExecute", 7),
                       "node.kubernetes.io/unreachable": ("Exists", "NoExecute", 11)}
        own = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
               "tolerationSeconds": 3600}
        out = await pods.create("default", pod_with("own", tolerations=[own]), WriteOptions())
        unreachable = [t for t in out["spec"]["tolerations"] if t["key"] == "node.kubernetes.io/unreachable"]
        assert unreachable == [own]
    finally:
        await reg.close()
        await storage.close()
