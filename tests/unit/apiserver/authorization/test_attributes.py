from __future__ import annotations

import pytest

from pyk8s.apiserver.authorization.attributes import forbidden_message, request_attributes
from pyk8s.apiserver.filters.authn import UserInfo

ALICE = UserInfo("alice", ("system:authenticated",))


@pytest.mark.parametrize(("method", "path", "query", "want"), [
    ("GET", "/api/v1/namespaces/default/pods", {}, ("list", "", "pods", "", "default", "")),
    ("GET", "/api/v1/namespaces/default/pods", {"watch": "true"}, ("watch", "", "pods", "", "default", "")),
    ("GET", "/api/v1/watch/namespaces/default/pods", {}, ("watch", "", "pods", "", "default", "")),
    ("GET", "/api/v1/namespaces/default/pods/p1", {}, ("get", "", "pods", "", "default", "p1")),
    ("GET", "/api/v1/namespaces/default/pods/p1/log", {}, ("get", "", "pods", "log", "default", "p1")),
    ("POST", "/api/v1/namespaces/default/pods/p1/exec", {}, ("create", "", "pods", "exec", "default", "p1")),
    ("PUT", "/apis/apps/v1/namespaces/ns/deployments/d/scale", {}, ("update", "apps", "deployments", "scale", "ns",
                                                                    "d")),
    ("PATCH", "/api/v1/nodes/n1/status", {}, ("patch", "", "nodes", "status", "", "n1")),
    ("DELETE", "/api/v1/namespaces/ns/configmaps", {}, ("deletecollection", "", "configmaps", "", "ns", "")),
    ("DELETE", "/api/v1/namespaces/ns/configmaps/c", {}, ("delete", "", "configmaps", "", "ns", "c")),
    # A request on a Namespace object carries that namespace, as upstream's RequestInfo.
    ("GET", "/api/v1/namespaces/foo", {}, ("get", "", "namespaces", "", "foo", "foo")),
    ("PUT", "/api/v1/namespaces/foo/finalize", {}, ("update", "", "namespaces", "finalize", "foo", "foo")),
    ("GET", "/api/v1/namespaces", {}, ("list", "", "namespaces", "", "", "")),
    # A list limited to one name by field selector is about that object.
    ("GET", "/api/v1/namespaces/ns/secrets", {"fieldSelector": "metadata.name=s1"},
     ("list", "", "secrets", "", "ns", "s1")),
])
def test_resource_requests(method: str, path: str, query: dict[str, str], want: tuple[str, ...]) -> None:
    a = request_attributes(ALICE, method, path, query)
    assert a.resource_request
    assert (a.verb, a.api_group, a.resource, a.subresource, a.namespace, a.name) == want


@pytest.mark.parametrize(("method", "path", "verb"), [
    ("GET", "/healthz", "get"), ("GET", "/api", "get"), ("GET", "/api/v1", "get"), ("GET", "/apis/apps", "get"),
    ("GET", "/apis/apps/v1", "get"), ("POST", "/logs", "post"), ("GET", "/version", "get"),
])
def test_non_resource_requests(method: str, path: str, verb: str) -> None:
    a = request_attributes(ALICE, method, path, {})
    assert not a.resource_request
    assert (a.verb, a.path) == (verb, path)


def test_forbidden_messages_are_upstreams() -> None:
    a = request_attributes(ALICE, "GET", "/api/v1/namespaces/default/pods", {})
    assert forbidden_message(a) == ('User "alice" cannot list resource "pods" in API group "" in the namespace '
                                    '"default"')
    a = request_attributes(ALICE, "PATCH", "/api/v1/nodes/n1/status", {})
    assert forbidden_message(a) == ('User "alice" cannot patch resource "nodes/status" in API group "" at the '
                                    'cluster scope')
    a = request_attributes(ALICE, "GET", "/metrics", {})
    assert forbidden_message(a) == 'User "alice" cannot get path "/metrics"'
