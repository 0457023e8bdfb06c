"""What a request addresses, read once from its method, path and query (upstream's ``RequestInfo``).

Upstream's ``WithRequestInfo`` filter resolves a request's path and verb once and every later filter
reads the result; ``request_info(request)`` does the same here: the outermost filter parses, the
others (authentication's 403 wording, in-flight, authorization, audit, metrics, deprecation) read the
``RequestInfo`` stored on the request.

The rules, as upstream's ``RequestInfoFactory``: resource requests live under ``/api/<version>`` and
``/apis/<group>/<version>`` with at least one segment after the version; everything else (discovery,
``/healthz``, ``/version``...) is a non-resource request whose verb is the lower-cased method.  The
verb follows the HTTP method (POST create, PUT update, PATCH patch, DELETE delete or deletecollection
without a name, GET get, list without a name, watch with ``watch=true``); a leading ``watch/`` or
``proxy/`` segment (followed by more) is the verb itself.  ``namespaces/<ns>/...`` gives the
namespace, and a request on a Namespace itself (``namespaces/<ns>``, ``/status``, ``/finalize``) has
that namespace too.  ``watch`` is read as the endpoints read it (``true``, ``1``, ``t``, any case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

#: Namespace paths that address the Namespace object, not a resource inside it.
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
#: A leading segment that is the verb (upstream's specialVerbs), when more follows it.
SPECIAL_VERBS = frozenset({"watch", "proxy"})
#: Upstream's long-running requests (its LongRunningRequestCheck): these verbs, and these subresources.
#: The in-flight limit leaves them out, metrics time them apart, audit logs their ResponseStarted stage.
LONG_RUNNING_VERBS = frozenset({"watch", "proxy"})
LONG_RUNNING_SUBRESOURCES = frozenset({"attach", "exec", "proxy", "log", "portforward"})
#: How a boolean query parameter says true (the endpoints' ``params._bool`` reads the same words).
TRUE_WORDS = frozenset({"true", "1", "t"})
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
                 "DELETE": "delete"}


@dataclass(slots=True)  # not frozen: a frozen dataclass sets each field through object.__setattr__
class RequestInfo:
    """One request's target.  ``name`` is the path's (a field selector's ``metadata.name`` is the
    authorizer's business, ``authorization.attributes``); ``watch_param``: ``?watch=`` was true."""

    path: str
    verb: str
    resource_request: bool = False
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    namespaced: bool = False  # namespaces/<ns>/<resource>..., not the Namespace object itself
    watch_param: bool = False


def is_true(value: str | None) -> bool:
    """A boolean query parameter that says true, as the endpoints read it (``params._bool``), any case."""
    return value is not None and value.lower() in TRUE_WORDS


def parse(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    """The ``RequestInfo`` of one request."""
    parts = [p for p in path.split("/") if p]
    group = version = ""
    rest: list[str] = []
    n = len(parts)
    if n >= 3 and parts[0] == "api":
        version, rest = parts[1], parts[2:]
    elif n >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    if not rest:
        return RequestInfo(path, method.lower())
    verb = _METHOD_VERBS.get(method.upper(), method.lower())
    if rest[0] in SPECIAL_VERBS and len(rest) > 1:
        verb, rest = rest[0], rest[1:]
    namespace = ""
    namespaced = False
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            namespaced, rest = True, rest[2:]
    name = rest[1] if len(rest) > 1 else ""
    watch_param = is_true(query.get("watch"))
    if not name:
        if verb == "get":
            verb = "watch" if watch_param else "list"
        elif verb == "delete":
            verb = "deletecollection"
    return RequestInfo(path, verb, True, parts[0], group, version, namespace, rest[0],
                       rest[2] if len(rest) > 2 else "", name, namespaced, watch_param)


def long_running(info: RequestInfo, method: str) -> bool:
    """Whether the request is long-running (upstream's BasicLongRunningRequestCheck): a watch or proxy verb, or
    a streaming subresource.  ``?watch=true`` makes a watch of a GET only (a named GET with it is served as a
    watch here); on a POST or PUT it is just a parameter, and the write counts as the write it is."""
    if not info.resource_request:
        return False
    return (info.verb in LONG_RUNNING_VERBS or (info.watch_param and method == "GET")
            or info.subresource in LONG_RUNNING_SUBRESOURCES)


REQUEST_INFO_KEY = web.RequestKey("pyk8s.request-info", RequestInfo)


def request_info(request: Any) -> RequestInfo:
    """The request's ``RequestInfo``: parsed by the first filter that asks, then read from the request."""
    try:
        info: RequestInfo = request[REQUEST_INFO_KEY]
    except KeyError:
        info = request[REQUEST_INFO_KEY] = parse(request.method, request.path, request.query)
    return info
