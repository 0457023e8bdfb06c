"""The Node a kubelet registers and the status it keeps reporting.

Contract (upstream's ``kubelet_node_status.go`` and ``nodestatus`` setters):

* ``NodeDescription`` is what the kubelet knows of its node (addresses,
  capacity, allocatable, labels, taints, nodeInfo); ``node_object`` is the
  Node registered (status included: nodes accept status on create) and
  ``node_status`` the status reported;
* ``node_conditions(health, previous, now)``: MemoryPressure, DiskPressure,
  PIDPressure and Ready, worded as upstream; ``lastHeartbeatTime`` is
  ``now``, ``lastTransitionTime`` moves only when a status flips against
  ``previous`` (the conditions last reported);
* status is computed every ``UPDATE_INTERVAL`` (10 s) and written
  (``NodeStatusReporter.report``: a merge patch of ``nodes/status``) only
  when something other than heartbeat times changed, or when
  ``REPORT_INTERVAL`` (5 min) passed since the last write;
* ``register`` creates the Node; if it exists already the kubelet takes it
  over and reports its status; ``register_retrying`` keeps trying while the
  API server is unreachable or busy (429/5xx), 100 ms doubling to 7 s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyk8s.client.errors import ApiError
from pyk8s.client.rest import TRANSPORT_ERRORS, Client
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]

NODES = Client.resource("", "v1", "nodes", namespaced=False)
KUBELET_PORT = 10250
UPDATE_INTERVAL = 10.0
REPORT_INTERVAL = 300.0
REGISTER_BACKOFF_START = 0.1
REGISTER_BACKOFF_MAX = 7.0
RETRIED_CODES = (429, 500, 503, 504)


@dataclass(frozen=True)
class NodeDescription:
    name: str
    addresses: tuple[tuple[str, str], ...]  # (type, address): InternalIP, Hostname ...
    capacity: Mapping[str, str]
    allocatable: Mapping[str, str]
    node_info: Mapping[str, str]
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Mapping[str, Any], ...] = ()
    kubelet_port: int = KUBELET_PORT


@dataclass(frozen=True)
class NodeHealth:
    """What the kubelet's checks say about the node."""

    ready: bool = True
    not_ready_message: str = ""  # why not: "container runtime network not ready: ..."
    memory_pressure: bool = False
    disk_pressure: bool = False
    pid_pressure: bool = False


def default_labels(name: str, os: str = "linux", arch: str = "amd64") -> dict[str, str]:
    """The well-known labels every kubelet sets on its Node."""
    return {"kubernetes.io/arch": arch, "kubernetes.io/hostname": name, "kubernetes.io/os": os,
            "beta.kubernetes.io/arch": arch, "beta.kubernetes.io/os": os}


# Per condition: (reason when False, message when False, reason when True, message when True).
_PRESSURE = {
    "MemoryPressure": ("KubeletHasSufficientMemory", "kubelet has sufficient memory available",
                       "KubeletHasInsufficientMemory", "kubelet has insufficient memory available"),
    "DiskPressure": ("KubeletHasNoDiskPressure", "kubelet has no disk pressure",
                     "KubeletHasDiskPressure", "kubelet has disk pressure"),
    "PIDPressure": ("KubeletHasSufficientPID", "kubelet has sufficient PID available",
                    "KubeletHasInsufficientPID", "kubelet has insufficient PID available"),
}


def _wanted(health: NodeHealth) -> list[tuple[str, bool, str, str]]:
    out: list[tuple[str, bool, str, str]] = []
    for kind, flag in (("MemoryPressure", health.memory_pressure), ("DiskPressure", health.disk_pressure),
                       ("PIDPressure", health.pid_pressure)):
        ok_reason, ok_message, bad_reason, bad_message = _PRESSURE[kind]
        out.append((kind, flag, bad_reason, bad_message) if flag else (kind, flag, ok_reason, ok_message))
    if health.ready:
        out.append(("Ready", True, "KubeletReady", "kubelet is posting ready status"))
    else:
        out.append(("Ready", False, "KubeletNotReady", health.not_ready_message))
    return out


def node_conditions(health: NodeHealth, previous: Sequence[Mapping[str, Any]] | None, now: str) -> list[Obj]:
    """The four kubelet conditions at ``now`` (transition times carried from ``previous`` when unchanged)."""
    before = {c.get("type"): c for c in previous or ()}
    out = []
    for kind, flag, reason, message in _wanted(health):
        status = "True" if flag else "False"
        old = before.get(kind)
        since = old.get("lastTransitionTime") if old and old.get("status") == status else None
        out.append({"type": kind, "status": status, "lastHeartbeatTime": now, "lastTransitionTime": since or now,
                    "reason": reason, "message": message})
    return out


def node_status(desc: NodeDescription, conditions: list[Obj]) -> Obj:
    return {
        "capacity": dict(desc.capacity),
        "allocatable": dict(desc.allocatable),
        "conditions": conditions,
        "addresses": [{"type": kind, "address": address} for kind, address in desc.addresses],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": desc.kubelet_port}},
        "nodeInfo": dict(desc.node_info),
    }


def node_object(desc: NodeDescription, conditions: list[Obj]) -> Obj:
    """The Node to register."""
    spec: Obj = {}
    if desc.taints:
        spec["taints"] = [dict(t) for t in desc.taints]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": desc.name, "labels": dict(desc.labels), "annotations": dict(desc.annotations)},
            "spec": spec, "status": node_status(desc, conditions)}


def _without_heartbeats(status: Mapping[str, Any]) -> Obj:
    conditions = sorted(({k: v for k, v in c.items() if k != "lastHeartbeatTime"}
                         for c in status.get("conditions") or ()), key=lambda c: str(c.get("type")))
    return {**status, "conditions": conditions}


def status_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """``nodeStatusHasChanged``: anything but heartbeat times (and condition order) differs."""
    return old is None or _without_heartbeats(old) != _without_heartbeats(new)


class NodeStatusReporter:
    """Writes node status on change or every ``report_interval``; one instance serves many nodes."""

    def __init__(self, client: Client, *, clock: Clock = REAL_CLOCK, report_interval: float = REPORT_INTERVAL) -> None:
        self.client = client
        self.clock = clock
        self.report_interval = report_interval
        self._last: dict[str, tuple[Obj, float]] = {}  # node -> (status written, monotonic time)

    def last_status(self, name: str) -> Obj | None:
        last = self._last.get(name)
        return last[0] if last else None

    def due(self, name: str, status: Mapping[str, Any]) -> bool:
        last = self._last.get(name)
        if last is None or status_changed(last[0], status):
            return True
        return self.clock.monotonic() - last[1] >= self.report_interval

    def written(self, name: str, status: Obj) -> None:
        """Note that ``status`` is what the API now holds (after registration, say)."""
        self._last[name] = (status, self.clock.monotonic())

    async def report(self, name: str, status: Obj) -> Obj | None:
        """Patch ``nodes/status`` when due; the Node as stored, or None when nothing was written."""
        if not self.due(name, status):
            return None
        updated: Obj = await self.client.patch(NODES, name, {"status": status}, patch_type="merge",
                                               subresource="status")
        self.written(name, status)
        return updated

    def forget(self, name: str) -> None:
        """Forget what was written: the next report writes, and transitions restart from the API's view."""
        self._last.pop(name, None)


async def register(client: Client, node: Obj) -> Obj:
    """Create the Node, or take over an existing one of that name; the Node as stored.

    A stored Node without conditions (an existing one, or a server that drops status on
    create) gets ``node``'s status through the subresource at once; otherwise the caller
    notes the stored status (``NodeStatusReporter.written``) and its next update corrects it."""
    name = node["metadata"]["name"]
    try:
        stored: Obj = await client.create(NODES, node)
    except ApiError as exc:
        if exc.code != 409:
            raise
        stored = await client.get(NODES, name)
    if (stored.get("status") or {}).get("conditions"):
        return stored
    updated: Obj = await client.patch(NODES, name, {"status": node["status"]}, patch_type="merge",
                                      subresource="status")
    return updated


async def register_retrying(what: str, attempt: Callable[[], Awaitable[Any]], *, clock: Clock = REAL_CLOCK) -> Any:
    """Run ``attempt`` until it succeeds; transport errors and 429/5xx are retried with back-off."""
    delay = REGISTER_BACKOFF_START
    while True:
        try:
            return await attempt()
        except asyncio.CancelledError:
            raise
        except TRANSPORT_ERRORS as exc:
            log.warning("registering %s: %s; retrying in %.1fs", what, exc, delay)
        except ApiError as exc:
            if exc.code not in RETRIED_CODES:
                raise
            log.warning("registering %s: %s; retrying in %.1fs", what, exc, delay)
        await clock.sleep(delay)
        delay = min(REGISTER_BACKOFF_MAX, delay * 2)
