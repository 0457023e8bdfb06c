"""The process wiring, driven through its informer handlers with a fake client (no sockets)."""

from __future__ import annotations

from typing import Any

from pyk8s.scheduler.scheduler import KubeScheduler
from pyk8s.testing.fake_clock import FakeClock

from .builders import node, pod


class FakeClient:
    def __init__(self) -> None:
        self.bindings: list[tuple[str, str, str]] = []
        self.patches: list[tuple[str, dict[str, Any], str, str]] = []

    async def bind(self, namespace: str, name: str, node_name: str) -> dict[str, Any]:
        self.bindings.append((namespace, name, node_name))
        return {}

    async def patch(self, rt: Any, name: str, patch: dict[str, Any], *, namespace: str = "", subresource: str = "", **kw: Any) -> dict[str, Any]:
        self.patches.append((name, patch, namespace, subresource))
        return {}


class FakeRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []

    def event(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        self.events.append((obj["metadata"]["name"], type_, reason, message))


def make() -> tuple[KubeScheduler, FakeClient, FakeRecorder]:
    client, recorder = FakeClient(), FakeRecorder()
    sched = KubeScheduler(client, recorder=recorder, clock=FakeClock())  # type: ignore[arg-type]
    return sched, client, recorder


async def test_binds_and_records_scheduled_event() -> None:
    sched, client, recorder = make()
    sched.on_node_add(node("a", cpu="1"))
    sched.on_pod_add(pod("other", schedulerName="my-scheduler"))
    sched.on_pod_add(pod("gated", schedulingGates=[{"name": "wait"}]))
    sched.on_pod_add(pod("p", cpu="500m"))
    qp = sched.queue.pop_nowait()
    assert qp is not None and qp.pod["metadata"]["name"] == "p"
    assert sched.queue.pop_nowait() is None  # the other scheduler's pod and the gated pod were not queued
    follow_up = sched.schedule_next(qp)
    assert follow_up is not None
    await follow_up
    assert client.bindings == [("default", "p", "a")]
    assert recorder.events == [("p", "Normal", "Scheduled", "Successfully assigned default/p to a")]
    # The informer then reports the pod assigned: the cache confirms it and the queue forgets it.
    sched.on_pod_update(pod("p", cpu="500m"), pod("p", cpu="500m", node_name="a"))
    info = sched.cache.node_info("a")
    assert info is not None and info.requested["cpu"] == 500 and not sched.cache.is_assumed(qp.pod)


async def test_failure_sets_condition_and_a_new_node_wakes_the_pod() -> None:
    sched, client, recorder = make()
    sched.on_node_add(node("a", cpu="1"))
    sched.on_pod_add(pod("big", cpu="2"))
    qp = sched.queue.pop_nowait()
    assert qp is not None
    follow_up = sched.schedule_next(qp)
    assert follow_up is not None
    await follow_up
    message = ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
               "1 No preemption victims found for incoming pod..")
    assert recorder.events == [("big", "Warning", "FailedScheduling", message)]
    name, patch, namespace, subresource = client.patches[0]
    cond = patch["status"]["conditions"][0]
    assert (name, namespace, subresource) == ("big", "default", "status")
    assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == ("PodScheduled", "False", "Unschedulable", message)
    assert sched.queue.counts()["unschedulable"] == 1
    # A label-only change on a node does not help NodeResourcesFit; a new node does.
    old = node("a", cpu="1")
    sched.on_node_update(old, node("a", cpu="1", labels={"x": "y"}))
    assert sched.queue.counts()["unschedulable"] == 1
    sched.on_node_add(node("b", cpu="4"))
    assert sched.queue.counts()["unschedulable"] == 0
