"""A registry over the memory driver, with the system namespaces bootstrapped."""

from collections.abc import AsyncIterator

import pytest

import pyk8s.api  # noqa: F401 - fills SCHEME
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.registry import Registry, build_registry
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
