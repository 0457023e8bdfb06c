"""The DNS daemon against a real (bare) ``pyk8s server``: informers feed answers, and kube-system/kube-dns
points at the server through an EndpointSlice it keeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import dns.asyncquery
import dns.message
import dns.rcode
import pytest

import pyk8s.api  # noqa: F401  (fills the scheme)
from pyk8s.client.errors import ApiError
from pyk8s.client.rest import Client
from pyk8s.daemons.dns import DNSDaemon, DNSOptions
from pyk8s.dns import kubedns
from pyk8s.testing.cluster import ServerProcess


@pytest.fixture(scope="module")
def api_server() -> Iterator[ServerProcess]:
    with ServerProcess() as srv:
        yield srv


@pytest.fixture
async def client(api_server: ServerProcess) -> AsyncIterator[Client]:
    c = Client.from_kubeconfig(api_server.kubeconfig, field_manager="dns-it")
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def daemon(api_server: ServerProcess) -> AsyncIterator[DNSDaemon]:
    c = Client.from_kubeconfig(api_server.kubeconfig, field_manager="pyk8s-dns")
    d = DNSDaemon(c, DNSOptions(bind_address="127.0.0.1", port=0, forward=False, metrics_port=0))
    task = asyncio.create_task(d.run())
    try:
        await asyncio.wait_for(d.ready.wait(), 20)
        yield d
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await c.close()


async def ask(d: DNSDaemon, name: str, rdtype: str = "A") -> dns.message.Message:
    assert d.server is not None
    return await dns.asyncquery.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=d.server.bound_port,
                                    timeout=5)


async def eventually(check, within: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_registers_kube_dns_service_and_its_own_slice(daemon: DNSDaemon, client: Client) -> None:
    assert daemon.server is not None
    port = daemon.server.bound_port

    async def registered():  # type: ignore[no-untyped-def]
        try:
            svc = await client.get(kubedns.SERVICES, "kube-dns", namespace="kube-system")
            eps = await client.get(kubedns.SLICES, kubedns.slice_name("127.0.0.1", port), namespace="kube-system")
        except ApiError as exc:
            raise AssertionError(str(exc)) from exc
        return svc, eps

    svc, eps = await eventually(registered)
    assert svc["spec"]["clusterIP"] == "10.96.0.10" and "selector" not in svc["spec"]
    assert svc["metadata"]["labels"]["k8s-app"] == "kube-dns"
    assert [(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]] == \
        [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")]
    assert svc["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert eps["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "dns.pyk8s.io"
    assert eps["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"
    assert eps["endpoints"][0]["addresses"] == ["127.0.0.1"] and eps["endpoints"][0]["conditions"]["ready"]
    assert daemon.metrics is not None
    assert {(p["name"], p["port"], p["protocol"]) for p in eps["ports"]} == \
        {("dns", port, "UDP"), ("dns-tcp", port, "TCP"), ("metrics", daemon.metrics.bound_port, "TCP")}

    # the DNS answers for its own Service, and a deleted slice comes back
    r = await eventually(lambda: _a(daemon, "kube-dns.kube-system.svc.cluster.local.", ["10.96.0.10"]))
    assert r.answer[0].ttl == 30
    await client.delete(kubedns.SLICES, kubedns.slice_name("127.0.0.1", port), namespace="kube-system")
    await eventually(registered)


async def _a(d: DNSDaemon, name: str, want: list[str]) -> dns.message.Message:
    r = await ask(d, name)
    assert r.rcode() == dns.rcode.NOERROR and r.answer, r
    assert sorted(rd.to_text() for rd in r.answer[0]) == want
    return r


async def test_answers_follow_the_api(daemon: DNSDaemon, client: Client) -> None:
    name = "dns-it-svc"
    assert (await ask(daemon, f"{name}.default.svc.cluster.local.")).rcode() == dns.rcode.NXDOMAIN
    svc = await client.create(kubedns.SERVICES, {"apiVersion": "v1", "kind": "Service",
                                                 "metadata": {"name": name},
                                                 "spec": {"ports": [{"name": "http", "port": 80}]}},
                              namespace="default")
    ip = svc["spec"]["clusterIP"]
    try:
        await eventually(lambda: _a(daemon, f"{name}.default.svc.cluster.local.", [ip]))
        srv = await ask(daemon, f"_http._tcp.{name}.default.svc.cluster.local.", "SRV")
        assert [rd.to_text() for rd in srv.answer[0]] == [f"0 100 80 {name}.default.svc.cluster.local."]
    finally:
        await client.delete(kubedns.SERVICES, name, namespace="default")

    async def gone():  # type: ignore[no-untyped-def]
        assert (await ask(daemon, f"{name}.default.svc.cluster.local.")).rcode() == dns.rcode.NXDOMAIN

    await eventually(gone)
    # a namespace that does not exist is NXDOMAIN, one that does (without Services) is NODATA
    assert (await ask(daemon, "no-such-ns.svc.cluster.local.")).rcode() == dns.rcode.NXDOMAIN
    empty = await ask(daemon, "kube-public.svc.cluster.local.")
    assert empty.rcode() == dns.rcode.NOERROR and empty.answer == []


async def test_stopping_withdraws_the_slice(api_server: ServerProcess, client: Client) -> None:
    c = Client.from_kubeconfig(api_server.kubeconfig, field_manager="pyk8s-dns")
    d = DNSDaemon(c, DNSOptions(bind_address="127.0.0.1", port=0, forward=False, metrics_port=None))
    task = asyncio.create_task(d.run())
    await asyncio.wait_for(d.ready.wait(), 20)
    assert d.server is not None and d.registration is not None
    name = kubedns.slice_name("127.0.0.1", d.server.bound_port)
    await asyncio.wait_for(d.registration.registered.wait(), 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await c.close()
    with pytest.raises(ApiError) as err:
        await client.get(kubedns.SLICES, name, namespace="kube-system")
    assert err.value.code == 404


async def test_metrics_count_requests_responses_and_cache(daemon: DNSDaemon) -> None:
    import aiohttp

    for _ in range(3):
        await ask(daemon, "nope.default.svc.cluster.local.")
    await ask(daemon, "dns-version.cluster.local.", "TXT")
    assert daemon.metrics is not None
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{daemon.metrics.bound_port}/metrics") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await resp.text()
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    server = f"dns://127.0.0.1:{daemon.server.bound_port}" if daemon.server else ""
    assert float(lines[f'coredns_dns_requests_total{{family="1",proto="udp",server="{server}",type="A",'
                       f'view="",zone="."}}']) >= 3
    assert float(lines[f'coredns_dns_responses_total{{plugin="",rcode="NXDOMAIN",server="{server}",view="",'
                       f'zone="."}}']) >= 3
    assert float(lines[f'coredns_cache_hits_total{{server="{server}",type="denial",view="",zones="."}}']) >= 2
    assert "# TYPE coredns_cache_misses_total counter" in text
