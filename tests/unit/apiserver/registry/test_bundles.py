"""Each built-in resource's REST surface is assembled by its storage bundle (issue 12 §1): the HTTP layer
finds every subresource there, and holds no subresource logic of its own."""

from __future__ import annotations

import inspect

import pyk8s.api  # noqa: F401  (fills the scheme)
from pyk8s.apiserver.endpoints import subresources
from pyk8s.apiserver.registry import special
from pyk8s.apiserver.registry.core.connect import NodeProxyREST, PodProxyREST, ServiceProxyREST
from pyk8s.apiserver.registry.scale import ScaleREST
from pyk8s.machinery.scheme import SCHEME


def declared(group: str, version: str, plural: str) -> dict[str, object]:
    rt = SCHEME.get(group, version, plural)
    assert rt is not None
    return special.builtin_bundle(rt).subresources


def test_pods_declare_every_subresource_they_serve_besides_status() -> None:
    rt = SCHEME.get("", "v1", "pods")
    assert rt is not None
    served = set(rt.subresources) - {"status", "ephemeralcontainers"}
    assert served <= set(declared("", "v1", "pods")), served - set(declared("", "v1", "pods"))
    assert declared("", "v1", "pods")["proxy"] is PodProxyREST


def test_services_nodes_and_service_accounts() -> None:
    assert declared("", "v1", "services")["proxy"] is ServiceProxyREST
    assert declared("", "v1", "nodes")["proxy"] is NodeProxyREST
    assert "token" in declared("", "v1", "serviceaccounts")


def test_every_builtin_scale_is_the_bundles() -> None:
    for group, version, plural in (("apps", "v1", "deployments"), ("apps", "v1", "replicasets"),
                                   ("apps", "v1", "statefulsets"), ("", "v1", "replicationcontrollers")):
        assert declared(group, version, plural)["scale"] is ScaleREST, plural


def test_the_http_layer_only_routes() -> None:
    source = inspect.getsource(subresources)
    for gone in ("def scale", "def evict", "def token", "def bind_pod", "to_scale", "eviction.evict",
                 "satokens", "podlogs.serve", "podstreams.serve", "proxyforward"):
        assert gone not in source, gone
