"""Several real nodes on one machine: one network namespace per node, joined by a bridge, as kind does.

Topology (every name carries a random tag, so clusters side by side never meet)::

    machine ── pk8m<tag> ═══ uplink ┐
                                    ├─ br0   (in netns pyk8s-sw-<tag>, the "switch")
    pyk8s-node-<tag>1  eth0 ═══ pk8h<tag>1 ┤
    pyk8s-node-<tag>2  eth0 ═══ pk8h<tag>2 ┘

* the machine's end gets ``169.254.S.1/24`` (S in 1..63: ``nodenet``'s single
  nodes use 64..254) and the API server binds there, so every node reaches it
  on-link; node i is ``169.254.S.(10+i)``.  No namespace has a default route,
  so nothing a pod sends can leave the machine;
* ``10.96.0.0/12`` (the Service range) is routed to loopback in each node
  (source: the node IP), so the node itself reaches ClusterIPs through the
  proxy's output rules, and nothing untranslated leaves;
* each node forwards (``net.ipv4.ip_forward=1``) and its kubelet's route sync
  (``pyk8s.kubelet.network.routes``) adds ``<other podCIDR> via <other node
  IP>``: host-gw, so pod to pod across nodes keeps source IPs;
* traffic from pods to anything outside the cluster CIDR (in practice: the
  machine, where the API server and the control plane run) is masqueraded to
  the node's IP in the node's own ``ip pyk8s-node-masq`` table, as kind's
  kindnetd does, so the machine answers on-link and never needs routes to
  pod CIDRs (which would collide with other clusters on the same machine);
* each node runs its own ``pyk8s kubelet`` (``pyk8s.testing.kubelet``) with
  its own root dir: containerd's root, state, socket and CNI dirs, the local
  registry on the node's own 127.0.0.1, and the NetworkPolicy agent;
* each node runs the service proxy (``pyk8s proxy``, ``pyk8s.testing.proxy``)
  in its namespace, when this checkout has it;
* the cluster DNS (behind ``kube-dns`` at 10.96.0.10) is the one ``pyk8s
  server`` embeds, as ``scripts/up.sh`` gives it, bound to the server's end
  of the bridge; ``PYK8S_DNS_RESOLV_CONF=/dev/null`` leaves it no upstream,
  so it never forwards and no query leaves the machine;
* certificates come from the server's admin kubeconfig (joining with
  bootstrap tokens is for later).

``MultiNodeCluster(nodes=2).up()`` / ``.down()`` for tests; ``python -m
pyk8s.testing.multinode up|down`` (``scripts/multinode.sh``) for people,
recording what it started in a state file so ``down`` (another process)
removes processes by PID, node resets, namespaces, veths and dirs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import importlib.util
import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from pyk8s.kubelet.images import build
from pyk8s.testing.cluster import DISABLE_ENV, ServerProcess, server_binary
from pyk8s.testing.kubelet import KubeletProcess
from pyk8s.testing.nodenet import NodeNetns

CLUSTER_CIDR = "10.244.0.0/16"  # the controller manager's default node IPAM range
SERVICE_CIDR = "10.96.0.0/12"  # the API server's default --service-cluster-ip-range
BRIDGE = "br0"
STATE_DIR = pathlib.Path("/run/pyk8s-multinode")


def _ip(*args: str, netns: str | None = None) -> None:
    cmd = ["ip", "-n", netns, *args] if netns else ["ip", *args]
    subprocess.run(cmd, check=True, capture_output=True)


def _in_netns(netns_path: str, args: list[str], *, stdin: str | None = None) -> None:
    subprocess.run(["nsenter", f"--net={netns_path}", "--", *args], check=True, capture_output=True, text=True,
                   input=stdin)


def masquerade_script(cluster_cidr: str = CLUSTER_CIDR) -> str:
    return (f"table ip pyk8s-node-masq {{\n\tchain postrouting {{\n"
            f"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
            f'\t\tip saddr {cluster_cidr} ip daddr != {cluster_cidr} oifname "eth0" masquerade\n\t}}\n}}\n')


@dataclass
class SwitchNetns:
    """The bridge every node and the machine plug into, alone in its own namespace."""
    tag: str
    subnet: int  # S in 169.254.S.0/24

    @property
    def name(self) -> str:
        return f"pyk8s-sw-{self.tag}"

    @property
    def uplink(self) -> str:
        return f"pk8m{self.tag}"

    @property
    def host_ip(self) -> str:
        return f"169.254.{self.subnet}.1"

    def create(self) -> SwitchNetns:
        _ip("netns", "add", self.name)
        try:
            _ip("link", "set", "lo", "up", netns=self.name)
            _ip("link", "add", BRIDGE, "type", "bridge", netns=self.name)
            _ip("link", "set", BRIDGE, "up", netns=self.name)
            _ip("link", "add", self.uplink, "type", "veth", "peer", "name", "uplink", "netns", self.name)
            _ip("link", "set", "uplink", "master", BRIDGE, "up", netns=self.name)
            _ip("addr", "add", f"{self.host_ip}/24", "dev", self.uplink)
            _ip("link", "set", self.uplink, "up")
        except BaseException:
            self.delete()
            raise
        return self

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True, check=False)
        subprocess.run(["ip", "link", "delete", self.uplink], capture_output=True, check=False)


@dataclass
class NodeOnSwitch(NodeNetns):
    """One node's namespace, plugged into the switch (a ``NodeNetns``, so ``KubeletProcess`` runs in it)."""
    switch: SwitchNetns | None = None
    index: int = 1

    @property
    def host_ip(self) -> str:
        assert self.switch is not None
        return self.switch.host_ip

    @property
    def node_ip(self) -> str:
        assert self.switch is not None
        return f"169.254.{self.switch.subnet}.{10 + self.index}"

    def create(self) -> NodeOnSwitch:
        switch = self.switch
        assert switch is not None
        _ip("netns", "add", self.name)
        try:
            _ip("link", "set", "lo", "up", netns=self.name)
            _ip("link", "add", self.veth_host, "netns", switch.name, "type", "veth", "peer", "name", "eth0",
                "netns", self.name)
            _ip("link", "set", self.veth_host, "master", BRIDGE, "up", netns=switch.name)
            _ip("addr", "add", f"{self.node_ip}/24", "dev", "eth0", netns=self.name)
            _ip("link", "set", "eth0", "up", netns=self.name)
            _in_netns(self.path, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
            _in_netns(self.path, ["nft", "-f", "-"], stdin=masquerade_script())
            # The node itself reaching a ClusterIP needs a route before the proxy's output DNAT applies (there is
            # no default route, and this kernel has no dummy devices): loopback, with the node IP as source, so
            # whatever no rule translates stays in the namespace.
            _ip("route", "add", SERVICE_CIDR, "dev", "lo", "src", self.node_ip, netns=self.name)
        except BaseException:
            self.delete()
            raise
        return self

    def delete(self) -> None:
        # The veth pair dies with the node's namespace; its switch end with it.
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True, check=False)


@dataclass
class MultiNodeCluster:
    """A control plane on the machine and ``nodes`` real kubelets, each in its own node namespace."""
    nodes: int = 2
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    subnet: int = field(default_factory=lambda: random.randrange(1, 64))
    kubelet_args: list[str] = field(default_factory=list)
    server_args: list[str] = field(default_factory=list)
    switch: SwitchNetns | None = None
    netns: list[NodeOnSwitch] = field(default_factory=list)
    server: ServerProcess | None = None
    kubelets: list[KubeletProcess] = field(default_factory=list)
    proxy_mode: str = "nftables"  # "" runs no service proxy on the nodes
    proxies: list[Any] = field(default_factory=list)
    dns: bool = True
    dns_proc: subprocess.Popen[bytes] | None = None

    def node_name(self, index: int) -> str:
        return f"node-{index}"

    def up(self, timeout: float = 120.0) -> MultiNodeCluster:
        # Built (or found current) here, with the machine's network: the nodes' namespaces have none.
        build.build(build.DEFAULT_OUT)
        try:
            self.switch = SwitchNetns(self.tag, self.subnet).create()
            for i in range(1, self.nodes + 1):
                self.netns.append(NodeOnSwitch(tag=f"{self.tag}{i}", switch=self.switch, index=i).create())
            # The embedded DNS on (the node components stay off: the nodes run their own), with no upstream.
            env = {DISABLE_ENV: "kubelet,ingress,proxy", "PYK8S_DNS_RESOLV_CONF": os.devnull} if self.dns else {}
            self.server = ServerProcess(control_plane=True, bind_address=self.switch.host_ip,
                                        extra_args=self.server_args, env=env).start()
            for i, ns in enumerate(self.netns, start=1):
                self.kubelets.append(KubeletProcess(self.server, ns, node_name=self.node_name(i),
                                                    extra_args=self.kubelet_args).start())
            for kubelet in self.kubelets:
                kubelet.wait_ready(timeout)
            self._start_proxies()
        except BaseException:
            self.down()
            raise
        return self

    def _start_proxies(self) -> None:
        if not self.proxy_mode or not proxy_available():
            return
        from pyk8s.testing.proxy import ProxyProcess

        assert self.server is not None
        for i, ns in enumerate(self.netns, start=1):
            self.proxies.append(ProxyProcess(self.server, ns, node_name=self.node_name(i), mode=self.proxy_mode).start())
        for proxy in self.proxies:
            proxy.wait_ready()

    def kubectl(self, *args: str, check: bool = True, input: str | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
        assert self.server is not None
        return self.server.kubectl(*args, check=check, input=input, timeout=timeout)

    def on_node(self, index: int, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run a command inside node ``index``'s namespace (1-based)."""
        return self.kubelets[index - 1].node(*args, timeout=timeout)

    def down(self) -> None:
        """Proxies and kubelets stopped, their nodes reset, the server stopped, every namespace and veth deleted."""
        # Nodes are independent: tear them down side by side.
        with concurrent.futures.ThreadPoolExecutor(max(1, len(self.kubelets), len(self.proxies))) as pool:
            for proxy in self.proxies:
                # Its rules live in the node's namespace and go with it: no ``--cleanup`` run needed.
                pool.submit(proxy.stop)
        for proxy in self.proxies:
            proxy.log_path.unlink(missing_ok=True)
        self.proxies = []
        errors: list[str] = []

        def close_node(kubelet: KubeletProcess) -> list[str]:
            with contextlib.suppress(Exception):
                kubelet.stop()
            return reset_node(kubelet.netns.path, kubelet.root_dir, kubelet.root)

        with concurrent.futures.ThreadPoolExecutor(max(1, len(self.kubelets))) as pool:
            for result in pool.map(close_node, self.kubelets):
                errors += result
        self.kubelets = []
        if self.dns_proc is not None:
            _stop_group(self.dns_proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.dns_proc.wait(5)
            self.dns_proc = None
        if self.server is not None:
            with contextlib.suppress(Exception):
                self.server.close()
            self.server = None
        for ns in self.netns:
            ns.delete()
        self.netns = []
        if self.switch is not None:
            self.switch.delete()
            self.switch = None
        if errors:
            raise RuntimeError("multinode teardown: " + "; ".join(errors))

    def state(self) -> dict[str, Any]:
        """What ``down`` in another process needs: PIDs, dirs, namespaces."""
        assert self.server is not None and self.switch is not None
        return {"tag": self.tag, "subnet": self.subnet, "kubeconfig": self.server.kubeconfig,
                "server": {"pid": self.server.pid, "root": self.server.root, "url": self.server.url},
                "kubelets": [{"pid": k.proc.pid if k.proc else None, "root": str(k.root), "root_dir": str(k.root_dir),
                              "netns": k.netns.path, "node": k.node_name} for k in self.kubelets],
                "dns": {"pid": self.dns_proc.pid if self.dns_proc else None},
                "proxies": [{"pid": p.proc.pid if p.proc else None, "netns": p.netns.path, "log": str(p.log_path)}
                            for p in self.proxies],
                "netns": [ns.name for ns in self.netns], "switch": self.switch.name, "uplink": self.switch.uplink}

    def __enter__(self) -> MultiNodeCluster:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()


# --------------------------------------------------------------- the command (scripts/multinode.sh)

def _ours(pid: int) -> bool:
    """Whether ``pid`` is still a process this module started (a pyk8s command, maybe under nsenter), not a
    recycled PID."""
    try:
        return b"pyk8s" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _stop_group(pid: int | None, timeout: float = 15.0) -> None:
    if not pid or not _ours(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _containerd_pid(root_dir: pathlib.Path) -> int | None:
    try:
        pid = int((root_dir / "containerd" / "containerd.pid").read_text())
    except (OSError, ValueError):
        return None
    try:
        return pid if b"containerd" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes() else None
    except OSError:
        return None


def reset_node(netns_path: str, root_dir: pathlib.Path, root: pathlib.Path) -> list[str]:
    """``pyk8s kubelet --reset`` in the node's namespace (retried once while its containerd still runs), then
    the node's dirs removed; returns what could not be cleaned, so a teardown that leaks says so."""
    output = ""
    for _ in range(2):
        done = subprocess.run(["nsenter", f"--net={netns_path}", "--", server_binary(), "kubelet", "--reset",
                               "--root-dir", str(root_dir)], capture_output=True, text=True, timeout=180,
                              check=False)
        output = (done.stdout + done.stderr)[-2000:]
        if _containerd_pid(root_dir) is None:
            break
    else:
        # Never remove the dirs of a containerd that still runs: they would lose its pid file and socket.
        return [f"containerd of {root_dir} still runs after kubelet --reset:\n{output}"]
    shutil.rmtree(root, ignore_errors=True)
    return []


def proxy_available() -> bool:
    """Whether this checkout has the service proxy (``pyk8s proxy`` and its test helper)."""
    return all(importlib.util.find_spec(m) is not None for m in ("pyk8s.cli.proxy", "pyk8s.testing.proxy"))


def down_from_state(state: dict[str, Any]) -> None:
    for proxy in state.get("proxies", []):
        _stop_group(proxy["pid"])
        subprocess.run(["nsenter", f"--net={proxy['netns']}", "--", server_binary(), "proxy", "--cleanup"],
                       capture_output=True, timeout=60, check=False)
        pathlib.Path(proxy["log"]).unlink(missing_ok=True)
    errors: list[str] = []
    for kubelet in state["kubelets"]:
        _stop_group(kubelet["pid"])
        errors += reset_node(kubelet["netns"], pathlib.Path(kubelet["root_dir"]), pathlib.Path(kubelet["root"]))
    _stop_group(state.get("dns", {}).get("pid"))
    _stop_group(state["server"]["pid"])
    shutil.rmtree(state["server"]["root"], ignore_errors=True)
    for name in [*state["netns"], state["switch"]]:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)
    subprocess.run(["ip", "link", "delete", state["uplink"]], capture_output=True, check=False)
    if errors:
        raise RuntimeError("multinode teardown: " + "; ".join(errors))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="multinode", description="A multi-node pyk8s cluster on this machine.")
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--name", default="default", help="cluster name (its state file)")
    parser.add_argument("--nodes", type=int, default=2)
    args = parser.parse_args(argv)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    state_file = STATE_DIR / f"{args.name}.json"
    if args.action == "up":
        if state_file.exists():
            print(f"cluster {args.name} is already up ({state_file}); run down first", file=sys.stderr)
            return 1
        cluster = MultiNodeCluster(nodes=args.nodes).up()
        state_file.write_text(json.dumps(cluster.state(), indent=2))
        print(f"cluster {args.name}: {args.nodes} nodes, API server {cluster.state()['server']['url']}")
        print(f"export KUBECONFIG={cluster.state()['kubeconfig']}")
        return 0
    if not state_file.exists():
        print(f"cluster {args.name} is not up", file=sys.stderr)
        return 1 if args.action == "status" else 0
    state = json.loads(state_file.read_text())
    if args.action == "status":
        print(json.dumps(state, indent=2))
        return 0
    down_from_state(state)
    state_file.unlink()
    print(f"cluster {args.name} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
