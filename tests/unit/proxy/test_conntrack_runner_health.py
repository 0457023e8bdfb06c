from __future__ import annotations

import asyncio

import pytest

from pyk8s.proxy import backends
from pyk8s.proxy.conntrack import Flush, stale_entries
from pyk8s.proxy.healthcheck import ProxyHealth, split_address
from pyk8s.proxy.interface import Endpoint, ProxyConfig, ProxyError, ServicePort, ServicePortName
from pyk8s.proxy.runner import BoundedFrequencyRunner

DNS = ServicePortName("kube-system", "kube-dns", "dns", "UDP")
WEB = ServicePortName("default", "web", "http", "TCP")


def dns(*ips: str, node_port: int = 0) -> ServicePort:
    return ServicePort(DNS, "10.96.0.10", 53, node_port=node_port, endpoints=tuple(Endpoint(ip, 53) for ip in ips))


def test_removed_udp_endpoints_have_their_flows_deleted() -> None:
    flushes = stale_entries({DNS: dns("10.244.0.5", "10.244.0.6", node_port=30053)},
                            {DNS: dns("10.244.0.6", node_port=30053)})
    assert flushes == [Flush("10.96.0.10", 53, "10.244.0.5"), Flush("", 30053, "10.244.0.5")]
    assert flushes[0].args() == ["-D", "-p", "udp", "--orig-dst", "10.96.0.10", "--orig-port-dst", "53",
                                 "--dst-nat", "10.244.0.5"]


def test_udp_service_getting_its_first_endpoint_clears_rejected_flows() -> None:
    assert stale_entries({DNS: dns()}, {DNS: dns("10.244.0.5")}) == [Flush("10.96.0.10", 53)]


def test_tcp_services_leave_conntrack_alone() -> None:
    tcp = ServicePort(WEB, "10.96.0.20", 80, endpoints=(Endpoint("10.244.0.5", 80),))
    assert stale_entries({WEB: tcp}, {}) == []


def test_ipvs_is_refused_with_the_reason() -> None:
    with pytest.raises(ProxyError, match="IP_VS|not implemented"):
        backends.new_provider("ipvs", ProxyConfig(node_name="n"))
    with pytest.raises(ProxyError, match="unknown proxy mode"):
        backends.new_provider("userspace", ProxyConfig(node_name="n"))


def test_health_is_bad_before_the_first_sync_and_when_a_change_waits_too_long() -> None:
    h = ProxyHealth(timeout=0.05)
    assert not h.healthy()
    h.updated()
    assert h.healthy()
    h.queued()
    assert h.healthy()
    h.queued_since = (h.queued_since or 0) - 1
    assert not h.healthy()


def test_split_address() -> None:
    assert split_address("0.0.0.0:10256", 1) == ("0.0.0.0", 10256)
    assert split_address(":10249", 1) == ("0.0.0.0", 10249)
    assert split_address("127.0.0.1", 10249) == ("127.0.0.1", 10249)


async def test_runner_batches_changes_and_starts_with_a_full_sync() -> None:
    calls: list[bool] = []

    async def sync(full: bool) -> None:
        calls.append(full)

    runner = BoundedFrequencyRunner(sync, min_interval=0.2, max_interval=60)
    task = asyncio.create_task(runner.run())
    await asyncio.sleep(0.05)
    for _ in range(10):
        runner.request()
    await asyncio.sleep(0.35)
    task.cancel()
    assert calls == [True, False]  # ten requests inside the interval: one sync


async def test_runner_retries_a_failed_sync_as_a_full_one() -> None:
    calls: list[bool] = []

    async def sync(full: bool) -> None:
        calls.append(full)
        if len(calls) == 2:
            raise RuntimeError("boom")

    runner = BoundedFrequencyRunner(sync, min_interval=0.05, max_interval=60)
    task = asyncio.create_task(runner.run())
    await asyncio.sleep(0.02)
    runner.request()
    await asyncio.sleep(0.2)
    task.cancel()
    assert calls[:3] == [True, False, True]


async def test_metrics_endpoint_serves_the_text_format() -> None:
    import aiohttp

    from pyk8s.proxy.healthcheck import serve_metrics
    from pyk8s.proxy.metrics import ProxyMetrics

    metrics = ProxyMetrics("nftables")
    metrics.synced(duration=0.01, full=True, rules=5, services=1, endpoints=2)
    runner = await serve_metrics(metrics.render, "127.0.0.1:0")
    try:
        port = runner.addresses[0][1]
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/metrics") as resp:
            text = await resp.text()
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert "kubeproxy_sync_proxy_rules_duration_seconds_count 1" in text
        assert "kubeproxy_sync_proxy_rules_nftables_sync_failures_total 0" in text
    finally:
        await runner.cleanup()
