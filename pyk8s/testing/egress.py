"""A cluster egress for tests: pod addresses mapped to loopback backends, nothing else ever dialled.

``TranslatingEgress({("10.200.0.5", 80): ("127.0.0.1", 43121)})`` makes the API
server's proxy subresources reach a test's backend where a pod's address is
named, so tests exercise pod IPs without a packet to one.  An address that is
not mapped goes to a loopback port nothing listens on (the discard port), so
it is refused, as a closed pod port would be.
"""

from __future__ import annotations

from pyk8s.apiserver.egress import ClusterEgress

UNMAPPED = ("127.0.0.1", 9)


class TranslatingEgress(ClusterEgress):
    def __init__(self, routes: dict[tuple[str, int], tuple[str, int]] | None = None) -> None:
        super().__init__()
        self.routes = dict(routes or {})
        self.dialled: list[tuple[str, int]] = []

    def address(self, host: str, port: int) -> tuple[str, int]:
        self.dialled.append((host, port))
        return self.routes.get((host, port), UNMAPPED)
