"""The watch caches authorizers read, caught up with this server's own writes.

A binding or pod written through this server a moment ago must count for the
very next request (kubectl creates a RoleBinding and uses it at once), so a
read waits, briefly, until the cache has applied every write this server made
to that resource; writes through another server arrive a watch delay later, as
with upstream's informers.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyk8s.apiserver.registry.generic import GenericStore
    from pyk8s.apiserver.watchcache import WatchCache

Obj = dict[str, Any]
CATCH_UP_SECONDS = 2.0
_POLL = 0.002


async def caught_up(store: GenericStore) -> WatchCache:
    cache = store.watch_cache()
    await cache.ensure_started()
    for _ in range(int(CATCH_UP_SECONDS / _POLL)):
        if cache.reflects(store.written):
            break
        await asyncio.sleep(_POLL)
    return cache
