"""The status manager: merge rules, write only on change, deletion confirmation."""

from __future__ import annotations

from typing import Any

from pyk8s.client.errors import ApiError
from pyk8s.kubelet.status.manager import StatusManager, merge

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"


def generated(ready: str, phase: str = "Running") -> dict:
    return {"phase": phase, "conditions": [{"type": "Ready", "status": ready, "lastProbeTime": None},
                                           {"type": "PodScheduled", "status": "True", "lastProbeTime": None}]}


def test_transition_times_move_only_on_a_flip_and_foreign_conditions_stay_first() -> None:
    pod: dict[str, Any] = {"status": {}}
    first = merge(pod, generated("False"), T0)
    assert [c["lastTransitionTime"] for c in first["conditions"]] == [T0, T0]
    pod["status"] = {**first, "conditions": [{"type": "example.com/gate", "status": "True"}, *first["conditions"]]}
    second = merge(pod, generated("True"), T1)
    assert [c["type"] for c in second["conditions"]] == ["example.com/gate", "Ready", "PodScheduled"]
    assert second["conditions"][1]["lastTransitionTime"] == T1  # flipped
    assert second["conditions"][2]["lastTransitionTime"] == T0  # unchanged


def test_a_terminal_phase_is_never_left() -> None:
    pod = {"status": {"phase": "Succeeded", "conditions": []}}
    assert merge(pod, generated("False", phase="Running"), T1)["phase"] == "Succeeded"


class FakeClient:
    def __init__(self, delete_error: int | None = None) -> None:
        self.calls: list[tuple] = []
        self.delete_error = delete_error

    async def update_status(self, rt: Any, obj: dict) -> dict:
        self.calls.append(("update_status", obj["status"]))
        return obj

    async def delete(self, rt: Any, name: str, **kw: Any) -> None:
        self.calls.append(("delete", name, kw))
        if self.delete_error:
            raise ApiError({"message": "x"}, code=self.delete_error)


async def test_writes_only_when_the_status_changed() -> None:
    client = FakeClient()
    manager = StatusManager(client)  # type: ignore[arg-type]
    pod: dict[str, Any] = {"metadata": {"name": "p"}, "status": {}}
    written = await manager.set_status(pod, generated("True"), T0)
    assert written is not None and len(client.calls) == 1
    assert await manager.set_status(written, generated("True"), T1) is None  # same status, later: no write
    assert len(client.calls) == 1
    assert await manager.set_status(written, generated("False"), T1) is not None
    assert len(client.calls) == 2


async def test_confirm_deletion_uses_grace_zero_and_the_uid() -> None:
    client = FakeClient()
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}}
    await StatusManager(client).confirm_deletion(pod)  # type: ignore[arg-type]
    assert client.calls == [("delete", "p", {"namespace": "ns", "grace_period_seconds": 0,
                                             "preconditions": {"uid": "u1"}})]
    for code in (404, 409):  # gone already, or a newer pod of that name: nothing to do
        await StatusManager(FakeClient(code)).confirm_deletion(pod)  # type: ignore[arg-type]


class VersioningClient(FakeClient):
    """Stores each status write with the next resourceVersion, as the API server does."""

    def __init__(self) -> None:
        super().__init__()
        self.version = 10

    async def update_status(self, rt: Any, obj: dict) -> dict:
        self.version += 1
        return {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self.version)}}


async def test_own_write_knows_the_echo_of_its_last_write_only() -> None:
    manager = StatusManager(VersioningClient())  # type: ignore[arg-type]
    pod: dict[str, Any] = {"metadata": {"name": "p", "uid": "u1", "resourceVersion": "10"}, "status": {}}
    assert not manager.own_write(pod)
    written = await manager.set_status(pod, generated("True"), T0)
    assert written is not None and manager.own_write(written)
    someone_else = {**written, "metadata": {**written["metadata"], "resourceVersion": "12"}}
    assert not manager.own_write(someone_else), "a later change by anyone else is not the kubelet's echo"
    manager.forget("u1")
    assert not manager.own_write(written)
