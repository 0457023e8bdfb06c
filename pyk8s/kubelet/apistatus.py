"""From what the runtime shows to ``v1.PodStatus`` (upstream ``convertToAPIContainerStatuses``).

``pod_status(pod, runtime_status, ...)`` puts the newest instance of every
container (and init container) into API form, then hands them to
``pyk8s.kubelet.status.podstatus.generate`` for the phase and conditions:

* no instance yet: waiting, ``ContainerCreating`` (``PodInitializing`` for
  app containers while init containers run), unless the last sync failed to
  start it — then the failure's reason and message (ErrImagePull,
  ImagePullBackOff, CreateContainerConfigError, CrashLoopBackOff ...);
* running: ``running.startedAt``; ``ready`` and ``started`` from the probes;
* exited: ``terminated`` (exit code, reason, message, times), or, when the
  last sync held back its restart (back-off), waiting ``CrashLoopBackOff``
  with the terminated instance as ``lastState``;
* ``lastState`` otherwise is the instance before the newest, if it ended.

The reasons of the last sync live in a ``ReasonCache`` (upstream's
``reasonCache``): a step that failed sets its container's reason, a step that
succeeded clears it, so a pod keeps showing ImagePullBackOff between syncs.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pyk8s.api.core_v1.helpers.timestamps import format_time
from pyk8s.kubelet.kuberuntime.podstatus import ContainerStatus, PodStatus
from pyk8s.kubelet.kuberuntime.results import Action, SyncResult
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.status import containers as api
from pyk8s.kubelet.status import podstatus

Obj = dict[str, Any]
START_ACTIONS = (Action.START_CONTAINER, Action.INIT_CONTAINER)


class Probes(Protocol):
    def started(self, container_id: str, container: Mapping[str, Any]) -> bool: ...
    def ready(self, container_id: str, container: Mapping[str, Any], running: bool) -> bool: ...


@dataclass(frozen=True, slots=True)
class Waiting:
    reason: str
    message: str


class ReasonCache:
    """The last start failure of each container, by pod UID and container name."""

    def __init__(self) -> None:
        self._reasons: dict[tuple[str, str], Waiting] = {}

    def update(self, uid: str, result: SyncResult) -> None:
        for step in result.steps:
            if step.action not in START_ACTIONS:
                continue
            if step.ok:
                self._reasons.pop((uid, step.target), None)
            else:
                self._reasons[(uid, step.target)] = Waiting(step.error, step.message)

    def get(self, uid: str, name: str) -> Waiting | None:
        return self._reasons.get((uid, name))

    def forget(self, uid: str) -> None:
        for key in [k for k in self._reasons if k[0] == uid]:
            del self._reasons[key]


def _time(ns: int) -> str:
    return format_time(datetime.datetime.fromtimestamp(ns / 1e9, datetime.UTC))


def _terminated(instance: ContainerStatus, runtime_name: str) -> Obj:
    return api.terminated(instance.exit_code, started_at=_time(instance.started_at or instance.created_at),
                          finished_at=_time(instance.finished_at or instance.started_at or instance.created_at),
                          container_id=f"{runtime_name}://{instance.id}", reason=instance.reason,
                          message=instance.message)


def _instances(status: PodStatus, name: str) -> list[ContainerStatus]:
    return [c for c in status.containers if c.name == name]  # newest first


def container_api_status(container: Mapping[str, Any], *, status: PodStatus, uid: str, reasons: ReasonCache,
                         probes: Probes, runtime_name: str, not_started_reason: str) -> Obj:
    name = str(container.get("name", ""))
    image = str(container.get("image", ""))
    instances = _instances(status, name)
    failure = reasons.get(uid, name)
    if not instances:
        state = api.waiting(failure.reason, failure.message) if failure else api.waiting(not_started_reason)
        return api.container_status(name, image=image, image_id="", container_id="", state=state)
    newest = instances[0]
    previous = instances[1] if len(instances) > 1 else None
    last: Obj | None = _terminated(previous, runtime_name) if previous and previous.state == ri.ContainerState.EXITED \
        else None
    running = newest.state == ri.ContainerState.RUNNING
    if running:
        state = api.running(_time(newest.started_at or newest.created_at))
    elif newest.state == ri.ContainerState.EXITED and failure is not None:
        state, last = api.waiting(failure.reason, failure.message), _terminated(newest, runtime_name)
    elif newest.state == ri.ContainerState.EXITED:
        state = _terminated(newest, runtime_name)
    else:
        state = api.waiting(failure.reason, failure.message) if failure else api.waiting("ContainerCreating")
    started = running and probes.started(newest.id, container)
    return api.container_status(
        name, image=newest.image or image, image_id=newest.image_ref, container_id=f"{runtime_name}://{newest.id}",
        state=state, last_state=last, ready=probes.ready(newest.id, container, running), started=started,
        restart_count=newest.restart_count)


def _init_done(pod: Mapping[str, Any], init_statuses: list[Obj]) -> bool:
    by_name = {s["name"]: s for s in init_statuses}
    for ctr in (pod.get("spec") or {}).get("initContainers") or []:
        st = by_name.get(ctr.get("name", "")) or {}
        if ctr.get("restartPolicy") == "Always":
            if not st.get("started"):
                return False
        elif ((st.get("state") or {}).get("terminated") or {}).get("exitCode") != 0:
            return False
    return True


def pod_status(pod: Mapping[str, Any], status: PodStatus, *, reasons: ReasonCache, probes: Probes,
               runtime_name: str, host_ip: str, start_time: str | None, terminal: bool = False) -> Obj:
    """The pod's whole ``status`` as this kubelet sees it now."""
    spec = pod.get("spec") or {}
    uid = str((pod.get("metadata") or {}).get("uid", ""))
    convert = functools.partial(container_api_status, status=status, uid=uid, reasons=reasons, probes=probes,
                                runtime_name=runtime_name)
    init_statuses = [convert(c, not_started_reason="PodInitializing") for c in spec.get("initContainers") or []]
    waiting = "ContainerCreating" if _init_done(pod, init_statuses) else "PodInitializing"
    statuses = [convert(c, not_started_reason=waiting) for c in spec.get("containers") or []]
    # Ephemeral containers (kubectl debug) have no probes: never "ready", as upstream reports them.
    ephemeral = [{**convert(c, not_started_reason="ContainerCreating"), "ready": False}
                 for c in spec.get("ephemeralContainers") or []]
    sandbox_ready = bool(status.sandboxes) and status.sandboxes[0].state == ri.SandboxState.READY
    host_network = bool(spec.get("hostNetwork"))
    pod_ips = [host_ip] if host_network and host_ip else list(status.ips)
    return podstatus.generate(pod, statuses=statuses, init_statuses=init_statuses, ephemeral_statuses=ephemeral,
                              host_ip=host_ip, pod_ips=pod_ips, start_time=start_time, sandbox_ready=sandbox_ready,
                              terminal=terminal)
