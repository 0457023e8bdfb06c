"""host-gw route sync: desired routes from Nodes; only routes with our protocol are read or changed."""

from __future__ import annotations

import json

from pyk8s.kubelet.network.routes import PROTO, RouteTable, desired_routes


def node(name: str, cidr: str, ip: str) -> dict[str, object]:
    return {"metadata": {"name": name}, "spec": {"podCIDR": cidr} if cidr else {},
            "status": {"addresses": [{"type": "Hostname", "address": name}] + (
                [{"type": "InternalIP", "address": ip}] if ip else [])}}


def test_desired_routes_cover_every_other_node_with_a_cidr_and_an_ip() -> None:
    nodes = [node("a", "10.244.0.0/24", "169.254.1.11"), node("b", "10.244.1.0/24", "169.254.1.12"),
             node("c", "", "169.254.1.13"), node("d", "10.244.3.0/24", ""), node("e", "fd00::/64", "fd00::1")]
    assert desired_routes(nodes, "a") == {"10.244.1.0/24": "169.254.1.12"}


class FakeIp:
    def __init__(self, routes: dict[str, str], on_link: set[str]) -> None:
        self.routes, self.on_link, self.calls = dict(routes), on_link, []  # type: list[list[str]]

    def __call__(self, args: list[str]) -> str:
        self.calls.append(args)
        if args[:4] == ["-j", "-4", "route", "show"]:
            assert args[4:] == ["proto", str(PROTO)]
            return json.dumps([{"dst": d, "gateway": g, "protocol": str(PROTO)} for d, g in self.routes.items()])
        if args[:4] == ["-j", "-4", "route", "get"]:
            gw = args[4]
            return json.dumps([{"dst": gw, "dev": "eth0"} if gw in self.on_link
                               else {"dst": gw, "gateway": "10.0.0.1", "dev": "eth0"}])
        if args[:2] == ["route", "replace"]:
            self.routes[args[2]] = args[4]
        elif args[:2] == ["route", "delete"]:
            self.routes.pop(args[2])
        return ""


def test_sync_adds_replaces_and_deletes_only_its_own_routes() -> None:
    ip = FakeIp({"10.244.1.0/24": "169.254.1.99", "10.244.9.0/24": "169.254.1.19"}, {"169.254.1.12", "169.254.1.13"})
    changes = RouteTable(ip).sync({"10.244.1.0/24": "169.254.1.12", "10.244.2.0/24": "169.254.1.13"})
    assert changes == ["10.244.1.0/24 via 169.254.1.12", "10.244.2.0/24 via 169.254.1.13", "10.244.9.0/24 removed"]
    assert ip.routes == {"10.244.1.0/24": "169.254.1.12", "10.244.2.0/24": "169.254.1.13"}
    assert ["route", "replace", "10.244.2.0/24", "via", "169.254.1.13", "proto", str(PROTO)] in ip.calls
    # Level-triggered: a second pass with nothing to do changes nothing.
    assert RouteTable(ip).sync({"10.244.1.0/24": "169.254.1.12", "10.244.2.0/24": "169.254.1.13"}) == []


def test_a_next_hop_that_is_not_on_link_gets_no_route() -> None:
    ip = FakeIp({}, set())
    assert RouteTable(ip).sync({"10.244.1.0/24": "192.0.2.7"}) == []
    assert ip.routes == {}
