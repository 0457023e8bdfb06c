"""Infrastructure controllers against a real ``pyk8s server``."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.rest import Client
from pyk8s.controllers.manager import ControllerManager
from pyk8s.machinery.scheme import SCHEME

NAMESPACES = SCHEME.get("", "v1", "namespaces")
PODS = SCHEME.get("", "v1", "pods")
RS = SCHEME.get("apps", "v1", "replicasets")
SA = SCHEME.get("", "v1", "serviceaccounts")
SERVICES = SCHEME.get("", "v1", "services")
ENDPOINTS = SCHEME.get("", "v1", "endpoints")
SLICES = SCHEME.get("discovery.k8s.io", "v1", "endpointslices")
CM = SCHEME.get("", "v1", "configmaps")


async def eventually(check, within: float = 15.0):  # type: ignore[no-untyped-def]
    """Poll an async check until it returns a truthy value."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while True:
        value = await check()
        if value:
            return value
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.1)


async def new_namespace(client: Client) -> str:
    name = "it-" + uuid.uuid4().hex[:8]
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


async def gone(client: Client, rt: object, name: str, namespace: str | None = None) -> bool:
    try:
        await client.get(rt, name, namespace=namespace)  # type: ignore[arg-type]
    except ApiError as exc:
        if is_not_found(exc):
            return True
        raise
    return False


def pod(name: str, ip: str, labels: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "ports": [{"name": "http", "containerPort": 8080}]}]}}


async def run_pod(client: Client, ns: str, name: str, ip: str, labels: dict, *, ready: bool) -> dict:
    """A pod made to look Running (no kubelet here): status written by hand."""
    created = await client.create(PODS, pod(name, ip, labels), namespace=ns)
    created["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                         "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    return await client.update_status(PODS, created, namespace=ns)


async def test_default_service_account_appears(client: Client, manager: ControllerManager) -> None:
    ns = await new_namespace(client)

    async def has_sa() -> bool:
        return not await gone(client, SA, "default", ns)

    await eventually(has_sa)


async def test_root_ca_configmap_published_and_restored(client: Client, manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    ca = client.config.ca_pem.decode()

    async def published() -> dict | None:  # type: ignore[type-arg]
        if await gone(client, CM, "kube-root-ca.crt", ns):
            return None
        return await client.get(CM, "kube-root-ca.crt", namespace=ns)

    cm = await eventually(published)
    assert cm["data"] == {"ca.crt": ca}
    assert cm["metadata"]["annotations"]["kubernetes.io/description"].startswith("Contains a CA bundle")
    cm["data"]["ca.crt"] = "tampered"
    await client.update(CM, cm, namespace=ns)

    async def restored() -> bool:
        current = await published()
        return current is not None and current["data"]["ca.crt"] == ca

    await eventually(restored)
    await client.delete(CM, "kube-root-ca.crt", namespace=ns)
    await eventually(restored)


async def test_gc_background_cascade(client: Client, manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    # A ConfigMap owner: no workload controller acts on it, so only the GC can remove the dependent.
    owner = await client.create(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}},
                                namespace=ns)
    owned = pod("owned", "", {"other": "y"})
    owned["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                             "uid": owner["metadata"]["uid"], "blockOwnerDeletion": True}]
    await client.create(PODS, owned, namespace=ns)
    await client.create(PODS, pod("free", "", {"other": "y"}), namespace=ns)
    await client.delete(CM, "owner", namespace=ns, propagation_policy="Background")

    async def owned_gone() -> bool:
        return await gone(client, PODS, "owned", ns)

    await eventually(owned_gone)
    assert not await gone(client, PODS, "free", ns)


async def test_namespace_deletion_empties_it(client: Client, manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await client.create(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, namespace=ns)
    await client.delete(NAMESPACES, ns)

    async def ns_gone() -> bool:
        return await gone(client, NAMESPACES, ns)

    await eventually(ns_gone, within=30)
    assert not (await client.list(CM, namespace=ns)).get("items")


async def test_endpoints_for_running_pods(client: Client, manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await client.create(SERVICES, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                   "spec": {"selector": {"app": "web"},
                                            "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
                        namespace=ns)
    await run_pod(client, ns, "a", "10.244.1.10", {"app": "web"}, ready=True)
    await run_pod(client, ns, "b", "10.244.1.11", {"app": "web"}, ready=False)

    async def endpoints() -> dict | None:
        try:
            ep = await client.get(ENDPOINTS, "web", namespace=ns)
        except ApiError:
            return None
        subsets = ep.get("subsets") or []
        if subsets and subsets[0].get("addresses") and subsets[0].get("notReadyAddresses"):
            return ep
        return None

    ep = await eventually(endpoints)
    subset = ep["subsets"][0]
    assert [a["ip"] for a in subset["addresses"]] == ["10.244.1.10"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.244.1.11"]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

    async def sliced() -> list | None:
        items = (await client.list(SLICES, namespace=ns, label_selector={"kubernetes.io/service-name": "web"}))
        eps = [e for s in items.get("items") or [] for e in s.get("endpoints") or []]
        return eps if len(eps) == 2 else None

    eps = await eventually(sliced)
    assert sorted(e["conditions"]["ready"] for e in eps) == [False, True]


@pytest.mark.parametrize("name", ["kubernetes"])
async def test_kubernetes_service_left_alone(client: Client, manager: ControllerManager, name: str) -> None:
    svc = await client.get(SERVICES, name, namespace="default")
    assert not (svc.get("spec") or {}).get("selector")


async def _owner_and_dependent(client: Client, ns: str) -> dict:
    owner = await client.create(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}},
                                namespace=ns)
    dep = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "dep", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                                            "uid": owner["metadata"]["uid"],
                                                            "blockOwnerDeletion": True}]}}
    await client.create(CM, dep, namespace=ns)
    return owner


async def test_gc_foreground_and_orphan(client: Client, manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await _owner_and_dependent(client, ns)
    await client.delete(CM, "owner", namespace=ns, propagation_policy="Foreground")

    async def both_gone() -> bool:
        return await gone(client, CM, "dep", ns) and await gone(client, CM, "owner", ns)

    await eventually(both_gone)

    await _owner_and_dependent(client, ns)
    await client.delete(CM, "owner", namespace=ns, propagation_policy="Orphan")

    async def owner_gone() -> bool:
        return await gone(client, CM, "owner", ns)

    await eventually(owner_gone)
    dep = await client.get(CM, "dep", namespace=ns)
    assert not dep["metadata"].get("ownerReferences")


async def test_cli_runs_selected_controllers_with_leader_election(client: Client, api_server) -> None:  # type: ignore[no-untyped-def]
    """``pyk8s controller-manager`` as its own process: leads, runs, exits 0 on SIGTERM."""
    import signal
    import sys

    from pyk8s.testing.cluster import REPO_ROOT

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyk8s", "controller-manager", "--kubeconfig", api_server.kubeconfig,
        "--controllers", "serviceaccount-controller", "--leader-elect", cwd=str(REPO_ROOT),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        ns = await new_namespace(client)

        async def has_sa() -> bool:
            return not await gone(client, SA, "default", ns)

        await eventually(has_sa, within=30)
        lease = await client.get(SCHEME.get("coordination.k8s.io", "v1", "leases"), "kube-controller-manager",
                                 namespace="kube-system")
        assert lease["spec"]["holderIdentity"]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
    assert code == 0


async def test_node_ipam_lifecycle_and_pv_binding(client: Client, api_server) -> None:  # type: ignore[no-untyped-def]
    nodes, pvs, pvcs = (SCHEME.get("", "v1", p) for p in ("nodes", "persistentvolumes", "persistentvolumeclaims"))
    c = Client.from_kubeconfig(api_server.kubeconfig)
    cm = ControllerManager(c, controllers=["node-ipam-controller", "node-lifecycle-controller",
                                           "persistentvolume-binder-controller",
                                           "persistentvolumeclaim-protection-controller",
                                           "persistentvolume-protection-controller"],
                           options={"node_monitor_grace_period": 1.0, "node_monitor_period": 0.5})
    task = asyncio.create_task(cm.run())
    name = "node-" + uuid.uuid4().hex[:6]
    try:
        await asyncio.wait_for(cm.ready.wait(), 20)
        node = await client.create(nodes, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
        node["status"] = {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                          "lastHeartbeatTime": "2026-01-01T00:00:00Z",
                                          "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        await client.update_status(nodes, node)

        async def unreachable() -> dict | None:
            n = await client.get(nodes, name)
            keys = {t["key"] for t in (n.get("spec") or {}).get("taints") or []}
            return n if "node.kubernetes.io/unreachable" in keys and n["spec"].get("podCIDR") else None

        n = await eventually(unreachable)
        assert n["spec"]["podCIDRs"] == [n["spec"]["podCIDR"]]
        ready = next(x for x in n["status"]["conditions"] if x["type"] == "Ready")
        assert ready["status"] == "Unknown" and ready["reason"] == "NodeStatusUnknown"

        ns = await new_namespace(client)
        pv_name = "pv-" + uuid.uuid4().hex[:6]
        await client.create(pvs, {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name},
                                  "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                           "storageClassName": "it-manual", "hostPath": {"path": "/tmp/x"}}})
        await client.create(pvcs, {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
                                   "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "it-manual",
                                            "resources": {"requests": {"storage": "500Mi"}}}}, namespace=ns)

        async def bound() -> dict | None:
            claim = await client.get(pvcs, "c", namespace=ns)
            return claim if (claim.get("status") or {}).get("phase") == "Bound" else None

        claim = await eventually(bound)
        assert claim["spec"]["volumeName"] == pv_name
        assert (await client.get(pvs, pv_name))["status"]["phase"] == "Bound"
        await client.delete(pvcs, "c", namespace=ns)

        async def released() -> bool:
            return ((await client.get(pvs, pv_name)).get("status") or {}).get("phase") == "Released"

        await eventually(released)
        await client.delete(pvs, pv_name)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.delete(nodes, name)
        await c.close()
