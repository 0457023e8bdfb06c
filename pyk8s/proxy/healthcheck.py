"""The proxy's HTTP endpoints, as upstream's ``pkg/proxy/healthcheck``.

* ``/healthz`` (and ``/livez``) on ``--healthz-bind-address`` (0.0.0.0:10256):
  200 while rules are current, 503 once a change has waited for a sync longer
  than ``timeout`` (2 x the 30 s sync period) or before the first sync.  The
  body is upstream's JSON: ``lastUpdated``, ``currentTime``, ``nodeEligible``.
* ``/metrics`` on ``--metrics-bind-address`` (127.0.0.1:10249).
* One listener per ``healthCheckNodePort`` (LoadBalancer Services with
  externalTrafficPolicy Local): any path answers the Service's name and its
  count of local endpoints, 200 when there is at least one and 503 otherwise,
  so a load balancer sends traffic only to nodes that have a local endpoint.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import orjson
from aiohttp import web

log = logging.getLogger(__name__)
HEADERS = {"X-Content-Type-Options": "nosniff"}


def split_address(text: str, default_port: int) -> tuple[str, int]:
    """``host:port`` (or a bare host) into its parts; an empty host means every address."""
    host, sep, port = text.rpartition(":")
    if not sep:
        return text or "0.0.0.0", default_port
    return host.strip("[]") or "0.0.0.0", int(port)


def _rfc3339(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat().replace("+00:00", "Z")


class ProxyHealth:
    """Whether the proxy keeps its rules current (fed by the proxier)."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.last_updated = 0.0  # wall time of the last successful sync
        self.queued_since: float | None = None  # monotonic time of the oldest change not yet synced

    def queued(self) -> None:
        if self.queued_since is None:
            self.queued_since = time.monotonic()

    def updated(self) -> None:
        self.last_updated = time.time()
        self.queued_since = None

    def healthy(self) -> bool:
        if self.last_updated == 0.0:
            return False
        return self.queued_since is None or time.monotonic() - self.queued_since < self.timeout

    def body(self) -> bytes:
        return orjson.dumps({"lastUpdated": _rfc3339(self.last_updated or time.time()),
                             "currentTime": _rfc3339(time.time()), "nodeEligible": True})


async def _start(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


async def serve_health(health: ProxyHealth, address: str) -> web.AppRunner:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(body=health.body(), status=200 if health.healthy() else 503,
                            content_type="application/json", headers=HEADERS)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", healthz)
    host, port = split_address(address, 10256)
    return await _start(app, host, port)


async def serve_metrics(render: Callable[[], str], address: str) -> web.AppRunner:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=render().encode(),
                            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    host, port = split_address(address, 10249)
    return await _start(app, host, port)


@dataclass
class _ServiceHealth:
    namespace: str
    name: str
    local_endpoints: int
    runner: web.AppRunner | None = None


class ServiceHealthServers:
    """One HTTP listener per healthCheckNodePort, kept in step with the Services by ``sync``."""

    def __init__(self, host: str = "0.0.0.0") -> None:
        self.host = host
        self.services: dict[int, _ServiceHealth] = {}

    def _handler(self, port: int) -> Callable[[web.Request], object]:
        async def handle(_: web.Request) -> web.Response:
            svc = self.services.get(port)
            count = svc.local_endpoints if svc else 0
            body = {"service": {"namespace": svc.namespace if svc else "", "name": svc.name if svc else ""},
                    "localEndpoints": count, "serviceProxyHealthy": True}
            return web.Response(body=orjson.dumps(body), status=200 if count > 0 else 503,
                                content_type="application/json", headers=HEADERS)

        return handle

    async def sync(self, wanted: Mapping[int, tuple[str, str, int]]) -> None:
        """``wanted``: healthCheckNodePort -> (namespace, name, local endpoint count)."""
        for port in [p for p in self.services if p not in wanted]:
            runner = self.services.pop(port).runner
            if runner is not None:
                await runner.cleanup()
        for port, (ns, name, count) in wanted.items():
            current = self.services.get(port)
            if current is not None:
                current.namespace, current.name, current.local_endpoints = ns, name, count
                continue
            entry = _ServiceHealth(ns, name, count)
            self.services[port] = entry
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handler(port))  # type: ignore[arg-type]
            try:
                entry.runner = await _start(app, self.host, port)
            except OSError as exc:
                log.error("healthCheckNodePort %d for %s/%s: cannot listen: %s", port, ns, name, exc)

    async def close(self) -> None:
        await self.sync({})
