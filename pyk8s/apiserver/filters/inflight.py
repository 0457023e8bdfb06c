"""Bounds on requests in flight (kube-apiserver's ``--max-requests-inflight`` and
``--max-mutating-requests-inflight``).

Reads and writes are counted apart; a request over its bound is refused at
once with 429 TooManyRequests, ``Retry-After: 1`` and upstream's message, so
a flood queues nowhere.  As upstream: long-running requests (watches, and
exec, attach, proxy, log and port-forward) are not counted, and members of
``system:masters`` are never refused.  A bound of 0 means unlimited.  The
filter runs after authentication, which it needs for the exemption.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from pyk8s.apiserver.filters.authn import USER_KEY
from pyk8s.apiserver.requestinfo import long_running, request_info
from pyk8s.machinery.errors import StatusError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_REQUESTS_INFLIGHT = 400
MAX_MUTATING_REQUESTS_INFLIGHT = 200
TOO_MANY_REQUESTS = "Too many requests, please try again later."
PRIVILEGED_GROUP = "system:masters"
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def too_many_requests() -> StatusError:
    return StatusError(429, "TooManyRequests", TOO_MANY_REQUESTS, retry_after_seconds=1)


class _Bound:
    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0


def inflight_middleware(max_requests: int = MAX_REQUESTS_INFLIGHT,
                        max_mutating: int = MAX_MUTATING_REQUESTS_INFLIGHT) -> Callable[..., Awaitable[web.StreamResponse]]:
    reads, writes = _Bound(max_requests), _Bound(max_mutating)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        bound = reads if request.method in _READ_METHODS else writes
        if bound.limit <= 0 or long_running(request_info(request), request.method):
            return await handler(request)
        if bound.used >= bound.limit:
            user = request.get(USER_KEY)
            if user is None or PRIVILEGED_GROUP not in user.groups:
                raise too_many_requests()
            return await handler(request)  # the super-user always gets an answer, outside the bound
        bound.used += 1
        try:
            return await handler(request)
        finally:
            bound.used -= 1

    return middleware
