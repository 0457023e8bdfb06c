"""Proxy URLs: the path after ``/proxy/`` is the backend's, and authorization sees the proxy subresource
with the method's verb and the name as written (port included), as upstream's RequestInfo."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.authentication.user import UserInfo
from pyk8s.apiserver.authorization.attributes import request_attributes
from pyk8s.apiserver.endpoints.paths import parse_resource
from pyk8s.machinery.errors import StatusError


def parse(path: str):  # type: ignore[no-untyped-def]
    segments = path.strip("/").split("/")
    return parse_resource("", "v1", segments[2:], path)


def test_proxy_paths_keep_the_rest_for_the_backend() -> None:
    rp = parse("/api/v1/namespaces/x/pods/nginx:80/proxy/a/b//c")
    assert (rp.namespace, rp.plural, rp.name, rp.subresource, rp.proxy_path) == ("x", "pods", "nginx:80", "proxy",
                                                                                 "a/b//c")
    rp = parse("/api/v1/nodes/n1/proxy/metrics/cadvisor")
    assert (rp.name, rp.subresource, rp.proxy_path) == ("n1", "proxy", "metrics/cadvisor")
    assert parse("/api/v1/namespaces/x/services/web/proxy").proxy_path == ""


def test_other_subresources_still_end_the_path() -> None:
    with pytest.raises(StatusError):
        parse("/api/v1/namespaces/x/pods/p/log/extra")


@pytest.mark.parametrize(("method", "verb"), [("GET", "get"), ("HEAD", "get"), ("POST", "create"),
                                              ("PUT", "update"), ("PATCH", "patch"), ("DELETE", "delete")])
def test_authorization_sees_the_proxy_subresource(method: str, verb: str) -> None:
    attrs = request_attributes(UserInfo("u", ()), method, "/api/v1/namespaces/x/pods/nginx:80/proxy/a/b", {})
    assert (attrs.verb, attrs.resource, attrs.subresource, attrs.name, attrs.namespace) == \
        (verb, "pods", "proxy", "nginx:80", "x")
