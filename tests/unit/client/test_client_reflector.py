"""Reflector edge cases with a scripted lister-watcher (no HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from pyk8s.client.errors import ApiError
from pyk8s.client.tools.reflector import Reflector
from pyk8s.client.tools.store import Store
from pyk8s.testing.fake_clock import FakeClock, settle


def obj(name: str, rv: int) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)}}


def gone() -> ApiError:
    return ApiError({"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"})


class Script:
    """Pages of a list, and per-watch scripts of events (an exception ends a watch by raising)."""

    def __init__(self, items: list[dict], rv: int) -> None:
        self.items = items
        self.rv = rv
        self.expire_continue = False
        self.list_calls: list[tuple[int | None, str | None]] = []
        self.watch_scripts: list[list[tuple[str, dict] | BaseException]] = []
        self.watch_rvs: list[str] = []
        self.hang = asyncio.Event()

    async def list(self, *, resource_version: str | None, limit: int | None, continue_: str | None) -> dict:
        self.list_calls.append((limit, continue_))
        if continue_ and self.expire_continue:
            self.expire_continue = False
            raise gone()
        start = int(continue_ or 0)
        page = self.items[start:start + limit] if limit else self.items
        meta = {"resourceVersion": str(self.rv)}
        if limit and start + limit < len(self.items):
            meta["continue"] = str(start + limit)
        return {"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": page}

    async def watch(self, *, resource_version: str, timeout_seconds: int | None,
                    allow_bookmarks: bool) -> AsyncIterator[tuple[str, dict]]:
        self.watch_rvs.append(resource_version)
        script = self.watch_scripts.pop(0) if self.watch_scripts else []
        for step in script:
            if isinstance(step, BaseException):
                raise step
            yield step
        if not script:
            await self.hang.wait()


async def test_expired_continue_token_falls_back_to_full_list() -> None:
    lw = Script([obj(f"p{i}", i) for i in range(5)], rv=9)
    lw.expire_continue = True
    store = Store()
    refl = Reflector(lw, store, clock=FakeClock(), page_size=2)
    task = asyncio.create_task(refl.run())
    await asyncio.wait_for(refl.synced.wait(), 2)
    assert lw.list_calls == [(2, None), (2, "2"), (None, None)]
    assert len(store) == 5 and refl.last_sync_resource_version == "9"
    assert [o["kind"] for o in store.list()] == ["Pod"] * 5
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_events_then_gone_then_relist_from_scratch() -> None:
    lw = Script([obj("a", 1)], rv=5)
    lw.watch_scripts = [
        [("ADDED", obj("b", 6)), ("MODIFIED", obj("a", 7)), ("BOOKMARK", {"metadata": {"resourceVersion": "9"}})],
        [("DELETED", obj("b", 10)), gone()],
    ]
    store = Store()
    refl = Reflector(lw, store, clock=FakeClock())
    task = asyncio.create_task(refl.run())
    for _ in range(50):
        await settle()
        if refl.lists == 2 and len(lw.watch_rvs) == 3:
            break
    # Watch 1 from the list RV, watch 2 resumes after the bookmark, then 410 -> list -> watch from list RV.
    assert lw.watch_rvs == ["5", "9", "5"]
    assert refl.lists == 2 and store.keys() == ["ns/a"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_other_watch_errors_back_off_and_relist() -> None:
    clock = FakeClock()
    lw = Script([obj("a", 1)], rv=5)
    boom = ApiError({"kind": "Status", "code": 500, "reason": "InternalError", "message": "boom"})
    lw.watch_scripts = [[boom]]
    refl = Reflector(lw, Store(), clock=clock)
    task = asyncio.create_task(refl.run())
    await settle(30)
    assert refl.lists == 1 and clock.pending() == 1  # sleeping in back-off, not spinning
    await clock.advance(clock.next_deadline() or 0)
    await settle(30)
    assert refl.lists == 2
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_empty_streams_do_not_spin() -> None:
    clock = FakeClock()
    lw = Script([], rv=3)
    lw.watch_scripts = [[], [], []]
    lw.hang.set()  # every watch closes at once with nothing in it
    refl = Reflector(lw, Store(), clock=clock)
    task = asyncio.create_task(refl.run())
    await settle(30)
    assert len(lw.watch_rvs) == 1 and clock.pending() == 1
    await clock.advance(clock.next_deadline() or 0)
    await settle(30)
    assert len(lw.watch_rvs) == 2 and refl.lists == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
