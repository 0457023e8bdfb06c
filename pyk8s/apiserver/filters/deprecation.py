"""Deprecated APIs: every request to one gets upstream's ``Warning: 299 - "<text>"`` header (kubectl
prints it), whatever the outcome, as upstream's deprecation filter does.  The table holds the
deprecated built-in resources still served (CRD versions warn through their own strategy)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from pyk8s.apiserver.endpoints.responses import warning_value

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: path segment after /api/v1 (core group only today) -> warning text
DEPRECATED_CORE: dict[str, str] = {"componentstatuses": "v1 ComponentStatus is deprecated in v1.19+"}


def _warning(path: str) -> str:
    if not any(resource in path for resource in DEPRECATED_CORE):  # most requests: no split
        return ""
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[0] != "api" or parts[1] != "v1":
        return ""
    rest = parts[2:]
    if rest[0] == "watch" and len(rest) > 1:
        rest = rest[1:]
    return DEPRECATED_CORE.get(rest[0], "")


@web.middleware
async def deprecation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    text = _warning(request.path)
    if not text:
        return await handler(request)
    response = await handler(request)
    if not response.prepared:
        response.headers.add("Warning", warning_value(text))
    return response
