"""Serving ``/openapi/v2``, ``/openapi/v3`` and ``/openapi/v3/<gv>?hash=...``.

The documents are built by ``pyk8s.machinery.openapi`` from the scheme and
schema registry at request time (it caches by a fingerprint, so a kind added
at run time shows up).  Hash-qualified v3 URLs are immutable and say so;
the index and unqualified URLs get an ETag only.

``/openapi/v2`` is served as JSON or as gnostic's ``openapi.v2.Document``
protobuf (``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``, the
form kubectl asks for when it validates a ``kind: List`` on the client).  The
choice follows kube-openapi's handler: Accept clauses by preference, the first
that matches JSON or one of the two protobuf names wins, and nothing matching
is a 406.  Both forms carry the JSON form's ETag and ``Vary: Accept``.
"""

from __future__ import annotations

from aiohttp import web

from pyk8s.apiserver.endpoints.negotiation import parse_accept
from pyk8s.apiserver.endpoints.responses import json_response
from pyk8s.machinery import openapi, openapi_proto
from pyk8s.machinery.errors import StatusError, resource_not_found_for_path
from pyk8s.machinery.schema import SchemaRegistry
from pyk8s.machinery.scheme import Scheme

JSON = "application/json"
PROTOBUF_V2 = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
#: what /openapi/v2 offers, in kube-openapi's order: (media type, is protobuf)
_V2_OFFERS = ((JSON, False), (openapi_proto.MEDIA_TYPE, True), (PROTOBUF_V2, True))


def _q(params: dict[str, str]) -> float:
    try:
        return float(params.get("q", "1"))
    except ValueError:
        return 0.0


def v2_wants_protobuf(accept: str) -> bool | None:
    """True for the protobuf form, False for JSON, None when nothing offered is acceptable."""
    ranges = parse_accept(accept or "*/*")
    # Highest q first; at equal q a specific type before ``application/*`` before ``*/*``.
    ranked = sorted(ranges, key=lambda mr: (-_q(mr.params), mr.type.count("*")))
    for mr in ranked:
        if _q(mr.params) <= 0:
            continue
        main, _, sub = mr.type.partition("/")
        for offer, proto in _V2_OFFERS:
            offer_main, _, offer_sub = offer.partition("/")
            if main in (offer_main, "*") and sub in (offer_sub, "*"):
                return proto
    return None


def _doc_response(request: web.Request, body: bytes, digest: str, *, immutable: bool,
                  content_type: str = JSON) -> web.Response:
    etag = f'"{digest}"'
    headers = {"ETag": etag, "Vary": "Accept",
               "Cache-Control": "public, immutable" if immutable else "no-cache, private"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = content_type
    return web.Response(body=body, headers=headers)


def serve(request: web.Request, scheme: Scheme, registry: SchemaRegistry) -> web.Response:
    path = request.path.rstrip("/")
    if path == "/openapi/v2":
        proto = v2_wants_protobuf(request.headers.get("Accept", ""))
        if proto is None:
            raise StatusError(406, "NotAcceptable", f"only {JSON} and {openapi_proto.MEDIA_TYPE} are supported "
                                                    "for /openapi/v2")
        if proto:
            body, digest = openapi.v2_document_proto(scheme, registry)
            return _doc_response(request, body, digest, immutable=False, content_type=PROTOBUF_V2)
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
