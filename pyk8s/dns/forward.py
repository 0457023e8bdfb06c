"""Names outside the cluster zones go to the host's resolvers (CoreDNS's ``forward . /etc/resolv.conf``).

``upstreams(resolv_conf, own)`` reads the nameservers and drops the ones a
query must not reach: loopback resolvers such as systemd-resolved's
127.0.0.53 (inside a pod or on a node whose DNS points back at the cluster
they would loop, coredns #2087, which CoreDNS's ``loop`` plugin only detects
by dying) and this server's own addresses.  No usable upstream leaves
forwarding off, and the server answers REFUSED for outside names.

``Forwarder.query(request)`` relays the query as it came (the client's ID,
flags and EDNS options kept) over UDP, retries over TCP when the answer
is truncated, and tries the next server after a timeout; a query nobody
answered is None (the server answers SERVFAIL, as CoreDNS's forward does).
At most ``max_concurrent`` queries are in flight (kubeadm's Corefile: 1000);
past that, SERVFAIL at once rather than an unbounded backlog.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message

from pyk8s.dns.metrics import DNSMetrics

log = logging.getLogger("pyk8s.dns.forward")
#: Where upstream servers come from (CoreDNS's ``forward . /etc/resolv.conf``). ``PYK8S_DNS_RESOLV_CONF``
#: moves it, which also reaches the DNS server ``pyk8s server`` embeds: ``/dev/null`` turns forwarding off.
RESOLV_CONF_ENV = "PYK8S_DNS_RESOLV_CONF"
DEFAULT_RESOLV_CONF = os.environ.get(RESOLV_CONF_ENV) or "/etc/resolv.conf"
#: systemd-resolved's list of the real upstream servers, behind its 127.0.0.53 stub (kubeadm points
#: the kubelet's --resolv-conf here for the same reason, kubernetes/kubeadm#998).
SYSTEMD_RESOLVED_CONF = "/run/systemd/resolve/resolv.conf"
STUB_RESOLVER = "127.0.0.53"


def parse_nameservers(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            address = fields[1].split("%", 1)[0]  # fe80::1%eth0: the zone is not ours to keep
            try:
                out.append(str(ipaddress.ip_address(address)))
            except ValueError:
                continue
    return out


def upstreams(resolv_conf: str = DEFAULT_RESOLV_CONF, own: frozenset[str] = frozenset(), *,
              resolved_conf: str = SYSTEMD_RESOLVED_CONF) -> list[str]:
    """Usable upstream servers from ``resolv_conf``: not loopback, not unspecified, not ourselves.

    When the file names only systemd-resolved's stub (127.0.0.53), the servers behind the stub
    (``resolved_conf``) are used instead, filtered the same way.
    """
    try:
        text = Path(resolv_conf).read_text()
    except OSError as exc:
        log.warning("cannot read %s (%s): forwarding is off", resolv_conf, exc.strerror or exc)
        return []
    servers = parse_nameservers(text)
    usable = _usable(servers, own, resolv_conf)
    if not usable and STUB_RESOLVER in servers and resolved_conf and resolved_conf != resolv_conf:
        try:
            usable = _usable(parse_nameservers(Path(resolved_conf).read_text()), own, resolved_conf)
        except OSError:
            return []
        if usable:
            log.info("%s names systemd-resolved's stub: forwarding to the servers of %s", resolv_conf,
                     resolved_conf)
    return usable


def _usable(servers: list[str], own: frozenset[str], source: str) -> list[str]:
    usable: list[str] = []
    for server in servers:
        ip = ipaddress.ip_address(server)
        if ip.is_loopback or ip.is_unspecified or server in own:
            log.info("not forwarding to %s from %s: it would loop back to this host", server, source)
            continue
        usable.append(server)
    return usable


class Forwarder:
    def __init__(self, servers: list[str], *, port: int = 53, timeout: float = 2.0,
                 max_concurrent: int = 1000) -> None:
        if not servers:
            raise ValueError("no upstream DNS servers")
        self.servers, self.port = list(servers), port
        self.metrics: DNSMetrics | None = None  # set by the server that uses this forwarder
        self.timeout = timeout
        self.max_concurrent = max_concurrent
        self.in_flight = 0

    async def query(self, request: dns.message.Message) -> dns.message.Message | None:
        if self.in_flight >= self.max_concurrent:
            return None
        self.in_flight += 1
        try:
            for server in self.servers:
                reply = await self._ask(request, server)
                if reply is not None:
                    return reply
            return None
        finally:
            self.in_flight -= 1

    async def _ask(self, request: dns.message.Message, server: str) -> dns.message.Message | None:
        to = f"{server}:{self.port}"
        if self.metrics is not None:
            self.metrics.forward_requests[to] += 1
        try:
            reply = await dns.asyncquery.udp(request, server, port=self.port, timeout=self.timeout,
                                             ignore_unexpected=True)
            if reply.flags & dns.flags.TC:
                reply = await dns.asyncquery.tcp(request, server, port=self.port, timeout=self.timeout)
            if self.metrics is not None:
                self.metrics.forward_responses[to, reply.rcode()] += 1
            return reply
        except (dns.exception.DNSException, OSError) as exc:
            log.debug("upstream %s: %s", server, exc)
            return None
