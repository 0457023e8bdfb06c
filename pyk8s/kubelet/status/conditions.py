"""The pod conditions a kubelet owns, as upstream's ``status/generate.go``.

``kubelet_conditions(pod, init_statuses, statuses, phase, sandbox_ready)``
returns, in upstream's order, ``(type, status, reason, message)`` for:

* PodReadyToStartContainers — the sandbox exists with its network;
* Initialized — every ordinary init container completed and every sidecar
  started (True at once when a regular container has started, or the pod
  Succeeded); else False, ContainersNotInitialized, naming the incomplete;
* ContainersReady — every regular container and sidecar is ready; terminal
  pods get False with PodCompleted / PodFailed;
* Ready — ContainersReady, then every readiness gate's condition True
  (False, ReadinessGatesNotReady otherwise);
* PodScheduled — True (the kubelet only runs bound pods).

Lists of names are worded as Go prints a ``[]string``: ``[a b]``.
Transition times are the status manager's job, not this module's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyk8s.api.core_v1.helpers import podready
from pyk8s.kubelet.status.phase import any_regular_started, by_name, is_sidecar

Obj = Mapping[str, Any]
Condition = tuple[str, str, str, str]  # type, status, reason, message


def _names(names: Sequence[str]) -> str:
    return "[" + " ".join(names) + "]"


def _unready_message(unknown: Sequence[str], unready: Sequence[str], what: str) -> str:
    parts = []
    if unknown:
        parts.append(f"containers with unknown status: {_names(unknown)}")
    if unready:
        parts.append(f"containers with {what} status: {_names(unready)}")
    return ", ".join(parts)


def containers_ready(spec: Obj, statuses: Mapping[str, Obj], phase: str) -> Condition:
    unknown: list[str] = []
    unready: list[str] = []
    watched = [c for c in spec.get("initContainers") or () if is_sidecar(c)] + list(spec.get("containers") or ())
    for c in watched:
        status = statuses.get(c.get("name", ""))
        if status is None:
            unknown.append(c.get("name", ""))
        elif not status.get("ready"):
            unready.append(c.get("name", ""))
    if phase == "Failed" or (phase == "Succeeded" and not unknown):
        return (podready.CONTAINERS_READY, "False", "PodFailed" if phase == "Failed" else "PodCompleted", "")
    message = _unready_message(unknown, unready, "unready")
    if message:
        return (podready.CONTAINERS_READY, "False", "ContainersNotReady", message)
    return (podready.CONTAINERS_READY, "True", "", "")


def pod_ready(spec: Obj, current: Obj, containers: Condition) -> Condition:
    """Ready: ContainersReady, then the readiness gates against the pod's current conditions."""
    if containers[1] != "True":
        return (podready.POD_READY, *containers[1:])
    messages = []
    for gate in spec.get("readinessGates") or ():
        kind = gate.get("conditionType", "")
        cond = podready.get_condition(current, kind)
        if cond is None:
            messages.append(f'corresponding condition of pod readiness gate "{kind}" does not exist.')
        elif cond.get("status") != "True":
            messages.append(f'the status of pod readiness gate "{kind}" is not "True", but {cond.get("status")}')
    if messages:
        return (podready.POD_READY, "False", "ReadinessGatesNotReady", ", ".join(messages))
    return (podready.POD_READY, "True", "", "")


def initialized(spec: Obj, statuses: Mapping[str, Obj], phase: str) -> Condition:
    unknown: list[str] = []
    incomplete: list[str] = []
    for c in spec.get("initContainers") or ():
        name = c.get("name", "")
        status = statuses.get(name)
        if status is None:
            unknown.append(name)
        elif not (status.get("started") if is_sidecar(c) else status.get("ready")):
            incomplete.append(name)
    if phase == "Succeeded" and not unknown:
        return (podready.INITIALIZED, "True", "PodCompleted", "")
    if any_regular_started(spec, statuses):
        return (podready.INITIALIZED, "True", "", "")
    message = _unready_message(unknown, incomplete, "incomplete")
    if message:
        return (podready.INITIALIZED, "False", "ContainersNotInitialized", message)
    return (podready.INITIALIZED, "True", "", "")


def kubelet_conditions(pod: Obj, init_statuses: Sequence[Obj], statuses: Sequence[Obj], phase: str,
                       sandbox_ready: bool) -> list[Condition]:
    """Every kubelet-owned condition, in the order upstream appends them."""
    return conditions_of(pod, by_name([*init_statuses, *statuses]), phase, sandbox_ready)


def conditions_of(pod: Obj, known: Mapping[str, Obj], phase: str, sandbox_ready: bool) -> list[Condition]:
    """``kubelet_conditions`` with the statuses already indexed by container name."""
    spec = pod.get("spec") or {}
    ready_to_start = (podready.READY_TO_START_CONTAINERS, "True" if sandbox_ready else "False", "", "")
    containers = containers_ready(spec, known, phase)
    return [ready_to_start, initialized(spec, known, phase), pod_ready(spec, pod, containers), containers,
            (podready.POD_SCHEDULED, "True", "", "")]
