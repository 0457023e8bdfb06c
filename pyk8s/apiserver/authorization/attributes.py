"""What a request asks the authorizer, from its ``RequestInfo`` (``apiserver/requestinfo.py`` holds the
path rules: resource or not, verb, group, namespace, resource, name).  A request on a Namespace itself
has that namespace (so a RoleBinding in ``foo`` may grant reading namespace ``foo``), and a list or watch
with ``fieldSelector=metadata.name=x`` is about object ``x``, as upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyk8s.apiserver.filters.authn import UserInfo
from pyk8s.apiserver.requestinfo import RequestInfo, parse


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


def attributes_of(user: UserInfo, info: RequestInfo, query: Mapping[str, str]) -> Attributes:
    """The attributes of one request from its ``RequestInfo`` (parsed once, ``requestinfo.request_info``)."""
    if not info.resource_request:
        return Attributes(user, info.verb, resource_request=False, path=info.path)
    name = info.name
    if not name and info.verb in ("list", "watch"):
        name = _name_from_field_selector(query)
    return Attributes(user, info.verb, api_group=info.api_group, api_version=info.api_version,
                      resource=info.resource, subresource=info.subresource, namespace=info.namespace, name=name,
                      path=info.path)


def request_attributes(user: UserInfo, method: str, path: str, query: Mapping[str, str]) -> Attributes:
    """The attributes of one HTTP request (upstream's RequestInfo plus the user)."""
    return attributes_of(user, parse(method, path, query), query)


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
