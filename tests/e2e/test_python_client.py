"""The official ``kubernetes`` Python client (37.0.2) against a real pyk8s server:
CRUD, selectors, patches, watch with resume and 410 after compaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pyk8s.testing.cluster import ServerProcess

from .helpers import new_api_client, wait_until

pytestmark = pytest.mark.e2e

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402

NS = "default"


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[Any]:
    c = new_api_client(server)
    yield c
    c.close()


def pod_body(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }


def deployment_body(name: str) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="nginx:1.24")]),
            ),
        ),
    )


def test_pod_crud_and_selectors(api: Any) -> None:
    core = client.CoreV1Api(api)
    created = core.create_namespaced_pod(NS, pod_body("py-a", {"app": "py", "tier": "fe"}))
    core.create_namespaced_pod(NS, pod_body("py-b", {"app": "py", "tier": "be"}))
    assert created.metadata.uid and created.metadata.resource_version
    assert created.spec.restart_policy == "Always"
    got = core.read_namespaced_pod("py-a", NS)
    assert got.metadata.uid == created.metadata.uid
    names = {p.metadata.name for p in core.list_namespaced_pod(NS, label_selector="app=py").items}
    assert names == {"py-a", "py-b"}
    names = {p.metadata.name for p in core.list_namespaced_pod(NS, label_selector="app=py,tier!=fe").items}
    assert names == {"py-b"}
    names = {p.metadata.name for p in core.list_namespaced_pod(NS, field_selector="metadata.name=py-a").items}
    assert names == {"py-a"}
    page = core.list_namespaced_pod(NS, label_selector="app=py", limit=1)
    assert len(page.items) == 1 and page.metadata._continue
    rest = core.list_namespaced_pod(NS, label_selector="app=py", limit=1, _continue=page.metadata._continue)
    assert {page.items[0].metadata.name, rest.items[0].metadata.name} == {"py-a", "py-b"}

    patched = core.patch_namespaced_pod("py-a", NS, {"metadata": {"labels": {"extra": "yes"}}})
    assert patched.metadata.labels == {"app": "py", "tier": "fe", "extra": "yes"}
    smp = {"spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}}
    patched = core.patch_namespaced_pod("py-a", NS, smp)
    assert patched.spec.containers[0].image == "busybox:1.36"
    assert int(patched.metadata.resource_version) > int(created.metadata.resource_version)

    core.delete_namespaced_pod("py-a", NS, grace_period_seconds=0)
    core.delete_namespaced_pod("py-b", NS, grace_period_seconds=0)
    wait_until(lambda: not core.list_namespaced_pod(NS, label_selector="app=py").items, what="pods deleted")
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("py-a", NS)
    assert err.value.status == 404


def test_deployment_crud_and_patches(api: Any) -> None:
    apps = client.AppsV1Api(api)
    created = apps.create_namespaced_deployment(NS, deployment_body("py-web"))
    assert created.spec.strategy.type == "RollingUpdate"
    assert created.metadata.generation == 1
    listed = apps.list_namespaced_deployment(NS, label_selector="app=py-web").items
    assert [d.metadata.name for d in listed] == ["py-web"]
    merged = apps.patch_namespaced_deployment(
        "py-web", NS, {"spec": {"replicas": 4}}, _content_type="application/merge-patch+json"
    )
    assert merged.spec.replicas == 4 and merged.metadata.generation == 2
    smp = {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}}}
    strategic = apps.patch_namespaced_deployment("py-web", NS, smp)
    assert [c.name for c in strategic.spec.template.spec.containers] == ["side", "web"]  # added first, as upstream
    scale = apps.read_namespaced_deployment_scale("py-web", NS)
    assert scale.spec.replicas == 4
    apps.patch_namespaced_deployment_scale("py-web", NS, {"spec": {"replicas": 1}})
    assert apps.read_namespaced_deployment("py-web", NS).spec.replicas == 1
    stale = apps.read_namespaced_deployment("py-web", NS)
    apps.patch_namespaced_deployment("py-web", NS, {"metadata": {"labels": {"bump": "1"}}})
    stale.spec.replicas = 7
    with pytest.raises(ApiException) as err:
        apps.replace_namespaced_deployment("py-web", NS, stale)
    assert err.value.status == 409
    apps.delete_namespaced_deployment("py-web", NS)
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("py-web", NS)
    assert err.value.status == 404


def test_service_and_configmap_crud(api: Any) -> None:
    core = client.CoreV1Api(api)
    svc = core.create_namespaced_service(
        NS,
        {
            "metadata": {"name": "py-svc", "labels": {"app": "py-svc"}},
            "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]},
        },
    )
    assert svc.spec.cluster_ip and svc.spec.type == "ClusterIP"
    assert svc.spec.ports[0].protocol == "TCP" and svc.spec.ports[0].target_port == 80
    svc = core.patch_namespaced_service("py-svc", NS, {"spec": {"ports": [{"port": 80, "name": "http"}]}})
    assert svc.spec.ports[0].name == "http"
    assert [s.metadata.name for s in core.list_namespaced_service(NS, label_selector="app=py-svc").items] == ["py-svc"]
    core.delete_namespaced_service("py-svc", NS)

    cm = core.create_namespaced_config_map(
        NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-cm"), data={"a": "1"})
    )
    assert cm.data == {"a": "1"}
    cm = core.patch_namespaced_config_map(
        "py-cm", NS, {"data": {"b": "2"}}, _content_type="application/merge-patch+json"
    )
    assert cm.data == {"a": "1", "b": "2"}
    cm.data["c"] = "3"
    replaced = core.replace_namespaced_config_map("py-cm", NS, cm)
    assert replaced.data == {"a": "1", "b": "2", "c": "3"}
    listed = core.list_namespaced_config_map(NS, field_selector="metadata.name=py-cm").items
    assert [c.metadata.name for c in listed] == ["py-cm"]
    core.delete_namespaced_config_map("py-cm", NS)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("py-cm", NS)
    assert err.value.status == 404


def test_watch_events_and_resume(api: Any) -> None:
    core = client.CoreV1Api(api)
    start_rv = core.list_namespaced_config_map(NS).metadata.resource_version
    events: list[tuple[str, str, str]] = []

    def consume() -> None:
        w = watch.Watch()
        for ev in w.stream(
            core.list_namespaced_config_map, NS, label_selector="w=1", resource_version=start_rv, timeout_seconds=10
        ):
            obj = ev["object"]
            events.append((ev["type"], obj.metadata.name, obj.metadata.resource_version))
            if ev["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    core.create_namespaced_config_map(NS, {"metadata": {"name": "w-cm", "labels": {"w": "1"}}, "data": {"v": "1"}})
    core.patch_namespaced_config_map("w-cm", NS, {"data": {"v": "2"}})
    core.delete_namespaced_config_map("w-cm", NS)
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert [(t, n) for t, n, _ in events] == [("ADDED", "w-cm"), ("MODIFIED", "w-cm"), ("DELETED", "w-cm")]
    rvs = [int(rv) for _, _, rv in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3

    # Resume from the ADDED event's version: only the later events come back.
    resumed = []
    w = watch.Watch()
    for ev in w.stream(
        core.list_namespaced_config_map, NS, label_selector="w=1", resource_version=events[0][2], timeout_seconds=2
    ):
        resumed.append(ev["type"])
        if len(resumed) == 2:
            w.stop()
    assert resumed == ["MODIFIED", "DELETED"]


def test_watch_without_resource_version_lists_existing(api: Any) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(NS, {"metadata": {"name": "w-existing", "labels": {"w": "2"}}})
    seen = []
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, NS, label_selector="w=2", timeout_seconds=2):
        seen.append((ev["type"], ev["object"].metadata.name))
        w.stop()
    assert seen == [("ADDED", "w-existing")]
    core.delete_namespaced_config_map("w-existing", NS)


COMPACTING_ARGS = ["--etcd-compaction-interval=1s"]
COMPACTING_ENV = {"PYK8S_COMPACTION_MIN_REVISIONS": "0"}


@pytest.fixture(scope="module")
def compacting_server(server_available: None) -> Iterator[ServerProcess]:
    srv = ServerProcess(extra_args=COMPACTING_ARGS, env=COMPACTING_ENV, start_timeout=30)
    try:
        try:
            srv.start()
        except RuntimeError as e:
            if "unrecognized arguments" in str(e):
                pytest.skip("server has no --etcd-compaction-interval flag yet")
            raise
        yield srv
    finally:
        srv.close()


def test_watch_from_compacted_version_is_410(compacting_server: ServerProcess) -> None:
    api = new_api_client(compacting_server)
    core = client.CoreV1Api(api)
    try:
        first = core.create_namespaced_config_map(NS, {"metadata": {"name": "old-0"}})
        old_rv = first.metadata.resource_version

        def expired() -> bool:
            core.patch_namespaced_config_map("old-0", NS, {"data": {"t": str(time.monotonic_ns())}})
            try:
                w = watch.Watch()
                for _ in w.stream(core.list_namespaced_config_map, NS, resource_version=old_rv, timeout_seconds=1):
                    pass
            except ApiException as e:
                assert e.status == 410, e
                return True
            return False

        wait_until(expired, timeout=30, interval=0.5, what="a 410 for a compacted resourceVersion")
    finally:
        api.close()
