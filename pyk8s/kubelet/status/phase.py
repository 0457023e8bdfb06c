"""The pod phase from its container statuses, as the kubelet's ``getPhase``.

Inputs: the pod (spec: containers, initContainers, restartPolicy), its
init container and container statuses in API form, and whether the pod is
terminal (every container stopped for good: deletion or eviction).

* Pending while an ordinary init container has not completed, while a
  sidecar (init container with ``restartPolicy: Always``) has not started
  and no regular container has, or while any container waits without having
  run before;
* Failed when an ordinary init container failed and restartPolicy is Never;
* Running when some container runs and every container is known;
* when none runs but some stopped: terminal pods are Succeeded (all exit 0)
  or Failed; otherwise Always -> Running (restarting), all exit 0 ->
  Succeeded, Never -> Failed, OnFailure -> Running (restarting);
* anything else (unknown containers) is Pending.

A container waiting after a previous termination (CrashLoopBackOff) counts
as stopped, not waiting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pyk8s.kubelet.status.containers import last_terminated, state_of

Obj = Mapping[str, Any]


def is_sidecar(container: Obj) -> bool:
    """A restartable init container (``restartPolicy: Always``)."""
    return container.get("restartPolicy") == "Always"


def by_name(statuses: Iterable[Obj]) -> dict[str, Obj]:
    return {s.get("name", ""): s for s in statuses}


def any_regular_started(spec: Obj, statuses: Mapping[str, Obj]) -> bool:
    """``HasAnyRegularContainerStarted``: a regular container runs or has terminated."""
    return any(state_of(statuses.get(c.get("name", ""))) in ("running", "terminated")
               for c in spec.get("containers") or ())


def _init_progress(spec: Obj, statuses: Mapping[str, Obj]) -> tuple[int, int]:
    """(pending, failed) ordinary init containers."""
    pending = failed = 0
    for c in spec.get("initContainers") or ():
        if is_sidecar(c):
            continue
        status = statuses.get(c.get("name", ""))
        kind = state_of(status)
        if kind == "terminated":
            failed += ((status or {}).get("state") or {})["terminated"].get("exitCode", 0) != 0
        elif kind == "waiting" and last_terminated(status) is not None:
            failed += (last_terminated(status) or {}).get("exitCode", 0) != 0
        else:
            pending += 1
    return pending, failed


def pod_phase(pod: Obj, init_statuses: Sequence[Obj], statuses: Sequence[Obj], terminal: bool = False) -> str:
    return phase_of(pod.get("spec") or {}, by_name([*init_statuses, *statuses]), terminal)


def phase_of(spec: Obj, known: Mapping[str, Obj], terminal: bool = False) -> str:
    """``pod_phase`` with the statuses already indexed by container name."""
    pending_init, failed_init = _init_progress(spec, known)
    pending_sidecars = unknown = running = waiting = stopped = succeeded = 0
    for c in spec.get("initContainers") or ():
        if not is_sidecar(c):
            continue
        status = known.get(c.get("name", ""))
        kind = state_of(status)
        if status is None:
            unknown += 1
        elif kind == "running":
            running += 1
            pending_sidecars += not status.get("started")
        elif kind == "waiting":
            waiting += 1
            pending_sidecars += last_terminated(status) is None
        elif kind == "":
            pending_sidecars += 1
            unknown += 1
    for c in spec.get("containers") or ():
        status = known.get(c.get("name", ""))
        kind = state_of(status)
        if status is None or kind == "":
            unknown += 1
        elif kind == "running":
            running += 1
        elif kind == "terminated":
            stopped += 1
            succeeded += (status.get("state") or {})["terminated"].get("exitCode", 0) == 0
        elif last_terminated(status) is not None:
            stopped += 1
        else:
            waiting += 1
    policy = spec.get("restartPolicy") or "Always"
    if failed_init and policy == "Never":
        return "Failed"
    if pending_init or (pending_sidecars and not any_regular_started(spec, known)) or waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if terminal or policy != "Always":
            if stopped == succeeded:
                return "Succeeded"
            if terminal or policy == "Never":
                return "Failed"
        return "Running"
    return "Pending"
