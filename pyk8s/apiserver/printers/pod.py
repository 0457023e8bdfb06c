"""The Pod row: READY, STATUS, RESTARTS and the wide columns.

STATUS is not the phase: it is the most telling reason among the pod, its init
containers and its containers, in kubectl's order of precedence:

1. the phase, overridden by ``status.reason`` and by a SchedulingGated
   PodScheduled condition;
2. the first init container that has not finished cleanly (``Init:<reason>``,
   ``Init:ExitCode:N``, ``Init:i/n``), skipping started sidecars;
3. otherwise the containers from last to first: a waiting or terminated reason
   wins; ``Completed`` with a container still running reads Running/NotReady;
4. a deletion timestamp on a non-terminal pod reads ``Terminating`` (or
   ``Unknown`` when the node was lost).

RESTARTS adds ``(<age> ago)`` from the latest last-termination time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyk8s.apiserver.printers.cells import NONE, Obj, dig
from pyk8s.apiserver.printers.duration import parse_time, since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register, wide

NODE_LOST = "NodeLost"

COLUMNS = [
    name_column(),
    Column("Ready", description="Ready containers out of all containers (sidecars included)."),
    Column("Status", description="The most telling state of the pod and its containers."),
    Column("Restarts", description="Container restarts, and how long ago the last one happened."),
    age_column(),
    wide("IP", "The pod's first IP address."),
    wide("Node", "The node the pod is bound to."),
    wide("Nominated Node", "The node the scheduler nominated after preemption."),
    wide("Readiness Gates", "Readiness gates whose condition is True, out of all gates."),
]


def _is_sidecar(spec: Obj | None) -> bool:
    return spec is not None and spec.get("restartPolicy") == "Always"


def _condition_true(status: Obj, ctype: str) -> bool:
    return any(c.get("type") == ctype and c.get("status") == "True" for c in status.get("conditions") or [])


class _Restarts:
    """Restart count plus the latest last-termination time seen."""

    def __init__(self) -> None:
        self.count = 0
        self.last: datetime | None = None

    def add(self, cs: Obj) -> None:
        self.count += int(cs.get("restartCount") or 0)
        finished = parse_time(dig(cs, "lastState", "terminated", "finishedAt"))
        if finished is not None and (self.last is None or finished > self.last):
            self.last = finished


def _terminated_reason(term: Obj, prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + term["reason"]
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def _init_reason(pod: Obj, ready: list[int], all_restarts: _Restarts, sidecar_restarts: _Restarts) -> str | None:
    """Walk init containers; return the Init:... reason, or None if initialised."""
    spec_inits = pod.get("spec", {}).get("initContainers") or []
    by_name = {c.get("name"): c for c in spec_inits}
    for i, cs in enumerate(dig(pod, "status", "initContainerStatuses", default=[])):
        all_restarts.add(cs)
        sidecar = _is_sidecar(by_name.get(cs.get("name")))
        if sidecar:
            sidecar_restarts.add(cs)
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready[0] += 1
            continue
        if term is not None:
            return _terminated_reason(term, "Init:")
        if waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            return "Init:" + waiting["reason"]
        return f"Init:{i}/{len(spec_inits)}"
    return None


def pod_status(pod: Obj) -> tuple[str, int, int, _Restarts]:
    """(STATUS, ready containers, total containers, restarts) of a pod."""
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    phase = status.get("phase", "")
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    total = len(spec.get("containers") or []) + sum(1 for c in spec.get("initContainers") or [] if _is_sidecar(c))
    ready = [0]
    restarts, sidecar_restarts = _Restarts(), _Restarts()
    init_reason = _init_reason(pod, ready, restarts, sidecar_restarts)
    if init_reason is not None:
        reason = init_reason
    if init_reason is None or _condition_true(status, "Initialized"):
        restarts = sidecar_restarts
        reason = _container_reason(status, reason, ready, restarts)
    if pod.get("metadata", {}).get("deletionTimestamp"):
        if status.get("reason") == NODE_LOST:
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return reason, ready[0], total, restarts


def _container_reason(status: Obj, reason: str, ready: list[int], restarts: _Restarts) -> str:
    has_running = False
    for cs in reversed(status.get("containerStatuses") or []):
        restarts.add(cs)
        state = cs.get("state") or {}
        waiting, term = state.get("waiting"), state.get("terminated")
        if waiting is not None and waiting.get("reason"):
            reason = waiting["reason"]
        elif term is not None:
            reason = _terminated_reason(term)
        elif cs.get("ready") and state.get("running") is not None:
            has_running = True
            ready[0] += 1
    if reason == "Completed" and has_running:
        reason = "Running" if _condition_true(status, "Ready") else "NotReady"
    return reason


def _readiness_gates(pod: Obj) -> str:
    gates = dig(pod, "spec", "readinessGates", default=[])
    if not gates:
        return NONE
    conditions = {c.get("type"): c.get("status") for c in dig(pod, "status", "conditions", default=[])}
    true = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
    return f"{true}/{len(gates)}"


def _conditions(pod: Obj) -> list[Obj]:
    phase = dig(pod, "status", "phase", default="")
    if phase == "Succeeded":
        return [
            {
                "type": "Completed",
                "status": "True",
                "reason": "Succeeded",
                "message": "The pod has completed successfully.",
            }
        ]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    return []


@register("", "Pod", COLUMNS, conditions=_conditions)
def pod_row(pod: Obj, now: datetime) -> list[Any]:
    reason, ready, total, restarts = pod_status(pod)
    restarts_cell = str(restarts.count)
    if restarts.count and restarts.last is not None:
        restarts_cell = f"{restarts.count} ({since(restarts.last.isoformat(), now)} ago)"
    status = pod.get("status") or {}
    ips = status.get("podIPs") or []
    ip = (ips[0].get("ip") if ips else status.get("podIP")) or NONE
    meta = pod.get("metadata") or {}
    return [
        meta.get("name", ""),
        f"{ready}/{total}",
        reason,
        restarts_cell,
        since(meta.get("creationTimestamp"), now),
        ip,
        dig(pod, "spec", "nodeName") or NONE,
        status.get("nominatedNodeName") or NONE,
        _readiness_gates(pod),
    ]
