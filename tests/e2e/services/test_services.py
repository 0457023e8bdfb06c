"""The Service suite, run once per proxy mode (nftables, iptables) against real pods.

Everything is reached from a busybox pod inside the node namespace, except
NodePorts, which the machine reaches at the node's address (the far end of
the test's own veth).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pyk8s.testing.proxy import ProxyProcess
from tests.e2e.helpers import wait_until
from tests.e2e.services.conftest import Cluster
from tests.e2e.services.workload import Workload, who


@pytest.fixture(scope="module")
def workload(cluster: Cluster) -> Iterator[Workload]:
    w = Workload(cluster).create()
    yield w
    w.delete()


@pytest.fixture(scope="module")
def ready(workload: Workload, proxy: ProxyProcess) -> Workload:
    """The workload with this mode's proxy serving it (the first Service answering the client)."""
    workload.wait_serving("client", workload.cluster_ip("web"))
    return workload


def test_cluster_ip_spreads_over_replicas(ready: Workload) -> None:
    answers = ready.who("client", ready.cluster_ip("web"), times=30)
    assert len(answers) == 30
    assert {name for _, name in answers} == ready.web_pods()


def test_session_affinity_sticks(ready: Workload) -> None:
    answers = ready.who("client", ready.cluster_ip("sticky"), times=15)
    assert len(answers) == 15
    assert len({name for _, name in answers}) == 1


def test_service_without_endpoints_is_refused(ready: Workload) -> None:
    lines, errors = ready.fetch_from("client", f"http://{ready.cluster_ip('empty')}/")
    assert lines == ["FAILED"]
    assert "Connection refused" in errors


def test_hairpin_pod_reaches_itself_through_its_service(ready: Workload) -> None:
    answers = ready.who("solo", ready.cluster_ip("solo"), times=3)
    assert [name for _, name in answers] == ["solo"] * 3


def test_node_port_from_the_machine(ready: Workload, cluster: Cluster) -> None:
    url = f"http://{cluster.netns.node_ip}:{ready.node_port('web-np')}/cgi-bin/who"
    seen = {ready.who_from_machine(url)[1] for _ in range(12)}
    assert seen <= ready.web_pods() and len(seen) >= 2


def test_from_the_node_itself_cluster_ip_and_localhost_node_port(ready: Workload, proxy: ProxyProcess) -> None:
    """The node reaches ClusterIPs; NodePorts answer on 127.0.0.1 in iptables mode only, as upstream."""
    def get(url: str) -> str:
        return proxy.node("curl", "-s", "--noproxy", "*", "-m", "5", url).stdout.strip()

    assert who(get(f"http://{ready.cluster_ip('web')}/cgi-bin/who"))[1] in ready.web_pods()
    local = get(f"http://127.0.0.1:{ready.node_port('web-np')}/cgi-bin/who")
    if proxy.mode == "iptables":
        assert who(local)[1] in ready.web_pods()
    else:
        assert local == ""


def test_external_traffic_policy_local_keeps_the_client_address(ready: Workload, cluster: Cluster) -> None:
    node = cluster.netns.node_ip
    client, _ = ready.who_from_machine(f"http://{node}:{ready.node_port('web-local')}/cgi-bin/who")
    assert client == cluster.netns.host_ip
    # The Cluster policy masquerades: the pod sees the node's bridge address instead.
    client, _ = ready.who_from_machine(f"http://{node}:{ready.node_port('web-np')}/cgi-bin/who")
    assert client != cluster.netns.host_ip and client.startswith("10.244.")


def test_load_balancer_ip_and_its_health_check_node_port(ready: Workload, cluster: Cluster) -> None:
    """The LoadBalancer controller hands out the node's address; the proxy programs it (Local policy)."""
    ip = wait_until(lambda: ready.kubectl("get", "svc", "web-lb", "-o",
                                          "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout.strip(),
                    timeout=30, interval=0.5, what="web-lb's ingress IP")
    client, name = wait_until(lambda: ready.who_from_machine(f"http://{ip}/cgi-bin/who"), timeout=10,
                              interval=0.5, what="web-lb answering")
    assert client == cluster.netns.host_ip and name in ready.web_pods()
    port = ready.kubectl("get", "svc", "web-lb", "-o", "jsonpath={.spec.healthCheckNodePort}").stdout
    health = json.loads(ready.from_machine(f"http://{cluster.netns.node_ip}:{port}/healthz"))
    assert health["service"] == {"namespace": "svc-e2e", "name": "web-lb"}
    assert health["localEndpoints"] == 3


def test_endpoint_changes_reach_the_rules(ready: Workload) -> None:
    """The only endpoint leaves its Service (relabelled): refused at once; back: served again."""
    ip = ready.cluster_ip("solo")
    ready.kubectl("label", "pod", "solo", "app=off", "--overwrite")
    try:
        wait_until(lambda: "Connection refused" in ready.fetch_from("client", f"http://{ip}/")[1], timeout=20,
                   interval=0.5, what="solo refused once it has no endpoint")
    finally:
        ready.kubectl("label", "pod", "solo", "app=solo", "--overwrite")
    wait_until(lambda: ready.who("client", ip), timeout=20, interval=0.5, what="solo served again")


def test_healthz_and_metrics(ready: Workload, proxy: ProxyProcess) -> None:
    health = proxy.node("curl", "-s", "--noproxy", "*", "http://127.0.0.1:10256/healthz")
    assert json.loads(health.stdout)["nodeEligible"] is True
    metrics = proxy.node("curl", "-s", "--noproxy", "*", "http://127.0.0.1:10249/metrics").stdout
    assert "kubeproxy_sync_proxy_rules_duration_seconds_count" in metrics
    assert f"kubeproxy_sync_proxy_rules_{proxy.mode}_sync_failures_total 0" in metrics
