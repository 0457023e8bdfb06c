"""Probe workers: initial values, thresholds, holds, start gating and initial delay."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import pytest

from pyk8s.kubelet.prober import worker as w
from pyk8s.kubelet.prober.manager import ProbeManager
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.testing.fake_clock import FakeClock

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class ScriptedExec:
    """exec_sync answers from a script of exit codes (the last one repeats)."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = codes
        self.calls = 0

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int = 0) -> ri.ExecResult:  # noqa: ASYNC109
        code = self.codes[min(self.calls, len(self.codes) - 1)]
        self.calls += 1
        return ri.ExecResult(code, b"out" if code else b"", b"")


def pod_with(container: Mapping[str, Any]) -> dict[str, Any]:
    return {"metadata": {"uid": "u1", "name": "p", "namespace": "default"}, "spec": {"containers": [container]}}


def exec_probe(**timing: int) -> dict[str, Any]:
    return {"exec": {"command": ["check"]}, **{k: v for k, v in timing.items()}}


def setup(container: dict[str, Any], codes: list[int]) -> tuple[ProbeManager, ScriptedExec, list[tuple[str, str]],
                                                                  list[str]]:
    runtime = ScriptedExec(codes)
    changes: list[tuple[str, str]] = []
    events: list[str] = []
    mgr = ProbeManager(runtime, record=lambda pod, t, reason, msg: events.append(f"{t} {reason} {msg}"),  # type: ignore[arg-type]
                       on_change=lambda uid, kind: changes.append((uid, kind)), clock=FakeClock(START))
    return mgr, runtime, changes, events


def running(cid: str = "c1", started_at: float = 0.0) -> w.ContainerView:
    return w.ContainerView(cid, True, started_at or START.timestamp(), "10.0.0.5")


async def test_liveness_flips_only_after_failure_threshold_then_holds() -> None:
    ctr = {"name": "app", "livenessProbe": exec_probe(failureThreshold=3)}
    mgr, runtime, changes, events = setup(ctr, [1])
    worker = w.Worker(mgr, pod_with(ctr), ctr, w.LIVENESS)
    mgr.observe("u1", "app", running())
    await worker.tick()
    assert mgr.liveness("c1") is True  # initial value: Success
    await worker.tick()
    assert mgr.liveness("c1") is True
    await worker.tick()
    assert mgr.liveness("c1") is False
    assert events == ["Warning Unhealthy Liveness probe failed: out"] * 3
    assert changes == [("u1", "Liveness")] * 2  # the initial Success, then the flip to Failure
    await worker.tick()  # on hold until a new container
    assert runtime.calls == 3
    mgr.observe("u1", "app", running("c2"))
    await worker.tick()
    assert runtime.calls == 4 and mgr.liveness("c2") is True


async def test_readiness_starts_false_and_needs_success_threshold() -> None:
    ctr = {"name": "app", "readinessProbe": exec_probe(successThreshold=2)}
    mgr, _, _, events = setup(ctr, [0])
    worker = w.Worker(mgr, pod_with(ctr), ctr, w.READINESS)
    mgr.observe("u1", "app", running())
    await worker.tick()
    assert mgr.readiness("c1") is False
    assert not mgr.ready("c1", ctr, running=True)
    await worker.tick()
    assert mgr.readiness("c1") is True and mgr.ready("c1", ctr, running=True)
    assert events == []


async def test_startup_gates_liveness_and_readiness() -> None:
    ctr = {"name": "app", "startupProbe": exec_probe(), "livenessProbe": exec_probe()}
    mgr, runtime, _, _ = setup(ctr, [1, 0, 1])
    pod = pod_with(ctr)
    live, startup = w.Worker(mgr, pod, ctr, w.LIVENESS), w.Worker(mgr, pod, ctr, w.STARTUP)
    mgr.observe("u1", "app", running())
    await live.tick()
    assert runtime.calls == 0, "liveness waits for the startup probe"
    assert not mgr.started("c1", ctr)
    await startup.tick()  # fails once (below threshold 3)
    await startup.tick()  # succeeds
    assert mgr.started("c1", ctr)
    await startup.tick()
    assert runtime.calls == 2, "a passed startup probe is not run again"
    await live.tick()
    assert runtime.calls == 3


async def test_initial_delay_keeps_initial_value() -> None:
    ctr = {"name": "app", "readinessProbe": exec_probe(initialDelaySeconds=5)}
    mgr, runtime, _, _ = setup(ctr, [0])
    worker = w.Worker(mgr, pod_with(ctr), ctr, w.READINESS)
    mgr.observe("u1", "app", running(started_at=START.timestamp() - 2))
    await worker.tick()
    assert runtime.calls == 0 and mgr.readiness("c1") is False
    mgr.observe("u1", "app", running(started_at=START.timestamp() - 6))
    await worker.tick()
    assert runtime.calls == 1 and mgr.readiness("c1") is True


@pytest.mark.parametrize("kind", [w.LIVENESS, w.STARTUP])
async def test_deleting_pod_is_not_restarted_by_probes(kind: str) -> None:
    ctr = {"name": "app", w.PROBE_FIELDS[kind]: exec_probe()}
    mgr, runtime, _, _ = setup(ctr, [1])
    worker = w.Worker(mgr, pod_with(ctr), ctr, kind)
    mgr.observe("u1", "app", w.ContainerView("c1", True, START.timestamp(), "10.0.0.5", pod_deleting=True))
    await worker.tick()
    assert runtime.calls == 0
    assert (mgr.liveness("c1") if kind == w.LIVENESS else mgr.startup("c1")) is True


async def test_stopped_container_is_unready_and_terminal_pod_ends_worker() -> None:
    ctr = {"name": "app", "readinessProbe": exec_probe()}
    mgr, _, _, _ = setup(ctr, [0])
    worker = w.Worker(mgr, pod_with(ctr), ctr, w.READINESS)
    mgr.observe("u1", "app", running())
    await worker.tick()
    assert mgr.readiness("c1") is True
    mgr.observe("u1", "app", w.ContainerView("c1", False, 0, "10.0.0.5"))
    assert await worker.tick()
    assert mgr.readiness("c1") is False
    mgr.observe("u1", "app", w.ContainerView("c1", False, 0, "10.0.0.5", pod_terminal=True))
    assert not await worker.tick()


def test_timing_defaults_are_upstreams() -> None:
    assert w.probe_timing({}) == (10.0, 1.0, 0, 1, 3)


async def test_manager_starts_workers_for_sidecars_and_containers_once() -> None:
    side = {"name": "side", "restartPolicy": "Always", "readinessProbe": exec_probe()}
    plain_init = {"name": "init", "readinessProbe": exec_probe()}
    app = {"name": "app", "livenessProbe": exec_probe(), "readinessProbe": exec_probe()}
    pod = {"metadata": {"uid": "u1"}, "spec": {"initContainers": [plain_init, side], "containers": [app]}}
    mgr, _, _, _ = setup(app, [0])
    mgr.add_pod(pod)
    mgr.add_pod(pod)
    try:
        assert len(mgr._tasks["u1"]) == 3
    finally:
        await mgr.close()
