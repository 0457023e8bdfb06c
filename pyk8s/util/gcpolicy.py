"""The garbage collector's policy for a long-running daemon (the API server and what it embeds).

CPython's cyclic collector runs a young collection every 700 net allocations, and every tenth
of those an older one; each full collection walks every tracked object of the process.  A server
that has loaded its scheme, OpenAPI documents and watch caches holds a few hundred thousand
of them, so a full pass costs tens of milliseconds, paid by whichever request happens to allocate
at that moment: the tail of the latency distribution.  And a request's own objects (a decoded
body, a list of a few thousand decoded objects) live for the whole request: with a 700-object
young generation they survive two collections and are promoted, which is what makes full passes
frequent.

So, once start-up is done:

* ``gc.freeze()`` moves everything alive (modules, the scheme, schemas, bootstrap data) into the
  permanent generation, which collections no longer walk (after one full collection, so no
  start-up garbage is kept forever);
* a larger young generation (``GEN0``) lets request-scoped objects die by reference counting
  before a collection ever looks at them, so far fewer reach the old generations.

Nothing is disabled: cycles are still collected, only less often.  ``PYK8S_GC_THRESHOLD``
(``gen0,gen1,gen2``) overrides the thresholds, as ``GOGC`` does for a Go process.
"""

from __future__ import annotations

import gc
import os

GEN0 = 20_000
GEN1 = 10
GEN2 = 10
ENV = "PYK8S_GC_THRESHOLD"


def thresholds(env: str | None) -> tuple[int, int, int]:
    """The collector thresholds: ``env`` (three comma-separated non-negative integers) or the defaults."""
    if env:
        parts = env.split(",")
        if len(parts) == 3 and all(p.strip().isdigit() for p in parts):
            g0, g1, g2 = (int(p) for p in parts)
            return g0, g1, g2
    return GEN0, GEN1, GEN2


def settle_after_startup() -> None:
    """Freeze what start-up made and apply the daemon's thresholds (idempotent)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds(os.environ.get(ENV)))
