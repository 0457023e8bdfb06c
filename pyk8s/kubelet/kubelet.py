"""The kubelet: bound pods in, running containers and their status out.

Assembly (each piece is its own module; this one only wires them):

* ``node.NodeAgent`` registers the Node, renews its Lease, reports status and
  turns the pod CIDR node IPAM assigns into the CNI config;
* static pods from ``--pod-manifest-path`` (``staticpods``), shown in the API
  as mirror pods (``mirrorpods``), join the pods the API binds here;
* a pod informer (``spec.nodeName=<node>``) feeds a ``Controller`` whose
  workers run ``podsync.PodSyncer.sync`` — one worker per pod at a time, the
  latest pod wins, failures requeue (upstream's pod workers);
* ``pleg.PLEG`` relists the runtime every second and queues the pods whose
  containers changed (a container killed from outside is seen within ~1 s);
* ``prober.ProbeManager`` runs the probes; a verdict change queues the pod;
* housekeeping (every 2 s) removes from the node the pods the API no longer
  has, found by the UIDs the runtime reports, and every 30 s returns the
  memory a burst freed to the system (``memory``); ``gc`` removes dead containers
  beyond the newest of each, and unused images when the disk fills;
* ``eviction`` evicts pods above their local ephemeral storage limits
  (emptyDir ``sizeLimit``, ``ephemeral-storage``), checked every 10 s, and
  for node pressure (``--eviction-hard``...: MemoryPressure, DiskPressure,
  PIDPressure, one pod per 10 s; it refuses new pods under pressure);
* events go through one ``EventRecorder`` (component ``kubelet``);
* ``server.app.KubeletServer`` serves the kubelet API (logs, pods, exec,
  attach, port-forward) on port 10250.

Nothing here talks to containers except through ``RuntimeService`` and
``ImageService``, and nothing to the cluster except through the API client.
"""

from __future__ import annotations

import asyncio
import logging
import pathlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pyk8s.client.rest import PODS, Client
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.informer import EventHandler, SharedInformerFactory
from pyk8s.client.tools.store import meta_key
from pyk8s.kubelet import apisources, memory, node, nodestatus
from pyk8s.kubelet.eviction import evict
from pyk8s.kubelet.eviction.thresholds import EvictionConfig, default_config
from pyk8s.kubelet.gc import GarbageCollector, GCPolicy
from pyk8s.kubelet.kuberuntime.manager import RuntimeManager
from pyk8s.kubelet.kuberuntime.settings import RuntimeSettings
from pyk8s.kubelet.mirrorpods import MirrorPods
from pyk8s.kubelet.pleg import PLEG
from pyk8s.kubelet.podsync import RESYNC, PodSyncer
from pyk8s.kubelet.prober.manager import ProbeManager
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.server.app import KubeletServer
from pyk8s.kubelet.server.podlogs import PodLogs
from pyk8s.kubelet.server.streamsource import PodStreams
from pyk8s.kubelet.staticpods import CHECK_PERIOD, StaticPods
from pyk8s.kubelet.stats.summary import StatsProvider
from pyk8s.kubelet.status.manager import StatusManager
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]

# Pods synced at once.  Upstream runs a goroutine per pod; with 8 workers a burst of 30 pods queued behind the
# first 8 (the last pod's sandbox started ~7 s after its creation, while the runtime alone starts 30 at once).
# 32 start a 30-pod burst at once (Running at ~1.1-1.3x the runtime's own 30-at-once floor); a worker for each of
# 110 pods raised the kubelet's RSS with 110 probed pods from 75 to 80 MB (benchmarks/kubelet_bench.py,
# docs/performance.md).
POD_WORKERS = 32
# The kubelet's API connections (its client's pool): HTTP/1.1 needs one per request in flight, and each TLS
# connection holds asyncio's 256 KiB read buffer.  Room for the node's watches (pods, services, and the network
# agents' pods, namespaces, policies, nodes) and a burst's requests; more requests wait for a free connection.
API_CONNECTIONS = 24
HOUSEKEEPING = 2.0
TRIM_EVERY = 15  # housekeeping rounds: every 30 s what bursts freed goes back to the system (``memory``)
NOT_ISOLATED = ("pods on this node are NOT isolated: the process runtime runs containers as plain host "
                "processes (no root or no containerd)")


@dataclass
class KubeletConfig:
    node_name: str
    root_dir: pathlib.Path
    cluster_dns: list[str] = field(default_factory=lambda: ["10.96.0.10"])
    cluster_domain: str = "cluster.local"
    address: str = ""  # the node's InternalIP; default: the host's first global address
    port: int = nodestatus.KUBELET_PORT
    labels: dict[str, str] = field(default_factory=dict)
    isolated: bool = True  # False: the process runtime, which the kubelet announces loudly
    pod_manifest_path: pathlib.Path | None = None  # static pods
    cgroup_root: str = "/kubepods"
    gc: GCPolicy = field(default_factory=GCPolicy)  # --image-gc-*-threshold, --maximum-dead-containers*
    resolv_conf: str = "/etc/resolv.conf"  # --resolv-conf: what dnsPolicy Default pods get
    allowed_unsafe_sysctls: tuple[str, ...] = ()  # --allowed-unsafe-sysctls
    eviction_monitoring_interval: float = 10.0  # local ephemeral storage limits are checked this often
    eviction: EvictionConfig = field(default_factory=default_config)  # --eviction-*: node-pressure eviction
    sync_frequency: float = RESYNC  # --sync-frequency: the periodic pod sync (ConfigMap/Secret volume refresh)
    file_check_frequency: float = CHECK_PERIOD  # --file-check-frequency: static pod manifests are re-read


class Kubelet:
    def __init__(self, client: Client, runtime: ri.RuntimeService, images: ri.ImageService, config: KubeletConfig,
                 *, runtime_version: str, on_pod_cidr: Callable[[str], Awaitable[None]] | None = None,
                 clock: Clock = REAL_CLOCK) -> None:
        self.client, self.runtime, self.config, self.clock = client, runtime, config, clock
        description = node.describe_host(config.node_name, root_dir=config.root_dir, runtime_version=runtime_version,
                                         address=config.address, labels=config.labels, port=config.port)
        self.host_ip = dict(description.addresses)["InternalIP"]
        self.node = node.NodeAgent(client, runtime, images, description, clock=clock, on_pod_cidr=on_pod_cidr)
        self.recorder = EventRecorder(client, component="kubelet", host=config.node_name, clock=clock)
        self.factory = SharedInformerFactory(client, clock=clock)
        self.pod_informer = self.factory.informer(PODS, field_selector=f"spec.nodeName={config.node_name}")
        services = self.factory.informer(apisources.SERVICES)
        settings = RuntimeSettings(root_dir=config.root_dir, node_name=config.node_name, node_ips=[self.host_ip],
                                   cluster_dns=list(config.cluster_dns), cluster_domain=config.cluster_domain,
                                   cgroup_root=config.cgroup_root if config.isolated else "",
                                   resolv_conf=config.resolv_conf, allocatable=dict(description.allocatable))
        self.probes = ProbeManager(runtime, record=self._record, on_change=lambda uid, _kind: self._queue_uid(uid),
                                   clock=clock)
        self.manager = RuntimeManager(runtime, images, apisources.APIObjectSource(client, services), settings,
                                      clock=clock, probes=self.probes)
        self.static: StaticPods | None = None
        mirrors = None
        statuses = StatusManager(client)
        if config.pod_manifest_path is not None:
            self.static = StaticPods(config.pod_manifest_path, config.node_name, self._queue_key, clock=clock,
                                     period=config.file_check_frequency)
            mirrors = MirrorPods(client, self.static, lambda: str((self.node.node.get("metadata") or {}).get("uid", "")),
                                 statuses)
        self.pleg = PLEG(runtime, self._queue_uid, clock=clock, busy=lambda uid: uid in self.syncer.syncing)
        self.syncer = PodSyncer(self.pod_informer.lister, runtime, self.manager, self.probes, statuses,
                                self.recorder, runtime_version.split(":", 1)[0], self.host_ip, clock, mirrors,
                                observed=self.pleg.observed, allowed_unsafe_sysctls=config.allowed_unsafe_sysctls,
                                resync=config.sync_frequency)
        self.pods = Controller("kubelet-pods", self.syncer.sync, workers=POD_WORKERS, informers=[self.pod_informer],
                               clock=clock)
        self.pod_informer.add_event_handler(EventHandler(on_add=self.pods.enqueue, on_update=self._pod_updated,
                                                         on_delete=self.pods.enqueue))
        self.gc = GarbageCollector(runtime, images, policy=config.gc, clock=clock)
        self.local_storage = evict.local_storage(self.pod_informer.store.list, runtime, self.manager, statuses,
                                                 self.recorder, period=config.eviction_monitoring_interval,
                                                 clock=clock)
        self.node_pressure = evict.node_pressure(config.eviction, self.pod_informer.store.list, runtime, images,
                                                 self.manager, statuses, self.recorder, self.gc, clock=clock)
        self.node.pressure, self.syncer.admit = self.node_pressure.pressure, self.node_pressure.admit
        self.server = KubeletServer(config.node_name, [self.host_ip], config.root_dir, client.config.ca_pem,
                                    pods=self.pod_informer.store.list,
                                    logs=PodLogs(self.pod_informer.lister, self.manager),
                                    streams=PodStreams(self.pod_informer.lister, self.manager, runtime),
                                    port=config.port, client=client,
                                    stats=StatsProvider(config.node_name, config.root_dir, runtime, images,
                                                        self.pod_informer.store.list))

    async def run(self) -> None:
        if not self.config.isolated:
            log.warning("%s", NOT_ISOLATED)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.recorder.run())
                tg.create_task(self.node.run())
                await self.node.registered.wait()
                if not self.config.isolated:
                    self.recorder.event(_node_ref(self.config.node_name), "Warning", "PodsNotIsolated", NOT_ISOLATED)
                tg.create_task(self.factory.run())
                tg.create_task(self.pods.run())
                await self.pods.ready.wait()
                if self.static is not None:
                    tg.create_task(self.static.run())
                tg.create_task(self.pleg.run())
                tg.create_task(self.server.run())
                tg.create_task(self._housekeeping())
                tg.create_task(self.gc.run())
                tg.create_task(self.local_storage.run())
                tg.create_task(self.node_pressure.run())
        finally:
            await self.probes.close()

    def _record(self, obj: Any, type_: str, reason: str, message: str) -> None:
        self.recorder.event(dict(obj), type_, reason, message)

    def _pod_updated(self, _old: Obj, new: Obj) -> None:
        if self.syncer.needs_sync(new):
            self.pods.queue.add(meta_key(new))

    def _queue_key(self, key: str) -> None:
        self.pods.queue.add(key)

    def _queue_uid(self, uid: str) -> None:
        key = self.syncer.key_for_uid(uid)
        if key is not None:
            self.pods.queue.add(key)

    async def _housekeeping(self) -> None:
        rounds = 0
        while True:
            await self.clock.sleep(HOUSEKEEPING)
            rounds += 1
            if rounds % TRIM_EVERY == 0:
                memory.trim()
            known = {str((p.get("metadata") or {}).get("uid", "")) for p in self.pod_informer.store.list()}
            if self.static is not None:
                known |= {str(p["metadata"]["uid"]) for p in self.static.pods.values()}
            for uid in self.pleg.pod_uids - known:
                if self.syncer.key_for_uid(uid) is None:
                    await self._remove_orphan(uid)

    async def _remove_orphan(self, uid: str) -> None:
        """Containers of a pod the API does not have (deleted while the kubelet was down): stop and remove them."""
        status = await self.manager.get_pod_status(uid)
        log.info("removing pod %s/%s (%s): not in the API", status.namespace, status.name, uid)
        orphan = {"metadata": {"uid": uid, "name": status.name, "namespace": status.namespace}, "spec": {}}
        try:
            await self.manager.kill_pod(orphan, 0, status)
            await self.manager.remove_pod(uid)
        except ri.RuntimeServiceError as exc:
            log.warning("removing orphaned pod %s: %s", uid, exc)


def _node_ref(name: str) -> Obj:
    return {"kind": "Node", "apiVersion": "v1", "name": name, "uid": name}
