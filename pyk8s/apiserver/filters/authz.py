"""The authorization filter: every request is put to the authorizer before it reaches an endpoint.

A refusal is upstream's 403 Status, worded as kube-apiserver words it:
``pods is forbidden: User "x" cannot list resource "pods" in API group "" in
the namespace "default"`` (``pods "p" is forbidden: ...`` with a name,
``... at the cluster scope`` without a namespace, and ``forbidden: User "x"
cannot get path "/foo"`` for non-resource paths), followed by the
authorizers' reasons.  ``pods/exec``, ``pods/attach`` and
``pods/portforward`` need ``create`` even when asked with a GET (the
WebSocket form kubectl uses), as upstream's
AuthorizePodWebsocketUpgradeCreatePermission.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from aiohttp import web

from pyk8s.apiserver.audit.event import CURRENT as AUDITED
from pyk8s.apiserver.authorization.attributes import Attributes, attributes_of, forbidden_message
from pyk8s.apiserver.authorization.context import REQUEST, RequestContext
from pyk8s.apiserver.authorization.decision import Authorizer, Decision
from pyk8s.apiserver.authorization.union import UnionAuthorizer
from pyk8s.apiserver.filters.authn import USER_KEY
from pyk8s.apiserver.requestinfo import request_info
from pyk8s.machinery.errors import StatusError, forbidden

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ATTRIBUTES_KEY = web.RequestKey("pyk8s.authz-attributes", Attributes)
AUTHORIZER_KEY = web.AppKey("pyk8s.authorizer", UnionAuthorizer)
CONNECT_SUBRESOURCES = frozenset({"exec", "attach", "portforward"})


def forbidden_error(attrs: Attributes, reason: str = "") -> StatusError:
    message = forbidden_message(attrs) + (f": {reason}" if reason else "")
    if not attrs.resource_request:
        return StatusError(403, "Forbidden", f"forbidden: {message}")
    return forbidden(message, attrs.resource, attrs.name, attrs.api_group)


async def check(authorizer: Authorizer, attrs: Attributes) -> None:
    """Raise the 403 unless ``attrs`` is allowed; an audited request records the decision and its reason."""
    decision, reason = await authorizer.authorize(attrs)
    if (event := AUDITED.get()) is not None:
        event.annotations["authorization.k8s.io/decision"] = "allow" if decision is Decision.ALLOW else "forbid"
        event.annotations["authorization.k8s.io/reason"] = reason
    if decision is not Decision.ALLOW:
        raise forbidden_error(attrs, reason)


def authz_middleware(authorizer: UnionAuthorizer) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Refuse what the authorizer does not allow; for the rest, remember who asks (escalation checks)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        user = request.get(USER_KEY)
        if user is None:  # authentication refused it already
            return await handler(request)
        attrs = attributes_of(user, request_info(request), request.query)
        await check(authorizer, attrs)
        if (attrs.verb == "get" and attrs.api_group == "" and attrs.resource == "pods"
                and attrs.subresource in CONNECT_SUBRESOURCES):
            await check(authorizer, dataclasses.replace(attrs, verb="create"))
        request[ATTRIBUTES_KEY] = attrs
        token = REQUEST.set(RequestContext(user, authorizer))
        try:
            return await handler(request)
        finally:
            REQUEST.reset(token)

    return middleware
