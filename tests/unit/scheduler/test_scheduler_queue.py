"""Queue semantics driven by a fake clock: ordering, backoff, unschedulable pods and cluster events."""

from __future__ import annotations

import asyncio

from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.queue import SchedulingQueue
from pyk8s.testing.fake_clock import FakeClock

from .builders import pod

NODE_ADD = fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD)
POD_DELETE = fw.ClusterEvent(fw.EventResource.ASSIGNED_POD, fw.ActionType.DELETE)
EVENTS = {
    "NodeResourcesFit": [fw.ClusterEvent(fw.EventResource.ASSIGNED_POD, fw.ActionType.DELETE),
                         fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD)],
    "NodeAffinity": [fw.ClusterEvent(fw.EventResource.NODE, fw.ActionType.ADD | fw.ActionType.UPDATE_NODE_LABEL)],
}


def make() -> tuple[SchedulingQueue, FakeClock]:
    clock = FakeClock()
    return SchedulingQueue(clock=clock, events=EVENTS), clock


def test_priority_then_fifo() -> None:
    q, clock = make()
    q.add(pod("low1", priority=0))
    clock.step(1)
    q.add(pod("high", priority=100))
    clock.step(1)
    q.add(pod("low2", priority=0))
    names = [q.pop_nowait().pod["metadata"]["name"] for _ in range(3)]  # type: ignore[union-attr]
    assert names == ["high", "low1", "low2"]
    assert q.pop_nowait() is None


def test_backoff_doubles_up_to_ten_seconds() -> None:
    q, clock = make()
    q.add(pod("p"))
    durations = []
    for _ in range(6):
        qp = q.pop_nowait()
        assert qp is not None
        durations.append(q.backoff_duration(qp))
        q.add_unschedulable(qp, q.scheduling_cycle, error=True)
        assert q.counts()["backoff"] == 1
        q.flush()
        assert q.pop_nowait() is None  # still backing off
        clock.step(durations[-1])
        q.flush()
    assert durations == [1, 2, 4, 8, 10, 10]


def test_unschedulable_waits_for_a_matching_event() -> None:
    q, clock = make()
    q.add(pod("p"))
    qp = q.pop_nowait()
    assert qp is not None
    qp.unschedulable_plugins = {"NodeAffinity"}
    q.add_unschedulable(qp, q.scheduling_cycle)
    assert q.counts()["unschedulable"] == 1
    assert q.move_all_to_active_or_backoff(POD_DELETE) == 0  # NodeAffinity does not care about pod deletes
    assert q.move_all_to_active_or_backoff(NODE_ADD) == 1
    # Moved while still inside its 1s backoff: it goes to backoff first.
    assert q.counts() == {"active": 0, "backoff": 1, "unschedulable": 0, "in-flight": 0}
    clock.step(1)
    q.flush()
    assert q.pop_nowait() is not None


def test_event_during_cycle_sends_pod_to_backoff_not_unschedulable() -> None:
    q, clock = make()
    q.add(pod("p"))
    qp = q.pop_nowait()
    assert qp is not None
    cycle = q.scheduling_cycle
    q.move_all_to_active_or_backoff(NODE_ADD)  # a node arrived while the pod was being scheduled
    qp.unschedulable_plugins = {"NodeResourcesFit"}
    q.add_unschedulable(qp, cycle)
    assert q.counts()["backoff"] == 1


def test_unschedulable_timeout_flushes_pod_back() -> None:
    q, clock = make()
    q.add(pod("p"))
    qp = q.pop_nowait()
    assert qp is not None
    qp.unschedulable_plugins = {"NodeAffinity"}
    q.add_unschedulable(qp, q.scheduling_cycle)
    clock.step(299)
    q.flush()
    assert q.counts()["unschedulable"] == 1
    clock.step(2)
    q.flush()
    assert q.counts()["active"] == 1


def test_delete_and_done_forget_the_pod() -> None:
    q, _ = make()
    q.add(pod("a"))
    q.add(pod("b"))
    q.delete(pod("a"))
    qp = q.pop_nowait()
    assert qp is not None and qp.pod["metadata"]["name"] == "b"
    q.done(qp.key)
    q.add_unschedulable(qp, q.scheduling_cycle)  # ignored: no longer in flight
    assert q.counts() == {"active": 0, "backoff": 0, "unschedulable": 0, "in-flight": 0}


async def test_pop_waits_for_add_and_run_flushes_backoff() -> None:
    q, clock = make()
    waiter = asyncio.create_task(q.pop())
    await asyncio.sleep(0)
    assert not waiter.done()
    q.add(pod("p"))
    qp = await asyncio.wait_for(waiter, 1)
    q.add_unschedulable(qp, q.scheduling_cycle, error=True)
    runner = asyncio.create_task(q.run())
    try:
        await clock.advance(1.0)
        assert q.counts()["active"] == 1
    finally:
        q.close()
        await clock.advance(1.0)
        await asyncio.wait_for(runner, 1)
