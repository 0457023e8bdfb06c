"""Deprecated APIs: every request to one gets upstream's ``Warning: 299 - "<text>"`` header (kubectl
prints it), whatever the outcome, as upstream's deprecation filter does.  The table holds the
deprecated built-in resources still served (CRD versions warn through their own strategy)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from pyk8s.apiserver.endpoints.responses import warning_value
from pyk8s.apiserver.requestinfo import RequestInfo, request_info

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: path segment after /api/v1 (core group only today) -> warning text
DEPRECATED_CORE: dict[str, str] = {"componentstatuses": "v1 ComponentStatus is deprecated in v1.19+"}


def warning_of(info: RequestInfo) -> str:
    """The deprecation warning of the resource the request addresses ("" for most)."""
    if info.api_prefix != "api" or info.api_version != "v1":
        return ""
    return DEPRECATED_CORE.get(info.resource, "")


@web.middleware
async def deprecation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    text = warning_of(request_info(request))
    if not text:
        return await handler(request)
    response = await handler(request)
    if not response.prepared:
        response.headers.add("Warning", warning_value(text))
    return response
