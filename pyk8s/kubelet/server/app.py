"""The kubelet's HTTPS API (port 10250): what the API server proxies ``pods/log`` and friends to.

TLS: the kubelet serves with a certificate the cluster CA signed for the
node's names and addresses, which it asks for with a CSR and renews
(``pyk8s.kubelet.certificates.serving``; a temporary self-signed one until it
is issued, or always when the server has no API client).  Clients must present a certificate signed by the cluster CA whose
subject is in ``system:masters`` — the API server's kubelet client — and
nobody else is served (401 without one, 403 for another identity).

Routes (upstream's paths and parameters):

* ``GET /healthz`` — ``ok``;
* ``GET /pods`` — the pods bound to this node, as a PodList;
* ``GET /containerLogs/{namespace}/{pod}/{container}`` — ``follow``,
  ``previous``, ``tailLines``, ``sinceSeconds``, ``sinceTime``,
  ``timestamps``, ``limitBytes``; text/plain, streamed;
* ``/exec/{namespace}/{pod}/{container}?command=..&input=1&output=1&error=1&tty=1``
  and ``/attach/{namespace}/{pod}/{container}`` — WebSocket
  ``v5.channel.k8s.io`` / ``v4.channel.k8s.io`` (``remotecommand``);
* ``/portForward/{namespace}/{pod}`` — WebSocket ``SPDY/3.1+portforward.k8s.io``
  (``portforward``);
* ``GET /stats/summary`` — the Summary API (``pyk8s.kubelet.stats.summary``);
* ``GET /metrics/resource`` — its CPU and memory figures in Prometheus text.

Streaming refusals come before any upgrade as plain text with upstream's
status codes (``streamsource``), which the API server passes on.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import pathlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from pyk8s.kubelet.certificates.serving import ServingCertificates, wait_issued
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.server import portforward, remotecommand
from pyk8s.kubelet.server.logs import LogOptions, read_logs
from pyk8s.kubelet.server.streamsource import PodStreams, StreamRefused
from pyk8s.kubelet.stats import metrics
from pyk8s.kubelet.stats.summary import StatsProvider

log = logging.getLogger(__name__)
Obj = dict[str, Any]
ALLOWED_GROUP = "system:masters"


class LogSource(Protocol):
    """Where a container's log is, and whether it is still being written."""

    async def log_path(self, namespace: str, pod: str, container: str, previous: bool) -> str: ...
    async def running(self, namespace: str, pod: str, container: str) -> bool: ...


class NotFound(LookupError):
    pass


@dataclass
class KubeletServer:
    node_name: str
    addresses: list[str]
    root_dir: pathlib.Path
    client_ca_pem: bytes
    pods: Callable[[], list[Obj]]
    logs: LogSource
    streams: PodStreams | None = None
    port: int = 10250
    bind: str = "0.0.0.0"
    client: Any = None  # the kubelet's API client: the serving certificate is requested through it
    stats: StatsProvider | None = None

    def __post_init__(self) -> None:
        self.certificates = ServingCertificates(self.client, self.node_name, self.root_dir / "pki",
                                                fallback_addresses=list(self.addresses))

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._authenticate])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/pods", self._pods)
        app.router.add_get("/stats/summary", self._summary)
        app.router.add_get("/metrics/resource", self._resource_metrics)
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self._logs)
        for method in ("GET", "POST"):
            app.router.add_route(method, "/exec/{namespace}/{pod}/{container}", self._exec)
            app.router.add_route(method, "/attach/{namespace}/{pod}/{container}", self._attach)
            app.router.add_route(method, "/portForward/{namespace}/{pod}", self._port_forward)
        return app

    async def run(self) -> None:
        ctx = await self.certificates.prepare(self.client_ca_pem)
        # As the API server's runner (and Go's request context): a handler is cancelled when its client goes, so
        # a follow of a quiet log ends with the `kubectl logs -f` that asked for it instead of tailing the file until
        # the container next writes; and stopping waits 1 s for handlers, not aiohttp's 60.
        runner = web.AppRunner(self.app(), access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await runner.setup()
        try:
            async with asyncio.TaskGroup() as tg:
                if self.client is not None:
                    tg.create_task(self.certificates.run())
                    # The API server refuses the temporary certificate: serve with the issued one when it comes soon.
                    await wait_issued(self.certificates)
                site = web.TCPSite(runner, self.bind, self.port, ssl_context=ctx, reuse_address=True)
                await site.start()
                log.info("kubelet API serving on %s:%d", self.bind, self.port)
                await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    @web.middleware
    async def _authenticate(self, request: web.Request,
                            handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        # The decoded form exists only for a certificate the handshake verified against the cluster CA.
        cert = ssl_object.getpeercert() if ssl_object is not None else None
        if not cert:
            return _status(401, "Unauthorized", "Unauthorized")
        user, groups = subject_identity(cert)
        if ALLOWED_GROUP not in groups:
            return _status(403, "Forbidden", f'User "{user}" cannot access the kubelet API')
        return await handler(request)

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _pods(self, request: web.Request) -> web.Response:
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": self.pods()})

    async def _summary(self, request: web.Request) -> web.Response:
        if self.stats is None:
            return _status(503, "ServiceUnavailable", "stats are not available on this node")
        return web.json_response(await self.stats.summary())

    async def _resource_metrics(self, request: web.Request) -> web.Response:
        summary = None
        if self.stats is not None:
            try:
                summary = await self.stats.summary()
            except (OSError, ValueError, ri.RuntimeServiceError) as exc:
                log.warning("resource metrics: %s", exc)
        return web.Response(body=metrics.render(summary).encode(),
                            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        ns, pod, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
        try:
            opts = log_options(request.query)
        except ValueError as exc:
            return _status(400, "BadRequest", str(exc))
        try:
            path = await self.logs.log_path(ns, pod, container, _flag(request.query, "previous"))
        except NotFound as exc:
            return _status(404, "NotFound", str(exc))
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        async for piece in read_logs(path, opts, lambda: self.logs.running(ns, pod, container)):
            await resp.write(piece)
        await resp.write_eof()
        return resp

    def _stream_source(self) -> PodStreams:
        if self.streams is None:
            raise StreamRefused(503, "streaming is not available on this node")
        return self.streams

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        ns, pod, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
        try:
            opts = remotecommand.parse_options(request.query)
        except ValueError as exc:
            return remotecommand.text(400, str(exc))
        try:
            url = await self._stream_source().exec_url(ns, pod, container, request.query.getall("command", []),
                                                       stdin=opts.stdin, stdout=opts.stdout, stderr=opts.stderr,
                                                       tty=opts.tty)
        except StreamRefused as exc:
            return remotecommand.text(exc.code, exc.message)
        return await remotecommand.serve(request, url, opts)

    async def _attach(self, request: web.Request) -> web.StreamResponse:
        ns, pod, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
        try:
            opts = remotecommand.parse_options(request.query)
        except ValueError as exc:
            return remotecommand.text(400, str(exc))
        try:
            url, opts.tty = await self._stream_source().attach_url(ns, pod, container, stdin=opts.stdin,
                                                                   stdout=opts.stdout, stderr=opts.stderr)
        except StreamRefused as exc:
            return remotecommand.text(exc.code, exc.message)
        opts.stderr = opts.stderr and not opts.tty
        return await remotecommand.serve(request, url, opts)

    async def _port_forward(self, request: web.Request) -> web.StreamResponse:
        ns, pod = request.match_info["namespace"], request.match_info["pod"]
        try:
            source = self._stream_source()
            source.check_pod(ns, pod)
        except StreamRefused as exc:
            return remotecommand.text(exc.code, exc.message)
        return await portforward.serve(request, lambda port: source.port_forward_url(ns, pod, port))


def subject_identity(cert: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(CN, O values) of a verified peer certificate as ``SSLSocket.getpeercert()`` decodes it."""
    attributes = [attr for rdn in cert.get("subject") or () for attr in rdn]
    names = [str(value) for key, value in attributes if key == "commonName"]
    return (names[0] if names else "", tuple(str(value) for key, value in attributes if key == "organizationName"))


def _flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "false").lower() in ("true", "1")


def _int(query: Mapping[str, str], name: str) -> int | None:
    if name not in query:
        return None
    try:
        return int(query[name])
    except ValueError:
        raise ValueError(f"invalid {name}: {query[name]!r}") from None


def log_options(query: Mapping[str, str]) -> LogOptions:
    since = None
    if (seconds := _int(query, "sinceSeconds")) is not None:
        since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=seconds)
    elif "sinceTime" in query:
        since = datetime.datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00"))
    return LogOptions(follow=_flag(query, "follow"), tail_lines=_int(query, "tailLines"), since=since,
                      timestamps=_flag(query, "timestamps"), limit_bytes=_int(query, "limitBytes"))


def _status(code: int, reason: str, message: str) -> web.Response:
    return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason, "code": code}, status=code)

