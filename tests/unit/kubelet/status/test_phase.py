"""Pod phase from container statuses, as the kubelet's getPhase."""

from __future__ import annotations

import pytest

from pyk8s.kubelet.status import containers as cs
from pyk8s.kubelet.status.phase import pod_phase

T = "2026-01-01T00:00:00Z"


def pod(policy: str = "Always", inits: tuple[dict, ...] = ()) -> dict:
    return {"spec": {"restartPolicy": policy, "containers": [{"name": "a"}, {"name": "b"}],
                     "initContainers": list(inits)}}


def st(name: str, state: dict, last: dict | None = None, started: bool | None = None) -> dict:
    return cs.container_status(name, image="i", image_id="i", container_id="c", state=state, last_state=last,
                               started=started)


RUN = cs.running(T)
WAIT = cs.waiting("ContainerCreating")
OK = cs.terminated(0, started_at=T, finished_at=T)
BAD = cs.terminated(1, started_at=T, finished_at=T)
CRASHLOOP = cs.waiting("CrashLoopBackOff")


def test_running_needs_every_container_known() -> None:
    assert pod_phase(pod(), [], [st("a", RUN), st("b", RUN)]) == "Running"
    assert pod_phase(pod(), [], [st("a", RUN)]) == "Pending"
    assert pod_phase(pod(), [], [st("a", RUN), st("b", WAIT)]) == "Pending"


@pytest.mark.parametrize(("policy", "b_state", "expected"), [
    ("Always", OK, "Running"),  # all stopped, restarting
    ("OnFailure", OK, "Succeeded"),
    ("OnFailure", BAD, "Running"),
    ("Never", OK, "Succeeded"),
    ("Never", BAD, "Failed"),
])
def test_all_stopped_follows_restart_policy(policy: str, b_state: dict, expected: str) -> None:
    assert pod_phase(pod(policy), [], [st("a", OK), st("b", b_state)]) == expected


def test_crashloop_counts_as_stopped_and_terminal_pods_finish() -> None:
    looping = [st("a", CRASHLOOP, last={"terminated": {"exitCode": 1}}), st("b", OK)]
    assert pod_phase(pod("Always"), [], looping) == "Running"
    assert pod_phase(pod("Always"), [], [st("a", OK), st("b", BAD)], terminal=True) == "Failed"
    assert pod_phase(pod("Always"), [], [st("a", OK), st("b", OK)], terminal=True) == "Succeeded"


def test_init_containers_hold_pending_and_fail_never_pods() -> None:
    inits = ({"name": "i"},)
    assert pod_phase(pod("Always", inits), [st("i", RUN)], []) == "Pending"
    assert pod_phase(pod("Never", inits), [st("i", BAD)], []) == "Failed"
    assert pod_phase(pod("Always", inits), [st("i", BAD)], []) == "Pending"
    assert pod_phase(pod("Always", inits), [st("i", OK)], [st("a", RUN), st("b", RUN)]) == "Running"


def test_sidecar_must_start_before_the_pod_runs() -> None:
    inits = ({"name": "s", "restartPolicy": "Always"},)
    regular = [st("a", RUN), st("b", RUN)]
    assert pod_phase(pod("Always", inits), [st("s", RUN, started=False)], []) == "Pending"
    assert pod_phase(pod("Always", inits), [st("s", RUN, started=True)], regular) == "Running"
    # A restarting sidecar does not send an initialized pod back to Pending... unless it is waiting.
    assert pod_phase(pod("Always", inits), [st("s", RUN, started=False)], regular) == "Running"
    # Terminated sidecars are ignored once the regular containers are done.
    assert pod_phase(pod("Never", inits), [st("s", BAD)], [st("a", OK), st("b", OK)]) == "Succeeded"
