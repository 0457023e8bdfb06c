"""Container and image garbage collection on a node of its own, with upstream's GC flags set to act at once.

The shared node keeps the defaults (one dead instance per container,
images collected above 85 % of the disk), so this module starts a second
kubelet, ``gc-node``, in a network namespace of its own against the shared
control plane, with ``--maximum-dead-containers-per-container=0``,
``--image-gc-high-threshold=1 --image-gc-low-threshold=0`` and
``--minimum-image-ttl-duration=0s``: any disk is "full", so every unused
image goes, without filling the disk.  Garbage collection runs when the
kubelet starts (as upstream's loops do) and then every minute (containers)
and five (images), so the test restarts the kubelet instead of waiting.
The node is cordoned (only pods naming it run there) and deleted at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pyk8s.testing.kubelet import KubeletProcess
from tests.e2e.helpers import wait_until
from tests.e2e.kubelet.conftest import Cluster
from tests.e2e.kubelet.podkit import extra_node

GC_NODE = "gc-node"
NS = "kubelet-gc"
GC_FLAGS = ("--maximum-dead-containers-per-container=0", "--image-gc-high-threshold=1",
            "--image-gc-low-threshold=0", "--minimum-image-ttl-duration=0s", "--registry-port=5000")
IN_USE = "docker.io/library/nginx:1.24"
UNUSED = "docker.io/ikubernetes/myapp:v1"


@pytest.fixture(scope="module")
def gc_node(cluster: Cluster) -> Iterator[KubeletProcess]:
    yield from extra_node(cluster, GC_NODE, NS, GC_FLAGS)


def table(text: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of crictl's table (cells are padded to the header's columns, and may hold spaces)."""
    header, *rows = text.splitlines()
    starts = [header.index(name) for name in columns]
    ends = [*starts[1:], None]
    return [{name: row[a:b].strip() for name, a, b in zip(columns, starts, ends, strict=True)} for row in rows]


def images(kubelet: KubeletProcess) -> set[str]:
    """IMAGE:TAG of every image the node holds."""
    return {f"{r['IMAGE']}:{r['TAG']}" for r in table(kubelet.crictl("images"), ("IMAGE", "TAG", "IMAGE ID", "SIZE"))}


def containers(kubelet: KubeletProcess) -> list[dict[str, str]]:
    """Every container, running or exited."""
    columns = ("CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD")
    return table(kubelet.crictl("ps", "-a"), columns)


def pod(name: str, image: str, command: list[str] | None, restart: str) -> str:
    container = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent"}
    if command:
        container["command"] = command  # type: ignore[assignment]
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
                       "spec": {"nodeName": GC_NODE, "restartPolicy": restart, "terminationGracePeriodSeconds": 1,
                                "containers": [container]}})


def phase(cluster: Cluster, name: str) -> str:
    return str(cluster.kubectl("-n", NS, "get", "pod", name, "-o", "jsonpath={.status.phase}").stdout)


def test_dead_containers_and_unused_images_are_collected_but_not_images_in_use(
        cluster: Cluster, gc_node: KubeletProcess) -> None:
    cluster.kubectl("apply", "-f", "-", input=pod("keeper", IN_USE, None, "Always"))
    cluster.kubectl("apply", "-f", "-", input=pod("finished", UNUSED, ["true"], "Never"))
    wait_until(lambda: phase(cluster, "keeper") == "Running", timeout=120, what="keeper Running")
    wait_until(lambda: phase(cluster, "finished") == "Succeeded", timeout=120, what="finished Succeeded")
    held = images(gc_node)
    assert IN_USE in held and UNUSED in held, held
    assert any(c.get("NAME") == "finished" for c in containers(gc_node))  # dead, not collected yet

    # Garbage collection runs when the kubelet starts.
    gc_node.stop()
    gc_node.start()
    wait_until(lambda: not any(c.get("NAME") == "finished" for c in containers(gc_node)), timeout=120,
               interval=1, what="the dead container removed (limit 0 per container)")
    wait_until(lambda: UNUSED not in images(gc_node), timeout=120, interval=1,
               what="the unused image removed (image filesystem above the 1% threshold)")
    held = images(gc_node)
    assert IN_USE in held, held  # the running container's image stays, however full the disk
    assert "registry.k8s.io/pause:3.9" in held, held  # the sandbox image too
    running = [c for c in containers(gc_node) if c.get("NAME") == "keeper"]
    assert [c.get("STATE") for c in running] == ["Running"], running
    assert phase(cluster, "finished") == "Succeeded"  # collecting its container changes nothing in the API
    restarts = cluster.kubectl("-n", NS, "get", "pod", "keeper", "-o",
                               "jsonpath={.status.containerStatuses[0].restartCount}").stdout
    assert restarts == "0"
