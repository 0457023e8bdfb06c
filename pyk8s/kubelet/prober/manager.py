"""The probe manager: a worker per container per probe, and the verdicts the kubelet reads.

Contract (upstream ``prober_manager.go`` and ``results_manager.go``):

* ``add_pod(pod)`` starts a worker for every liveness, readiness and startup
  probe of the pod's containers and restartable init containers (sidecars);
  ``remove_pod(uid)`` stops them.  Adding a pod twice changes nothing.
* ``observe(uid, name, view)`` tells the workers what the container looks
  like now (the kubelet calls it after every relist of the pod).
* ``liveness(id)``, ``startup(id)``, ``readiness(id)``: the stored verdict for
  a container ID — True, False, or None (not probed yet).  The first two make
  this a ``kuberuntime.podactions.ProbeResults``.
* ``started(id, container)`` and ``ready(id, container, running)`` are the
  ``started`` and ``ready`` fields of the container's status: started once
  running and its startup probe (if any) passed; ready when started and its
  readiness probe (if any) passed.
* Every verdict change calls ``on_change(uid, probe_type)``: liveness and
  startup failures need a pod sync (to restart the container), readiness
  changes a status update.
* Each failed probe run records a Warning ``Unhealthy`` event,
  ``<Type> probe failed: <output>``, through ``record``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from pyk8s.kubelet.prober.actions import Result
from pyk8s.kubelet.prober.worker import LIVENESS, PROBE_FIELDS, READINESS, STARTUP, ContainerView, Worker
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]
Recorder = Callable[[Obj, str, str, str], None]  # (pod, type, reason, message)
OnChange = Callable[[str, str], None]  # (pod uid, probe type)


def probed_containers(pod: Obj) -> list[Obj]:
    """The containers probes apply to: app containers and restartable init containers (sidecars)."""
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    return [*sidecars, *(spec.get("containers") or [])]


class ProbeManager:
    def __init__(self, runtime: ri.RuntimeService, *, record: Recorder, on_change: OnChange,
                 clock: Clock = REAL_CLOCK) -> None:
        self.runtime, self.clock = runtime, clock
        self._record, self._on_change = record, on_change
        self._views: dict[tuple[str, str], ContainerView] = {}
        self._results: dict[str, dict[str, Result]] = {LIVENESS: {}, READINESS: {}, STARTUP: {}}
        self._tasks: dict[str, list[asyncio.Task[None]]] = {}

    # --- pods ---------------------------------------------------------------------------

    def add_pod(self, pod: Obj) -> None:
        uid = str((pod.get("metadata") or {}).get("uid", ""))
        if uid in self._tasks:
            return
        tasks = []
        for container in probed_containers(pod):
            for probe_type, field in PROBE_FIELDS.items():
                if container.get(field):
                    worker = Worker(self, pod, container, probe_type)
                    tasks.append(asyncio.create_task(self._run(worker), name=f"probe-{uid}-{probe_type}"))
        self._tasks[uid] = tasks

    def remove_pod(self, uid: str) -> None:
        for task in self._tasks.pop(uid, []):
            task.cancel()
        for key in [k for k in self._views if k[0] == uid]:
            view = self._views.pop(key)
            for results in self._results.values():
                results.pop(view.container_id, None)

    async def close(self) -> None:
        tasks = [t for ts in self._tasks.values() for t in ts]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def observe(self, uid: str, name: str, view: ContainerView) -> None:
        old = self._views.get((uid, name))
        if old is not None and old.container_id != view.container_id:
            for results in self._results.values():
                results.pop(old.container_id, None)
        self._views[(uid, name)] = view

    async def _run(self, worker: Worker) -> None:
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in one worker must not take the kubelet down
            log.exception("probe worker %s/%s %s failed", worker.uid, worker.container.get("name"),
                          worker.probe_type)

    # --- the worker's Host ----------------------------------------------------------------

    def view(self, uid: str, name: str) -> ContainerView | None:
        return self._views.get((uid, name))

    def set_result(self, uid: str, probe_type: str, container_id: str, result: Result) -> None:
        results = self._results[probe_type]
        if results.get(container_id) == result:
            return
        results[container_id] = result
        self._on_change(uid, probe_type)

    def probe_failed(self, pod: Obj, container: Obj, probe_type: str, output: str) -> None:
        self._record(pod, "Warning", "Unhealthy", f"{probe_type} probe failed: {output}")

    # --- verdicts ---------------------------------------------------------------------------

    def _verdict(self, probe_type: str, container_id: str) -> bool | None:
        result = self._results[probe_type].get(container_id)
        return None if result in (None, Result.UNKNOWN) else result == Result.SUCCESS

    def liveness(self, container_id: str) -> bool | None:
        return self._verdict(LIVENESS, container_id)

    def startup(self, container_id: str) -> bool | None:
        return self._verdict(STARTUP, container_id)

    def readiness(self, container_id: str) -> bool | None:
        return self._verdict(READINESS, container_id)

    def started(self, container_id: str, container: Obj) -> bool:
        if not container.get("startupProbe"):
            return True
        return self.startup(container_id) is True

    def ready(self, container_id: str, container: Obj, running: bool) -> bool:
        if not running or not self.started(container_id, container):
            return False
        if not container.get("readinessProbe"):
            return True
        return self.readiness(container_id) is True
