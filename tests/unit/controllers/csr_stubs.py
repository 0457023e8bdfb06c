"""A stub client and informer factory for the CSR controllers' unit tests."""

from __future__ import annotations

from typing import Any

from pyk8s.controllers.manager import ControllerContext
from pyk8s.testing.fake_clock import FakeClock


class StubLister:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}

    def get(self, name: str, namespace: str = "") -> dict[str, Any] | None:
        return self.objects.get(name)

    def list(self) -> list[dict[str, Any]]:
        return list(self.objects.values())


class StubInformer:
    def __init__(self) -> None:
        self.lister = StubLister()

    def add_event_handler(self, **_: Any) -> None:
        pass


class StubFactory:
    def __init__(self) -> None:
        self.informers: dict[str, StubInformer] = {}

    def informer(self, resource: Any, **_: Any) -> StubInformer:
        return self.informers.setdefault(resource.plural, StubInformer())


class StubClient:
    """Records writes; SubjectAccessReviews are answered by ``allow(review_spec)``."""

    def __init__(self, allow: Any = None) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.allow = allow or (lambda spec: False)

    async def update(self, rt: Any, obj: dict[str, Any], *, subresource: str = "", **_: Any) -> dict[str, Any]:
        self.calls.append(("update", subresource, obj))
        return obj

    async def update_status(self, rt: Any, obj: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.calls.append(("update", "status", obj))
        return obj

    async def create(self, rt: Any, obj: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.calls.append(("create", rt.plural, obj))
        return {**obj, "status": {"allowed": bool(self.allow(obj["spec"]))}}


def context(client: StubClient, options: dict[str, Any] | None = None) -> ControllerContext:
    return ControllerContext(client, StubFactory(), FakeClock(), options or {})  # type: ignore[arg-type]
