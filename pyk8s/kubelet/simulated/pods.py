"""The kubelet's part for pods bound to simulated nodes.

One ``PodSimulator`` serves every simulated node: the agent's single pod
informer (indexed by ``spec.nodeName``) enqueues keys of pods on our nodes
into one ``Controller`` queue, and ``sync`` converges each pod:

* a bound pod is "started" at once: phase Running, IPs, conditions, container
  statuses (init containers terminated Completed, sidecars running);
* ``sim.pyk8s.io/ready-after-seconds`` delays readiness;
  ``sim.pyk8s.io/run-seconds`` / ``sim.pyk8s.io/exit-code`` make the
  containers exit; the restartPolicy then decides: Never -> Succeeded/Failed,
  OnFailure (non-zero) and Always -> restart, at once the first time, then
  after CrashLoopBackOff (10 s doubling to 5 min, as the kubelet);
* a pod with a deletionTimestamp is confirmed (DELETE, grace 0, uid
  precondition) after min(grace period, ``deletion_cap``).

The simulated runtime state of a pod (``PodRun``: start times, restarts,
back-off) lives in memory keyed by uid; ``sync`` returns the delay to the
next transition, which the controller turns into ``add_after`` (no timer or
task per pod).  Everything a real kubelet also decides comes from the shared
kubelet modules: the back-off from ``pyk8s.kubelet.backoff``, container
statuses, phase and conditions from ``pyk8s.kubelet.status``, and the write
(only when changed) and the deletion confirmation from its
``StatusManager``.  What stays here is the simulation: when containers
"exit", and pod IPs from the node's podCIDR.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyk8s.api.core_v1.helpers.timestamps import format_time
from pyk8s.client.errors import ApiError
from pyk8s.client.rest import Client
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.informer import SharedInformer
from pyk8s.client.tools.store import DeletedFinalStateUnknown, meta_key
from pyk8s.kubelet.backoff import Backoff, crashloop_message
from pyk8s.kubelet.nodestatus import NODES
from pyk8s.kubelet.simulated.nodes import SimNode
from pyk8s.kubelet.status import containers, podstatus
from pyk8s.kubelet.status.manager import StatusManager
from pyk8s.kubelet.status.phase import is_sidecar
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]
#: Formats a monotonic instant as the wall time (API timestamp) it corresponds to.
WallClock = Callable[[float], str]

RUN_SECONDS = "sim.pyk8s.io/run-seconds"
EXIT_CODE = "sim.pyk8s.io/exit-code"
READY_AFTER = "sim.pyk8s.io/ready-after-seconds"
FAKE_POD_NETWORK = ipaddress.IPv4Network("10.244.0.0/16")
NODE_INDEX = "node"
CIDR_RECHECK = 2.0  # seconds between reads of a node that has no podCIDR yet


def _float_annotation(pod: Obj, key: str) -> float | None:
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(key)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _exit_code(pod: Obj) -> int:
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(EXIT_CODE, "0")
    try:
        return int(value)
    except ValueError:
        return 1


@dataclass
class PodRun:
    """The simulated runtime state of one pod (what a container runtime would know)."""

    uid: str
    started: float  # monotonic: the pod's start
    start_time: str  # wall: status.startTime
    run_started: float  # monotonic: the current container run's start
    run_started_at: str
    restarts: int = 0
    state: str = "running"  # running | backoff | terminated
    backoff_until: float = 0.0
    backoff_delay: float = 0.0  # the CrashLoopBackOff delay in force
    exited_at: float = 0.0  # monotonic: the last exit
    last_terminated: Obj | None = None
    terminated: Obj | None = None  # the final termination (Never, or OnFailure with 0)
    ip: str = ""
    node: str = ""


class PodIPs:
    """Per-node pod address pools: the node's podCIDR, else a fake /24 by node index."""

    def __init__(self) -> None:
        self.used: dict[str, set[str]] = {}

    @staticmethod
    def network(node: SimNode) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        if node.pod_cidr:
            return ipaddress.ip_network(node.pod_cidr, strict=False)
        # 10.244.<i>.0/24 for the first 256 nodes, then on into 10.245.0.0/16 and beyond.
        base = int(FAKE_POD_NETWORK.network_address) + node.index * 256
        return ipaddress.IPv4Network((base, 24))

    def allocate(self, node: SimNode, preferred: str = "") -> str:
        used = self.used.setdefault(node.name, set())
        if preferred and preferred not in used:
            used.add(preferred)
            return preferred
        net = self.network(node)
        for offset in range(2, min(net.num_addresses - 1, 1 << 16)):
            ip = str(net.network_address + offset)
            if ip not in used:
                used.add(ip)
                return ip
        raise RuntimeError(f"no pod addresses left on node {node.name}")

    def release(self, node_name: str, ip: str) -> None:
        self.used.get(node_name, set()).discard(ip)


class PodSimulator:
    def __init__(self, client: Client, informer: SharedInformer, nodes: dict[str, SimNode], *,
                 clock: Clock = REAL_CLOCK, workers: int = 32, deletion_cap: float = 1.0,
                 client_of: Callable[[str], Client] | None = None) -> None:
        self.client = client
        # Each node writes its pods' status with its own client when it has one (system:node:<name>).
        self.client_of = client_of or (lambda name: client)
        self.informer = informer
        self.nodes = nodes
        self.clock = clock
        self.deletion_cap = deletion_cap
        self.runs: dict[str, PodRun] = {}  # by pod key
        self.deleting: dict[str, float] = {}  # pod key -> monotonic time the deletion was seen
        self.ips = PodIPs()
        self.backoff = Backoff()  # CrashLoopBackOff, keyed by pod uid
        self._status: dict[int, StatusManager] = {}
        self.controller = Controller("simulated-pods", self.sync, workers=workers, informers=[informer], clock=clock)
        informer.add_event_handler(on_add=self._on_pod, on_update=lambda old, new: self._on_pod(new),
                                   on_delete=self._on_delete)

    def status(self, node_name: str) -> StatusManager:
        client = self.client_of(node_name)
        if id(client) not in self._status:
            self._status[id(client)] = StatusManager(client)
        return self._status[id(client)]

    # --- events ------------------------------------------------------------------------

    def _on_pod(self, pod: Obj) -> None:
        if (pod.get("spec") or {}).get("nodeName") in self.nodes:
            self.controller.queue.add(meta_key(pod))

    def _on_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if (pod.get("spec") or {}).get("nodeName") in self.nodes:
            self.controller.queue.add(meta_key(pod))

    def resync_node(self, name: str) -> None:
        """Requeue every pod of a node (after it resumes)."""
        for pod in self.informer.store.by_index(NODE_INDEX, name):
            self.controller.queue.add(meta_key(pod))

    async def run(self) -> None:
        await self.controller.run()

    # --- sync --------------------------------------------------------------------------

    async def sync(self, key: str) -> float | None:
        pod = self.informer.store.get(key)
        run = self.runs.get(key)
        if pod is None or (run is not None and run.uid != pod["metadata"].get("uid")):
            self._forget(key)
            if pod is None:
                return None
        node = self.nodes.get((pod.get("spec") or {}).get("nodeName") or "")
        if node is None or node.stopped:
            return None  # a stopped kubelet does nothing
        if pod["metadata"].get("deletionTimestamp"):
            return await self._confirm_deletion(key, pod)
        run = self.runs.get(key)
        if run is None:
            if not node.pod_cidr and not (pod.get("spec") or {}).get("hostNetwork"):
                await self._learn_pod_cidr(node)
            run = self._start(key, pod, node)
        if run is None:
            return None
        wait = advance(run, pod, self.clock.monotonic(), self._wall, self.backoff)
        generated = pod_status(pod, run, node, self.clock.monotonic())
        await self.status(node.name).set_status(pod, generated, format_time(self.clock.now()))
        return wait

    async def _learn_pod_cidr(self, node: SimNode) -> None:
        """Read the node's podCIDR (node IPAM sets it just after registration) before its first pod
        needs an address, so agents in separate processes never hand out the same pod IPs."""
        now = self.clock.monotonic()
        if now - node.cidr_checked < CIDR_RECHECK:
            return
        node.cidr_checked = now
        try:
            obj = await self.client_of(node.name).get(NODES, node.name)
        except ApiError as exc:
            log.debug("reading node %s for its podCIDR: %s", node.name, exc)
            return
        node.pod_cidr = (obj.get("spec") or {}).get("podCIDR") or node.pod_cidr

    def _wall(self, mono: float) -> str:
        """The wall time of a monotonic instant (events happen on the monotonic axis)."""
        return format_time(self.clock.now() - datetime.timedelta(seconds=self.clock.monotonic() - mono))

    def _start(self, key: str, pod: Obj, node: SimNode) -> PodRun | None:
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            return None  # finished before we knew it (an agent restart): leave it
        now = self.clock.monotonic()
        # After an agent restart, carry on from what the pod's status says (times, restarts, IP).
        first: Obj = next(iter(status.get("containerStatuses") or []), {})
        running_since = ((first.get("state") or {}).get("running") or {}).get("startedAt")
        run = PodRun(uid=pod["metadata"].get("uid", ""), started=now,
                     start_time=status.get("startTime") or self._wall(now), run_started=now,
                     run_started_at=running_since or self._wall(now), node=node.name,
                     restarts=int(first.get("restartCount") or 0),
                     last_terminated=(first.get("lastState") or {}).get("terminated"))
        if (pod.get("spec") or {}).get("hostNetwork"):
            run.ip = node.ip  # host-network pods share the node's address
        else:
            run.ip = self.ips.allocate(node, status.get("podIP") or "")
        self.runs[key] = run
        return run

    def _forget(self, key: str) -> None:
        run = self.runs.pop(key, None)
        self.deleting.pop(key, None)
        if run is None:
            return
        self.backoff.forget(run.uid)
        if run.ip:
            self.ips.release(run.node, run.ip)  # a host-network pod's node IP was never in the pool

    async def _confirm_deletion(self, key: str, pod: Obj) -> float | None:
        now = self.clock.monotonic()
        seen = self.deleting.setdefault(key, now)
        grace = pod["metadata"].get("deletionGracePeriodSeconds")
        wait = min(float(grace if grace is not None else 30), self.deletion_cap)
        left = seen + wait - now
        if left > 0:
            return left
        await self.status(str((pod.get("spec") or {}).get("nodeName") or "")).confirm_deletion(pod)
        self._forget(key)
        return None


# --- the simulated container lifecycle ---------------------------------------------------


def advance(run: PodRun, pod: Obj, now: float, wall: WallClock, backoff: Backoff) -> float | None:
    """Move ``run`` through every transition due by ``now``; the seconds to the next one (or None).

    Restarts follow the kubelet's ``doBackOff``: the first exit restarts at once, later ones wait
    in CrashLoopBackOff for the armed delay.  All containers of a simulated pod run and exit
    together, so the pod's uid is the back-off key."""
    run_for = _float_annotation(pod, RUN_SECONDS)
    policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    while True:
        if run.state == "running" and run_for is not None:
            ends = run.run_started + run_for
            if now < ends:
                return _sooner(ends - now, _ready_wait(run, pod, now))
            code = _exit_code(pod)
            done = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                    "startedAt": run.run_started_at, "finishedAt": wall(ends)}
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                run.state, run.terminated = "terminated", done
                return None
            run.last_terminated, run.exited_at = done, ends
            run.backoff_delay = backoff.get(run.uid) if backoff.in_backoff_since(run.uid, ends, ends) else 0.0
            run.state, run.backoff_until = "backoff", ends + run.backoff_delay
            continue
        if run.state == "backoff":
            if now < run.backoff_until:
                return run.backoff_until - now
            backoff.next(run.uid, run.exited_at, run.backoff_until)
            run.restarts += 1
            run.state, run.run_started = "running", run.backoff_until
            run.run_started_at = wall(run.backoff_until)
            continue
        if run.state == "running":
            return _ready_wait(run, pod, now)
        return None


def _ready_wait(run: PodRun, pod: Obj, now: float) -> float | None:
    delay = _float_annotation(pod, READY_AFTER)
    if delay is None:
        return None
    left = run.run_started + delay - now
    return left if left > 0 else None


def _sooner(a: float | None, b: float | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def _containers_ready(run: PodRun, pod: Obj, now: float) -> bool:
    if run.state != "running":
        return False
    delay = _float_annotation(pod, READY_AFTER)
    return delay is None or now >= run.run_started + delay


def _state(run: PodRun, pod: Obj, name: str, cid: str) -> Obj:
    if run.state == "running":
        return containers.running(run.run_started_at)
    if run.state == "backoff":
        return containers.waiting("CrashLoopBackOff", crashloop_message(run.backoff_delay, name, pod))
    term = run.terminated or {}
    return containers.terminated(int(term.get("exitCode", 0)), started_at=term.get("startedAt", ""),
                                 finished_at=term.get("finishedAt", ""), reason=term.get("reason", ""),
                                 container_id=cid)


def _status(run: PodRun, pod: Obj, c: Obj, ready: bool) -> Obj:
    cid = f"sim://{run.uid}-{c['name']}"
    last = None
    if run.last_terminated is not None:
        last = {"terminated": {**run.last_terminated, "containerID": cid}}
    return containers.container_status(c["name"], image=c.get("image", ""), image_id=f"sim://{c.get('image', '')}",
                                       container_id=cid, state=_state(run, pod, c["name"], cid), last_state=last,
                                       ready=ready, restart_count=run.restarts)


def container_statuses(pod: Obj, run: PodRun, now: float) -> list[Obj]:
    ready = _containers_ready(run, pod, now)
    return [_status(run, pod, c, ready) for c in (pod.get("spec") or {}).get("containers") or []]


def init_container_statuses(pod: Obj, run: PodRun, now: float) -> list[Obj]:
    """Ordinary init containers completed at the pod's start; sidecars run with the app containers."""
    ready = _containers_ready(run, pod, now)
    out = []
    for c in (pod.get("spec") or {}).get("initContainers") or []:
        if is_sidecar(c):
            out.append(_status(run, pod, c, ready))
            continue
        cid = f"sim://{run.uid}-{c['name']}"
        done = containers.terminated(0, started_at=run.start_time, finished_at=run.start_time, container_id=cid)
        out.append(containers.container_status(c["name"], image=c.get("image", ""),
                                               image_id=f"sim://{c.get('image', '')}", container_id=cid,
                                               state=done, ready=True))
    return out


def pod_status(pod: Obj, run: PodRun, node: SimNode, now: float) -> Obj:
    """The status a kubelet would generate for ``pod`` in state ``run`` (before the status manager's merge)."""
    return podstatus.generate(pod, statuses=container_statuses(pod, run, now),
                              init_statuses=init_container_statuses(pod, run, now), host_ip=node.ip,
                              pod_ips=[run.ip] if run.ip else [], start_time=run.start_time,
                              sandbox_ready=run.state != "terminated")
