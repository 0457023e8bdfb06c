"""Small helpers for the kubelet e2e tests: a namespace per module, pods from dicts, what kubectl prints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pyk8s.testing.kubelet import KubeletProcess
from pyk8s.testing.nodenet import NodeNetns
from tests.e2e.helpers import row_for, wait_until
from tests.e2e.kubelet.conftest import Cluster

BUSYBOX = "busybox:1.36"


class Pods:
    """Pods in one namespace of the shared cluster, read through kubectl."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.c, self.ns = cluster, namespace

    def kubectl(self, *args: str, **kw: Any):  # type: ignore[no-untyped-def]
        return self.c.kubectl("-n", self.ns, *args, **kw)

    def apply(self, obj: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", input=json.dumps(obj))

    def pod(self, name: str, *containers: dict[str, Any], **spec: Any) -> None:
        """A pod of busybox containers (image and pull policy filled in), grace 1 s unless given."""
        spec.setdefault("terminationGracePeriodSeconds", 1)
        filled = [{"image": BUSYBOX, "imagePullPolicy": "IfNotPresent", **c} for c in containers]
        for key in ("initContainers",):
            if key in spec:
                spec[key] = [{"image": BUSYBOX, "imagePullPolicy": "IfNotPresent", **c} for c in spec[key]]
        self.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": filled,
                                                                                           **spec}})

    def row(self, name: str) -> list[str]:
        """NAME READY STATUS RESTARTS AGE (RESTARTS may carry "(5s ago)")."""
        return row_for(self.kubectl("get", "pod", name).stdout, name)

    def status(self, name: str) -> str:
        return self.row(name)[2]

    def restarts(self, name: str) -> int:
        return int(self.row(name)[3])

    def json(self, name: str) -> dict[str, Any]:
        return json.loads(self.kubectl("get", "pod", name, "-o", "json").stdout)

    def container(self, name: str, container: str, kind: str = "containerStatuses") -> dict[str, Any]:
        statuses = self.json(name)["status"].get(kind) or []
        return next((s for s in statuses if s["name"] == container), {})

    def condition(self, name: str, kind: str) -> str:
        conditions = self.json(name)["status"].get("conditions") or []
        return next((c["status"] for c in conditions if c["type"] == kind), "")

    def events(self, name: str) -> str:
        return self.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}").stdout

    def describe(self, name: str) -> str:
        return self.kubectl("describe", "pod", name).stdout

    def wait_status(self, name: str, status: str, timeout: float = 90) -> None:
        wait_until(lambda: self.status(name) == status, timeout=timeout, what=f"{name} {status}")

    def wait_event(self, name: str, text: str, timeout: float = 90) -> str:
        return wait_until(lambda: text in (out := self.events(name)) and out, timeout=timeout,
                          what=f"event {text!r} on {name}")

    def exec(self, name: str, *command: str, container: str | None = None) -> str:
        which = ("-c", container) if container else ()
        return self.kubectl("exec", name, *which, "--", *command).stdout

    def logs(self, name: str, *args: str) -> str:
        return self.kubectl("logs", name, *args).stdout

    def delete(self, name: str, timeout: float = 60) -> None:
        self.kubectl("delete", "pod", name, "--wait=true", timeout=timeout)


def namespace(cluster: Cluster, name: str) -> Iterator[Pods]:
    """A fixture body: the namespace exists for the module and is deleted (with its pods) after it."""
    cluster.kubectl("create", "namespace", name)
    # The namespace's default ServiceAccount comes from a controller; pods are refused until it exists.
    wait_until(lambda: cluster.kubectl("get", "sa", "default", "-n", name, check=False).returncode == 0,
               timeout=30, what=f"serviceaccount in {name}")
    try:
        yield Pods(cluster, name)
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def extra_node(cluster: Cluster, node: str, ns: str, kubelet_args: tuple[str, ...]) -> Iterator[KubeletProcess]:
    """A fixture body: a second kubelet with its own flags, joined to the shared control plane and cordoned
    (only pods naming it land there), and a namespace for its pods. Afterwards the node is reset (every
    sandbox and container removed), and its pods, namespace and Node go at once: no kubelet confirms."""
    netns = NodeNetns().create()
    kubelet: KubeletProcess | None = None
    try:
        netns.route_to(cluster.netns.host_ip)  # the shared API server is bound to the shared node's link
        kubelet = KubeletProcess(cluster.server, netns, node_name=node, extra_args=kubelet_args).start()
        wait_until(lambda: cluster.kubectl("get", "node", node, check=False).returncode == 0, timeout=120,
                   interval=0.2, what=f"{node} registered")
        cluster.kubectl("cordon", node)
        kubelet.wait_ready()
        cluster.kubectl("create", "namespace", ns)
        yield kubelet
    finally:
        try:
            if kubelet is not None:
                kubelet.close()
        finally:
            cluster.kubectl("-n", ns, "delete", "pods", "--all", "--force", "--grace-period=0",
                            "--ignore-not-found", check=False)
            cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false", check=False)
            cluster.kubectl("delete", "node", node, "--ignore-not-found", check=False)
            netns.delete()
