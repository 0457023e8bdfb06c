"""DefaultBinder: hands the pod to an injected ``Binder`` (``pods/binding`` in the real scheduler)."""

from __future__ import annotations

from pyk8s.scheduler.framework import interface as fw

NAME = "DefaultBinder"


class DefaultBinder:
    name = NAME

    def __init__(self, binder: fw.Binder) -> None:
        self._binder = binder

    async def bind(self, state: fw.CycleState, pod: fw.Pod, node_name: str) -> fw.Status | None:
        try:
            await self._binder.bind(pod, node_name)
        except Exception as e:  # noqa: BLE001 - any bind failure sends the pod back to the queue
            return fw.Status.error(str(e) or type(e).__name__)
        return None
