"""The scheduler's VolumeBinder: delayed claims get the selected node and PreBind waits for them to bind."""

from __future__ import annotations

import asyncio
from typing import Any

from pyk8s.scheduler.plugins.volumebinding import REASON_BIND_CONFLICT
from pyk8s.scheduler.plugins.volumebinding_api import BIND_COMPLETED, SELECTED_NODE, ApiVolumeBinder


class Volumes:
    def __init__(self) -> None:
        self.pvcs: dict[tuple[str, str], dict] = {}
        self.classes: dict[str, dict] = {}

    def get_pvc(self, namespace: str, name: str) -> dict | None:
        return self.pvcs.get((namespace, name))

    def get_pv(self, name: str) -> dict | None:
        return None

    def get_storage_class(self, name: str) -> dict | None:
        return self.classes.get(name)


class Client:
    """Records patches; a claim patched with a node is bound a moment later (the PV binder's part)."""

    def __init__(self, volumes: Volumes) -> None:
        self.volumes, self.patches = volumes, []  # type: list[tuple[str, Any]]

    async def patch(self, rt: Any, name: str, body: Any, *, namespace: str, patch_type: str) -> dict:
        self.patches.append((name, body))
        claim = self.volumes.pvcs[(namespace, name)]
        claim["metadata"].setdefault("annotations", {}).update(body["metadata"]["annotations"])
        asyncio.get_running_loop().call_later(0.05, self._bind, claim)
        return claim

    @staticmethod
    def _bind(claim: dict) -> None:
        claim["spec"]["volumeName"] = "pvc-x"
        claim["metadata"]["annotations"][BIND_COMPLETED] = "yes"


def claim(name: str, cls: str, size: str = "1Gi") -> dict:
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"storageClassName": cls, "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": size}}}}


def pod(*claims: str) -> dict:
    return {"metadata": {"name": "p", "namespace": "ns"},
            "spec": {"volumes": [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims]}}


NODE = {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}}}


def local_pv(name: str, host: str, size: str = "1Gi") -> dict:
    return {"metadata": {"name": name}, "spec": {
        "storageClassName": "manual", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": size},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}]}]}}}}


def test_find_pod_volumes_static_needs_a_volume_on_the_node() -> None:
    volumes = Volumes()
    volumes.classes = {"manual": {"provisioner": "kubernetes.io/no-provisioner"},
                       "local-path": {"provisioner": "rancher.io/local-path"}}
    pvs: list[dict] = [local_pv("elsewhere", "n2"), local_pv("tiny", "n1", "1Mi")]
    binder = ApiVolumeBinder(Client(volumes), volumes, lambda: pvs)
    assert binder.find_pod_volumes(pod("a"), [claim("a", "local-path")], NODE) == []
    assert binder.find_pod_volumes(pod("a"), [claim("a", "manual")], NODE) == [REASON_BIND_CONFLICT]
    pvs.append(local_pv("here", "n1"))
    assert binder.find_pod_volumes(pod("a"), [claim("a", "manual")], NODE) == []


async def test_bind_pod_volumes_selects_the_node_and_waits_for_binding() -> None:
    volumes = Volumes()
    volumes.pvcs[("ns", "a")] = claim("a", "local-path")
    client = Client(volumes)
    binder = ApiVolumeBinder(client, volumes, list, poll=0.01)  # type: ignore[arg-type]
    await asyncio.wait_for(binder.bind_pod_volumes(pod("a"), "n1"), 5)
    assert client.patches == [("a", {"metadata": {"annotations": {SELECTED_NODE: "n1"}}})]
    assert volumes.pvcs[("ns", "a")]["spec"]["volumeName"] == "pvc-x"


async def test_bind_pod_volumes_times_out_when_nothing_binds() -> None:
    volumes = Volumes()
    volumes.pvcs[("ns", "a")] = claim("a", "local-path")
    volumes.pvcs[("ns", "a")]["metadata"]["annotations"] = {SELECTED_NODE: "n1"}
    binder = ApiVolumeBinder(Client(volumes), volumes, list, timeout=0.05, poll=0.01)  # type: ignore[arg-type]
    try:
        await binder.bind_pod_volumes(pod("a"), "n1")
    except TimeoutError as exc:
        assert "timed out waiting for the condition" in str(exc)
    else:
        raise AssertionError("no timeout")
