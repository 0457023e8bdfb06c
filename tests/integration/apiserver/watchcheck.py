"""Watch clients that record what they are sent, and the stored history to check them against.

Shared by the watch history checker and the bookmark test: a ``Watcher``
resumes from the last resourceVersion it was sent (event or bookmark) after
every timeout, drop or server restart, until it has seen its end markers;
``stored_history`` reads the ConfigMap changes straight from the SQLite file.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from dataclasses import dataclass, field

import aiohttp
import orjson

KEY_PREFIX = "/registry/core/configmaps/"
Change = tuple[str, str, int]  # (type, storage key, resourceVersion)


@dataclass
class Api:
    session: aiohttp.ClientSession
    url: str

    async def send(self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
                   ) -> tuple[int, dict]:
        """One request; status 0 when the server is unreachable (restarting)."""
        try:
            async with self.session.request(method, self.url + path, headers=headers,
                                            data=None if body is None else orjson.dumps(body)) as resp:
                return resp.status, orjson.loads(await resp.read() or b"{}")
        except (TimeoutError, aiohttp.ClientError, ConnectionError, orjson.JSONDecodeError):
            return 0, {}


@dataclass
class Watcher:
    """One client's watches of ``scope`` (a namespace, or "" for all), resumed until it has seen ``want``."""

    name: str
    scope: str
    start: int
    bookmarks: bool = False
    timeout: int = 300
    drop_after: int = 0  # close the connection after 1..drop_after events (0: never)
    seen: list[Change] = field(default_factory=list)
    errors: list[object] = field(default_factory=list)
    want: set[str] | None = None  # marker keys that end the run
    rv: int = 0  # the newest resourceVersion sent, where the next watch resumes
    bookmarks_seen: int = 0
    reconnects: int = 0

    def done(self) -> bool:
        return self.want is not None and self.want <= {key for _, key, _ in self.seen}

    def path(self, rv: int) -> str:
        base = f"/api/v1/namespaces/{self.scope}/configmaps" if self.scope else "/api/v1/configmaps"
        query = f"?watch=1&resourceVersion={rv}&timeoutSeconds={self.timeout}"
        return base + query + ("&allowWatchBookmarks=true" if self.bookmarks else "")

    async def run(self, api: Api, rng: random.Random) -> None:
        self.rv = self.start
        while not self.done() and not self.errors:
            budget = rng.randint(1, self.drop_after) if self.drop_after else -1
            try:
                async with api.session.get(api.url + self.path(self.rv)) as resp:
                    if resp.status != 200:
                        self.errors.append((resp.status, await resp.text()))
                        return
                    await self._read(resp, budget)
            except (TimeoutError, aiohttp.ClientError, ConnectionError):
                await asyncio.sleep(0.1)  # dropped by the server (restart) or never connected
            self.reconnects += 1

    async def _read(self, resp: aiohttp.ClientResponse, budget: int) -> None:
        """Events until the stream ends, ``budget`` runs out or the run is done; ``rv`` follows them."""
        while budget != 0 and not self.done():
            line = await resp.content.readline()
            if not line:
                break
            ev = orjson.loads(line)
            if ev["type"] == "ERROR":
                self.errors.append(ev["object"])
                break
            meta = ev["object"]["metadata"]
            self.rv = int(meta["resourceVersion"])
            if ev["type"] == "BOOKMARK":
                self.bookmarks_seen += 1
            else:
                self.seen.append((ev["type"], f"{KEY_PREFIX}{meta['namespace']}/{meta['name']}", self.rv))
            budget -= 1


def stored_history(db: str) -> list[Change]:
    """Every ConfigMap change in the SQLite history, as a watch reports it."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT rev, key, create_rev, deleted FROM kv WHERE key >= ? AND key < ? ORDER BY rev",
                            (KEY_PREFIX, KEY_PREFIX[:-1] + "0")).fetchall()
    finally:
        conn.close()
    kinds = {True: "DELETED"}
    return [(kinds.get(bool(deleted)) or ("ADDED" if create == rev else "MODIFIED"), key, rev)
            for rev, key, create, deleted in rows]


def diff(seen: list[Change], expected: list[Change]) -> str:
    got = {c[2] for c in seen}
    missed = [c for c in expected if c[2] not in got]
    counts: dict[int, int] = {}
    for c in seen:
        counts[c[2]] = counts.get(c[2], 0) + 1
    dups = sorted(rv for rv, n in counts.items() if n > 1)
    revs = [c[2] for c in seen]
    disorder = [(a, b) for a, b in zip(revs, revs[1:], strict=False) if b <= a]
    wrong = [c for c in seen if c[2] in {e[2] for e in expected} and c not in expected]
    return (f"missed {missed[:10]} ({len(missed)}), duplicated {dups[:10]}, out of order {disorder[:10]}, "
            f"wrong type/key {wrong[:10]}, unexpected {sorted(got - {e[2] for e in expected})[:10]}")


async def wait_done(tasks: list[asyncio.Task[None]], limit: float) -> None:
    """Until every watcher's run ends (markers seen, or failed), at most ``limit`` seconds; then stop the rest."""
    await asyncio.wait(tasks, timeout=limit)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
