"""A tiny admission webhook over TLS on 127.0.0.1, for tests and benchmarks.

In process: ``WebhookServer(handler)`` where ``handler(path, request) -> response fields`` (a dict merged into
the AdmissionReview response; ``uid`` is filled in), ``await start()``, ``url(path)``, ``ca_pem``,
``reviews`` (every request received), ``await stop()``.

As a test process: ``python -m pyk8s.testing.webhookserver DIR [NAME...]`` serves the built-in behaviours below and
writes ``DIR/port`` and ``DIR/ca.crt`` once listening:

* ``/mutate``: adds the label ``webhook.pyk8s.io/mutated: "true"`` (JSONPatch) and warns
  ``mutated by test webhook``;
* ``/validate``: refuses objects labelled ``deny`` (``label "deny" is set``, code 403) and warns
  ``validated by test webhook``;
* ``/allow``: allows; ``/slow``: allows after 3 s (timeouts); ``/garbage``: answers a non-review.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from pyk8s.testing.aggregatedserver import announce
from pyk8s.testing.tlsfixtures import serving_cert

Obj = dict[str, Any]
Handler = Callable[[str, Obj], Obj]
MUTATED_LABEL = "webhook.pyk8s.io/mutated"


def json_patch(ops: list[Obj]) -> Obj:
    return {"patchType": "JSONPatch", "patch": base64.b64encode(json.dumps(ops).encode()).decode()}


def builtin_handler(path: str, request: Obj) -> Obj:
    obj = request.get("object") or {}
    labels = (obj.get("metadata") or {}).get("labels")
    if path == "/mutate":
        ops: list[Obj] = []
        if labels is None:
            ops.append({"op": "add", "path": "/metadata/labels", "value": {}})
        ops.append({"op": "add", "path": "/metadata/labels/" + MUTATED_LABEL.replace("/", "~1"), "value": "true"})
        return {"allowed": True, "warnings": ["mutated by test webhook"], **json_patch(ops)}
    if path == "/validate":
        if labels and "deny" in labels:
            return {"allowed": False, "status": {"code": 403, "message": 'label "deny" is set'}}
        return {"allowed": True, "warnings": ["validated by test webhook"]}
    return {"allowed": True}


class WebhookServer:
    def __init__(self, handler: Handler = builtin_handler, *, host: str = "127.0.0.1", port: int = 0,
                 names: tuple[str, ...] = ()) -> None:
        """``names``: more names for the serving certificate (``<service>.<namespace>.svc``)."""
        self.handler = handler
        self.host = host
        self.port = port
        self.tls = serving_cert("localhost", "127.0.0.1", "webhook.default.svc", *names)
        self.reviews: list[Obj] = []
        self._runner: web.AppRunner | None = None

    @property
    def ca_pem(self) -> bytes:
        return self.tls.ca_pem

    @property
    def ca_bundle(self) -> str:
        return base64.b64encode(self.tls.ca_pem).decode()

    def url(self, path: str) -> str:
        return f"https://{self.host}:{self.port}{path}"

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/slow":
            await asyncio.sleep(3)
        if request.path == "/garbage":
            return web.Response(text="not a review", content_type="text/plain")
        review = await request.json()
        self.reviews.append(review)
        req = review.get("request") or {}
        response = {"uid": req.get("uid"), **self.handler(request.path, req)}
        return web.json_response({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                  "response": response})

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as d:
            cert, key = Path(d, "tls.crt"), Path(d, "tls.key")
            cert.write_bytes(self.tls.cert_pem)
            key.write_bytes(self.tls.key_pem)
            ctx.load_cert_chain(cert, key)
        return ctx

    async def start(self) -> int:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        ctx = self.ssl_context()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=ctx)
        await site.start()
        self.port = next(a[1] for a in self._runner.addresses if isinstance(a, tuple))
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def _main(directory: Path, names: tuple[str, ...]) -> None:
    server = WebhookServer(names=names)
    await server.start()
    announce(directory, server.ca_pem, server.port)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_main(Path(sys.argv[1]), tuple(sys.argv[2:])))
