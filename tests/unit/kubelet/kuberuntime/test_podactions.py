"""compute_pod_actions decides like upstream's computePodActions."""

from __future__ import annotations

from pyk8s.kubelet.kuberuntime import labels, podactions
from pyk8s.kubelet.kuberuntime.podstatus import ContainerStatus, PodStatus
from pyk8s.kubelet.runtime import interface as ri

from .conftest import ctr, make_pod

RUNNING, EXITED, UNKNOWN, CREATED = (ri.ContainerState.RUNNING, ri.ContainerState.EXITED,
                                     ri.ContainerState.UNKNOWN, ri.ContainerState.CREATED)


def _sandbox(state: ri.SandboxState = ri.SandboxState.READY, ip: str = "10.244.0.9", attempt: int = 0,
             sid: str = "sb1") -> ri.PodSandbox:
    return ri.PodSandbox(id=sid, metadata=ri.PodSandboxMetadata("web", "default", "uid-1", attempt), state=state,
                         created_at=1, ip=ip)


def _status(*containers: ContainerStatus, sandboxes: list[ri.PodSandbox] | None = None) -> PodStatus:
    return PodStatus(uid="uid-1", sandboxes=[_sandbox()] if sandboxes is None else sandboxes,
                     containers=list(containers))


def _c(name: str, state: ri.ContainerState, exit_code: int = 0, spec: dict | None = None,
       reason: str = "") -> ContainerStatus:
    return ContainerStatus(id=f"id-{name}", name=name, state=state, created_at=1, exit_code=exit_code, reason=reason,
                           hash=labels.container_hash(spec or ctr(name)))


class Probes:
    def __init__(self, liveness: dict | None = None, startup: dict | None = None) -> None:
        self._l, self._s = liveness or {}, startup or {}

    def liveness(self, cid: str) -> bool | None:
        return self._l.get(cid)

    def startup(self, cid: str) -> bool | None:
        return self._s.get(cid)


def test_sandbox_changes() -> None:
    pod = make_pod()
    assert podactions.sandbox_changed(pod, _status(sandboxes=[])) == (True, 0, "")
    assert podactions.sandbox_changed(pod, _status(sandboxes=[_sandbox(ri.SandboxState.NOTREADY, attempt=2)])) == \
        (True, 3, "sb1")
    assert podactions.sandbox_changed(pod, _status(sandboxes=[_sandbox(ip="")]))[0]
    assert not podactions.sandbox_changed(make_pod(hostNetwork=True), _status(sandboxes=[_sandbox(ip="")]))[0]
    two_ready = [_sandbox(sid="a"), _sandbox(sid="b")]
    assert podactions.sandbox_changed(pod, _status(sandboxes=two_ready))[0]


def test_running_pod_needs_nothing() -> None:
    actions = podactions.compute_pod_actions(make_pod(), _status(_c("app", RUNNING)))
    assert (actions.kill_pod, actions.create_sandbox, actions.containers_to_start, actions.containers_to_kill) == \
        (False, False, [], {})


def test_idle_only_when_nothing_is_to_be_done() -> None:
    """``idle`` lets the pod sync tell the PLEG that its view of the runtime needs no further sync."""
    assert podactions.compute_pod_actions(make_pod(), _status(_c("app", RUNNING))).idle
    assert not podactions.compute_pod_actions(make_pod(), _status(_c("app", EXITED, 1))).idle  # a restart is due
    assert not podactions.compute_pod_actions(make_pod(), _status(_c("app", CREATED))).idle  # not started
    assert not podactions.compute_pod_actions(make_pod(), _status(sandboxes=[])).idle
    done = make_pod(restartPolicy="Never")
    assert not podactions.compute_pod_actions(done, _status(_c("app", EXITED, 0))).idle  # the sandbox is to stop


def test_liveness_failure_restarts_per_policy() -> None:
    pod = make_pod(containers=[ctr("app", livenessProbe={"exec": {"command": ["true"]}})])
    status = _status(_c("app", RUNNING))
    actions = podactions.compute_pod_actions(pod, status, Probes(liveness={"id-app": False}))
    kill = actions.containers_to_kill["id-app"]
    assert (kill.message, kill.reason, actions.containers_to_start) == (
        "Container app failed liveness probe, will be restarted", "LivenessProbe", [0])
    never = make_pod(containers=pod["spec"]["containers"], restartPolicy="Never")
    actions = podactions.compute_pod_actions(never, status, Probes(liveness={"id-app": False}))
    assert actions.containers_to_kill["id-app"].message == "Container app failed liveness probe"
    assert actions.kill_pod  # nothing kept, nothing to start


def test_unknown_container_is_killed_before_restart() -> None:
    actions = podactions.compute_pod_actions(make_pod(), _status(_c("app", UNKNOWN)))
    assert actions.containers_to_start == [0]
    assert actions.containers_to_kill["id-app"].message == \
        'Container is in "CONTAINER_UNKNOWN" state, try killing it before restart'


def test_restart_policies() -> None:
    for policy, code, restart in [("Always", 0, True), ("OnFailure", 0, False), ("OnFailure", 1, True),
                                  ("Never", 1, False)]:
        actions = podactions.compute_pod_actions(make_pod(restartPolicy=policy), _status(_c("app", EXITED, code)))
        assert (actions.containers_to_start == [0]) is restart, (policy, code)
        assert actions.kill_pod is not restart
    deleting = make_pod()
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert podactions.compute_pod_actions(deleting, _status(_c("app", EXITED, 1))).kill_pod


def test_new_sandbox_restarts_from_first_init_or_skips_succeeded() -> None:
    pod = make_pod(init=[ctr("i1"), ctr("i2")])
    actions = podactions.compute_pod_actions(pod, _status(sandboxes=[]))
    assert (actions.create_sandbox, actions.init_containers_to_start, actions.containers_to_start) == (True, [0], [])
    on_failure = make_pod(restartPolicy="OnFailure", containers=[ctr("a"), ctr("b")])
    dead = [_sandbox(ri.SandboxState.NOTREADY)]
    actions = podactions.compute_pod_actions(on_failure, _status(_c("a", EXITED, 0), _c("b", EXITED, 1),
                                                                 sandboxes=dead))
    assert actions.create_sandbox and actions.containers_to_start == [1]
    done = podactions.compute_pod_actions(make_pod(restartPolicy="Never"), _status(_c("app", EXITED, 0),
                                                                                   sandboxes=dead))
    assert done.kill_pod and not done.create_sandbox


def test_init_progress_and_failures() -> None:
    pod = make_pod(init=[ctr("i1"), ctr("i2")])
    assert podactions.compute_pod_actions(pod, _status()).init_containers_to_start == [0]
    assert podactions.compute_pod_actions(pod, _status(_c("i1", RUNNING))).init_containers_to_start == []
    assert podactions.compute_pod_actions(pod, _status(_c("i1", EXITED, 0))).init_containers_to_start == [1]
    finished = podactions.compute_pod_actions(pod, _status(_c("i2", EXITED, 0), _c("i1", EXITED, 0)))
    assert finished.init_containers_to_start == [] and finished.containers_to_start == [0]
    oom = podactions.compute_pod_actions(pod, _status(_c("i1", EXITED, 0, reason="OOMKilled")))
    assert oom.init_containers_to_start == [0]
    never = make_pod(init=[ctr("i1")], restartPolicy="Never")
    failed = podactions.compute_pod_actions(never, _status(_c("i1", EXITED, 1)))
    assert failed.kill_pod and failed.init_containers_to_start == []
    created = podactions.compute_pod_actions(pod, _status(_c("i1", CREATED)))
    assert created.init_containers_to_start == [0]
    # Once an app container ran, removed init containers are not rerun.
    assert podactions.compute_pod_actions(pod, _status(_c("app", RUNNING))).init_containers_to_start == []


def test_sidecars() -> None:
    sidecar = ctr("proxy", restartPolicy="Always", startupProbe={"exec": {"command": ["true"]}})
    pod = make_pod(init=[sidecar, ctr("migrate")])
    waiting = podactions.compute_pod_actions(pod, _status(_c("proxy", RUNNING, spec=sidecar)), Probes())
    assert waiting.init_containers_to_start == []  # startup probe not run yet
    started = podactions.compute_pod_actions(pod, _status(_c("proxy", RUNNING, spec=sidecar)),
                                             Probes(startup={"id-proxy": True}))
    assert started.init_containers_to_start == [1]
    failed = podactions.compute_pod_actions(pod, _status(_c("proxy", RUNNING, spec=sidecar)),
                                            Probes(startup={"id-proxy": False}))
    assert failed.init_containers_to_start == [0]
    assert failed.containers_to_kill["id-proxy"].message == "Init container proxy failed startup probe"
    # After initialization an exited sidecar is restarted alongside the running app.
    after = podactions.compute_pod_actions(pod, _status(_c("app", RUNNING), _c("migrate", EXITED, 0),
                                                        _c("proxy", EXITED, 1, spec=sidecar)))
    assert after.init_containers_to_start == [0] and not after.kill_pod
    changed = dict(sidecar, image="docker.io/library/busybox:1.37")
    replaced = podactions.compute_pod_actions(make_pod(init=[changed]), _status(_c("proxy", RUNNING, spec=sidecar)),
                                              Probes(startup={"id-proxy": True}))
    assert replaced.containers_to_kill["id-proxy"].message == "Init container proxy definition changed"
