"""A tiny authoritative DNS server for tests (UDP, dnspython): fixed A/PTR records and a log of every question.

Run it where the resolver under test looks, typically on 127.0.0.1:53 inside a
network namespace the test created, so no query can leave the machine::

    python -m pyk8s.testing.dnsserver --records '{"web-0.nginx.default.svc.cluster.local": "10.0.0.7"}' \\
        --log queries.txt [--address 127.0.0.1 --port 53]

Each answered name also gets its PTR record.  Every other name is NXDOMAIN; a
known name asked for another type gets an empty NOERROR answer.  The log has
one ``<name> <type>`` line per question (names absolute, lower case), and the
line ``ready`` is printed on stdout once the socket is bound.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.reversename
import dns.rrset

TTL = 5


def _absolute(name: str) -> str:
    return name.lower().rstrip(".") + "."


def answer(query: bytes, records: dict[str, str], log: list[str] | None = None) -> bytes:
    """The wire response to one wire query, given name -> IPv4 address."""
    request = dns.message.from_wire(query)
    response = dns.message.make_response(request)
    response.flags |= dns.flags.AA
    forward = {_absolute(name): ip for name, ip in records.items()}
    reverse = {dns.reversename.from_address(ip).to_text(): name for name, ip in forward.items()}
    for question in request.question:
        name, rdtype = question.name.to_text().lower(), question.rdtype
        if log is not None:
            log.append(f"{name} {dns.rdatatype.to_text(rdtype)}")
        if name in forward:
            if rdtype == dns.rdatatype.A:
                response.answer.append(dns.rrset.from_text(question.name, TTL, "IN", "A", forward[name]))
        elif name in reverse:
            if rdtype == dns.rdatatype.PTR:
                response.answer.append(dns.rrset.from_text(question.name, TTL, "IN", "PTR", reverse[name]))
        else:
            response.set_rcode(dns.rcode.NXDOMAIN)
    return response.to_wire()


def serve(records: dict[str, str], log_path: str, address: str = "127.0.0.1", port: int = 53) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, port))
    print("ready", flush=True)
    with open(log_path, "a", buffering=1) as log_file:
        while True:
            data, peer = sock.recvfrom(4096)
            lines: list[str] = []
            try:
                reply = answer(data, records, lines)
            except Exception:  # noqa: BLE001 - a malformed packet must not stop the server
                continue
            log_file.writelines(line + "\n" for line in lines)
            sock.sendto(reply, peer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", required=True, help="JSON object: name -> IPv4 address")
    parser.add_argument("--log", required=True)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=53)
    args = parser.parse_args(argv)
    serve(json.loads(args.records), args.log, args.address, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
