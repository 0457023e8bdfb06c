"""The connect subresources of pods, Services and nodes: what upstream's Connecters do, declared by their bundles.

Each finds where the request goes (the pod's node and its kubelet, or a proxy
location from ``proxylocation``) and hands the connection to the module that
speaks to it: ``endpoints/podlogs`` (``pods/log``), ``endpoints/podstreams``
(``exec``, ``attach``, ``portforward``, upgraded and spliced to the kubelet)
and ``endpoints/proxyforward`` (the ``proxy`` subresources, to a kubelet with
the kubelet-client certificate or to a pod through the cluster egress).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pyk8s.apiserver.endpoints import podlogs, podstreams, proxyforward
from pyk8s.apiserver.registry.bundle import Peers
from pyk8s.apiserver.registry.core import proxylocation
from pyk8s.apiserver.registry.core.proxylocation import Location
from pyk8s.machinery.errors import StatusError

Obj = dict[str, Any]


def _kubelets(peers: Peers) -> Any:
    if peers.kubelets is None:
        raise StatusError(503, "ServiceUnavailable", "this server makes no connections to kubelets")
    return peers.kubelets


async def _pod_and_node(store: Any, peers: Peers, namespace: str, name: str) -> tuple[Obj, Obj | None]:
    pod = await store.get(namespace, name)
    node_name = (pod.get("spec") or {}).get("nodeName")
    nodes = peers.lookup("", "nodes")
    node = await nodes.get("", node_name) if node_name and nodes is not None else None
    return pod, node


class PodLogREST:
    def __init__(self, store: Any) -> None:
        self.store = store

    async def connect(self, request: web.Request, namespace: str, name: str, peers: Peers) -> web.StreamResponse:
        pod, node = await _pod_and_node(self.store, peers, namespace, name)
        return await podlogs.serve(request, pod, node, _kubelets(peers))


class PodStreamREST:
    """``exec``, ``attach`` or ``portforward`` (``subresource``)."""

    def __init__(self, store: Any, subresource: str) -> None:
        self.store, self.subresource = store, subresource

    async def connect(self, request: web.Request, namespace: str, name: str, peers: Peers) -> web.StreamResponse:
        pod, node = await _pod_and_node(self.store, peers, namespace, name)
        return await podstreams.serve(request, pod, node, self.subresource, _kubelets(peers))


def pod_stream(subresource: str) -> Any:
    return lambda store: PodStreamREST(store, subresource)


class ProxyREST:
    """A proxy subresource: ``location`` decides, the request is passed on there."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def location(self, namespace: str, ident: str, peers: Peers) -> Location:
        raise NotImplementedError

    async def connect(self, request: web.Request, namespace: str, name: str, peers: Peers) -> web.StreamResponse:
        kubelets = _kubelets(peers)
        location = await self.location(namespace, name, peers)
        transport = kubelets if location.kubelet else kubelets.cluster
        return await proxyforward.forward(request, location, name, transport)


class PodProxyREST(ProxyREST):
    async def location(self, namespace: str, ident: str, peers: Peers) -> Location:
        return await proxylocation.pod_location(self.store, namespace, ident)


class ServiceProxyREST(ProxyREST):
    async def location(self, namespace: str, ident: str, peers: Peers) -> Location:
        endpoints, pods = peers.lookup("", "endpoints"), peers.lookup("", "pods")
        if endpoints is None or pods is None:
            raise StatusError(503, "ServiceUnavailable", "endpoints are not served")
        return await proxylocation.service_location(self.store, endpoints, pods, namespace, ident)


class NodeProxyREST(ProxyREST):
    async def location(self, namespace: str, ident: str, peers: Peers) -> Location:
        return await proxylocation.node_location(self.store, ident)
