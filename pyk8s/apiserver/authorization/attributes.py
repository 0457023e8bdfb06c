"""What a request asks to do, as upstream's ``RequestInfoFactory`` reads it from the path and method.

Resource requests live under ``/api/v1`` and ``/apis/<group>/<version>``; the
verb follows the HTTP method (POST create, PUT update, PATCH patch, DELETE
delete or deletecollection without a name, GET get, list without a name, watch
with ``watch=true`` or the legacy ``/watch/`` prefix).  ``namespaces/<ns>/...``
gives the namespace, and a request on a Namespace itself has that namespace
too (so a RoleBinding in ``foo`` may grant reading namespace ``foo``).  A list
or watch with ``fieldSelector=metadata.name=x`` is about object ``x``, as
upstream.  Everything else (discovery, ``/healthz``, ``/version``...) is a
non-resource request whose verb is the lower-cased method.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyk8s.apiserver.filters.authn import UserInfo

#: Namespace paths that address the Namespace object, not a resource inside it.
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
                 "DELETE": "delete"}


@dataclass(frozen=True, slots=True)
class Attributes:
    """One authorization question: may ``user`` do ``verb`` on this resource or path?"""

    user: UserInfo
    verb: str
    resource_request: bool = True
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def combined_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def _is_watch(query: Mapping[str, str]) -> bool:
    return query.get("watch", "").lower() in ("true", "1")


def _name_from_field_selector(query: Mapping[str, str]) -> str:
    """``metadata.name=x`` (or ``==``) alone in the field selector names object x."""
    selector = query.get("fieldSelector", "")
    if not selector or "," in selector:
        return ""
    for op in ("==", "="):
        key, sep, value = selector.partition(op)
        if sep and key.strip() == "metadata.name" and "!" not in key:
            return value.strip()
    return ""


def request_attributes(user: UserInfo, method: str, path: str, query: Mapping[str, str]) -> Attributes:
    """The attributes of one HTTP request (upstream's RequestInfo plus the user)."""
    parts = [p for p in path.strip("/").split("/") if p]
    method_verb = _METHOD_VERBS.get(method.upper(), method.lower())
    group = version = ""
    rest: list[str] = []
    if len(parts) >= 3 and parts[0] == "api":
        version, rest = parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    if not rest:
        return Attributes(user, method.lower(), resource_request=False, path=path)
    verb = method_verb
    if rest[0] == "watch" and len(rest) > 1:
        verb, rest = "watch", rest[1:]
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name:
        if verb == "get":
            verb = "watch" if _is_watch(query) else "list"
        elif verb == "delete":
            verb = "deletecollection"
    if verb in ("list", "watch") and not name:
        name = _name_from_field_selector(query)
    return Attributes(user, verb, api_group=group, api_version=version, resource=resource, subresource=subresource,
                      namespace=namespace, name=name, path=path)


def forbidden_message(attrs: Attributes) -> str:
    """Upstream's wording of a refusal (before the ``... is forbidden:`` prefix)."""
    who = attrs.user.username
    if not attrs.resource_request:
        return f'User "{who}" cannot {attrs.verb} path "{attrs.path}"'
    what = attrs.combined_resource
    if attrs.namespace:
        return (f'User "{who}" cannot {attrs.verb} resource "{what}" in API group "{attrs.api_group}" '
                f'in the namespace "{attrs.namespace}"')
    return f'User "{who}" cannot {attrs.verb} resource "{what}" in API group "{attrs.api_group}" at the cluster scope'
