"""Parsing resource URLs into what they address.

``/api/v1/[watch/][namespaces/{ns}/]{plural}[/{name}[/{sub}]]`` and the same
under ``/apis/{group}/{version}``.  ``namespaces/{name}/status`` and
``/finalize`` address the Namespace itself, as the API server registers them
before the generic namespaced routes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyk8s.apiserver.requestinfo import NAMESPACE_SUBRESOURCES
from pyk8s.machinery.errors import StatusError, resource_not_found_for_path


@dataclass(frozen=True, slots=True)
class ResourcePath:
    group: str
    version: str
    plural: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    watch: bool = False  # the legacy /watch/ prefix
    namespaced_form: bool = False  # the path had namespaces/{ns}/
    proxy_path: str = ""  # what follows {name}/proxy/ (the proxy subresources take any path)


def split_group_version(segments: list[str]) -> tuple[str, str, list[str]] | None:
    """(group, version, rest) for ``api/v1/...`` or ``apis/g/v/...`` segments."""
    if len(segments) >= 2 and segments[0] == "api":
        return "", segments[1], segments[2:]
    if len(segments) >= 3 and segments[0] == "apis":
        return segments[1], segments[2], segments[3:]
    return None


def _split_proxy(rest: list[str]) -> tuple[list[str], str]:
    """``{plural}/{name}/proxy/{path...}``: the path after ``proxy`` apart (empty segments included)."""
    at = 4 if rest and rest[0] == "namespaces" else 2
    if len(rest) > at + 1 and rest[at] == "proxy" and all(rest[:at + 1]):
        return rest[:at + 1], "/".join(rest[at + 1:])
    return rest, ""


def parse_resource(group: str, version: str, rest: list[str], path: str) -> ResourcePath:
    watch = False
    if rest and rest[0] == "watch":
        watch, rest = True, rest[1:]
    rest, proxy_path = _split_proxy(rest)
    if not rest or any(not s for s in rest):
        raise resource_not_found_for_path(path)
    if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in NAMESPACE_SUBRESOURCES):
        ns, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise resource_not_found_for_path(path)
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        return ResourcePath(group, version, rest[0], ns, name, sub, watch=watch, namespaced_form=True,
                            proxy_path=proxy_path)
    if len(rest) > 3:
        raise resource_not_found_for_path(path)
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    return ResourcePath(group, version, rest[0], "", name, sub, watch=watch, proxy_path=proxy_path)


def not_found(path: str) -> StatusError:
    return resource_not_found_for_path(path)
