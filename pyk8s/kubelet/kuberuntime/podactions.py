"""What a sync must do, computed from the pod spec and the runtime's view (upstream ``computePodActions``).

A pure function of (pod, runtime PodStatus, probe results):

* a new sandbox is needed when there is none, the newest is not ready, more
  than one is ready, the network mode changed, or it lost its IP; then the
  pod is killed and restarted from its first init container (unless the
  restartPolicy forbids restarting finished containers, or initialization is
  done and nothing is left to start);
* init containers (``init_containers_to_start``): strictly in order; a
  sidecar (restartPolicy Always) counts as done once running (and its startup
  probe passed) and is kept running, restarted when it exits or its
  definition changes; a failed regular init container is retried unless the
  restartPolicy is Never, which kills the pod;
* ephemeral containers (``kubectl debug``): started once, never restarted;
* app containers, once initialized: start those never started or exited and
  allowed to restart by the restartPolicy; kill (and restart) those whose
  spec hash changed, or that failed liveness or startup probes;
* nothing to keep or start: kill the pod.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pyk8s.kubelet.kuberuntime import labels
from pyk8s.kubelet.kuberuntime.podstatus import ContainerStatus, PodStatus
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.status.phase import is_sidecar

Obj = dict[str, Any]
REASON_STARTUP_PROBE = "StartupProbe"
REASON_LIVENESS_PROBE = "LivenessProbe"
REASON_UNKNOWN = ""


class ProbeResults(Protocol):
    """Latest probe verdicts by container ID: True passed, False failed, None not probed yet."""

    def liveness(self, container_id: str) -> bool | None: ...
    def startup(self, container_id: str) -> bool | None: ...


class NoProbes:
    """For a kubelet without a prober: every probe counts as passed."""

    def liveness(self, container_id: str) -> bool | None:
        return True

    def startup(self, container_id: str) -> bool | None:
        return True


@dataclass
class KillInfo:
    name: str
    container: Obj
    message: str
    reason: str = REASON_UNKNOWN


@dataclass
class PodActions:
    kill_pod: bool = False
    create_sandbox: bool = False
    sandbox_id: str = ""
    attempt: int = 0
    init_containers_to_start: list[int] = field(default_factory=list)
    ephemeral_containers_to_start: list[int] = field(default_factory=list)
    containers_to_start: list[int] = field(default_factory=list)
    containers_to_kill: dict[str, KillInfo] = field(default_factory=dict)

    @property
    def idle(self) -> bool:
        """Nothing to do: the runtime already is what the pod asks for."""
        return not (self.kill_pod or self.create_sandbox or self.init_containers_to_start
                    or self.ephemeral_containers_to_start or self.containers_to_start or self.containers_to_kill)


def sandbox_changed(pod: Obj, status: PodStatus) -> tuple[bool, int, str]:
    """(create a new sandbox?, its attempt, the current sandbox's id)."""
    if not status.sandboxes:
        return True, 0, ""
    newest = status.sandboxes[0]
    ready = sum(1 for s in status.sandboxes if s.state == ri.SandboxState.READY)
    host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
    if ready > 1 or newest.state != ri.SandboxState.READY:
        return True, newest.metadata.attempt + 1, newest.id
    if not host_network and not newest.ip:
        return True, newest.metadata.attempt + 1, newest.id
    return False, newest.metadata.attempt, newest.id


def restart_on_failure(pod: Obj) -> bool:
    return (pod.get("spec") or {}).get("restartPolicy", "Always") != "Never"


def should_restart(container: Obj, pod: Obj, status: PodStatus) -> bool:
    """Upstream ``ShouldContainerBeRestarted``."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    current = status.find(container.get("name", ""))
    if current is None:
        return True
    if current.state == ri.ContainerState.RUNNING:
        return False
    if current.state in (ri.ContainerState.UNKNOWN, ri.ContainerState.CREATED):
        return True
    policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
    if policy == "Never":
        return False
    return not (policy == "OnFailure" and current.exit_code == 0)


def _succeeded(container: Obj, status: PodStatus) -> bool:
    current = status.find(container.get("name", ""))
    return current is not None and current.state == ri.ContainerState.EXITED and current.exit_code == 0


def init_failed(status: ContainerStatus) -> bool:
    if status.reason == "OOMKilled":
        return True
    return (status.state == ri.ContainerState.EXITED and status.exit_code != 0) or \
        status.state == ri.ContainerState.UNKNOWN


def hash_changed(container: Obj, status: ContainerStatus) -> bool:
    return labels.container_hash(container) != status.hash


def compute_pod_actions(pod: Obj, status: PodStatus, probes: ProbeResults | None = None) -> PodActions:
    probes = probes or NoProbes()
    spec = pod.get("spec") or {}
    create, attempt, sandbox_id = sandbox_changed(pod, status)
    actions = PodActions(kill_pod=create, create_sandbox=create, sandbox_id=sandbox_id, attempt=attempt)
    if create:
        return _fresh_sandbox(pod, status, actions)
    # Ephemeral containers start even before initialization completes, and never restart.
    actions.ephemeral_containers_to_start = [i for i, c in enumerate(spec.get("ephemeralContainers") or [])
                                             if status.find(c.get("name", "")) is None]
    initialized = _init_actions(pod, status, actions, probes)
    if actions.kill_pod or not initialized:
        return actions
    keep = 0
    for idx, ctr in enumerate(spec.get("containers") or []):
        current = status.find(ctr.get("name", ""))
        if current is None or current.state != ri.ContainerState.RUNNING:
            if should_restart(ctr, pod, status):
                actions.containers_to_start.append(idx)
                if current is not None and current.state == ri.ContainerState.UNKNOWN:
                    actions.containers_to_kill[current.id] = KillInfo(
                        current.name, ctr, f'Container is in "{current.state}" state, try killing it before restart')
            continue
        kill = _why_kill(ctr, current, probes, pod)
        if kill is None:
            keep += 1
            continue
        message, reason, restart = kill
        if restart:
            message = f"{message}, will be restarted"
            actions.containers_to_start.append(idx)
        actions.containers_to_kill[current.id] = KillInfo(current.name, ctr, message, reason)
    if keep == 0 and not actions.containers_to_start:
        actions.kill_pod = True
        actions.init_containers_to_start = []
    return actions


def _why_kill(ctr: Obj, current: ContainerStatus, probes: ProbeResults, pod: Obj) -> tuple[str, str, bool] | None:
    """(message, reason, restart regardless of policy) for a running container to kill, or None to keep it."""
    name = ctr.get("name", "")
    if hash_changed(ctr, current):
        return f"Container {name} definition changed", REASON_UNKNOWN, True
    restart = restart_on_failure(pod)
    if ctr.get("livenessProbe") and probes.liveness(current.id) is False:
        return f"Container {name} failed liveness probe", REASON_LIVENESS_PROBE, restart
    if ctr.get("startupProbe") and probes.startup(current.id) is False:
        return f"Container {name} failed startup probe", REASON_STARTUP_PROBE, restart
    return None


def _fresh_sandbox(pod: Obj, status: PodStatus, actions: PodActions) -> PodActions:
    spec = pod.get("spec") or {}
    if not restart_on_failure(pod) and actions.attempt != 0 and status.containers:
        actions.create_sandbox = False  # finished for good: only kill what is left
        return actions
    to_start = [i for i, c in enumerate(spec.get("containers") or [])
                if not (spec.get("restartPolicy") == "OnFailure" and _succeeded(c, status))]
    if not to_start and _any_regular_created(pod, status):
        actions.create_sandbox = False
        return actions
    if spec.get("initContainers"):
        actions.init_containers_to_start = [0]
        return actions
    actions.containers_to_start = to_start
    return actions


def _any_regular_created(pod: Obj, status: PodStatus) -> bool:
    names = {c.get("name") for c in (pod.get("spec") or {}).get("containers") or []}
    return any(c.name in names for c in status.containers)


def _regular_running(pod: Obj, status: PodStatus) -> bool:
    for ctr in (pod.get("spec") or {}).get("containers") or []:
        current = status.find(ctr.get("name", ""))
        if current is not None and current.state in (ri.ContainerState.CREATED, ri.ContainerState.RUNNING):
            return True
    return False


def _init_actions(pod: Obj, status: PodStatus, actions: PodActions, probes: ProbeResults) -> bool:
    """Fills in init container actions; returns whether initialization is complete."""
    inits = (pod.get("spec") or {}).get("initContainers") or []
    if not inits:
        return True
    state = _InitScan(pod, status, actions, probes, _regular_running(pod, status))
    for i in range(len(inits) - 1, -1, -1):
        if not state.visit(i, inits[i]):
            return False
    if not state.previously_initialized:
        actions.init_containers_to_start.append(0)
    actions.init_containers_to_start.reverse()
    return state.initialized


class _InitScan:
    """Walks the init containers from the last to the first (the latest evidence of progress wins)."""

    def __init__(self, pod: Obj, status: PodStatus, actions: PodActions, probes: ProbeResults,
                 initialized: bool) -> None:
        self.pod, self.status, self.actions, self.probes = pod, status, actions, probes
        self.count = len((pod.get("spec") or {}).get("initContainers") or [])
        self.initialized = initialized
        self.previously_initialized = initialized

    def _start(self, i: int) -> None:
        self.actions.init_containers_to_start.append(i)

    def _kill(self, current: ContainerStatus, ctr: Obj, message: str, reason: str = REASON_UNKNOWN) -> None:
        self.actions.containers_to_kill[current.id] = KillInfo(ctr.get("name", ""), ctr, message, reason)

    def _done(self, i: int) -> None:
        if i == self.count - 1:
            self.initialized = True
        elif not self.previously_initialized:
            self._start(i + 1)

    def visit(self, i: int, ctr: Obj) -> bool:
        """False when the pod must be killed (a failed init container under restartPolicy Never)."""
        current = self.status.find(ctr.get("name", ""))
        sidecar = is_sidecar(ctr)
        if current is None:
            if self.previously_initialized and sidecar:
                self._start(i)
            return True
        if self.previously_initialized and not sidecar:
            return True
        if current.state == ri.ContainerState.CREATED:
            self._start(i)
        elif current.state == ri.ContainerState.RUNNING:
            if sidecar:
                self._running_sidecar(i, ctr, current)
        elif current.state == ri.ContainerState.EXITED:
            if sidecar:
                self._start(i)
            elif init_failed(current):
                if not restart_on_failure(self.pod):
                    return self._kill_pod()
                self._start(i)
            else:
                self._done(i)
        else:
            if not sidecar and not restart_on_failure(self.pod):
                return self._kill_pod()
            self._kill(current, ctr, f'Init container is in "{current.state}" state, try killing it before restart')
            self._start(i)
        self.previously_initialized = True
        return True

    def _kill_pod(self) -> bool:
        self.actions.kill_pod = True
        self.actions.init_containers_to_start = []
        return False

    def _running_sidecar(self, i: int, ctr: Obj, current: ContainerStatus) -> None:
        name = ctr.get("name", "")
        if ctr.get("startupProbe"):
            verdict = self.probes.startup(current.id)
            if verdict is False:
                self._kill(current, ctr, f"Init container {name} failed startup probe", REASON_STARTUP_PROBE)
                self._start(i)
            if verdict is not True:
                return
        self._done(i)
        if hash_changed(ctr, current):
            self._kill(current, ctr, f"Init container {name} definition changed")
            self._start(i)
            return
        if ctr.get("livenessProbe") and self.probes.liveness(current.id) is False:
            self._kill(current, ctr, f"Init container {name} failed liveness probe", REASON_LIVENESS_PROBE)
            self._start(i)
