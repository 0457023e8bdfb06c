"""Which informer updates are worth a pod sync: not the echo of the kubelet's own status write."""

from __future__ import annotations

from typing import Any

from pyk8s.kubelet.podsync import PodSyncer
from pyk8s.kubelet.status.manager import StatusManager

from .status.test_manager import VersioningClient, generated

T0 = "2026-01-01T00:00:00Z"


def syncer() -> PodSyncer:
    statuses = StatusManager(VersioningClient())  # type: ignore[arg-type]
    return PodSyncer(None, None, None, None, statuses, None, "containerd", "10.0.0.1")  # type: ignore[arg-type]


async def test_the_echo_of_its_own_status_write_needs_no_sync() -> None:
    s = syncer()
    pod: dict[str, Any] = {"metadata": {"name": "p", "uid": "u1", "resourceVersion": "10"}, "status": {}}
    assert s.needs_sync(pod)
    written = await s.statuses.set_status(pod, generated("True"), T0)
    assert written is not None
    assert not s.needs_sync(written)
    edited = {**written, "metadata": {**written["metadata"], "resourceVersion": "99"}}
    assert s.needs_sync(edited), "anyone else's change (a readiness gate, a deletion) is synced"


async def test_the_echo_of_a_terminal_phase_is_synced() -> None:
    """Once a pod ended, its next sync stops what still runs (sidecars, the sandbox)."""
    s = syncer()
    pod: dict[str, Any] = {"metadata": {"name": "p", "uid": "u1", "resourceVersion": "10"}, "status": {}}
    written = await s.statuses.set_status(pod, generated("False", phase="Succeeded"), T0)
    assert written is not None and s.needs_sync(written)
