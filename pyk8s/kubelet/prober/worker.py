"""One probe worker: one container, one probe type, probing every period (upstream ``prober/worker.go``).

Each tick the worker reads the container as the kubelet last saw it and
decides, in upstream's order:

1. no container yet, or the pod is terminal: nothing to probe (a terminal
   pod ends the worker);
2. a new container ID (the container restarted): start over from the probe
   type's initial value — readiness Failure, liveness Success, startup
   Unknown — and leave any hold;
3. on hold (liveness or startup already failed this container, which the
   kubelet is about to kill): wait for the new container;
4. not running: readiness is Failure; nothing else to do;
5. the pod is being deleted: liveness and startup count as Success so a
   terminating container is not restarted;
6. liveness and readiness wait until the container has started (its
   startup probe passed); the startup probe stops once it has;
7. within ``initialDelaySeconds`` of the container's start: keep the
   initial value;
8. probe; a failed run is reported at once (the Unhealthy event), but the
   stored result flips only after ``failureThreshold`` failures (or
   ``successThreshold`` successes) in a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pyk8s.kubelet.prober import actions
from pyk8s.kubelet.prober.actions import Result
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.util.clock import Clock

Obj = Mapping[str, Any]
LIVENESS, READINESS, STARTUP = "Liveness", "Readiness", "Startup"
PROBE_FIELDS = {LIVENESS: "livenessProbe", READINESS: "readinessProbe", STARTUP: "startupProbe"}
INITIAL = {LIVENESS: Result.SUCCESS, READINESS: Result.FAILURE, STARTUP: Result.UNKNOWN}


@dataclass(frozen=True, slots=True)
class ContainerView:
    """The container as the kubelet last saw it."""

    container_id: str
    running: bool
    started_at: float  # seconds since the epoch; 0 when not running
    pod_ip: str
    pod_terminal: bool = False
    pod_deleting: bool = False


class Host(Protocol):
    """What a worker needs from its manager."""

    runtime: ri.RuntimeService
    clock: Clock

    def view(self, uid: str, name: str) -> ContainerView | None: ...
    def started(self, container_id: str, container: Obj) -> bool: ...
    def set_result(self, uid: str, probe_type: str, container_id: str, result: Result) -> None: ...
    def probe_failed(self, pod: Obj, container: Obj, probe_type: str, output: str) -> None: ...


def probe_timing(probe: Obj) -> tuple[float, float, int, int, int]:
    """(period, timeout, initial delay, success threshold, failure threshold) with upstream's defaults."""
    return (float(probe.get("periodSeconds") or 10), float(probe.get("timeoutSeconds") or 1),
            int(probe.get("initialDelaySeconds") or 0), int(probe.get("successThreshold") or 1),
            int(probe.get("failureThreshold") or 3))


class Worker:
    def __init__(self, host: Host, pod: Obj, container: Obj, probe_type: str) -> None:
        self.host, self.pod, self.container, self.probe_type = host, pod, container, probe_type
        self.uid = str((pod.get("metadata") or {}).get("uid", ""))
        self.probe: Obj = container.get(PROBE_FIELDS[probe_type]) or {}
        self.container_id = ""
        self.on_hold = False
        self.last: Result | None = None
        self.run_length = 0

    async def run(self) -> None:
        period = probe_timing(self.probe)[0]
        while await self.tick():
            await self.host.clock.sleep(period)

    async def tick(self) -> bool:
        """One probe period; False ends the worker."""
        view = self.host.view(self.uid, str(self.container.get("name", "")))
        if view is None or not view.container_id:
            return True
        if view.pod_terminal:
            return False
        if view.container_id != self.container_id:
            self._reset(view.container_id)
        if self.on_hold:
            return True
        if not view.running:
            if self.probe_type == READINESS:
                self._set(Result.FAILURE)
            return True
        if view.pod_deleting and self.probe_type in (LIVENESS, STARTUP):
            self._set(Result.SUCCESS)
            return True
        if self._waiting_for_start(view):
            return True
        await self._probe(view)
        return True

    def _reset(self, container_id: str) -> None:
        self.container_id, self.on_hold, self.last, self.run_length = container_id, False, None, 0
        self._set(INITIAL[self.probe_type])

    def _waiting_for_start(self, view: ContainerView) -> bool:
        started = self.host.started(view.container_id, self.container)
        if self.probe_type == STARTUP and started:
            return True
        if self.probe_type != STARTUP and not started:
            return True
        delay = probe_timing(self.probe)[2]
        return self.host.clock.now().timestamp() - view.started_at < delay

    async def _probe(self, view: ContainerView) -> None:
        _, timeout, _, success_threshold, failure_threshold = probe_timing(self.probe)
        target = actions.Target(view.container_id, self.container, view.pod_ip)
        outcome = await actions.run(self.probe, target, self.host.runtime, timeout)
        if outcome.result == Result.UNKNOWN:
            return  # an error running the probe (not a probe failure) changes nothing, as upstream
        if outcome.result == Result.FAILURE:
            self.host.probe_failed(self.pod, self.container, self.probe_type, outcome.output)
        self.run_length = self.run_length + 1 if outcome.result == self.last else 1
        self.last = outcome.result
        threshold = failure_threshold if outcome.result == Result.FAILURE else success_threshold
        if self.run_length < threshold:
            return
        self._set(outcome.result)
        if outcome.result == Result.FAILURE and self.probe_type in (LIVENESS, STARTUP):
            # The kubelet restarts this container; probing it again would only repeat the verdict.
            self.on_hold, self.run_length = True, 0

    def _set(self, result: Result) -> None:
        self.host.set_result(self.uid, self.probe_type, self.container_id, result)

