"""A tiny extension API server (group ``widgets.pyk8s.test``, version ``v1alpha1``) over TLS, for tests.

It serves discovery for its group-version, a namespaced ``widgets`` resource (list, get, watch, and a
WebSocket ``widgets/<name>/echo`` that greets the user and echoes text) and trusts
``X-Remote-User`` / ``X-Remote-Group`` / ``X-Remote-Extra-*`` only from a client presenting a certificate
signed by the front-proxy CA it is given (as upstream's request-header authenticator does); every widget it
returns carries the user it saw in the annotation ``widgets.pyk8s.test/requested-by`` (groups in
``.../groups``).  Without a trusted client certificate it answers 401.

In process: ``AggregatedServer(front_proxy_ca_pem)``, ``await start()``, ``port``, ``ca_bundle``, ``await stop()``.
As a test process: ``python -m pyk8s.testing.aggregatedserver DIR FRONT_PROXY_CA_FILE`` writes ``DIR/port`` and
``DIR/ca.crt`` once listening.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import sys
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from pyk8s.testing.tlsfixtures import serving_cert

Obj = dict[str, Any]
GROUP = "widgets.pyk8s.test"
VERSION = "v1alpha1"
GV = f"{GROUP}/{VERSION}"
RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GV, "resources": [
    {"name": "widgets", "singularName": "widget", "namespaced": True, "kind": "Widget",
     "verbs": ["get", "list", "watch"], "shortNames": ["wd"]}]}
WIDGETS = ("alpha", "beta")


def _widget(name: str, namespace: str, user: str, groups: list[str]) -> Obj:
    return {"apiVersion": GV, "kind": "Widget",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1",
                         "creationTimestamp": "2026-01-01T00:00:00Z",
                         "annotations": {f"{GROUP}/requested-by": user, f"{GROUP}/groups": ",".join(groups)}},
            "spec": {"size": len(name)}}


class AggregatedServer:
    def __init__(self, front_proxy_ca_pem: bytes, *, host: str = "127.0.0.1") -> None:
        self.front_proxy_ca_pem = front_proxy_ca_pem
        self.host = host
        self.port = 0
        self.tls = serving_cert("localhost", "127.0.0.1", "widgets.default.svc", "widgets.kube-system.svc")
        self.seen_headers: list[dict[str, str]] = []
        self._runner: web.AppRunner | None = None

    @property
    def ca_bundle(self) -> str:
        return base64.b64encode(self.tls.ca_pem).decode()

    def _user(self, request: web.Request) -> tuple[str, list[str]] | None:
        self.seen_headers.append(dict(request.headers))
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        if not peer or not request.headers.get("X-Remote-User"):
            return None
        return request.headers["X-Remote-User"], request.headers.getall("X-Remote-Group", [])

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        user = self._user(request)
        if user is None:
            return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                      "message": "Unauthorized", "reason": "Unauthorized", "code": 401}, status=401)
        parts = request.path.strip("/").split("/")
        if parts == ["apis", GROUP, VERSION]:
            return web.json_response(RESOURCES)
        if parts == ["apis", GROUP]:
            gv = {"groupVersion": GV, "version": VERSION}
            return web.json_response({"kind": "APIGroup", "apiVersion": "v1", "name": GROUP, "versions": [gv],
                                      "preferredVersion": gv})
        if len(parts) == 8 and parts[:4] == ["apis", GROUP, VERSION, "namespaces"] and parts[7] == "echo":
            return await self._echo(request, user[0])
        if len(parts) >= 6 and parts[:4] == ["apis", GROUP, VERSION, "namespaces"] and parts[5] == "widgets":
            ns = parts[4]
            items = [_widget(n, ns, *user) for n in WIDGETS]
            if len(parts) == 7:
                found = [w for w in items if w["metadata"]["name"] == parts[6]]
                if not found:
                    return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                              "message": f'widgets.{GROUP} "{parts[6]}" not found',
                                              "reason": "NotFound", "code": 404}, status=404)
                return web.json_response(found[0])
            if request.query.get("watch") in ("1", "true"):
                return await self._watch(request, items)
            return web.json_response({"apiVersion": GV, "kind": "WidgetList", "metadata": {"resourceVersion": "1"},
                                      "items": items})
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                  "message": "the server could not find the requested resource", "reason": "NotFound",
                                  "code": 404}, status=404)

    async def _echo(self, request: web.Request, user: str) -> web.StreamResponse:
        """``widgets/<name>/echo``: a WebSocket that greets the user, then echoes text frames."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(f"hello {user}")
        async for msg in ws:
            if msg.type == web.WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws

    async def _watch(self, request: web.Request, items: list[Obj]) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        for item in items:
            await resp.write(json.dumps({"type": "ADDED", "object": item}).encode() + b"\n")
            await asyncio.sleep(0.05)
        await resp.write_eof()
        return resp

    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as d:
            cert, key = Path(d, "tls.crt"), Path(d, "tls.key")
            cert.write_bytes(self.tls.cert_pem)
            key.write_bytes(self.tls.key_pem)
            ctx.load_cert_chain(cert, key)
        ctx.load_verify_locations(cadata=self.front_proxy_ca_pem.decode())
        ctx.verify_mode = ssl.CERT_OPTIONAL
        return ctx

    async def start(self, port: int = 0) -> int:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port, ssl_context=self._ssl())
        await site.start()
        self.port = next(a[1] for a in self._runner.addresses if isinstance(a, tuple))
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def announce(directory: Path, ca_pem: bytes, port: int) -> None:
    """Write ``ca.crt`` then ``port`` (atomically: its presence means the server listens)."""
    (directory / "ca.crt").write_bytes(ca_pem)
    tmp = directory / "port.tmp"
    tmp.write_text(str(port))
    os.replace(tmp, directory / "port")


async def _main(directory: Path, front_proxy_ca_pem: bytes) -> None:
    server = AggregatedServer(front_proxy_ca_pem)
    await server.start(int(os.environ.get("PYK8S_AGGREGATED_PORT", "0")))
    announce(directory, server.tls.ca_pem, server.port)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_main(Path(sys.argv[1]), Path(sys.argv[2]).read_bytes()))
