"""The storage contract, checked identically against every driver."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from pyk8s.storage.interface import (
    CompactedError,
    Event,
    EventType,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    RevisionConflictError,
    Storage,
)


async def collect(store: Storage, prefix: str, after: int, n: int, within: float = 10.0) -> list[Event]:
    out: list[Event] = []
    it = store.watch(prefix, after_revision=after)
    try:
        async with asyncio.timeout(within):
            async for ev in it:
                out.append(ev)
                if len(out) >= n:
                    break
    finally:
        await it.aclose()  # type: ignore[attr-defined]
    return out


async def test_create_get_and_exists(store: Storage, prefix: str) -> None:
    before = await store.current_revision()
    kv = await store.create(prefix + "a", b"one")
    assert kv.mod_revision == kv.create_revision > before
    assert await store.current_revision() == kv.mod_revision
    got = await store.get(prefix + "a")
    assert got == kv and got.value == b"one"
    with pytest.raises(KeyExistsError):
        await store.create(prefix + "a", b"two")
    assert (await store.get(prefix + "a")).value == b"one"  # type: ignore[union-attr]
    assert await store.get(prefix + "missing") is None


async def test_update_guarded_by_mod_revision(store: Storage, prefix: str) -> None:
    kv = await store.create(prefix + "k", b"v1")
    up = await store.update(prefix + "k", b"v2", expected_revision=kv.mod_revision)
    assert up.mod_revision > kv.mod_revision and up.create_revision == kv.create_revision and up.value == b"v2"
    with pytest.raises(RevisionConflictError) as err:
        await store.update(prefix + "k", b"v3", expected_revision=kv.mod_revision)
    assert err.value.current is not None and err.value.current.mod_revision == up.mod_revision
    up2 = await store.update(prefix + "k", b"v3", expected_revision=0)  # unconditional
    assert up2.value == b"v3" and up2.mod_revision > up.mod_revision
    with pytest.raises(KeyNotFoundError):
        await store.update(prefix + "nope", b"x", expected_revision=0)
    with pytest.raises(KeyNotFoundError):
        await store.update(prefix + "nope", b"x", expected_revision=5)


async def test_delete_guarded_by_mod_revision(store: Storage, prefix: str) -> None:
    kv = await store.create(prefix + "d", b"val")
    up = await store.update(prefix + "d", b"val2", expected_revision=kv.mod_revision)
    with pytest.raises(RevisionConflictError):
        await store.delete(prefix + "d", expected_revision=kv.mod_revision)
    gone = await store.delete(prefix + "d", expected_revision=up.mod_revision)
    assert gone.value == b"val2" and gone.create_revision == kv.create_revision
    assert gone.mod_revision > up.mod_revision
    assert await store.get(prefix + "d") is None
    with pytest.raises(KeyNotFoundError):
        await store.delete(prefix + "d")
    again = await store.create(prefix + "d", b"new")  # recreate after delete
    assert again.create_revision > gone.mod_revision
    # Reads at old revisions see the old states.
    assert (await store.get(prefix + "d", revision=kv.mod_revision)).value == b"val"  # type: ignore[union-attr]
    assert await store.get(prefix + "d", revision=gone.mod_revision) is None


async def test_revisions_strictly_increase(store: Storage, prefix: str) -> None:
    revs = []
    for i in range(5):
        revs.append((await store.create(f"{prefix}{i}", b"x")).mod_revision)
    revs.append((await store.update(f"{prefix}0", b"y", expected_revision=revs[0])).mod_revision)
    revs.append((await store.delete(f"{prefix}1")).mod_revision)
    assert revs == sorted(revs) and len(set(revs)) == len(revs)
    concurrent = await asyncio.gather(*(store.create(f"{prefix}c{i}", b"x") for i in range(20)))
    crevs = [kv.mod_revision for kv in concurrent]
    assert len(set(crevs)) == 20 and min(crevs) > revs[-1]


async def test_list_paging_pinned_to_revision(store: Storage, prefix: str) -> None:
    for i in range(25):
        await store.create(f"{prefix}item-{i:03d}", f"v{i}".encode())
    await store.create(prefix[:-1] + "x/other", b"outside")  # shares the text prefix but not the slash
    full = await store.list(prefix)
    assert [kv.key for kv in full.items] == [f"{prefix}item-{i:03d}" for i in range(25)]
    assert not full.more and full.revision == await store.current_revision()

    first = await store.list(prefix, limit=10)
    assert len(first.items) == 10 and first.more and first.remaining == 15
    # Later writes must not show in pages pinned to the first page's revision.
    await store.create(f"{prefix}item-005a", b"late")
    await store.delete(f"{prefix}item-020")
    await store.update(f"{prefix}item-015", b"changed", expected_revision=0)
    pages = list(first.items)
    last = first.items[-1].key
    while True:
        page = await store.list(prefix, revision=first.revision, limit=10, start_after=last)
        assert page.revision == first.revision
        pages.extend(page.items)
        if not page.more:
            break
        last = page.items[-1].key
    assert [(kv.key, kv.value) for kv in pages] == [(kv.key, kv.value) for kv in full.items]
    latest = await store.list(prefix)
    keys = [kv.key for kv in latest.items]
    assert f"{prefix}item-005a" in keys and f"{prefix}item-020" not in keys
    assert await store.count(prefix) == 25


async def test_count(store: Storage, prefix: str) -> None:
    assert await store.count(prefix) == 0
    for i in range(7):
        await store.create(f"{prefix}{i}", b"x")
    await store.delete(f"{prefix}3")
    assert await store.count(prefix) == 6
    assert await store.count(prefix + "5") == 1


async def test_concurrent_writers_exactly_one_wins(store: Storage, prefix: str) -> None:
    key = prefix + "race"
    kv = await store.create(key, b"0")
    for rnd in range(5):
        expected = kv.mod_revision

        async def attempt(i: int, expected: int = expected, rnd: int = rnd):
            try:
                return await store.update(key, f"{rnd}-{i}".encode(), expected_revision=expected)
            except RevisionConflictError:
                return None

        results = await asyncio.gather(*(attempt(i) for i in range(16)))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, f"round {rnd}: {len(winners)} winners"
        kv = winners[0]
        assert (await store.get(key)) == kv
    # Same for deletes.
    results = await asyncio.gather(
        *(store.delete(key, expected_revision=kv.mod_revision) for _ in range(8)), return_exceptions=True
    )
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(isinstance(r, KeyNotFoundError | RevisionConflictError) for r in results if isinstance(r, BaseException))


async def test_watch_ordering_under_concurrent_writes(store: Storage, prefix: str) -> None:
    start = await store.current_revision()
    watch_task = asyncio.create_task(collect(store, prefix, start, 3 * 30))
    await asyncio.sleep(0.05)

    async def writer(w: int) -> None:
        for i in range(10):
            key = f"{prefix}w{w}-{i}"
            kv = await store.create(key, b"a")
            kv = await store.update(key, b"b", expected_revision=kv.mod_revision)
            await store.delete(key, expected_revision=kv.mod_revision)

    await asyncio.gather(*(writer(w) for w in range(3)))
    await store.create(prefix[:-1] + "-not-mine", b"x")  # outside the prefix
    events = await watch_task
    revs = [e.revision for e in events]
    assert revs == sorted(revs) and len(set(revs)) == len(revs)
    assert revs == list(range(start + 1, start + 1 + 90))  # only this test writes meanwhile
    by_key: dict[str, list[Event]] = {}
    for e in events:
        by_key.setdefault(e.kv.key, []).append(e)
    assert len(by_key) == 30
    for evs in by_key.values():
        assert [e.type for e in evs] == [EventType.CREATE, EventType.UPDATE, EventType.DELETE]
        c, u, d = evs
        assert c.prev is None and c.kv.value == b"a"
        assert u.prev is not None and u.prev.value == b"a" and u.prev.mod_revision == c.revision
        assert u.kv.value == b"b" and u.kv.create_revision == c.revision
        assert d.prev is not None and d.prev.value == b"b" and d.prev.mod_revision == u.revision
        assert d.kv.mod_revision == d.revision and d.kv.create_revision == c.revision


async def test_watch_resume_from_old_revision(store: Storage, prefix: str) -> None:
    kv = await store.create(prefix + "a", b"1")
    mid = (await store.update(prefix + "a", b"2", expected_revision=kv.mod_revision)).mod_revision
    await store.create(prefix + "b", b"1")
    await store.delete(prefix + "a")
    # Catch-up from history, then live events, with no gap or duplicate.
    it = store.watch(prefix, after_revision=kv.mod_revision)
    got: list[Event] = []
    try:
        async with asyncio.timeout(10):
            async for ev in it:
                got.append(ev)
                if len(got) == 3:
                    await store.create(prefix + "c", b"live")
                if len(got) == 4:
                    break
    finally:
        await it.aclose()  # type: ignore[attr-defined]
    assert [(e.type, e.kv.key) for e in got] == [
        (EventType.UPDATE, prefix + "a"),
        (EventType.CREATE, prefix + "b"),
        (EventType.DELETE, prefix + "a"),
        (EventType.CREATE, prefix + "c"),
    ]
    assert got[0].revision == mid and got[0].prev is not None and got[0].prev.value == b"1"
    assert got[2].kv.value == b"2" and got[2].prev is not None and got[2].prev.value == b"2"


async def test_watch_handover_while_writing(store: Storage, prefix: str) -> None:
    """Start watching from an old revision while writes keep coming."""
    base = await store.current_revision()
    stop = asyncio.Event()

    async def churn() -> None:
        i = 0
        while not stop.is_set():
            await store.create(f"{prefix}{i:05d}", b"x")
            i += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(churn())
    try:
        await asyncio.sleep(0.1)
        events = await collect(store, prefix, base, 60)
    finally:
        stop.set()
        await task
    assert [e.kv.key for e in events] == [f"{prefix}{i:05d}" for i in range(60)]
    revs = [e.revision for e in events]
    assert revs == sorted(set(revs))


async def test_compaction(store: Storage, prefix: str) -> None:
    kv = await store.create(prefix + "a", b"1")
    old = kv.mod_revision
    for i in range(5):
        kv = await store.update(prefix + "a", f"{i}".encode(), expected_revision=kv.mod_revision)
    await store.create(prefix + "b", b"b")
    gone = await store.create(prefix + "gone", b"g")
    await store.delete(prefix + "gone")
    target = await store.current_revision()
    await store.update(prefix + "a", b"after", expected_revision=kv.mod_revision)
    await store.compact(target)
    assert await store.compacted_revision() >= target
    with pytest.raises(CompactedError):
        await store.get(prefix + "a", revision=old)
    with pytest.raises(CompactedError):
        await store.list(prefix, revision=old)
    with pytest.raises(CompactedError):
        it = store.watch(prefix, after_revision=old)
        try:
            await it.__anext__()
        finally:
            with contextlib.suppress(Exception):
                await it.aclose()  # type: ignore[attr-defined]
    with pytest.raises(CompactedError):
        await store.get(prefix + "gone", revision=gone.mod_revision)
    # The state at the compaction revision and after survives.
    at = await store.get(prefix + "a", revision=target)
    assert at is not None and at.value == b"4"
    assert [kv.key for kv in (await store.list(prefix, revision=target)).items] == [prefix + "a", prefix + "b"]
    assert (await store.get(prefix + "a")).value == b"after"  # type: ignore[union-attr]
    events = await collect(store, prefix, target, 1)
    assert events[0].kv.value == b"after" and events[0].prev is not None and events[0].prev.value == b"4"


async def test_future_revision(store: Storage, prefix: str) -> None:
    await store.create(prefix + "a", b"1")
    cur = await store.current_revision()
    with pytest.raises(FutureRevisionError):
        await store.get(prefix + "a", revision=cur + 100)
    with pytest.raises(FutureRevisionError):
        await store.list(prefix, revision=cur + 100)
    with pytest.raises(FutureRevisionError):
        await store.compact(cur + 100)
    assert await store.compacted_revision() <= cur


async def test_watch_catch_up_longer_than_one_history_page(store: Storage, prefix: str) -> None:
    base = await store.current_revision()
    n = 1200  # more than one page of history catch-up (fanout.HISTORY_PAGE)
    for chunk in range(0, n, 200):
        await asyncio.gather(*(store.create(f"{prefix}{i:05d}", b"v") for i in range(chunk, chunk + 200)))
    events = await collect(store, prefix, base, n)
    revs = [e.revision for e in events]
    assert revs == list(range(base + 1, base + 1 + n))
    assert sorted(e.kv.key for e in events) == [f"{prefix}{i:05d}" for i in range(n)]


async def test_watch_ends_when_store_closes(driver_url: str, prefix: str) -> None:
    from pyk8s.storage import open_storage

    store = open_storage(driver_url)
    await store.start()
    it = store.watch(prefix, after_revision=await store.current_revision())
    pending = asyncio.ensure_future(it.__anext__())
    await asyncio.sleep(0.05)
    await store.close()
    async with asyncio.timeout(5):
        with pytest.raises(StopAsyncIteration):
            await pending
