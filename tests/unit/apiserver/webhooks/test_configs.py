"""The webhook configurations as the plugins read them: rebuilt only when the watch cache moves."""

import asyncio

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import DeleteOptions
from pyk8s.apiserver.webhooks import configs

from .conftest import configure, hook, store


async def settled(registry: Registry) -> list[configs.Hook]:
    """The hooks once the watch cache has caught up: two reads in a row answer the very same list."""
    previous = await configs.hooks(registry, configs.MUTATING)
    for _ in range(200):
        await asyncio.sleep(0.01)
        current = await configs.hooks(registry, configs.MUTATING)
        if current is previous:
            return current
        previous = current
    raise AssertionError("the hooks were rebuilt on every read")


async def test_hooks_are_reused_until_a_configuration_changes(registry: Registry) -> None:
    client = {"url": "https://127.0.0.1:1/x"}
    assert await settled(registry) == []
    await configure(registry, "mutating", "b", hook("one.pyk8s.test", client))
    assert [h.key for h in await configs.hooks(registry, configs.MUTATING)] == [("b", "one.pyk8s.test")]
    assert [h.key for h in await settled(registry)] == [("b", "one.pyk8s.test")]
    await configure(registry, "mutating", "a", hook("two.pyk8s.test", client))
    assert [h.key for h in await configs.hooks(registry, configs.MUTATING)] == [
        ("a", "two.pyk8s.test"), ("b", "one.pyk8s.test")]
    await store(registry, configs.GROUP, configs.MUTATING).delete("", "b", DeleteOptions())
    assert [h.key for h in await configs.hooks(registry, configs.MUTATING)] == [("a", "two.pyk8s.test")]
