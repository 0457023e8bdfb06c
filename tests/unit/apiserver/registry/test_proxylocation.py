"""Upstream's ResourceLocation rules for the proxy subresources."""

from __future__ import annotations

from typing import Any

import pytest

from pyk8s.apiserver.registry.core import proxylocation as pl
from pyk8s.machinery.errors import StatusError, not_found


class Objects:
    def __init__(self, plural: str, *objs: dict[str, Any]) -> None:
        self.plural = plural
        self.objs = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objs}

    async def get(self, namespace: str, name: str) -> dict[str, Any]:
        try:
            return self.objs[(namespace, name)]
        except KeyError:
            raise not_found(self.plural, name) from None


def pod(name: str, ip: str = "", ports: tuple[int, ...] = ()) -> dict[str, Any]:
    return {"metadata": {"namespace": "ns", "name": name},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": p} for p in ports]}]},
            "status": {"podIPs": [{"ip": ip}]} if ip else {}}


PODS = Objects("pods", pod("web", "10.1.0.4", (8080, 9090)), pod("bare", "10.1.0.5"), pod("none"),
               pod("six", "fd00::7", (80,)), pod("lo", "127.0.0.1", (80,)))


@pytest.mark.parametrize(("ident", "url"), [
    ("web", "http://10.1.0.4:8080"), ("web:9090", "http://10.1.0.4:9090"), ("https:web:443", "https://10.1.0.4:443"),
    ("bare", "http://10.1.0.5:80"), ("https:bare:", "https://10.1.0.5:443"), ("six", "http://[fd00::7]:80"),
])
async def test_pod_locations(ident: str, url: str) -> None:
    assert (await pl.pod_location(PODS, "ns", ident)).url == url


@pytest.mark.parametrize(("ident", "code", "message"), [
    ("none", 400, "address not allowed"), ("lo", 400, "address not allowed"),
    ("web:0", 400, 'invalid port "0"'), ("web:x", 400, 'invalid port "x"'),
    ("gopher:web:1", 400, 'invalid pod request "gopher:web:1"'), ("a:b:c:d", 400, 'invalid pod request "a:b:c:d"'),
    ("gone", 404, 'pods "gone" not found'),
])
async def test_pod_refusals(ident: str, code: int, message: str) -> None:
    with pytest.raises(StatusError) as err:
        await pl.pod_location(PODS, "ns", ident)
    assert (err.value.code, err.value.message) == (code, message)


def node(address: str, port: int | None = 10250) -> dict[str, Any]:
    status: dict[str, Any] = {"addresses": [{"type": "Hostname", "address": "n"},
                                            {"type": "InternalIP", "address": address}]}
    if port:
        status["daemonEndpoints"] = {"kubeletEndpoint": {"Port": port}}
    return {"metadata": {"name": "n"}, "status": status}


async def test_node_locations() -> None:
    nodes = Objects("nodes", node("192.0.2.7"))
    assert await pl.node_location(nodes, "n") == pl.Location("https", "192.0.2.7", 10250, kubelet=True)
    assert await pl.node_location(nodes, "n:10250") == pl.Location("https", "192.0.2.7", 10250, kubelet=True)
    assert await pl.node_location(nodes, "https:n:9100") == pl.Location("https", "192.0.2.7", 9100)
    local = Objects("nodes", node("169.254.3.2"))
    assert (await pl.node_location(local, "n")).kubelet  # the kubelet itself is always reachable
    with pytest.raises(StatusError, match="address not allowed"):
        await pl.node_location(local, "n:9100")
    with pytest.raises(StatusError, match="no kubelet endpoint"):
        await pl.node_location(Objects("nodes", node("192.0.2.7", None)), "n")


async def test_service_locations_take_only_pod_addresses() -> None:
    services = Objects("services", {"metadata": {"namespace": "ns", "name": "s"},
                                    "spec": {"ports": [{"name": "http", "port": 80}, {"name": "m", "port": 9}]}})
    ref = {"kind": "Pod", "name": "web"}
    endpoints = Objects("endpoints", {"metadata": {"namespace": "ns", "name": "s"}, "subsets": [
        {"addresses": [{"ip": "10.9.9.9"}, {"ip": "10.1.0.4", "targetRef": ref}],
         "ports": [{"name": "http", "port": 8080}]}]})
    for ident in ("s:http", "s:80", "https:s:http"):  # the address that is no pod's is never picked
        loc = await pl.service_location(services, endpoints, PODS, "ns", ident)
        assert (loc.host, loc.port) == ("10.1.0.4", 8080), ident
    for ident in ("s", "s:9"):  # no unnamed port; a port the endpoints lack
        with pytest.raises(StatusError) as err:
            await pl.service_location(services, endpoints, PODS, "ns", ident)
        assert (err.value.code, err.value.message) == (503, f'no endpoints available for service "{ident}"')
    with pytest.raises(StatusError) as err:
        await pl.service_location(services, endpoints, PODS, "ns", "s:81")
    assert (err.value.code, err.value.message) == (503, 'no service port 81 found for service "s"')
