"""Prometheus metrics on port 9153, under the names CoreDNS's ``prometheus`` plugin uses.

Dashboards and alerts written for CoreDNS read these names, so they are kept
(a subset; the request-duration histograms and per-plugin counters are not
kept):

* ``coredns_dns_requests_total{server, zone, view, proto, family, type}``
* ``coredns_dns_responses_total{server, zone, view, rcode, plugin}``
* ``coredns_cache_hits_total{server, type, view, zones}`` (type ``success``
  or ``denial``) and ``coredns_cache_misses_total{server, view, zones}``
* ``coredns_forward_requests_total{to}`` and
  ``coredns_forward_responses_total{to, rcode}``

Counting is a dict increment keyed by a tuple, cheap enough for the cached
path.  ``MetricsServer`` serves ``GET /metrics`` (text format 0.0.4) with
aiohttp.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import dns.rcode
import dns.rdatatype
from aiohttp import web

log = logging.getLogger("pyk8s.dns.metrics")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Query types CoreDNS names in its ``type`` label; the rest count as ``other``.
KNOWN_TYPES = frozenset({"A", "AAAA", "CNAME", "HINFO", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "NAPTR", "DS",
                         "DNSKEY", "RRSIG", "NSEC", "NSEC3", "IXFR", "AXFR", "ANY", "CAA", "HTTPS", "SVCB"})


def _type_label(rdtype: int) -> str:
    text = dns.rdatatype.to_text(rdtype)  # type: ignore[arg-type]
    return text if text in KNOWN_TYPES else "other"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class DNSMetrics:
    def __init__(self, server: str = "dns://:53", zone: str = ".") -> None:
        self.server, self.zone = server, zone
        self.requests: Counter[tuple[str, int, int]] = Counter()   # (proto, family, qtype)
        self.responses: Counter[int] = Counter()                     # rcode
        self.cache_hits: Counter[str] = Counter()                    # success | denial
        self.cache_misses = 0
        self.forward_requests: Counter[str] = Counter()              # to
        self.forward_responses: Counter[tuple[str, int]] = Counter()  # (to, rcode)

    def answered(self, *, udp: bool, v6: bool, qtype: int, rcode: int) -> None:
        self.requests["udp" if udp else "tcp", 2 if v6 else 1, qtype] += 1
        self.responses[rcode] += 1

    def render(self) -> str:
        s, z = _escape(self.server), _escape(self.zone)
        out: list[str] = []

        def family(name: str, kind: str, text: str) -> None:
            out.append(f"# HELP {name} {text}\n# TYPE {name} {kind}\n")

        family("coredns_dns_requests_total", "counter", "Counter of DNS requests made per zone, protocol and family.")
        types: Counter[tuple[str, int, str]] = Counter()
        for (proto, fam, qtype), n in self.requests.items():
            types[proto, fam, _type_label(qtype)] += n
        for (proto, fam, label), n in sorted(types.items()):
            out.append(f'coredns_dns_requests_total{{family="{fam}",proto="{proto}",server="{s}",type="{label}",'
                       f'view="",zone="{z}"}} {n}\n')
        family("coredns_dns_responses_total", "counter", "Counter of response status codes.")
        for rcode, n in sorted(self.responses.items()):
            out.append(f'coredns_dns_responses_total{{plugin="",rcode="{dns.rcode.to_text(rcode)}",server="{s}",'  # type: ignore[arg-type]
                       f'view="",zone="{z}"}} {n}\n')
        family("coredns_cache_hits_total", "counter", "The count of cache hits.")
        for kind, n in sorted(self.cache_hits.items()):
            out.append(f'coredns_cache_hits_total{{server="{s}",type="{kind}",view="",zones="{z}"}} {n}\n')
        family("coredns_cache_misses_total", "counter", "The count of cache misses.")
        out.append(f'coredns_cache_misses_total{{server="{s}",view="",zones="{z}"}} {self.cache_misses}\n')
        family("coredns_forward_requests_total", "counter", "Counter of requests made per upstream.")
        for to, n in sorted(self.forward_requests.items()):
            out.append(f'coredns_forward_requests_total{{to="{_escape(to)}"}} {n}\n')
        family("coredns_forward_responses_total", "counter", "Counter of responses received per upstream.")
        for (to, rcode), n in sorted(self.forward_responses.items()):
            out.append(f'coredns_forward_responses_total{{rcode="{dns.rcode.to_text(rcode)}",'  # type: ignore[arg-type]
                       f'to="{_escape(to)}"}} {n}\n')
        return "".join(out)


class MetricsServer:
    """``GET /metrics`` on ``address:port`` (port 0 picks one: ``bound_port``)."""

    def __init__(self, metrics: DNSMetrics, *, address: str, port: int = 9153) -> None:
        self.metrics, self.address, self.port = metrics, address, port
        self.ready = asyncio.Event()
        self.bound_port = 0

    async def _serve(self, _request: web.Request) -> web.Response:
        return web.Response(text=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def run(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._serve)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.address, self.port)
        try:
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self.bound_port = sockets[0].getsockname()[1] if sockets else self.port
            log.info("DNS metrics on http://%s:%d/metrics", self.address, self.bound_port)
            self.ready.set()
            await asyncio.Event().wait()
        finally:
            self.ready.clear()
            await runner.cleanup()
