"""v1 container statuses from the runtime's view: waiting reasons, lastState, readiness, the reason cache."""

from __future__ import annotations

from typing import Any

from pyk8s.kubelet import apistatus
from pyk8s.kubelet.kuberuntime.podstatus import ContainerStatus, PodStatus
from pyk8s.kubelet.kuberuntime.results import Action, SyncResult
from pyk8s.kubelet.runtime import interface as ri

SEC = 1_000_000_000


class Probes:
    def __init__(self, ready: bool = True) -> None:
        self.is_ready = ready

    def started(self, container_id: str, container: Any) -> bool:
        return True

    def ready(self, container_id: str, container: Any, running: bool) -> bool:
        return running and self.is_ready


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"uid": "u1", "name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "nginx"}], **spec}, "status": {}}


def instance(cid: str, state: ri.ContainerState, *, name: str = "app", restarts: int = 0, exit_code: int = 0,
             started: int = 100) -> ContainerStatus:
    return ContainerStatus(id=cid, name=name, state=state, created_at=started * SEC, started_at=started * SEC,
                           finished_at=(started + 5) * SEC if state == ri.ContainerState.EXITED else 0,
                           exit_code=exit_code, reason="Error" if exit_code else "", image="docker.io/library/nginx:1",
                           image_ref="sha256:abc", restart_count=restarts)


def status_of(p: dict[str, Any], runtime: PodStatus, reasons: apistatus.ReasonCache | None = None,
              probes: Probes | None = None) -> dict[str, Any]:
    return apistatus.pod_status(p, runtime, reasons=reasons or apistatus.ReasonCache(), probes=probes or Probes(),
                                runtime_name="containerd", host_ip="10.0.0.1", start_time="2026-01-01T00:00:00Z")


def ready_sandbox() -> ri.PodSandbox:
    return ri.PodSandbox(id="s1", metadata=ri.PodSandboxMetadata("web", "default", "u1", 0),
                         state=ri.SandboxState.READY, created_at=0)


def test_nothing_started_is_container_creating() -> None:
    out = status_of(pod(), PodStatus(uid="u1"))
    assert out["phase"] == "Pending"
    assert out["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}


def test_running_container_with_pod_ip() -> None:
    runtime = PodStatus(uid="u1", sandboxes=[ready_sandbox()], ips=["10.244.0.5"],
                        containers=[instance("c1", ri.ContainerState.RUNNING)])
    out = status_of(pod(), runtime)
    st = out["containerStatuses"][0]
    assert out["phase"] == "Running" and out["podIP"] == "10.244.0.5"
    assert st["state"]["running"]["startedAt"] == "1970-01-01T00:01:40Z"
    assert st["ready"] and st["started"] and st["containerID"] == "containerd://c1"
    assert st["imageID"] == "sha256:abc"
    assert {c["type"]: c["status"] for c in out["conditions"]}["Ready"] == "True"


def test_back_off_shows_crash_loop_with_last_terminated() -> None:
    reasons = apistatus.ReasonCache()
    failed = SyncResult()
    failed.add(Action.START_CONTAINER, "app").fail("CrashLoopBackOff", "back-off 10s restarting failed container")
    reasons.update("u1", failed)
    runtime = PodStatus(uid="u1", sandboxes=[ready_sandbox()],
                        containers=[instance("c2", ri.ContainerState.EXITED, restarts=1, exit_code=2),
                                    instance("c1", ri.ContainerState.EXITED, exit_code=2, started=50)])
    st = status_of(pod(), runtime, reasons)["containerStatuses"][0]
    assert st["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert st["lastState"]["terminated"]["exitCode"] == 2
    assert st["lastState"]["terminated"]["containerID"] == "containerd://c2"
    assert st["restartCount"] == 1 and not st["ready"]
    ok = SyncResult()
    ok.add(Action.START_CONTAINER, "app")
    reasons.update("u1", ok)
    assert reasons.get("u1", "app") is None


def test_readiness_comes_from_the_probes() -> None:
    runtime = PodStatus(uid="u1", sandboxes=[ready_sandbox()], containers=[instance("c1", ri.ContainerState.RUNNING)])
    out = status_of(pod(), runtime, probes=Probes(ready=False))
    assert not out["containerStatuses"][0]["ready"]
    assert {c["type"]: c["status"] for c in out["conditions"]}["Ready"] == "False"


def test_app_containers_wait_while_init_runs() -> None:
    p = pod(initContainers=[{"name": "setup", "image": "busybox"}])
    runtime = PodStatus(uid="u1", sandboxes=[ready_sandbox()],
                        containers=[instance("i1", ri.ContainerState.RUNNING, name="setup")])
    out = status_of(p, runtime)
    assert out["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert out["initContainerStatuses"][0]["state"]["running"]


def test_terminated_container_of_a_never_pod() -> None:
    runtime = PodStatus(uid="u1", sandboxes=[ready_sandbox()],
                        containers=[instance("c1", ri.ContainerState.EXITED, exit_code=0)])
    out = status_of(pod(restartPolicy="Never"), runtime)
    assert out["phase"] == "Succeeded"
    assert out["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
