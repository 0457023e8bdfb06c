"""Stopping containers and pods (upstream ``killContainer`` / ``killPodWithSyncResult``).

A container is stopped with a grace period: the pod's
``deletionGracePeriodSeconds``, else ``terminationGracePeriodSeconds`` (a
probe's own ``terminationGracePeriodSeconds`` wins when that probe caused
the kill), else 2 s; an explicit override (``kubectl delete --grace-period``)
wins over all.  The preStop hook runs first and its time counts against the
grace period; a sidecar then waits for its turn (the app containers and the
sidecars declared after it stop first); whatever remains, but never under
2 s, is the StopContainer timeout (SIGTERM, then SIGKILL).  A pod's running
containers stop concurrently, then every sandbox of the pod stops.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pyk8s.kubelet.kuberuntime import hooks
from pyk8s.kubelet.kuberuntime.podactions import REASON_LIVENESS_PROBE, REASON_STARTUP_PROBE
from pyk8s.kubelet.kuberuntime.podstatus import ContainerStatus, PodStatus
from pyk8s.kubelet.kuberuntime.results import Action, Event, Reason, SyncResult, normal, warning
from pyk8s.kubelet.kuberuntime.sandbox import format_pod
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.status.phase import is_sidecar
from pyk8s.util.clock import Clock

Obj = dict[str, Any]
MIN_GRACE = 2
DEFAULT_GRACE = 30


def field_path(pod: Obj, name: str) -> str:
    spec = pod.get("spec") or {}
    for key in ("containers", "initContainers", "ephemeralContainers"):
        if any(c.get("name") == name for c in spec.get(key) or []):
            return f"spec.{key}{{{name}}}"
    return ""


def container_spec(pod: Obj, name: str) -> Obj | None:
    spec = pod.get("spec") or {}
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            if c.get("name") == name:
                return c
    return None


def grace_period(pod: Obj, container: Obj, reason: str) -> int:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    if meta.get("deletionGracePeriodSeconds") is not None:
        return int(meta["deletionGracePeriodSeconds"])
    if spec.get("terminationGracePeriodSeconds") is None:
        return MIN_GRACE
    probe = {REASON_LIVENESS_PROBE: "livenessProbe", REASON_STARTUP_PROBE: "startupProbe"}.get(reason)
    own = (container.get(probe) or {}).get("terminationGracePeriodSeconds") if probe else None
    return int(own) if own is not None else int(spec["terminationGracePeriodSeconds"])


class TerminationOrdering:
    """Sidecars stop after the app containers and after the sidecars declared later than them."""

    def __init__(self, pod: Obj, running: list[str]) -> None:
        self.done = {name: asyncio.Event() for name in running}
        sidecars = [c.get("name", "") for c in (pod.get("spec") or {}).get("initContainers") or [] if is_sidecar(c)]
        mains = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
        self.waits_for: dict[str, list[str]] = {}
        for i, name in enumerate(sidecars):
            self.waits_for[name] = [n for n in mains + sidecars[i + 1:] if n in self.done]

    async def wait_for_turn(self, name: str, seconds: float, clock: Clock) -> float:
        deps = [self.done[n].wait() for n in self.waits_for.get(name, [])]
        if not deps:
            return 0.0
        start = clock.monotonic()
        await _race(asyncio.gather(*deps), clock.sleep(seconds))
        return clock.monotonic() - start

    def terminated(self, name: str) -> None:
        if name in self.done:
            self.done[name].set()


async def _race(*aws: Any) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Killer:
    def __init__(self, runtime: ri.RuntimeService, clock: Clock, http_get: hooks.HTTPGetter) -> None:
        self.runtime, self.clock, self.http_get = runtime, clock, http_get

    async def kill_container(self, pod: Obj, current: ContainerStatus, *, message: str = "", reason: str = "",
                             grace_override: int | None = None, ordering: TerminationOrdering | None = None,
                             pod_ip: str = "") -> tuple[list[Event], str]:
        """Stops one container; returns (events, "" or the KillContainerError message)."""
        spec = container_spec(pod, current.name) or _spec_from_labels(current)
        path = field_path(pod, current.name)
        events = [normal("Killing", message or f"Stopping container {current.name}", path)]
        grace = grace_override if grace_override is not None else grace_period(pod, spec, reason)
        pre_stop = (spec.get("lifecycle") or {}).get("preStop")
        if pre_stop and grace > 0:
            grace -= await self._pre_stop(pod, current, spec, pre_stop, grace, pod_ip, events)
        if ordering is not None and grace > 0:
            grace -= int(await ordering.wait_for_turn(current.name, grace, self.clock))
        grace = max(grace, MIN_GRACE) if grace_override is None else grace_override
        error = ""
        try:
            await self.runtime.stop_container(current.id, grace)
        except ri.NotFoundError:
            pass
        except ri.RuntimeServiceError as exc:
            error = str(exc)
        if ordering is not None:
            ordering.terminated(current.name)
        return events, error

    async def _pre_stop(self, pod: Obj, current: ContainerStatus, spec: Obj, handler: Obj, grace: int,
                        pod_ip: str, events: list[Event]) -> int:
        start = self.clock.monotonic()
        outcome: list[str] = []

        async def run() -> None:
            outcome.append(await hooks.run_hook(handler, runtime=self.runtime, container_id=current.id,
                                                container=spec, pod_ref=format_pod(pod), pod_ip=pod_ip,
                                                http_get=self.http_get, clock=self.clock))

        await _race(run(), self.clock.sleep(grace))
        if outcome and outcome[0]:
            events.append(warning("FailedPreStopHook", "PreStopHook failed", field_path(pod, current.name)))
        return int(self.clock.monotonic() - start)

    async def kill_pod(self, pod: Obj, status: PodStatus, grace_override: int | None = None) -> SyncResult:
        result = SyncResult()
        running = status.running()
        ordering = TerminationOrdering(pod, [c.name for c in running])
        pod_ip = status.ips[0] if status.ips else ""

        async def one(current: ContainerStatus) -> None:
            step = result.add(Action.KILL_CONTAINER, current.name)
            events, error = await self.kill_container(pod, current, grace_override=grace_override,
                                                      ordering=ordering, pod_ip=pod_ip)
            result.events.extend(events)
            if error:
                step.fail(Reason.KILL_CONTAINER, error)

        await asyncio.gather(*(one(c) for c in running))
        for sandbox in status.sandboxes:
            step = result.add(Action.KILL_POD_SANDBOX, sandbox.id)
            try:
                await self.runtime.stop_pod_sandbox(sandbox.id)
            except ri.NotFoundError:
                pass
            except ri.RuntimeServiceError as exc:
                step.fail(Reason.KILL_POD_SANDBOX, str(exc))
        return result


def _spec_from_labels(current: ContainerStatus) -> Obj:
    """A container the pod no longer declares: what its annotations remember (name, grace, preStop)."""
    spec: Obj = {"name": current.name}
    if current.info is not None and current.info.pre_stop:
        spec["lifecycle"] = {"preStop": current.info.pre_stop}
    return spec
