"""The review APIs: questions asked of the server, answered and not stored.

* authorization.k8s.io/v1 ``selfsubjectaccessreviews`` (``kubectl auth
  can-i``), ``selfsubjectrulesreviews`` (``can-i --list``),
  ``subjectaccessreviews`` and ``localsubjectaccessreviews``: until RBAC
  exists every authenticated user may do everything, and the answers say so;
* authentication.k8s.io/v1 ``selfsubjectreviews`` (``kubectl auth whoami``):
  the authenticated user as the server saw it; ``tokenreviews``: whether a
  bearer token is valid here.

The kinds and their request validation come from ``pyk8s.api.authorization``
(the strategies); the self-review kinds are added to the scheme here if that
module is missing, so discovery lists them either way.
Bodies may be protobuf (kubectl's typed clients); the negotiation layer
decodes them before they reach here.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from pyk8s.apiserver.authorization import context as authz_context
from pyk8s.apiserver.authorization import review as authz_review
from pyk8s.apiserver.authorization.union import UnionAuthorizer
from pyk8s.apiserver.endpoints import negotiation
from pyk8s.apiserver.endpoints.objects import check_type
from pyk8s.apiserver.endpoints.responses import json_response
from pyk8s.apiserver.filters.authn import USER_KEY, Authenticator, UserInfo
from pyk8s.machinery.errors import bad_request, invalid, method_not_allowed, resource_not_found_for_path
from pyk8s.machinery.scheme import ResourceType, Scheme

Obj = dict[str, Any]
AUTHZ = "authorization.k8s.io"
AUTHN = "authentication.k8s.io"

REVIEW_TYPES = (
    ResourceType(AUTHZ, "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", "selfsubjectaccessreview",
                 False, verbs=("create",), schema="io.k8s.api.authorization.v1.SelfSubjectAccessReview"),
    ResourceType(AUTHZ, "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", "selfsubjectrulesreview",
                 False, verbs=("create",), schema="io.k8s.api.authorization.v1.SelfSubjectRulesReview"),
    ResourceType(AUTHN, "v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview",
                 False, verbs=("create",), schema="io.k8s.api.authentication.v1.SelfSubjectReview"),
    ResourceType(AUTHN, "v1", "TokenReview", "tokenreviews", "tokenreview",
                 False, verbs=("create",), schema="io.k8s.api.authentication.v1.TokenReview"),
)


def ensure_review_types(scheme: Scheme) -> None:
    """Add the review kinds to ``scheme`` unless the API package already defines them."""
    for rt in REVIEW_TYPES:
        if scheme.get(rt.group, rt.version, rt.plural) is None:
            scheme.add(rt)


def _reply(body: Obj, status: Obj) -> Obj:
    meta = dict(body.get("metadata") or {})
    meta.setdefault("creationTimestamp", None)
    return {"kind": body["kind"], "apiVersion": body["apiVersion"], "metadata": meta,
            "spec": body.get("spec") or {}, "status": status}


def _authorizer() -> UnionAuthorizer | None:
    """The server's authorizers (set for the request by the authorization filter; None: allow all)."""
    ctx = authz_context.REQUEST.get()
    return ctx.authorizer if ctx is not None else None


async def _access(body: Obj, user: UserInfo, auth: Authenticator) -> Obj:
    """(Self|Local)SubjectAccessReview: the authorizers' answer (``authorization/review.py``)."""
    return _reply(body, await authz_review.access_review(_authorizer(), body["kind"], body, user))


async def _rules(body: Obj, user: UserInfo, auth: Authenticator) -> Obj:
    """SelfSubjectRulesReview: the rules RBAC grants the user in ``spec.namespace``."""
    return _reply(body, await authz_review.rules_review(_authorizer(), body, user))


def _self(body: Obj, user: UserInfo, auth: Authenticator) -> Obj:
    """SelfSubjectReview (``kubectl auth whoami``): the user exactly as authentication saw it."""
    return {"kind": body["kind"], "apiVersion": body["apiVersion"], "metadata": {"creationTimestamp": None},
            "status": {"userInfo": user.to_dict()}}


async def _token(body: Obj, user: UserInfo, auth: Authenticator) -> Obj:
    """TokenReview: what the server's token authenticators say of ``spec.token`` for ``spec.audiences``
    (the API's own audiences when none are named), with upstream's error wording when refused."""
    spec = body.get("spec") or {}
    token = str(spec.get("token") or "")
    audiences = [str(a) for a in spec.get("audiences") or []]
    if not token:
        raise bad_request("token is required for TokenReview in authentication")
    result, error = await auth.review_token(token, audiences)
    status: Obj = {"user": {}}  # upstream omits a false ``authenticated`` and keeps an empty user
    if result is not None:
        status["authenticated"] = True
        status["user"] = result.user.to_dict()
        status["audiences"] = list(result.audiences)
    elif error:
        status["error"] = error
    return _reply(body, status)


_Review = Callable[[Obj, UserInfo, Authenticator], Obj | Awaitable[Obj]]
_HANDLERS: dict[tuple[str, str], tuple[str, _Review]] = {
    (AUTHZ, "selfsubjectaccessreviews"): ("SelfSubjectAccessReview", _access),
    (AUTHZ, "subjectaccessreviews"): ("SubjectAccessReview", _access),
    (AUTHZ, "localsubjectaccessreviews"): ("LocalSubjectAccessReview", _access),
    (AUTHZ, "selfsubjectrulesreviews"): ("SelfSubjectRulesReview", _rules),
    (AUTHN, "selfsubjectreviews"): ("SelfSubjectReview", _self),
    (AUTHN, "tokenreviews"): ("TokenReview", _token),
}


def review_target(group: str, rest: list[str]) -> tuple[str, str] | None:
    """(namespace, plural) when the path under a group version names a review resource."""
    if len(rest) == 1 and (group, rest[0]) in _HANDLERS:
        return "", rest[0]
    if len(rest) == 3 and rest[0] == "namespaces" and (group, rest[2]) in _HANDLERS:
        return rest[1], rest[2]
    return None


async def handle(request: web.Request, rt: ResourceType, namespace: str, auth: Authenticator,
                 read_object: Callable[[web.Request], Awaitable[tuple[Obj, bytes]]]) -> web.Response:
    if request.method != "POST":
        raise method_not_allowed()
    if bool(namespace) != rt.namespaced:
        raise resource_not_found_for_path(request.path)
    kind, fn = _HANDLERS[(rt.group, rt.plural)]
    negotiation.require_plain(request.headers.get("Accept", ""))  # no Table form: 406 with no fallback
    body, _ = await read_object(request)
    check_type(body, rt.api_version, kind)
    if namespace:
        meta = body.setdefault("metadata", {})
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = namespace
    errs = rt.strategy.validate(body)
    if errs:
        raise invalid(kind, (body.get("metadata") or {}).get("name", ""), [e.to_cause() for e in errs],
                      group=rt.group)
    user: UserInfo = request[USER_KEY]
    reply = fn(body, user, auth)
    if inspect.isawaitable(reply):
        reply = await reply
    return json_response(reply, status=201)
