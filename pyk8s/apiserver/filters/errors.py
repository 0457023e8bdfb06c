"""Every failure becomes a Kubernetes ``Status`` body.

``StatusError`` raised anywhere below maps one-to-one onto its Status.
aiohttp's own HTTP exceptions (body too large, method not allowed...) are
translated to the matching reason.  Anything else is a bug: it is logged
once with its traceback on the server and the client gets a 500
InternalError that reveals nothing about the code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from pyk8s.machinery.errors import StatusError, internal, too_large

log = logging.getLogger("pyk8s.apiserver")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
}


def status_response(err: StatusError) -> web.Response:
    headers = {}
    if err.retry_after_seconds:
        headers["Retry-After"] = str(err.retry_after_seconds)
    return web.Response(status=err.code, body=orjson.dumps(err.to_status()), content_type="application/json",
                        headers=headers)


def from_http_exception(exc: web.HTTPException) -> StatusError:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return too_large()
    reason = _REASONS.get(exc.status, "InternalError" if exc.status >= 500 else "BadRequest")
    return StatusError(exc.status, reason, exc.reason or reason)


@web.middleware
async def status_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        resp = await handler(request)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s", request.method, request.path_qs, resp.status)
        return resp
    except StatusError as err:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s %s", request.method, request.path_qs, err.code, err.reason)
        return status_response(err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return status_response(from_http_exception(exc))
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("internal error serving %s %s", request.method, request.path_qs)
        return status_response(internal("an internal error occurred while serving the request"))
