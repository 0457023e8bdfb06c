"""Keeping the kubelet's resident memory close to what it uses (glibc's allocator).

The kubelet is long-lived and bursty: a burst of pods allocates many short-lived
objects (API responses, protobuf messages, TLS buffers) in several threads, and
glibc keeps what they freed, spread over one arena per thread, as resident
memory.  Go's runtime (upstream's kubelet) returns such memory to the system
with its scavenger; here two glibc calls do the same:

* ``limit_arenas()`` at start: at most ``ARENAS`` malloc arenas (glibc's
  default is eight per core), so the gRPC and executor threads share them;
* ``trim()`` from housekeeping: ``malloc_trim(0)`` hands the free pages of
  every arena back (it takes a few milliseconds).

Elsewhere (no glibc, e.g. musl) both do nothing.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

M_ARENA_MAX = -8  # mallopt parameter, glibc's malloc.h
ARENAS = 2


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols, libc's among them
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both must exist (glibc)
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(arenas: int = ARENAS) -> bool:
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, arenas))


def trim() -> bool:
    """Returns freed heap memory to the system; True when some was released."""
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0))
