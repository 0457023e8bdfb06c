"""RequestInfo: the one parse of a request's path, verb and namespace, shared by every filter."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from pyk8s.apiserver import requestinfo
from pyk8s.apiserver.requestinfo import RequestInfo, parse, request_info

#: (method, path, query) -> (verb, group, version, namespace, resource, subresource, name, namespaced)
CASES = [
    ("GET", "/api/v1/namespaces/default/pods", {}, ("list", "", "v1", "default", "pods", "", "", True)),
    ("GET", "/api/v1/namespaces/default/pods", {"watch": "true"},
     ("watch", "", "v1", "default", "pods", "", "", True)),
    ("GET", "/api/v1/namespaces/a/pods", {"watch": "1"}, ("watch", "", "v1", "a", "pods", "", "", True)),
    ("GET", "/api/v1/namespaces/a/pods", {"watch": "T"}, ("watch", "", "v1", "a", "pods", "", "", True)),
    ("GET", "/api/v1/namespaces/a/pods", {"watch": "false"}, ("list", "", "v1", "a", "pods", "", "", True)),
    ("GET", "/api/v1/watch/namespaces/default/pods", {}, ("watch", "", "v1", "default", "pods", "", "", True)),
    ("GET", "/apis/apps/v1/watch/deployments", {}, ("watch", "apps", "v1", "", "deployments", "", "", False)),
    ("GET", "/api/v1/namespaces/default/pods/p1", {}, ("get", "", "v1", "default", "pods", "", "p1", True)),
    ("HEAD", "/api/v1/namespaces/default/pods/p1", {}, ("get", "", "v1", "default", "pods", "", "p1", True)),
    ("GET", "/api/v1/namespaces/default/pods/p1/log", {}, ("get", "", "v1", "default", "pods", "log", "p1", True)),
    ("POST", "/api/v1/namespaces/default/pods/p1/exec", {},
     ("create", "", "v1", "default", "pods", "exec", "p1", True)),
    ("PUT", "/apis/apps/v1/namespaces/ns/deployments/d/scale", {},
     ("update", "apps", "v1", "ns", "deployments", "scale", "d", True)),
    ("PATCH", "/api/v1/nodes/n1/status", {}, ("patch", "", "v1", "", "nodes", "status", "n1", False)),
    ("DELETE", "/api/v1/namespaces/ns/configmaps", {}, ("deletecollection", "", "v1", "ns", "configmaps", "", "",
                                                        True)),
    ("DELETE", "/api/v1/namespaces/ns/configmaps/c", {}, ("delete", "", "v1", "ns", "configmaps", "", "c", True)),
    # The Namespace object itself carries its own name as the namespace.
    ("GET", "/api/v1/namespaces/foo", {}, ("get", "", "v1", "foo", "namespaces", "", "foo", False)),
    ("PUT", "/api/v1/namespaces/foo/finalize", {}, ("update", "", "v1", "foo", "namespaces", "finalize", "foo",
                                                    False)),
    ("PUT", "/api/v1/namespaces/foo/status", {}, ("update", "", "v1", "foo", "namespaces", "status", "foo", False)),
    ("GET", "/api/v1/namespaces", {}, ("list", "", "v1", "", "namespaces", "", "", False)),
    # Resource words used as names.
    ("GET", "/api/v1/namespaces/watch", {}, ("get", "", "v1", "watch", "namespaces", "", "watch", False)),
    ("GET", "/api/v1/namespaces/default/pods/log", {}, ("get", "", "v1", "default", "pods", "", "log", True)),
    ("GET", "/api/v1/namespaces/logs/pods/exec/log", {}, ("get", "", "v1", "logs", "pods", "log", "exec", True)),
    ("GET", "/api/v1/namespaces/componentstatuses/pods", {},
     ("list", "", "v1", "componentstatuses", "pods", "", "", True)),
    # upstream's special verbs: a leading watch/ or proxy/ followed by more.
    ("GET", "/api/v1/proxy/nodes/n", {}, ("proxy", "", "v1", "", "nodes", "", "n", False)),
    ("GET", "/api/v1/nodes/n/proxy", {}, ("get", "", "v1", "", "nodes", "proxy", "n", False)),
    ("GET", "/api/v1/namespaces/d/pods/p/proxy/a/b", {}, ("get", "", "v1", "d", "pods", "proxy", "p", True)),
    ("GET", "/api/v1/watch", {}, ("list", "", "v1", "", "watch", "", "", False)),
    # A named GET asked to watch stays a get (the authorizer's verb); watch_param tells the rest.
    ("GET", "/api/v1/namespaces/a/pods/p", {"watch": "true"}, ("get", "", "v1", "a", "pods", "", "p", True)),
    ("OPTIONS", "/api/v1/pods", {}, ("options", "", "v1", "", "pods", "", "", False)),
]


@pytest.mark.parametrize(("method", "path", "query", "want"), CASES)
def test_resource_requests(method: str, path: str, query: dict[str, str], want: tuple[object, ...]) -> None:
    info = parse(method, path, query)
    assert info.resource_request and info.path == path
    assert (info.verb, info.api_group, info.api_version, info.namespace, info.resource, info.subresource, info.name,
            info.namespaced) == want
    assert info.api_prefix == path.split("/")[1]


def test_watch_param_is_read_as_the_endpoints_read_it() -> None:
    for value, watch in (("true", True), ("1", True), ("t", True), ("TRUE", True), ("True", True), ("tRuE", True),
                         ("false", False), ("0", False), ("", False), ("yes", False)):
        assert parse("GET", "/api/v1/pods/p", {"watch": value}).watch_param is watch, value


@pytest.mark.parametrize(("method", "path", "verb"), [
    ("GET", "/healthz", "get"), ("GET", "/api", "get"), ("GET", "/api/v1", "get"), ("GET", "/apis/apps", "get"),
    ("GET", "/apis/apps/v1", "get"), ("POST", "/logs", "post"), ("GET", "/version", "get"), ("HEAD", "/livez", "head"),
    ("GET", "/openid/v1/jwks", "get"), ("GET", "/apis/apps/v1/", "get"), ("GET", "/", "get"),
])
def test_non_resource_requests(method: str, path: str, verb: str) -> None:
    info = parse(method, path, {"watch": "true"})
    assert not info.resource_request
    assert (info.verb, info.path, info.resource, info.watch_param) == (verb, path, "", False)


def test_request_info_is_parsed_once_and_kept_on_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counting(method: str, path: str, query: object) -> RequestInfo:
        calls.append(path)
        return parse(method, path, query)  # type: ignore[arg-type]

    monkeypatch.setattr(requestinfo, "parse", counting)
    request = make_mocked_request("GET", "/api/v1/namespaces/a/pods?watch=1")
    first = request_info(request)
    assert request_info(request) is first and calls == ["/api/v1/namespaces/a/pods"]
    assert first.verb == "watch"


async def test_the_filter_chain_parses_each_request_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every filter of the real chain (metrics, deprecation, authentication, in-flight, authorization)
    reads the one RequestInfo the outermost filter parsed."""
    from pyk8s.apiserver.authentication.user import UserInfo
    from pyk8s.apiserver.authorization.union import UnionAuthorizer
    from pyk8s.apiserver.config import ServerConfig
    from pyk8s.apiserver.endpoints.system import Readiness
    from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner
    from pyk8s.apiserver.server import build_app

    calls: list[str] = []
    real = requestinfo.parse

    def counting(method: str, path: str, query: object) -> RequestInfo:
        calls.append(path)
        return real(method, path, query)  # type: ignore[arg-type]

    monkeypatch.setattr(requestinfo, "parse", counting)
    admin = UserInfo("admin", ("system:masters",))
    authorizer = UnionAuthorizer(("AlwaysAllow",), [])
    app = build_app(config=ServerConfig(data_dir=tmp_path), registry=None, readiness=Readiness(()),
                    authenticator=Authenticator(tokens={"t": admin}, signer=TokenSigner(b"k")),
                    authorizer=authorizer)
    assert isinstance(app, web.Application)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/api/v1/componentstatuses", headers={"Authorization": "Bearer t"})
        assert resp.headers.get("Warning", "").startswith("299")  # the deprecation filter read it too
        assert calls == ["/api/v1/componentstatuses"]
        calls.clear()
        resp = await client.get("/api/v1/namespaces/a/pods/p", headers={"Authorization": "Bearer nope"})
        assert resp.status == 401
        assert calls == ["/api/v1/namespaces/a/pods/p"]
