"""The DNS server: asyncio UDP and TCP listeners in front of the resolver.

Answering is synchronous and short (a few dict lookups and dnspython's wire
encoding), so it runs right in the protocol callbacks; only forwarding waits,
in a task of the server's own TaskGroup.  Wire handling follows the RFCs:

* UDP answers fit the client's size: 512 bytes without EDNS0 (RFC 1035),
  else the payload size its OPT record advertises (at least 512, RFC 6891).
  What does not fit loses the additional section first (glue is optional)
  and then sets TC with the answer left out, so the client asks again over
  TCP (RFC 2181 section 9, RFC 7766); TCP answers up to 65,535 bytes.
* An OPT record in a query gets one back (``OUR_PAYLOAD``); an EDNS version
  above 0 gets BADVERS; a query that does not parse gets FORMERR (when its
  header can be read at all); an opcode other than QUERY gets NOTIMP; a
  class other than IN gets REFUSED.
* Cluster answers are authoritative (AA); RA says whether forwarding is on
  for this client: ``recursion_from`` (networks) limits who may have names
  outside the cluster forwarded, so a server listening on a node IP is not
  an open resolver for the whole LAN; others get REFUSED for those names.

Authoritative answers are cached by the query's bytes after the ID (the
question, flags and EDNS options determine the answer): a hit copies the
client's ID in front of the stored reply and skips parsing and encoding.
Each entry is filed under its answer's scope (its Service, reverse names, or
nothing in particular); a cluster change drops the scopes it touched
(``ClusterView.take_dirty``), so a pod churning in one Service does not
flush the answers for every other.  Cached negative answers keep the SOA
serial they were made with (the serial only matters to zone transfers, which
are not served).  The cache is bounded (cleared when full; ``cache_size=0``
turns it off); forwarded answers are never cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import struct
from collections.abc import Callable, Sequence

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass

from pyk8s.dns.cluster import EVERYTHING
from pyk8s.dns.forward import Forwarder
from pyk8s.dns.metrics import DNSMetrics
from pyk8s.dns.resolver import Answer, Resolver

log = logging.getLogger("pyk8s.dns")
OUR_PAYLOAD = 1232        # the DNS Flag Day 2020 size: no IP fragmentation on common paths
PLAIN_UDP_LIMIT = 512
TCP_LIMIT = 65535
CACHE_SIZE = 20000
TCP_IDLE_TIMEOUT = 10.0   # RFC 7766 suggests seconds, not minutes, for idle connections


class _Forward:
    """Marker: the answer needs an upstream round trip."""

    def __init__(self, request: dns.message.Message, answer: Answer | None, v6: bool = False) -> None:
        self.request, self.answer, self.v6 = request, answer, v6


class DNSServer:
    name = "dns"

    def __init__(self, resolver: Resolver, *, address: str = "127.0.0.1", port: int = 53,
                 forwarder: Forwarder | None = None, cache_size: int = CACHE_SIZE,
                 recursion_from: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] | None = None,
                 metrics: DNSMetrics | None = None) -> None:
        self.resolver, self.forwarder = resolver, forwarder
        self.metrics = metrics if metrics is not None else DNSMetrics(f"dns://{address}:{port}")
        if forwarder is not None:
            forwarder.metrics = self.metrics
        self.recursion_from = tuple(recursion_from) if recursion_from is not None else None
        self._recursion_ok: dict[str, bool] = {}
        self.address, self.port = address, port
        self.cache_size = cache_size
        self.ready = asyncio.Event()
        # key -> (reply after its ID, qtype, rcode): the last two only for the metrics
        self._cache: dict[tuple[bool, bool, bytes], tuple[bytes, int, int]] = {}
        self._by_scope: dict[str, list[tuple[bool, bool, bytes]]] = {}
        self._generation = -1
        self._tg: asyncio.TaskGroup | None = None
        #: The ports actually bound (``port=0`` picks one; UDP and TCP share it).
        self.bound_port = 0

    # --- lifecycle -----------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        udp, tcp = await self._listen(loop)
        log.info("DNS server listening on %s:%d (UDP and TCP)%s", self.address, self.bound_port,
                 "" if self.forwarder else "; forwarding is off")
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                self.ready.set()
                await asyncio.Event().wait()
        finally:
            self.ready.clear()
            self._tg = None
            udp.close()
            tcp.close()
            with contextlib.suppress(Exception):
                await tcp.wait_closed()

    async def _listen(self, loop: asyncio.AbstractEventLoop) -> tuple[asyncio.DatagramTransport, asyncio.Server]:
        # With port 0 the kernel picks the UDP port; TCP takes the same one (retry if someone holds it).
        for _ in range(20):
            udp, _proto = await loop.create_datagram_endpoint(lambda: _UDP(self), local_addr=(self.address, self.port))
            port = udp.get_extra_info("sockname")[1]
            try:
                tcp = await asyncio.start_server(self._serve_tcp, self.address, port)
            except OSError:
                udp.close()
                if self.port:
                    raise
                continue
            self.bound_port = port
            self.metrics.server = f"dns://{self.address}:{port}"
            return udp, tcp
        raise OSError(f"no port free for both UDP and TCP on {self.address}")

    def spawn_forward(self, job: _Forward, send: Callable[[bytes], object]) -> None:
        """Forward in a task of the server's group and ``send`` the reply (UDP: no caller waits)."""
        if self._tg is not None:
            self._tg.create_task(self._forward_safely(job, send))

    async def _forward_safely(self, job: _Forward, send: Callable[[bytes], object]) -> None:
        try:
            wire = await self.forward(job, udp=True)
        except Exception:  # noqa: BLE001 - one bad upstream answer must not stop the server
            log.exception("forwarding failed")
            return
        if wire is not None:
            send(wire)

    # --- answering -----------------------------------------------------------------

    def may_recurse(self, source: str) -> bool:
        """Whether names outside the cluster are forwarded for a client at ``source``."""
        if self.forwarder is None:
            return False
        if self.recursion_from is None:
            return True
        ok = self._recursion_ok.get(source)
        if ok is None:
            try:
                ip = ipaddress.ip_address(source)
                ok = any(ip in net for net in self.recursion_from if net.version == ip.version)
            except ValueError:
                ok = False
            if len(self._recursion_ok) > 4096:
                self._recursion_ok.clear()
            self._recursion_ok[source] = ok
        return ok

    def answer(self, data: bytes, *, udp: bool, source: str = "127.0.0.1") -> bytes | _Forward | None:
        """The reply to one query from ``source``: wire bytes, a ``_Forward`` job, or None to stay silent."""
        if self.resolver.view.generation != self._generation:
            self._invalidate()
        recurse = self.may_recurse(source)
        key = (udp, recurse, data[2:])
        cached = self._cache.get(key)
        metrics, v6 = self.metrics, ":" in source
        if cached is not None:
            tail, qtype, rcode = cached
            metrics.answered(udp=udp, v6=v6, qtype=qtype, rcode=rcode)
            metrics.cache_hits["denial" if rcode == dns.rcode.NXDOMAIN else "success"] += 1
            return data[:2] + tail
        try:
            request = dns.message.from_wire(data)
        except dns.exception.DNSException:
            metrics.answered(udp=udp, v6=v6, qtype=0, rcode=dns.rcode.FORMERR)
            return _format_error(data)
        if request.flags & dns.flags.QR:
            return None  # a response sent to us: answering it could start a reflection loop
        response, answer = self._respond(request, recurse)
        if response is None:
            return _Forward(request, answer, v6)
        wire = _to_wire(response, _limit(request, udp))
        qtype = request.question[0].rdtype if request.question else 0
        metrics.answered(udp=udp, v6=v6, qtype=qtype, rcode=response.rcode())
        if self.cache_size > 0 and answer is not None:
            metrics.cache_misses += 1
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
                self._by_scope.clear()
            self._cache[key] = (wire[2:], qtype, response.rcode())
            self._by_scope.setdefault(answer.scope, []).append(key)
        return wire

    def _invalidate(self) -> None:
        view = self.resolver.view
        self._generation = view.generation
        dirty = view.take_dirty()
        if EVERYTHING in dirty:
            self._cache.clear()
            self._by_scope.clear()
            return
        for scope in (*dirty, EVERYTHING):
            for key in self._by_scope.pop(scope, ()):
                self._cache.pop(key, None)

    def _respond(self, request: dns.message.Message,
                 recurse: bool) -> tuple[dns.message.Message | None, Answer | None]:
        """The response (None: forward it) and the cluster answer it carries (None: not cacheable)."""
        response = dns.message.make_response(request, our_payload=OUR_PAYLOAD)
        response.flags &= ~dns.flags.RA
        if recurse:
            response.flags |= dns.flags.RA
        if request.edns > 0:
            response.set_rcode(dns.rcode.BADVERS)
            return response, None
        if request.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response, None
        if len(request.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response, None
        question = request.question[0]
        if question.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
            return response, None
        answer = self.resolver.resolve(question.name, question.rdtype)
        if answer.outside or (answer.fallthrough and recurse):
            if not recurse:
                response.set_rcode(dns.rcode.REFUSED)
                return response, None
            return None, None
        if answer.external_target is not None and recurse:
            return None, answer
        _fill(response, answer)
        return response, answer

    async def forward(self, job: _Forward, *, udp: bool) -> bytes | None:
        """Ask upstream: the whole query, or (after a CNAME left the zone) the chain's target."""
        assert self.forwarder is not None
        request, answer = job.request, job.answer
        response = dns.message.make_response(request, our_payload=OUR_PAYLOAD)
        response.flags |= dns.flags.RA
        if answer is None:
            reply = await self.forwarder.query(request)
            if reply is None:
                response.set_rcode(dns.rcode.SERVFAIL)
            else:
                reply.id = request.id
                reply.flags |= dns.flags.RA  # we recurse for the client, whatever the upstream said
                response = reply
        else:
            _fill(response, answer)
            assert answer.external_target is not None
            chase = dns.message.make_query(answer.external_target, request.question[0].rdtype)
            reply = await self.forwarder.query(chase)
            if reply is not None:
                response.answer.extend(reply.answer)
                response.set_rcode(reply.rcode())
        qtype = request.question[0].rdtype if request.question else 0
        self.metrics.answered(udp=udp, v6=job.v6, qtype=qtype, rcode=response.rcode())
        return _to_wire(response, _limit(request, udp))

    # --- transports ----------------------------------------------------------------

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        source = str(peer[0]) if peer else ""
        try:
            while True:
                header = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE_TIMEOUT)
                data = await asyncio.wait_for(reader.readexactly(struct.unpack("!H", header)[0]), TCP_IDLE_TIMEOUT)
                reply = self.answer(data, udp=False, source=source)
                if isinstance(reply, _Forward):
                    reply = await self.forward(reply, udp=False)
                if reply is None:
                    return
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        except Exception:  # noqa: BLE001 - one connection's failure must not stop the listener
            log.exception("DNS over TCP: connection failed")
        finally:
            writer.close()


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            reply = self.server.answer(data, udp=True, source=addr[0])
        except Exception:  # noqa: BLE001 - a bug on one query must not stop the listener
            log.exception("DNS over UDP: answering failed")
            return
        if isinstance(reply, _Forward):
            self.server.spawn_forward(reply, lambda wire: self._send(wire, addr))
        elif reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def _send(self, wire: bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():  # the server may have stopped meanwhile
            self.transport.sendto(wire, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("DNS over UDP: %s", exc)


def _fill(response: dns.message.Message, answer: Answer) -> None:
    response.flags |= dns.flags.AA
    response.set_rcode(answer.rcode)
    response.answer = list(answer.answer)
    response.authority = list(answer.authority)
    response.additional = list(answer.additional)


def _limit(request: dns.message.Message, udp: bool) -> int:
    if not udp:
        return TCP_LIMIT
    if request.edns < 0:
        return PLAIN_UDP_LIMIT
    return max(PLAIN_UDP_LIMIT, min(request.payload, TCP_LIMIT))


def _to_wire(response: dns.message.Message, limit: int) -> bytes:
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        pass
    response.additional = []
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        pass
    response.flags |= dns.flags.TC
    response.answer, response.authority = [], []
    return response.to_wire(max_size=limit)


def _format_error(data: bytes) -> bytes | None:
    """FORMERR for a query that does not parse, if at least its header does (else silence)."""
    if len(data) < 12 or data[2] & 0x80:
        return None  # no header, or a response: never answer those (reflection loops)
    response = dns.message.Message(id=struct.unpack("!H", data[:2])[0])
    response.flags = dns.flags.QR | (struct.unpack("!H", data[2:4])[0] & dns.flags.RD)
    response.set_rcode(dns.rcode.FORMERR)
    return response.to_wire()

