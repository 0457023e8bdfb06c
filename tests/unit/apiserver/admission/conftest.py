"""A registry over the memory driver with the full default admission chain, system namespaces bootstrapped."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

import pyk8s.api  # noqa: F401 - fills SCHEME
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.registry import Registry, build_registry
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    storage = open_storage("memory://")
    await storage.start()
    reg = build_registry(SCHEME, storage)
    await bootstrap(reg, api_address="127.0.0.1", api_port=6443)
    try:
        yield reg
    finally:
        await reg.close()
        await storage.close()


def store(reg: Registry, group: str, plural: str) -> GenericStore:
    s = reg.store(group, plural)
    assert s is not None
    return s


def pod(name: str, *, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx"}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": body}


async def refused(coro: Any) -> StatusError:
    with pytest.raises(StatusError) as exc:
        await coro
    return exc.value
