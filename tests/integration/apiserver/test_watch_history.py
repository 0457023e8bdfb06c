"""A watch history checker, in the spirit of etcd's robustness tests.

Writers create, patch and delete ConfigMaps across three namespaces as fast as
they can while watchers of several kinds record every event they are sent:

* cluster-wide and per namespace;
* with and without bookmarks, in short watches (``timeoutSeconds=1``) resumed
  from the last resourceVersion they were sent, event or bookmark;
* dropping their connection after a random number of events and resuming;
* and all of them across a restart of the server on the same SQLite data dir
  (after which resumes are served from storage history, not the watch cache).

The truth is the stored history itself, read from the SQLite file once the
server has stopped: every watcher must have been sent exactly the changes in
its scope after the revision it started from, in revision order, with the
right types.  Any missed, duplicated or reordered event fails the test, and
so does any ERROR event.  Compaction is off so the history is complete.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator

import aiohttp
import pytest

from pyk8s.testing.cluster import ServerProcess
from tests.integration.apiserver.watchcheck import KEY_PREFIX, Api, Watcher, diff, stored_history, wait_done

NAMESPACES = ("wh-a", "wh-b", "wh-c")
NAMES = tuple(f"cm-{i}" for i in range(6))
MARKER = "wh-end"
WRITE_PHASE = 5.0  # seconds of writes before and after the restart
JSON = {"Content-Type": "application/json"}
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    srv = ServerProcess(extra_args=["--etcd-compaction-interval", "0"])  # keep the whole history
    try:
        yield srv.start()
    finally:
        srv.close()


async def writer(api: Api, seed: int, stop: asyncio.Event) -> int:
    rng, writes = random.Random(seed), 0
    while not stop.is_set():
        ns, name = rng.choice(NAMESPACES), rng.choice(NAMES)
        path = f"/api/v1/namespaces/{ns}/configmaps"
        op = rng.random()
        if op < 0.4:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": str(writes)}}
            status, out = await api.send("POST", path, body, JSON)
        elif op < 0.85:
            status, out = await api.send("PATCH", f"{path}/{name}", {"data": {"v": str(writes)}}, MERGE)
        else:
            status, out = await api.send("DELETE", f"{path}/{name}")
        assert status in (0, 200, 201, 404, 409), (status, out)
        writes += status in (200, 201)
        if status == 0:
            await asyncio.sleep(0.1)
    return writes


async def _write_for(api: Api, seconds: float, seed: int) -> int:
    stop = asyncio.Event()
    writers = [asyncio.create_task(writer(api, seed + i, stop)) for i in range(4)]
    await asyncio.sleep(seconds)
    stop.set()
    return sum(await asyncio.gather(*writers))


def _watchers(start: int) -> list[Watcher]:
    a, b, c = NAMESPACES
    return [
        Watcher("all, plain", "", start),
        Watcher("all, bookmarks, 1s watches", "", start, bookmarks=True, timeout=1),
        Watcher(f"{a}, bookmarks, 1s watches", a, start, bookmarks=True, timeout=1),
        Watcher(f"{b}, bookmarks, 1s watches", b, start, bookmarks=True, timeout=1),
        Watcher(f"{c}, drops after <=15 events", c, start, drop_after=15),
        Watcher("all, bookmarks, drops after <=40 events", "", start, bookmarks=True, timeout=3, drop_after=40),
    ]


async def test_watchers_see_the_stored_history_exactly(server: ServerProcess) -> None:
    kc = server.client_config()
    connector = aiohttp.TCPConnector(ssl=kc.ssl_context(), limit=0)
    async with aiohttp.ClientSession(connector=connector, headers=kc.headers(),
                                     timeout=aiohttp.ClientTimeout(total=None, sock_connect=5)) as session:
        api = Api(session, kc.server.rstrip("/"))
        for ns in NAMESPACES:
            status, _ = await api.send("POST", "/api/v1/namespaces",
                                       {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, JSON)
            assert status == 201
        status, listed = await api.send("GET", "/api/v1/configmaps")
        watchers = _watchers(int(listed["metadata"]["resourceVersion"]))
        rngs = [random.Random(i) for i in range(len(watchers))]
        tasks = [asyncio.create_task(w.run(api, r)) for w, r in zip(watchers, rngs, strict=True)]
        written = await _write_for(api, WRITE_PHASE, 0)
        restart = asyncio.create_task(asyncio.to_thread(server.restart))
        written += await _write_for(api, WRITE_PHASE, 100)  # through the restart, then after it
        await restart
        markers = set()
        for ns in NAMESPACES:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": MARKER}}
            assert (await api.send("POST", f"/api/v1/namespaces/{ns}/configmaps", body, JSON))[0] == 201
            markers.add(f"{KEY_PREFIX}{ns}/{MARKER}")
        for w in watchers:
            w.want = {m for m in markers if not w.scope or m.startswith(f"{KEY_PREFIX}{w.scope}/")}
        await wait_done(tasks, 20)
    server.stop()
    history = stored_history(os.path.join(server.data_dir, "state.db"))
    assert written > 200 and len(history) > 200
    for w in watchers:
        scope = KEY_PREFIX + (f"{w.scope}/" if w.scope else "")
        expected = [c for c in history if c[2] > w.start and c[1].startswith(scope)]
        assert not w.errors, f"{w.name}: {w.errors}"
        assert w.seen == expected, f"{w.name}: {diff(w.seen, expected)}"
        if w.bookmarks and w.scope:  # bookmarks move past other namespaces' changes
            assert w.bookmarks_seen > 0, w.name


async def _patch_fast(api: Api, seconds: float) -> int:
    """Merge patches as fast as two clients go (about 200/s here), over five ConfigMaps in each of two namespaces."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def patcher(ns: str) -> int:
        patches = 0
        while loop.time() < end:
            status, out = await api.send("PATCH", f"/api/v1/namespaces/{ns}/configmaps/{NAMES[patches % 5]}",
                                         {"data": {"v": str(patches)}}, MERGE)
            assert status == 200, out
            patches += 1
        return patches

    return sum(await asyncio.gather(patcher(NAMESPACES[0]), patcher(NAMESPACES[1])))


async def test_watches_resumed_from_bookmarks_miss_nothing(server: ServerProcess) -> None:
    # The reported case: allowWatchBookmarks=true&timeoutSeconds=1, each watch resumed from the
    # resourceVersion of the last event or bookmark, while the objects are patched fast.
    kc = server.client_config()
    connector = aiohttp.TCPConnector(ssl=kc.ssl_context(), limit=0)
    async with aiohttp.ClientSession(connector=connector, headers=kc.headers(),
                                     timeout=aiohttp.ClientTimeout(total=None, sock_connect=5)) as session:
        api = Api(session, kc.server.rstrip("/"))
        for ns in NAMESPACES[:2]:
            await api.send("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": ns}}, JSON)
            for name in NAMES[:5]:
                await api.send("POST", f"/api/v1/namespaces/{ns}/configmaps",
                               {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}, JSON)
        _, listed = await api.send("GET", "/api/v1/configmaps")
        start, ns = int(listed["metadata"]["resourceVersion"]), NAMESPACES[0]
        watchers = [Watcher(f"{ns} #{i}", ns, start, bookmarks=True, timeout=1) for i in range(3)]
        tasks = [asyncio.create_task(w.run(api, random.Random(i))) for i, w in enumerate(watchers)]
        assert await _patch_fast(api, 6.0) > 300
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": MARKER}}
        assert (await api.send("POST", f"/api/v1/namespaces/{ns}/configmaps", body, JSON))[0] == 201
        for w in watchers:
            w.want = {f"{KEY_PREFIX}{ns}/{MARKER}"}
        await wait_done(tasks, 10)
    server.stop()
    history = stored_history(os.path.join(server.data_dir, "state.db"))
    expected = [c for c in history if c[2] > start and c[1].startswith(f"{KEY_PREFIX}{ns}/")]
    for w in watchers:
        assert not w.errors, f"{w.name}: {w.errors}"
        assert w.seen == expected, f"{w.name}: {diff(w.seen, expected)}"
        assert w.reconnects >= 5, (w.name, w.reconnects)
    # A 1 s watch under a steady stream gets its bookmark at the deadline, and only when the last change
    # before it was another namespace's (about half the time): so per watcher none in six is possible.
    assert sum(w.bookmarks_seen for w in watchers) > 0, [(w.name, w.reconnects) for w in watchers]
