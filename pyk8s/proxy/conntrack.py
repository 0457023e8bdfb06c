"""Stale UDP conntrack entries, removed with the ``conntrack`` tool (Debian package conntrack).

UDP has no connection to close: once a flow to a Service VIP is NATed to an
endpoint, conntrack keeps sending that client's packets to it even after the
endpoint is gone (the classic "DNS breaks after CoreDNS restarts").  As
upstream's ``pkg/proxy/conntrack`` does, after each sync:

* for every UDP endpoint that stopped being reachable, delete the entries
  whose original destination is one of the Service's addresses (ClusterIP,
  external and LoadBalancer IPs; any, for the NodePort) and whose reply comes
  from that endpoint;
* for every UDP Service port that had no endpoints and now has some, delete
  the entries to its addresses, which would otherwise keep clients on the
  reject verdict they were given.

``stale_entries(old, new)`` is pure (the plan); ``ConntrackCleaner`` runs it.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from pyk8s.proxy.interface import ServicePort, ServicePortName

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Flush:
    """One ``conntrack -D`` filter: by original destination (and port), optionally by the endpoint replying."""

    dst: str = ""  # original destination address ("" = any)
    port: int = 0  # original destination port
    endpoint: str = ""  # the DNATed-to endpoint IP ("" = any)

    def args(self) -> list[str]:
        out = ["-D", "-p", "udp"]
        if self.dst:
            out += ["--orig-dst", self.dst]
        if self.port:
            out += ["--orig-port-dst", str(self.port)]
        if self.endpoint:
            out += ["--dst-nat", self.endpoint]
        return out


def _addresses(sp: ServicePort) -> list[tuple[str, int]]:
    out = [(ip, sp.port) for ip in (sp.cluster_ip, *sp.external_ips, *sp.load_balancer_ips)]
    if sp.node_port:
        out.append(("", sp.node_port))
    return out


def stale_entries(old: Mapping[ServicePortName, ServicePort],
                  new: Mapping[ServicePortName, ServicePort]) -> list[Flush]:
    flushes: list[Flush] = []
    for name in sorted(set(old) | set(new)):
        if name.protocol != "UDP":
            continue
        before, after = old.get(name), new.get(name)
        was = {e.ip for e in before.reachable_endpoints()} if before else set()
        now = {e.ip for e in after.reachable_endpoints()} if after else set()
        sp = before or after
        assert sp is not None
        for ip in sorted(was - now):
            flushes += [Flush(dst, port, ip) for dst, port in _addresses(sp)]
        if after is not None and not was and now:
            flushes += [Flush(dst, port) for dst, port in _addresses(after)]
    return flushes


class ConntrackCleaner:
    def __init__(self) -> None:
        self.binary = shutil.which("conntrack")
        self._warned = False

    def run(self, flushes: list[Flush]) -> int:
        """Delete the entries; returns how many ``conntrack -D`` calls were made."""
        if not flushes:
            return 0
        if self.binary is None:
            if not self._warned:
                log.warning("conntrack is not installed (Debian package conntrack): stale UDP flows to removed "
                            "endpoints are not cleared")
                self._warned = True
            return 0
        for flush in flushes:
            # Exit code 1 with "0 flow entries have been deleted" is the usual, harmless case.
            proc = subprocess.run([self.binary, *flush.args()], capture_output=True, text=True, check=False)
            if proc.returncode not in (0, 1):
                log.warning("conntrack %s: %s", " ".join(flush.args()), proc.stderr.strip())
        return len(flushes)
