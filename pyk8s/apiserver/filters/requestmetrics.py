"""The request-metrics filter: every request counted and timed into ``apiserver_request_total`` and
``apiserver_request_duration_seconds``, long-running ones held in ``apiserver_longrunning_requests``
while they last (``apiserver/metrics.py`` holds the families).

It is the outermost filter, so it sees the code the client gets, refusals by authentication,
authorization and the in-flight bound included.  It parses the request's ``RequestInfo`` (which every later filter reads), then two dict look-ups
and a counter and a histogram update (``benchmarks/metrics_bench.py`` measures it; see docs/performance.md).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from pyk8s.apiserver.metrics import (
    METRICS_KEY,
    MUTATING,
    READ_ONLY,
    READ_ONLY_VERBS,
    APIServerMetrics,
    labels_of,
    sent_code,
)
from pyk8s.apiserver.requestinfo import request_info

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_metrics_middleware(metrics: APIServerMetrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    requests, latency, longrunning, inflight = metrics.requests, metrics.latency, metrics.longrunning, metrics.inflight
    # prometheus-client's ``labels()`` validates and locks on every call: the children are kept here
    # per label set instead (a few hundred label sets in a busy cluster).
    histograms: dict[tuple[str, ...], Any] = {}
    counters: dict[tuple[str, ...], Any] = {}

    def observe(labels: tuple[str, ...], code: str, seconds: float) -> None:
        histogram = histograms.get(labels)
        if histogram is None:
            histogram = histograms[labels] = latency.labels(*labels)
        histogram.observe(seconds)
        key = (*labels, code)
        counter = counters.get(key)
        if counter is None:
            counter = counters[key] = requests.labels(*key)
        counter.inc()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        labels, long_running = labels_of(request_info(request), request.method, request.query,
                                         request.headers.get("Content-Type", ""))
        gauge = kind = None
        started = time.perf_counter()
        if long_running:
            gauge = longrunning.labels(labels[0], *labels[2:])
            gauge.inc()
            request[METRICS_KEY] = metrics  # the watch handler counts its events
        else:
            kind = READ_ONLY if labels[0] in READ_ONLY_VERBS else MUTATING
            inflight.started(kind, started)
        code = ""
        try:
            response = await handler(request)
            code = str(response.status)
            return response
        except web.HTTPException as exc:
            code = str(exc.status)
            raise
        finally:
            # A handler cut short (the client went away): what it had answered, if anything.
            observe(labels, code or sent_code(request), time.perf_counter() - started)
            if gauge is not None:
                gauge.dec()
            if kind is not None:
                inflight.ended(kind)

    return middleware
