"""The kubelet's ``/stats/summary`` (upstream's Summary API, stats/v1alpha1) and ``/metrics/resource``.

Node figures come from the host (``host``): CPU from /proc/stat, memory
from /proc/meminfo (working set = usage less inactive file pages, as
cAdvisor counts it), the filesystem holding the kubelet's root dir, the
image filesystem the runtime reports, the interfaces of the kubelet's
network namespace and the process limit.  Pod and container figures come
from the runtime's container stats (CRI ``ListContainerStats``: cumulative
CPU and the memory working set, which containerd reads from each
container's cgroup, v1 or v2); a pod's CPU and memory are the sums over its
running containers, and its network the interfaces of its sandbox's
namespace (``/proc/<pid>/net/dev`` of one of its containers).
``usageNanoCores`` is the rate between two samples: the runtime's when it
gives one, else the kubelet's own over its previous sample (at least
``MIN_WINDOW`` apart; the first request samples twice).

A container's ``rootfs`` is its writable layer as the runtime reports it
(on the image filesystem).  Not reported: containers' ``logs``, pods'
``ephemeral-storage`` and ``volume`` usage.
"""

from __future__ import annotations

import asyncio
import datetime
import pathlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyk8s.kubelet.kuberuntime import labels
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.stats import host

Obj = dict[str, Any]
MIN_WINDOW = 0.5  # seconds between two CPU samples for a rate
STALE = 60.0  # a previous sample older than this is not used for a rate


def rfc3339(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class CPUSample:
    at: float
    usage_ns: int


@dataclass
class RateTracker:
    """usageNanoCores per key, from cumulative usage samples."""

    previous: dict[str, CPUSample] = field(default_factory=dict)

    def needs_first_sample(self, now: float) -> bool:
        return not self.previous or all(now - s.at > STALE for s in self.previous.values())

    def rate(self, key: str, sample: CPUSample) -> int | None:
        prev = self.previous.get(key)
        if prev is not None and sample.at - prev.at < MIN_WINDOW:
            return None  # too close to the last sample: keep that one as the base
        self.previous[key] = sample
        if prev is None or sample.at - prev.at > STALE or sample.usage_ns < prev.usage_ns:
            return None
        return int((sample.usage_ns - prev.usage_ns) / (sample.at - prev.at))


class StatsProvider:
    def __init__(self, node_name: str, root_dir: pathlib.Path, runtime: ri.RuntimeService, images: ri.ImageService,
                 pods: Callable[[], list[Obj]]) -> None:
        self.node_name, self.root_dir, self.runtime, self.images, self.pods = node_name, root_dir, runtime, images, pods
        self.rates = RateTracker()
        self.last_rates: dict[str, int] = {}
        self.boot = time.time() - float(pathlib.Path("/proc/uptime").read_text().split()[0])

    async def summary(self) -> Obj:
        now = time.time()
        if self.rates.needs_first_sample(now):
            await self._sample_cpu()
            await asyncio.sleep(MIN_WINDOW)
        node_cpu, containers = await self._sample_cpu()
        return {"node": await self._node(node_cpu), "pods": await self._pods(containers)}

    async def _sample_cpu(self) -> tuple[Obj, list[tuple[ri.ContainerStats, ri.Container]]]:
        running = {c.id: c for c in await self.runtime.list_containers(ri.ContainerFilter(
            state=ri.ContainerState.RUNNING))}
        stats = [(s, running[s.id]) for s in await self.runtime.list_container_stats() if s.id in running]
        now = time.time()
        node_usage = await asyncio.to_thread(host.cpu_usage_core_nanoseconds)
        node_cpu = {"time": rfc3339(now), "usageNanoCores": self._rate("node", now, node_usage, 0),
                    "usageCoreNanoSeconds": node_usage}
        for s, _ in stats:
            at = s.timestamp / 1e9 if s.timestamp else now
            self.last_rates[s.id] = self._rate(s.id, at, s.cpu_usage_core_nanoseconds, s.cpu_usage_nano_cores)
        return node_cpu, stats

    def _rate(self, key: str, at: float, usage_ns: int, reported: int) -> int:
        computed = self.rates.rate(key, CPUSample(at, usage_ns))
        if reported:
            value = reported
        elif computed is not None:
            value = computed
        else:
            value = self.last_rates.get(key, 0)
        self.last_rates[key] = value
        return value

    async def _node(self, cpu: Obj) -> Obj:
        stamp = cpu["time"]
        memory, fs, interfaces, (maxpid, procs) = await asyncio.to_thread(self._host_figures)
        image_fs = await self._image_fs()
        if image_fs:
            image_fs = {"time": stamp, **image_fs}
        node: Obj = {"nodeName": self.node_name, "startTime": rfc3339(self.boot), "cpu": cpu,
                     "memory": {"time": stamp, **memory}, "fs": {"time": stamp, **fs},
                     "runtime": {"imageFs": image_fs} if image_fs else {},
                     "rlimit": {"time": stamp, "maxpid": maxpid, "curproc": procs}}
        if interfaces:
            node["network"] = {"time": stamp, **interfaces[0], "interfaces": interfaces}
        return node

    async def _image_fs(self) -> Obj:
        """The runtime's image filesystem: statvfs figures with the runtime's own usage ({} when unknown)."""
        for usage in await self.images.image_fs_info():
            try:
                figures = await asyncio.to_thread(host.fs_stats, usage.mountpoint)
            except OSError:
                continue
            return {**figures, "usedBytes": usage.used_bytes, "inodesUsed": usage.inodes_used}
        return {}

    def _host_figures(self) -> tuple[Obj, Obj, list[Obj], tuple[int, int]]:
        return (host.memory_stats(), host.fs_stats(self.root_dir), host.net_dev(pathlib.Path("/proc/self/net/dev")),
                host.process_counts())

    async def _pods(self, containers: list[tuple[ri.ContainerStats, ri.Container]]) -> list[Obj]:
        by_uid: dict[str, list[tuple[ri.ContainerStats, ri.Container]]] = {}
        for s, c in containers:
            by_uid.setdefault(c.labels.get(labels.POD_UID, ""), []).append((s, c))
        out = []
        for pod in self.pods():
            meta = pod.get("metadata") or {}
            uid = str(meta.get("uid", ""))
            if uid in by_uid:
                out.append(await self._pod(pod, by_uid[uid]))
        return out

    async def _pod(self, pod: Obj, members: list[tuple[ri.ContainerStats, ri.Container]]) -> Obj:
        meta = pod.get("metadata") or {}
        stamp = rfc3339(time.time())
        containers: list[Obj] = []
        image_fs = await self._image_fs()
        for s, c in sorted(members, key=lambda m: m[1].metadata.name):
            containers.append({
                "name": c.metadata.name, "startTime": rfc3339(c.created_at / 1e9),
                "cpu": {"time": stamp, "usageNanoCores": self.last_rates.get(s.id, 0),
                        "usageCoreNanoSeconds": s.cpu_usage_core_nanoseconds},
                "memory": {"time": stamp, "usageBytes": s.memory_usage_bytes,
                           "workingSetBytes": s.memory_working_set_bytes},
            })
            if s.writable_layer_bytes is not None and image_fs:
                # The writable layer lives on the image filesystem: its capacity and free space, as upstream shows.
                containers[-1]["rootfs"] = {"time": stamp, "availableBytes": image_fs["availableBytes"],
                                            "capacityBytes": image_fs["capacityBytes"],
                                            "usedBytes": s.writable_layer_bytes,
                                            "inodesUsed": s.writable_layer_inodes or 0}
        entry: Obj = {
            "podRef": {"name": meta.get("name", ""), "namespace": meta.get("namespace", ""), "uid": meta.get("uid", "")},
            "startTime": (pod.get("status") or {}).get("startTime") or containers[0]["startTime"],
            "containers": containers,
            "cpu": {"time": stamp, "usageNanoCores": sum(c["cpu"]["usageNanoCores"] for c in containers),
                    "usageCoreNanoSeconds": sum(c["cpu"]["usageCoreNanoSeconds"] for c in containers)},
            "memory": {"time": stamp, "usageBytes": sum(c["memory"]["usageBytes"] for c in containers),
                       "workingSetBytes": sum(c["memory"]["workingSetBytes"] for c in containers)},
        }
        interfaces = await self._pod_interfaces(members)
        if interfaces:
            entry["network"] = {"time": stamp, **interfaces[0], "interfaces": interfaces}
        return entry

    async def _pod_interfaces(self, members: list[tuple[ri.ContainerStats, ri.Container]]) -> list[Obj]:
        for _, c in members:
            try:
                status = await self.runtime.container_status(c.id, verbose=True)  # type: ignore[call-arg]
            except ri.RuntimeServiceError:
                continue
            if status.pid:
                try:
                    return await asyncio.to_thread(host.net_dev, pathlib.Path(f"/proc/{status.pid}/net/dev"))
                except OSError:
                    continue
        return []
