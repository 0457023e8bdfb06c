"""service-lb-controller: pools, the allocation rule, and the controller against a fake API server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pyk8s.controllers import lbpool
from pyk8s.controllers.lbpool import AddressPool, Allocator, Claim
from pyk8s.controllers.servicelb import FINALIZER, NODES, SERVICES, ServiceLBController
from tests.unit.controllers.controller_env import Env, eventually, start_env, stop_env

TCP80 = frozenset({("TCP", 80)})
TCP443 = frozenset({("TCP", 443)})


# --- pools --------------------------------------------------------------------------------------

def test_pool_parses_cidrs_ranges_and_addresses_in_order() -> None:
    pool = AddressPool.parse("10.0.0.0/30, 192.168.1.10-192.168.1.11,1.2.3.4")
    assert list(pool) == ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "192.168.1.10", "192.168.1.11",
                          "1.2.3.4"]
    assert "192.168.1.11" in pool and "192.168.1.12" not in pool and "nonsense" not in pool
    assert pool.describe() == "10.0.0.0-10.0.0.3,192.168.1.10-192.168.1.11,1.2.3.4"


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "1.2.3.9-1.2.3.1", "1.2.3.4-::1", "hello"])
def test_pool_rejects_bad_entries_naming_them(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid load-balancer IP pool entry"):
        AddressPool.parse(f"10.0.0.1,{bad}")


def test_a_large_pool_is_walked_lazily() -> None:
    pool = AddressPool.parse("10.0.0.0/8")
    assert Allocator(pool, []).allocate("ns/a", TCP80).ip == "10.0.0.0"


# --- allocation ---------------------------------------------------------------------------------

def test_one_node_ip_is_shared_while_ports_differ() -> None:
    pool = AddressPool.of(["169.254.1.2"])
    claims = [Claim("ns/web", "169.254.1.2", TCP80)]
    assert Allocator(pool, claims).allocate("ns/tls", TCP443).ip == "169.254.1.2"


def test_a_taken_port_fails_saying_where_and_by_whom() -> None:
    pool = AddressPool.of(["169.254.1.2"])
    result = Allocator(pool, [Claim("ns/web", "169.254.1.2", TCP80)]).allocate("ns/other", TCP80)
    assert result.ip is None
    assert result.error == "no available IPs: port 80/TCP on 169.254.1.2 is already in use by ns/web"


def test_same_port_other_protocol_does_not_clash() -> None:
    pool = AddressPool.of(["169.254.1.2"])
    claims = [Claim("ns/dns", "169.254.1.2", frozenset({("UDP", 53)}))]
    assert Allocator(pool, claims).allocate("ns/dnstcp", frozenset({("TCP", 53)})).ip == "169.254.1.2"


def test_an_unused_address_is_preferred_over_sharing() -> None:
    pool = AddressPool.parse("10.0.0.1-10.0.0.3")
    claims = [Claim("ns/a", "10.0.0.1", TCP80)]
    assert Allocator(pool, claims).allocate("ns/b", TCP443).ip == "10.0.0.2"


def test_exhausted_pool_and_empty_pool() -> None:
    pool = AddressPool.parse("10.0.0.1-10.0.0.2")
    claims = [Claim("ns/a", "10.0.0.1", TCP80), Claim("ns/b", "10.0.0.2", TCP80)]
    result = Allocator(pool, claims).allocate("ns/c", TCP80)
    assert result.error.startswith("no available IPs: port 80/TCP on 10.0.0.1 is already in use by ns/a; ")
    assert Allocator(AddressPool(), []).allocate("ns/c", TCP80).error == "no available IPs"


def test_the_current_address_is_kept_and_the_older_claim_wins_a_clash() -> None:
    pool = AddressPool.parse("10.0.0.1-10.0.0.2")
    old = Claim("ns/old", "10.0.0.1", TCP80, ("2026-01-01T00:00:00Z", "ns/old"))
    young = Claim("ns/young", "10.0.0.1", TCP80, ("2026-01-02T00:00:00Z", "ns/young"))
    alloc = Allocator(pool, [old, young])
    assert alloc.allocate("ns/old", TCP80, current="10.0.0.1", age=old.age).ip == "10.0.0.1"
    assert alloc.allocate("ns/young", TCP80, current="10.0.0.1", age=young.age).ip == "10.0.0.2"


def test_load_balancer_ip_is_honoured_or_refused() -> None:
    pool = AddressPool.parse("10.0.0.1-10.0.0.4")
    alloc = Allocator(pool, [Claim("ns/a", "10.0.0.3", TCP80)])
    assert alloc.allocate("ns/b", TCP80, requested="10.0.0.4").ip == "10.0.0.4"
    assert alloc.allocate("ns/b", TCP80, requested="10.9.9.9").error == '"10.9.9.9" is not allowed in config'
    assert alloc.allocate("ns/b", TCP80, requested="10.0.0.3").error == (
        "port 80/TCP on 10.0.0.3 is already in use by ns/a")
    assert alloc.allocate("ns/b", TCP80, requested="banana").error == 'invalid spec.loadBalancerIP "banana"'


def test_ip_family_is_respected() -> None:
    pool = AddressPool.parse("10.0.0.1,fd00::1")
    assert Allocator(pool, []).allocate("ns/a", TCP80, family="IPv6").ip == "fd00::1"


def test_claims_come_from_status_ips_in_the_pool() -> None:
    svc = {"metadata": {"creationTimestamp": "t"}, "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}}
    claims = lbpool.claim_of("ns/a", svc, [{"ip": "10.0.0.1"}, {"hostname": "x"}, {"ip": "9.9.9.9"}],
                             AddressPool.parse("10.0.0.0/24").__contains__)
    assert claims == [Claim("ns/a", "10.0.0.1", frozenset({("TCP", 80), ("UDP", 53)}), ("t", "ns/a"))]


# --- the controller -----------------------------------------------------------------------------

SVC_RES = "v1/services"


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e, tasks = await start_env(ServiceLBController)
    try:
        yield e
    finally:
        await stop_env(e, tasks)


def node(name: str, ip: str, **labels: str) -> dict:
    return {"metadata": {"name": name, "labels": labels},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]}}


def lb_service(name: str, port: int = 80, **spec: object) -> dict:
    body: dict = {"type": "LoadBalancer", "ports": [{"port": port, "protocol": "TCP"}], **spec}
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": body}


def ingress_ips(env: Env, name: str) -> list[str]:
    obj = env.obj(SVC_RES, "ns", name) or {}
    return [i.get("ip") for i in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]


def events(env: Env, reason: str) -> list[str]:
    return [o["message"] for (res, _, _), o in env.srv.objects.items()
            if res == "v1/events" and o.get("reason") == reason]


async def test_a_load_balancer_gets_the_node_ip_with_finalizer_and_vip_mode(env: Env) -> None:
    await env.client.create(NODES, node("n1", "169.254.7.2"))
    await env.client.create(SERVICES, lb_service("web"), namespace="ns")
    await eventually(lambda: ingress_ips(env, "web") == ["169.254.7.2"])
    svc = env.obj(SVC_RES, "ns", "web")
    assert svc is not None
    assert svc["status"]["loadBalancer"]["ingress"][0]["ipMode"] == "VIP"
    assert FINALIZER in svc["metadata"]["finalizers"]
    await eventually(lambda: events(env, "EnsuredLoadBalancer") == ["Ensured load balancer"])


async def test_exhaustion_is_an_event_and_room_appearing_is_noticed(env: Env) -> None:
    await env.client.create(NODES, node("n1", "169.254.7.2"))
    await env.client.create(SERVICES, lb_service("first"), namespace="ns")
    await eventually(lambda: ingress_ips(env, "first") == ["169.254.7.2"])
    await env.client.create(SERVICES, lb_service("second"), namespace="ns")
    want = ('Failed to allocate IP for "ns/second": no available IPs: '
            "port 80/TCP on 169.254.7.2 is already in use by ns/first")
    await eventually(lambda: want in events(env, "AllocationFailed"))
    assert ingress_ips(env, "second") == []
    # The first one turns into a ClusterIP Service: its address is released and the waiting one gets it.
    first = env.obj(SVC_RES, "ns", "first")
    assert first is not None
    first["spec"]["type"] = "ClusterIP"
    await env.client.update(SERVICES, first, namespace="ns")
    await eventually(lambda: ingress_ips(env, "second") == ["169.254.7.2"])
    await eventually(lambda: ingress_ips(env, "first") == [])
    await eventually(lambda: FINALIZER not in ((env.obj(SVC_RES, "ns", "first") or {})["metadata"].get(
        "finalizers") or []))


async def test_a_second_node_is_a_second_address(env: Env) -> None:
    await env.client.create(NODES, node("n1", "169.254.7.2"))
    await env.client.create(SERVICES, lb_service("a"), namespace="ns")
    await env.client.create(SERVICES, lb_service("b"), namespace="ns")
    await eventually(lambda: events(env, "AllocationFailed") != [])
    await env.client.create(NODES, node("n2", "169.254.8.2"))
    await eventually(lambda: sorted(ingress_ips(env, "a") + ingress_ips(env, "b")) == ["169.254.7.2", "169.254.8.2"])


async def test_excluded_nodes_and_foreign_classes_are_left_alone(env: Env) -> None:
    await env.client.create(NODES, node("n1", "169.254.7.2", **{"node.kubernetes.io/exclude-from-external-load-balancers": ""}))
    await env.client.create(SERVICES, lb_service("theirs", loadBalancerClass="example.com/other"), namespace="ns")
    await env.client.create(SERVICES, lb_service("ours"), namespace="ns")
    await eventually(lambda: 'Failed to allocate IP for "ns/ours": no available IPs (no node has an InternalIP yet)'
                     in events(env, "AllocationFailed"))
    theirs = env.obj(SVC_RES, "ns", "theirs") or {}
    assert not theirs["metadata"].get("finalizers") and ingress_ips(env, "theirs") == []


async def test_a_configured_pool_replaces_node_ips() -> None:
    e, tasks = await start_env(ServiceLBController, options={"load_balancer_ip_pool": "10.0.0.8/31"})
    try:
        await e.client.create(NODES, node("n1", "169.254.7.2"))
        for name in ("a", "b"):
            await e.client.create(SERVICES, lb_service(name), namespace="ns")
        await e.client.create(SERVICES, lb_service("c", loadBalancerIP="10.0.0.9", port=443), namespace="ns")
        await eventually(lambda: ingress_ips(e, "c") == ["10.0.0.9"])
        await eventually(lambda: sorted(ingress_ips(e, "a") + ingress_ips(e, "b")) == ["10.0.0.8", "10.0.0.9"])
    finally:
        await stop_env(e, tasks)
