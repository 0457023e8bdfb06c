"""Serving ``/openapi/v2``, ``/openapi/v3`` and ``/openapi/v3/<gv>?hash=...``.

The documents are built by ``pyk8s.machinery.openapi`` from the scheme and
schema registry at request time (it caches by a fingerprint, so a kind added
at run time shows up).  Hash-qualified v3 URLs are immutable and say so;
the index and unqualified URLs get an ETag only.

``/openapi/v2`` is only produced as JSON.  kubectl asks for it in protobuf
as a fallback; a 406 tells it that form is not offered.
"""

from __future__ import annotations

from aiohttp import web

from pyk8s.apiserver.endpoints.negotiation import parse_accept
from pyk8s.apiserver.endpoints.responses import json_response
from pyk8s.machinery import openapi
from pyk8s.machinery.errors import StatusError, resource_not_found_for_path
from pyk8s.machinery.schema import SchemaRegistry
from pyk8s.machinery.scheme import Scheme

_JSON_ACCEPTABLE = ("application/json", "*/*", "application/*")


def _json_ok(accept: str) -> bool:
    ranges = parse_accept(accept)
    return not ranges or any(mr.type in _JSON_ACCEPTABLE for mr in ranges)


def _doc_response(request: web.Request, body: bytes, digest: str, *, immutable: bool) -> web.Response:
    etag = f'"{digest}"'
    headers = {"ETag": etag, "Vary": "Accept",
               "Cache-Control": "public, immutable" if immutable else "no-cache, private"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


def serve(request: web.Request, scheme: Scheme, registry: SchemaRegistry) -> web.Response:
    path = request.path.rstrip("/")
    if path == "/openapi/v2":
        if not _json_ok(request.headers.get("Accept", "")):
            raise StatusError(406, "NotAcceptable", "only application/json is supported for /openapi/v2")
        body, digest = openapi.v2_document_bytes(scheme, registry)
        return _doc_response(request, body, digest, immutable=False)
    if path == "/openapi/v3":
        return json_response(openapi.v3_index(scheme, registry))
    if path.startswith("/openapi/v3/"):
        found = openapi.find_v3(path[len("/openapi/v3/"):], scheme, registry)
        if found is None:
            raise resource_not_found_for_path(request.path)
        body, digest = found
        return _doc_response(request, body, digest, immutable=request.query.get("hash") == digest)
    raise resource_not_found_for_path(request.path)
