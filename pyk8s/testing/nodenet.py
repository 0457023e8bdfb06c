"""A network namespace that plays one node's host, for tests that run real pods.

``NodeNetns.create()`` makes a namespace with loopback up and one veth pair
to the machine: the machine's end gets ``169.254.X.1/30``, the node's end
``169.254.X.2/30`` (a link-local /30 picked at random, so parallel tests do
not collide).  That link is the only way in or out: the namespace has no
default route, so nothing a pod sends can leave the machine, and the pods'
CNI bridge, veths and any rules live inside it and vanish with it.  An API
server bound to ``host_ip`` is reachable from processes started with
``command(...)`` (``nsenter --net=``, which, unlike ``ip netns exec``, does
not remount /sys under the container runtime).

``delete()`` removes the namespace (taking its interfaces with it) and the
machine's end of the veth; it is idempotent.
"""

from __future__ import annotations

import random
import subprocess
import uuid
from dataclasses import dataclass, field

SERVICE_CIDR = "10.96.0.0/12"  # pyk8s server's default --service-cluster-ip-range


def _ip(*args: str, netns: str | None = None) -> None:
    cmd = ["ip", "-n", netns, *args] if netns else ["ip", *args]
    subprocess.run(cmd, check=True, capture_output=True)


@dataclass
class NodeNetns:
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    subnet: int = field(default_factory=lambda: random.randrange(64, 255) * 256 + random.randrange(0, 256, 4))

    @property
    def name(self) -> str:
        return f"pyk8s-node-{self.tag}"

    @property
    def path(self) -> str:
        return f"/var/run/netns/{self.name}"

    def _addr(self, host: int) -> str:
        base = self.subnet + host
        return f"169.254.{base // 256 % 256}.{base % 256}"

    @property
    def host_ip(self) -> str:
        """The machine's end of the link: bind the API server here."""
        return self._addr(1)

    @property
    def node_ip(self) -> str:
        """The node's own address (its InternalIP)."""
        return self._addr(2)

    @property
    def veth_host(self) -> str:
        return f"pk8h{self.tag}"

    def create(self) -> NodeNetns:
        _ip("netns", "add", self.name)
        try:
            _ip("link", "set", "lo", "up", netns=self.name)
            _ip("link", "add", self.veth_host, "type", "veth", "peer", "name", "eth0", "netns", self.name)
            _ip("addr", "add", f"{self.host_ip}/30", "dev", self.veth_host)
            _ip("link", "set", self.veth_host, "up")
            _ip("addr", "add", f"{self.node_ip}/30", "dev", "eth0", netns=self.name)
            _ip("link", "set", "eth0", "up", netns=self.name)
            self._plumb_services()
        except BaseException:
            self.delete()
            raise
        return self

    def route_to(self, address: str) -> None:
        """Reach one more address of the machine (say, an API server bound to another node's link) from here."""
        _ip("route", "add", f"{address}/32", "via", self.host_ip, netns=self.name)
        self._nft(f"add element ip pyk8s-nodenet machine {{ {address} }}")

    def _nft(self, script: str) -> None:
        subprocess.run(self.command(["nft", "-f", "-"]), input=script.encode(), check=True, capture_output=True)

    def _plumb_services(self) -> None:
        """What a real node's default route and network give Services, kept inside the namespace.

        * Service IPs (10.96.0.0/12) route to a bridge with no ports (this
          kernel has no dummy driver), where a packet no proxy rule rewrote
          dies: forwarding (and so the proxy's reject of
          a Service with no endpoints) and the node's own ClusterIP calls need a
          route, and a default route would lead off the machine.
        * Pods reaching the machine (the ``kubernetes`` Service's endpoint, the
          API server on ``host_ip``) are masqueraded to the node's address: pod
          CNI does not masquerade, and the machine has no route back to pod IPs
          (its default route must never carry them).
        """
        _ip("link", "add", "pyk8s-svc", "type", "bridge", netns=self.name)
        _ip("link", "set", "pyk8s-svc", "up", netns=self.name)
        _ip("route", "add", SERVICE_CIDR, "dev", "pyk8s-svc", netns=self.name)
        self._nft(f"""table ip pyk8s-nodenet {{
  set machine {{ type ipv4_addr ; elements = {{ {self.host_ip} }} ; }}
  chain postrouting {{
    type nat hook postrouting priority srcnat + 10 ; policy accept ;
    oifname "eth0" ip daddr @machine ip saddr != {self.node_ip} masquerade
  }}
}}
""")

    def command(self, args: list[str]) -> list[str]:
        """``args`` run inside the namespace."""
        return ["nsenter", f"--net={self.path}", "--", *args]

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True, check=False)
        subprocess.run(["ip", "link", "delete", self.veth_host], capture_output=True, check=False)

    def __enter__(self) -> NodeNetns:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.delete()
