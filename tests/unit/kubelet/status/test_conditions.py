"""The kubelet's pod conditions (status/generate.go) and the status built from them."""

from __future__ import annotations

from pyk8s.kubelet.status import containers as cs
from pyk8s.kubelet.status.conditions import kubelet_conditions
from pyk8s.kubelet.status.podstatus import generate

T = "2026-01-01T00:00:00Z"


def st(name: str, state: dict, *, ready: bool = False, started: bool | None = None) -> dict:
    return cs.container_status(name, image="i", image_id="i", container_id="c", state=state, ready=ready,
                               started=started)


def pod(**spec: object) -> dict:
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}], **spec}}


def by_type(conds: list) -> dict:
    return {c[0]: c[1:] for c in conds}


def test_all_ready() -> None:
    conds = kubelet_conditions(pod(), [], [st("a", cs.running(T), ready=True), st("b", cs.running(T), ready=True)],
                               "Running", True)
    assert [c[0] for c in conds] == ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                     "PodScheduled"]
    assert all(c[1] == "True" for c in conds)


def test_unready_and_unknown_containers_are_named_as_go_prints_a_list() -> None:
    p = pod(containers=[{"name": "a"}, {"name": "b"}, {"name": "c"}])
    conds = by_type(kubelet_conditions(p, [], [st("a", cs.running(T)), st("b", cs.running(T))], "Running", True))
    message = "containers with unknown status: [c], containers with unready status: [a b]"
    assert conds["ContainersReady"] == ("False", "ContainersNotReady", message)
    assert conds["Ready"] == ("False", "ContainersNotReady", message)


def test_readiness_gates_hold_ready() -> None:
    p = pod(readinessGates=[{"conditionType": "x/lb"}, {"conditionType": "x/dns"}])
    p["status"] = {"conditions": [{"type": "x/dns", "status": "False"}]}
    ready = [st("a", cs.running(T), ready=True), st("b", cs.running(T), ready=True)]
    conds = by_type(kubelet_conditions(p, [], ready, "Running", True))
    assert conds["ContainersReady"][0] == "True"
    assert conds["Ready"] == ("False", "ReadinessGatesNotReady",
                              'corresponding condition of pod readiness gate "x/lb" does not exist., '
                              'the status of pod readiness gate "x/dns" is not "True", but False')


def test_terminal_phases() -> None:
    done = [st("a", cs.terminated(0, started_at=T, finished_at=T)), st("b", cs.terminated(1, started_at=T,
                                                                                         finished_at=T))]
    failed = by_type(kubelet_conditions(pod(), [], done, "Failed", False))
    assert failed["ContainersReady"] == ("False", "PodFailed", "") and failed["Ready"] == ("False", "PodFailed", "")
    assert failed["PodReadyToStartContainers"][0] == "False"
    succeeded = by_type(kubelet_conditions(pod(), [], done, "Succeeded", False))
    assert succeeded["ContainersReady"] == ("False", "PodCompleted", "")
    assert succeeded["Initialized"] == ("True", "PodCompleted", "")


def test_initialized_waits_for_init_containers_and_sidecars() -> None:
    p = pod(initContainers=[{"name": "i"}, {"name": "s", "restartPolicy": "Always"}])
    inits = [st("i", cs.running(T)), st("s", cs.running(T), started=False)]
    conds = by_type(kubelet_conditions(p, inits, [], "Pending", True))
    assert conds["Initialized"] == ("False", "ContainersNotInitialized", "containers with incomplete status: [i s]")
    inits = [st("i", cs.terminated(0, started_at=T, finished_at=T), ready=True), st("s", cs.running(T), started=True)]
    assert by_type(kubelet_conditions(p, inits, [], "Pending", True))["Initialized"] == ("True", "", "")
    # Once a regular container started, a restarting sidecar does not un-initialize the pod.
    inits[1] = st("s", cs.waiting("CrashLoopBackOff"))
    regular = [st("a", cs.running(T)), st("b", cs.running(T))]
    assert by_type(kubelet_conditions(p, inits, regular, "Running", True))["Initialized"][0] == "True"


def test_generate_builds_the_whole_status_and_keeps_foreign_fields() -> None:
    p = pod()
    p["status"] = {"qosClass": "BestEffort", "nominatedNodeName": "n2", "phase": "Pending"}
    ready = [st("a", cs.running(T), ready=True), st("b", cs.running(T), ready=True)]
    status = generate(p, statuses=ready, host_ip="10.0.0.1", pod_ips=["10.244.0.5"], start_time=T)
    assert status["phase"] == "Running" and status["qosClass"] == "BestEffort" and status["nominatedNodeName"] == "n2"
    assert status["hostIPs"] == [{"ip": "10.0.0.1"}] and status["podIP"] == "10.244.0.5" and status["startTime"] == T
    assert status["conditions"][2] == {"type": "Ready", "status": "True", "lastProbeTime": None}
    assert status == generate(p, statuses=ready, host_ip="10.0.0.1", pod_ips=["10.244.0.5"], start_time=T)
    assert "initContainerStatuses" not in status
