"""The kubelet's own Node: what the host offers, registration, Lease and status.

``describe_host(name, ...)`` reads the machine: capacity (cpu, memory,
ephemeral-storage of the root dir's filesystem, pods 110), allocatable (the
same: no reservations are configured), addresses (InternalIP and Hostname),
nodeInfo (kernel, OS image, architecture, runtime and kubelet versions) and
the well-known labels.

``NodeAgent.run()`` registers the Node (retrying while the API server is
away), then renews the Lease every 10 s and reports status every 10 s
(written on change or every 5 min, by ``nodestatus.NodeStatusReporter``).
Health comes from the runtime: Ready needs the runtime and its network
ready; until the node's pod CIDR (from node IPAM) is written as the CNI
config the node is NotReady with upstream's network-not-ready message.
``NodeHealth`` extras (``warnings``) let the kubelet say loudly that pods are
not isolated with the process runtime.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import platform
import subprocess
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyk8s.api.core_v1.helpers.timestamps import format_time
from pyk8s.client.rest import REQUEST_ERRORS, Client
from pyk8s.kubelet import nodelease, nodestatus
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]

KUBELET_VERSION = "v1.32.0"
MAX_PODS = 110
NETWORK_NOT_READY = ("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                     "message:Network plugin returns error: cni plugin not initialized")
RUNTIME_NOT_READY = "container runtime is down"
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def _meminfo_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _os_image() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def host_ip() -> str:
    """The host's first global IPv4 address (what pods and other nodes reach it at), else loopback."""
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show", "scope", "global"], capture_output=True,
                             text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return "127.0.0.1"
    for line in out.splitlines():
        fields = line.split()
        if "inet" in fields:
            return fields[fields.index("inet") + 1].split("/")[0]
    return "127.0.0.1"


def describe_host(name: str, *, root_dir: pathlib.Path, runtime_version: str, address: str = "",
                  labels: Mapping[str, str] | None = None, taints: tuple[Mapping[str, Any], ...] = (),
                  port: int = nodestatus.KUBELET_PORT) -> nodestatus.NodeDescription:
    root_dir.mkdir(parents=True, exist_ok=True)
    fs = os.statvfs(root_dir)
    capacity = {"cpu": str(os.cpu_count() or 1), "memory": f"{_meminfo_bytes() // 1024}Ki",
                "ephemeral-storage": f"{fs.f_blocks * fs.f_frsize // 1024}Ki", "pods": str(MAX_PODS),
                "hugepages-2Mi": "0", "hugepages-1Gi": "0"}
    arch = ARCH.get(platform.machine(), platform.machine())
    info = {"machineID": _read("/etc/machine-id"), "systemUUID": _read("/sys/class/dmi/id/product_uuid"),
            "bootID": _read("/proc/sys/kernel/random/boot_id"), "kernelVersion": platform.release(),
            "osImage": _os_image(), "containerRuntimeVersion": runtime_version, "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": arch}
    return nodestatus.NodeDescription(
        name=name, addresses=(("InternalIP", address or host_ip()), ("Hostname", name)),
        capacity=capacity, allocatable=dict(capacity), node_info=info,
        labels={**nodestatus.default_labels(name, arch=arch), **(labels or {})}, taints=taints, kubelet_port=port)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


@dataclass
class NodeAgent:
    """Registration, Lease and status of one node; ``node`` is the Node as last stored."""

    client: Client
    runtime: ri.RuntimeService
    images: ri.ImageService
    description: nodestatus.NodeDescription
    clock: Clock = REAL_CLOCK
    on_pod_cidr: Callable[[str], Awaitable[None]] | None = None
    extra_not_ready: Callable[[], str] = lambda: ""
    pressure: Callable[[], dict[str, bool]] = dict  # node-pressure eviction: NodeHealth's *_pressure fields
    lease_interval: float = nodelease.RENEW_INTERVAL
    status_interval: float = nodestatus.UPDATE_INTERVAL
    node: Obj = field(default_factory=dict)
    registered: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.leases = nodelease.NodeLeases(self.client, clock=self.clock)
        self.reporter = nodestatus.NodeStatusReporter(self.client, clock=self.clock)
        self._pod_cidr = ""

    @property
    def name(self) -> str:
        return self.description.name

    async def run(self) -> None:
        await self._register()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._every(self.lease_interval, self._renew_lease))
            tg.create_task(self._every(self.status_interval, self.update_status))

    async def _register(self) -> None:
        health = await self.health()
        conditions = nodestatus.node_conditions(health, None, format_time(self.clock.now()))
        node = nodestatus.node_object(self.description, conditions)
        await nodelease.ensure_namespace(self.client)
        self.node = await nodestatus.register_retrying(
            f"node {self.name}", lambda: nodestatus.register(self.client, node), clock=self.clock)
        self.reporter.written(self.name, (self.node.get("status") or {}))
        self.registered.set()
        log.info("node %s registered", self.name)
        await self._observe_pod_cidr(self.node)

    async def _every(self, interval: float, step: Callable[[], Awaitable[object]]) -> None:
        while True:
            try:
                await step()
            except REQUEST_ERRORS as exc:
                log.warning("node %s: %s", self.name, exc)
            await self.clock.sleep(interval)

    async def _renew_lease(self) -> None:
        await self.leases.renew(self.name, str((self.node.get("metadata") or {}).get("uid", "")))

    async def health(self) -> nodestatus.NodeHealth:
        try:
            status = await self.runtime.status()
        except ri.RuntimeServiceError as exc:
            return nodestatus.NodeHealth(ready=False, not_ready_message=f"{RUNTIME_NOT_READY}: {exc}")
        if not status.runtime_ready:
            return nodestatus.NodeHealth(ready=False, not_ready_message=RUNTIME_NOT_READY)
        if not status.network_ready:
            return nodestatus.NodeHealth(ready=False, not_ready_message=NETWORK_NOT_READY)
        extra = self.extra_not_ready()
        return nodestatus.NodeHealth(ready=not extra, not_ready_message=extra, **self.pressure())

    async def update_status(self) -> None:
        stored = await self.client.get(nodestatus.NODES, self.name)
        await self._observe_pod_cidr(stored)
        previous = (self.reporter.last_status(self.name) or {}).get("conditions")
        conditions = nodestatus.node_conditions(await self.health(), previous, format_time(self.clock.now()))
        status = nodestatus.node_status(self.description, conditions)
        status["images"] = await self._images()
        updated = await self.reporter.report(self.name, status)
        self.node = updated or stored

    async def _images(self) -> list[Obj]:
        try:
            images = await self.images.list_images()
        except ri.RuntimeServiceError:
            return []
        largest = sorted(images, key=lambda img: -img.size)[:50]  # upstream reports the 50 largest
        return [{"names": [*img.repo_digests, *img.repo_tags], "sizeBytes": img.size} for img in largest]

    async def _observe_pod_cidr(self, node: Obj) -> None:
        cidr = str((node.get("spec") or {}).get("podCIDR") or "")
        if cidr and cidr != self._pod_cidr and self.on_pod_cidr is not None:
            await self.on_pod_cidr(cidr)
            self._pod_cidr = cidr
