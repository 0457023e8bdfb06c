"""healthCheckNodePort: allocated for LoadBalancer Services with externalTrafficPolicy Local, as upstream."""

from __future__ import annotations

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions

from .helpers import store


def service(name: str, **spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}], "selector": {"app": name}, **spec}}


async def test_local_load_balancer_gets_a_health_check_node_port(registry: Registry) -> None:
    svcs = store(registry, "", "services")
    lb = await svcs.create("default", service("lb", type="LoadBalancer", externalTrafficPolicy="Local"),
                           WriteOptions())
    port = lb["spec"]["healthCheckNodePort"]
    assert 30000 <= port <= 32767 and port != lb["spec"]["ports"][0]["nodePort"]
    lb["spec"]["ports"][0]["port"] = 81
    out, _ = await svcs.update("default", "lb", lb, WriteOptions())
    assert out["spec"]["healthCheckNodePort"] == port  # kept across updates
    clash = service("np", type="NodePort", ports=[{"port": 80, "nodePort": port}])
    try:
        await svcs.create("default", clash, WriteOptions())
        raise AssertionError("a nodePort equal to a healthCheckNodePort was accepted")
    except Exception as exc:  # noqa: BLE001 - the StatusError is what we expect
        assert "already allocated" in str(exc)


async def test_cluster_policy_and_node_port_services_get_none(registry: Registry) -> None:
    svcs = store(registry, "", "services")
    lb = await svcs.create("default", service("lb", type="LoadBalancer"), WriteOptions())
    np = await svcs.create("default", service("np", type="NodePort", externalTrafficPolicy="Local"), WriteOptions())
    assert "healthCheckNodePort" not in lb["spec"] and "healthCheckNodePort" not in np["spec"]
