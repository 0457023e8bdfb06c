"""The watch cache's retained window: a resume older than it is 410 Expired, as from upstream's cacher."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyk8s.apiserver.watchcache import Filter, WatchCache
from pyk8s.machinery.errors import StatusError
from tests.unit.apiserver.test_watchcache import PREFIX, cm, decode, everything, storage, take  # noqa: F401


async def test_resume_from_before_the_window_is_410_expired(storage: Any) -> None:  # noqa: F811
    cache = WatchCache(storage, PREFIX, decode, capacity=2)
    await cache.ensure_started()
    try:
        first = await storage.create(PREFIX + "ns/a", cm("a"))
        for n in "bcde":
            await storage.create(PREFIX + f"ns/{n}", cm(n))
        await asyncio.sleep(0.05)
        assert cache.window_start > first.mod_revision  # the ring dropped a..c
        it = cache.watch(Filter(PREFIX, everything), after=first.mod_revision)
        with pytest.raises(StatusError) as err:
            await take(it, 1)
        assert (err.value.code, err.value.reason) == (410, "Expired")
        assert err.value.message == f"too old resource version: {first.mod_revision} ({cache.window_start})"
        # The oldest revision named there still resumes, from the ring.
        ok = cache.watch(Filter(PREFIX, everything), after=cache.window_start)
        assert await take(ok, 2) == [("ADDED", "d"), ("ADDED", "e")]
        await ok.aclose()
    finally:
        await cache.close()


async def test_ring_never_replays_what_storage_compacted(storage: Any) -> None:  # noqa: F811
    """The ring still holds the events, but the storage compacted them: the resume is 410 Expired."""
    cache = WatchCache(storage, PREFIX, decode, capacity=100)
    await cache.ensure_started()
    try:
        first = await storage.create(PREFIX + "ns/a", cm("a"))
        for n in "bcd":
            await storage.create(PREFIX + f"ns/{n}", cm(n))
        await asyncio.sleep(0.05)
        assert cache.window_start < first.mod_revision  # the ring has every event
        compacted = await storage.current_revision() - 1
        await storage.compact(compacted)
        it = cache.watch(Filter(PREFIX, everything), after=first.mod_revision)
        with pytest.raises(StatusError) as err:
            await take(it, 1)
        assert (err.value.code, err.value.reason) == (410, "Expired")
        assert err.value.message == f"too old resource version: {first.mod_revision} ({compacted})"
        ok = cache.watch(Filter(PREFIX, everything), after=compacted)
        assert await take(ok, 1) == [("ADDED", "d")]
        await ok.aclose()
    finally:
        await cache.close()
